"""Pluggable plan renderers: ``text`` (rich), ``json`` (the versioned plan schema), ``markdown``.

A renderer is any callable taking a ``Plan`` and returning what the console prints (a rich
``Text`` or a string). Register more in ``RENDERERS``.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from lmctl.reconcile.plan import Plan
from lmctl.reconcile.render.markdown import render_markdown
from lmctl.reconcile.render.text import render_text

PlanRenderer = Callable[[Plan], Text | str]


def render_json(plan: Plan) -> str:
    """The plan as JSON: exactly what ``--out`` saves (``format_version`` 1)."""
    return plan.model_dump_json(indent=2)


RENDERERS: dict[str, PlanRenderer] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}
