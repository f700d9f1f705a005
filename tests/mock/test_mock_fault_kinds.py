"""The fault kinds exist once: the control client takes exactly the kinds the mock serves."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import lmctl.mock
from lmctl.mock import control, faults

MOCK_SOURCES = Path(lmctl.mock.__file__).resolve().parent


def _modules_defining(name: str) -> list[str]:
    """The mock modules that assign ``name`` at top level (an import is not a definition)."""
    found = []
    for path in sorted(MOCK_SOURCES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                found.append(path.name)
    return found


def test_fault_kind_is_defined_once_in_the_fault_module() -> None:
    assert _modules_defining("FaultKind") == ["faults.py"]
    assert control.FaultKind is faults.FaultKind
    assert get_args(control.FaultKind) == faults.FAULT_KINDS
    assert faults.FAULT_KINDS == ("drop", "http500", "stall", "reset_after_write")
