"""The shape of the package, checked: layers, no cycles, typer and rich where they belong, and
closed sets of kinds that mypy holds closed.

Every module under ``src/lmctl`` is parsed with ``ast`` (imports inside functions and under
``TYPE_CHECKING`` included). A module may import from its own layer or a lower one (the layers
of BRIEF.md and docs/architecture.md, lowest first); the packages' import graph has no cycle;
``lmctl/__init__.py`` (the lazy public API) is exempt, and the rest of lmctl may take only
``__version__`` from it.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import mypy.api

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

# Lowest first. "lmctl.releases" is the one table of Exchange releases (the specs work adds it).
LAYERS: tuple[tuple[str, ...], ...] = (
    ("lmctl.errors", "lmctl.files", "lmctl.statedir", "lmctl.text"),
    ("lmctl.releases",),
    ("lmctl.loadmaster",),
    ("lmctl.mock",),
    ("lmctl.specs",),
    ("lmctl.appliance",),
    ("lmctl.exchange",),
    (
        "lmctl.plan",
        "lmctl.apply",
        "lmctl.status",
        "lmctl.maintenance",
        "lmctl.importing",
        "lmctl.scaffold",
        "lmctl.cutover",
    ),
    ("lmctl.cli", "lmctl.__main__"),
)
LAYER = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}

# Modules whose job is rendering: besides lmctl.cli, the only ones that may import rich.
RENDERING = frozenset(
    {"lmctl.plan.render", "lmctl.apply.report", "lmctl.status.render", "lmctl.cutover.render"}
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted((SRC / "lmctl").rglob("*.py"))}


def imported(path: Path) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every module ``path`` imports (``from package import module`` names the module), with
    the names taken from it."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            names = tuple(alias.name for alias in node.names)
            submodules = [n for n in names if f"{node.module}.{n}" in MODULES]
            yield from ((f"{node.module}.{n}", ()) for n in submodules)
            if len(submodules) < len(names):
                yield node.module, tuple(n for n in names if n not in submodules)


def unit(module: str) -> str:
    """The package (or top-level module) of a module: ``lmctl.plan.diff`` → ``lmctl.plan``."""
    return ".".join(module.split(".")[:2])


IMPORTS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    name: list(imported(path)) for name, path in MODULES.items() if name != "lmctl"
}
LMCTL_IMPORTS = {
    (source, target): names
    for source, targets in IMPORTS.items()
    for target, names in targets
    if target == "lmctl" or target.startswith("lmctl.")
}


def test_every_package_has_a_layer() -> None:
    assert sorted({unit(name) for name in IMPORTS} - LAYER.keys()) == []


def test_no_import_goes_up_a_layer() -> None:
    upward = sorted(
        (source, target)
        for source, target in LMCTL_IMPORTS
        if target != "lmctl" and LAYER[unit(target)] > LAYER[unit(source)]
    )
    assert upward == []


def test_the_public_api_lends_lmctl_only_its_version() -> None:
    taken = {names for (_, target), names in LMCTL_IMPORTS.items() if target == "lmctl"}
    assert taken <= {("__version__",)}


def test_the_packages_import_no_one_another_in_a_circle() -> None:
    graph: dict[str, set[str]] = {}
    for source, target in LMCTL_IMPORTS:
        if target != "lmctl" and unit(source) != unit(target):
            graph.setdefault(unit(source), set()).add(unit(target))
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as cycle:
        raise AssertionError(f"import cycle: {' → '.join(cycle.args[1])}") from None
    assert "lmctl.cli" in order


def third_party(prefix: str) -> set[tuple[str, str]]:
    return {
        (source, target)
        for source, targets in IMPORTS.items()
        for target, _ in targets
        if target == prefix or target.startswith(f"{prefix}.")
    }


def test_only_the_command_line_imports_typer() -> None:
    outside = {(s, t) for s, t in third_party("typer") if unit(s) != "lmctl.cli"}
    assert outside == set()


def test_only_rendering_code_imports_rich() -> None:
    rich = third_party("rich")
    outside = {(s, t) for s, t in rich if unit(s) != "lmctl.cli" and s not in RENDERING}
    assert outside == set()
    assert {s for s, _ in rich} >= RENDERING


# A new change kind added to lmctl.appliance.changes.Change and not handled where changes
# are dispatched is this: a match over the kinds with one case missing. Strict mypy refuses it.
UNHANDLED_KIND = """
from typing import assert_never

from lmctl.appliance.changes import (
    AddRealServer,
    AdoptVirtualService,
    AssignContentRule,
    Change,
    CreateContentRule,
    CreateSubService,
    CreateVirtualService,
    DeleteContentRule,
    DeleteSubService,
    DeleteVirtualService,
    RemoveRealServer,
    UnassignContentRule,
    UpdateContentRule,
    UpdateRealServer,
    UpdateSubService,
)


def command(change: Change) -> str:
    match change:
        case CreateVirtualService() | DeleteVirtualService() | AdoptVirtualService():
            return "a virtual service"
        case AddRealServer() | UpdateRealServer() | RemoveRealServer():
            return "a real server"
        case CreateSubService() | UpdateSubService() | DeleteSubService():
            return "a SubVS"
        case (
            CreateContentRule()
            | UpdateContentRule()
            | DeleteContentRule()
            | AssignContentRule()
            | UnassignContentRule()
        ):
            return "a content rule"
        case _:
            assert_never(change)
"""


def test_a_change_kind_left_unhandled_fails_mypy(tmp_path: Path) -> None:
    module = tmp_path / "unhandled_change_kind.py"
    module.write_text(textwrap.dedent(UNHANDLED_KIND).lstrip(), encoding="utf-8")
    # The project's settings and cache: warm after the usual `mypy` run, a few seconds cold.
    arguments = ["--config-file", str(REPO / "pyproject.toml")]
    arguments += ["--cache-dir", str(REPO / ".mypy_cache"), str(module)]
    report, errors, status = mypy.api.run(arguments)
    assert status == 1, report + errors
    assert (
        'error: Argument 1 to "assert_never" has incompatible type "UpdateVirtualService"; '
        'expected "Never"  [arg-type]'
    ) in report
    assert "Found 1 error in 1 file" in report
