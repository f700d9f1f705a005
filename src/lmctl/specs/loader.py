"""``load_specs``: from paths on disk to a validated ``SpecSet`` (or a ``SpecError``).

Directories are searched (not recursively) for ``*.yaml`` and ``*.yml``, skipping hidden files
and editor leftovers (``.*``, ``*~``, ``#*#``). A file whose top-level key is ``appliances:`` is
the inventory; every other file is one array spec. When no inventory is among the inputs, an
``appliances.yaml`` (or ``.yml``) next to the array files is used. ``json_schema`` publishes
the shape of both kinds of file for editors and CI checks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, assert_never

from lmctl.specs.array import ArraySpec
from lmctl.specs.inventory import ApplianceSpec, Inventory
from lmctl.specs.rules import SourcedArray, check_specs
from lmctl.specs.source import (
    Diagnostic,
    SpecError,
    YamlDocument,
    YamlProblem,
    field_path,
    read_document,
    sort_diagnostics,
)
from lmctl.specs.validation import validate

SPEC_SUFFIXES = (".yaml", ".yml")
INVENTORY_KEY = "appliances"
INVENTORY_NAMES = ("appliances.yaml", "appliances.yml")
# A top-level ``appliances:`` line: an inventory, even when the YAML around it is broken.
_INVENTORY_LINE = re.compile(rb"^appliances[ \t]*:", re.MULTILINE)
SchemaKind = Literal["array", "inventory"]
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass(frozen=True)
class SpecSet:
    """Every array spec and the inventory, validated together.

    ``diagnostics`` holds the warnings (a set with errors is never built); ``digest`` is a
    SHA-256 over the input files, so a plan can tell whether the specs changed since.
    """

    arrays: tuple[ArraySpec, ...]
    inventory: Inventory
    diagnostics: tuple[Diagnostic, ...] = ()
    digest: str = ""
    files: tuple[Path, ...] = field(default=())

    def array(self, name: str) -> ArraySpec | None:
        """The array called ``name``, or None."""
        return next((a for a in self.arrays if a.name == name), None)

    def appliance_of(self, array: ArraySpec) -> ApplianceSpec:
        """The inventory entry of the appliance that serves ``array`` (validated to exist)."""
        return self.inventory.appliances[array.appliance]


@dataclass
class _Collected:
    arrays: list[SourcedArray] = field(default_factory=list)
    inventories: list[tuple[Inventory, YamlDocument]] = field(default_factory=list)
    documents: list[YamlDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # An inventory that failed to load has its own errors; arrays naming its appliances do not.
    inventory_broken: bool = False


def load_specs(paths: Iterable[str | Path]) -> SpecSet:
    """Load, validate and cross-check every spec under ``paths``.

    Raises ``SpecError`` (with every error and warning) when anything is wrong; otherwise the
    ``SpecSet`` carries the warnings.
    """
    collected = _Collected()
    files = discover(paths, collected.diagnostics)
    if not any(_is_inventory_file(f) for f in files):
        files += _neighbouring_inventory(files)
    for path, display in files:
        _load_file(path, display, collected)
    collected.diagnostics.extend(_second_inventories(collected.inventories))
    inventory, inventory_file = collected.inventories[0] if collected.inventories else (None, None)
    collected.diagnostics.extend(
        check_specs(
            collected.arrays,
            inventory,
            inventory_file.display if inventory_file else None,
            check_appliances=inventory is not None or not collected.inventory_broken,
        )
    )
    diagnostics = sort_diagnostics(collected.diagnostics)
    if any(d.is_error for d in diagnostics):
        raise SpecError(diagnostics)
    return SpecSet(
        arrays=tuple(a.spec for a in collected.arrays),
        inventory=inventory or Inventory(),
        diagnostics=diagnostics,
        digest=_digest(collected.documents),
        files=tuple(d.path for d in collected.documents),
    )


def _second_inventories(
    inventories: Sequence[tuple[Inventory, YamlDocument]],
) -> Iterator[Diagnostic]:
    for _, extra in inventories[1:]:
        yield extra.diagnostic(
            "error",
            (INVENTORY_KEY,),
            f"a second inventory (the first is {inventories[0][1].display}); "
            "keep every appliance in one inventory file",
        )


def discover(paths: Iterable[str | Path], problems: list[Diagnostic]) -> list[tuple[Path, str]]:
    """The spec files named by ``paths`` (directories searched), each with its display name."""
    found: list[tuple[Path, str]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if is_spec_name(p.name) and p.is_file())
            if not inside:
                problems.append(
                    Diagnostic("error", str(given), None, "", "no *.yaml or *.yml files here")
                )
            found.extend((p, str(p)) for p in inside)
        elif path.is_file():
            found.append((path, str(given)))
        else:
            # A FIFO or device (e.g. a link to /dev/zero) is never read: it could block forever.
            problem = "not a regular file" if path.exists() else "no such file or directory"
            problems.append(Diagnostic("error", str(given), None, "", problem))
    unique: dict[Path, tuple[Path, str]] = {}
    for path, display in found:
        unique.setdefault(path.resolve(), (path, display))
    return list(unique.values())


def is_spec_name(name: str) -> bool:
    """True for a file a directory search reads: ``*.yaml``/``*.yml``, not hidden, not an editor's
    backup, lock or autosave file (``.hq-cas.yaml``, ``hq-cas.yaml~``, ``#hq-cas.yaml#``)."""
    if name.startswith((".", "#")) or name.endswith(("~", "#")):
        return False
    return name.endswith(SPEC_SUFFIXES)


def _is_inventory_file(entry: tuple[Path, str]) -> bool:
    return entry[0].name in INVENTORY_NAMES


def _neighbouring_inventory(files: Sequence[tuple[Path, str]]) -> list[tuple[Path, str]]:
    directories = dict.fromkeys(path.parent for path, _ in files)
    for directory in directories:
        for name in INVENTORY_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return [(candidate, str(candidate))]
    return []


def _load_file(path: Path, display: str, collected: _Collected) -> None:
    try:
        document = read_document(path, display)
    except YamlProblem as problem:
        collected.diagnostics.append(
            Diagnostic(
                "error", display, problem.line, field_path(problem.location), problem.message
            )
        )
        # A broken inventory has its own error; arrays naming its appliances do not get one each.
        collected.inventory_broken |= path.name in INVENTORY_NAMES or bool(
            _INVENTORY_LINE.search(problem.raw)
        )
        return
    collected.documents.append(document)
    content = document.content
    if not isinstance(content, dict):
        collected.diagnostics.append(
            Diagnostic(
                "error",
                display,
                document.line_of(()),
                "",
                "expected a mapping at the top of the file: an array spec (name:, site:, "
                "exchange:, ...) or an inventory (appliances:)",
            )
        )
        collected.inventory_broken |= path.name in INVENTORY_NAMES
        return
    if INVENTORY_KEY in content:
        inventory = validate(Inventory, document, {"base_dir": path.parent})
        if isinstance(inventory, list):
            collected.diagnostics.extend(inventory)
            collected.inventory_broken = True
        else:
            collected.inventories.append((inventory, document))
        return
    array = validate(ArraySpec, document)
    if isinstance(array, list):
        collected.diagnostics.extend(array)
    else:
        collected.arrays.append(SourcedArray(array, document))


def _digest(documents: Sequence[YamlDocument]) -> str:
    digest = hashlib.sha256()
    for document in sorted(documents, key=lambda d: d.path.name):
        digest.update(document.path.name.encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(document.raw).digest())
    return digest.hexdigest()


def json_schema(kind: SchemaKind) -> dict[str, Any]:
    """The JSON Schema of one kind of spec file, for editors and CI checks."""
    model: type[ArraySpec | Inventory]
    match kind:
        case "array":
            model, title = ArraySpec, "lmctl array spec (one Exchange client access array)"
        case "inventory":
            model, title = Inventory, "lmctl appliance inventory (appliances.yaml)"
        case _:
            assert_never(kind)
    schema = model.model_json_schema(mode="validation")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": title}
