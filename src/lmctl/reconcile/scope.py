"""The scope of a plan: which arrays it may compare, create, change and delete.

- Spec directories only (or none given: ``arrays/``): every array on the appliances is in scope.
  A directory is the whole truth, so a marked VS whose array is not in it has left the specs
  and is deleted.
- Any spec file named (``lmctl plan arrays/hq-cas.yaml``): only the arrays loaded (from the
  files and directories given) are in scope. Their appliances are read; marked VSs of every
  other array are neither compared nor deleted: planning one array never touches another.
``None`` stands for "every array"; a tuple of names for a narrowed scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

ArrayScope = tuple[str, ...] | None


def plan_scope(paths: Sequence[Path], arrays: Iterable[str]) -> ArrayScope:
    """``None`` when only directories were given, else the names of the ``arrays`` loaded."""
    if all(path.is_dir() for path in paths):
        return None
    return tuple(sorted(set(arrays)))


def in_scope(scope: ArrayScope, array: str) -> bool:
    """True when a plan with ``scope`` may touch ``array``'s virtual services."""
    return scope is None or array in scope


def scope_line(scope: ArrayScope) -> str | None:
    """The plan header line of a narrowed scope; None for every array."""
    if scope is None:
        return None
    # "arrays" is the label of the list, whatever its length.
    names = ", ".join(scope) if scope else "(none)"
    return f"scope: arrays {names} (spec files given); other arrays are left alone"
