"""Pluggable plan renderers: ``text`` (rich), ``json`` (the versioned plan schema), ``markdown``.

A renderer is any callable taking a ``Plan`` (and ``force``: whether ``--force`` was given, so
that blocked rules are described truthfully) and returning what the console prints (a rich
``Text`` or a string). Register more in ``RENDERERS``.
"""

from __future__ import annotations

from typing import Protocol

from rich.text import Text

from lmctl.reconcile.plan import Plan
from lmctl.reconcile.render.markdown import render_markdown
from lmctl.reconcile.render.text import render_text


class PlanRenderer(Protocol):
    """Renders a plan for the console."""

    def __call__(self, plan: Plan, *, force: bool = False) -> Text | str: ...


def render_json(plan: Plan, *, force: bool = False) -> str:
    """The plan as JSON: exactly what ``--out`` saves (``format_version`` 1)."""
    return plan.model_dump_json(indent=2)


RENDERERS: dict[str, PlanRenderer] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}
