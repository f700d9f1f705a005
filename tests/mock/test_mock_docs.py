"""The Python example of docs/mock.md runs and prints what the page says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "mock.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_python_example_prints_the_documented_output() -> None:
    example = _blocks("python")[0]
    documented = _blocks("text")[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(DOC), "exec"), {})  # noqa: S102 (our own documentation)
    assert printed.getvalue() == documented


def test_every_control_route_is_documented() -> None:
    from lmctl.mock.control import ROUTES

    text = DOC.read_text()
    for method, route in ROUTES:
        assert f"`{method} /_mock/{route}`" in text
