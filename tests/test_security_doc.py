"""docs/security.md names the tests behind each guarantee: every one it names must exist, so the
table cannot outlive a renamed or deleted test."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ROOT / "docs" / "security.md"
# `tests/x/test_y.py::test_z`, then `::test_w` for more tests of the same file.
REFERENCE = re.compile(r"`(?:(tests/[\w/]+\.py)(?:::(\w+))?|::(\w+))`")


@cache  # the page names many tests of one file: parse each file once
def functions_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def referenced_tests() -> list[tuple[str, str | None]]:
    references: list[tuple[str, str | None]] = []
    for line in SECURITY.read_text(encoding="utf-8").splitlines():
        current: str | None = None
        for file, name, more in REFERENCE.findall(line):
            if file:
                current = file
                references.append((file, name or None))
            else:
                assert current is not None, f"'::{more}' without a file before it: {line}"
                references.append((current, more))
    return references


def test_every_test_the_security_page_names_exists() -> None:
    references = referenced_tests()
    assert len(references) > 30
    missing = [
        f"{file}::{name}" if name else file
        for file, name in references
        if not (ROOT / file).is_file()
        or (name is not None and name not in functions_in(ROOT / file))
    ]
    assert missing == []
