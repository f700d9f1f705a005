"""``load_specs``: from paths on disk to a validated ``SpecSet`` (or a ``SpecError``).

Directories are searched (not recursively) for ``*.yaml`` and ``*.yml``, skipping hidden files
and editor leftovers (``.*``, ``*~``, ``#*#``). Only regular files are read, and links to them
within the specs directory or its repository (the nearest ancestor holding ``.git``); any other
such name (a FIFO, socket, device, directory, a dangling link or one leading elsewhere) is an
error naming it, never skipped: a skipped array would be planned for deletion.

A file whose top-level key is ``appliances:`` is the inventory; every other file is one array
spec. When no inventory is among the inputs, an ``appliances.yaml`` (or ``.yml``) next to the
array files is used. ``json_schema`` publishes the shape of both kinds of file for editors and
CI checks.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, assert_never

from lmctl.files import FileIdentity, file_kind, identity
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
NO_SUCH_PATH = "no such file or directory"
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
    # Array spec files left out for their errors (``leave_out``): the first error of each.
    left_out: tuple[Diagnostic, ...] = ()
    # Each array's name and the file it came from, as diagnostics name it.
    sources: tuple[tuple[str, str], ...] = ()
    # The inventory file read (None: no inventory was found).
    inventory_file: Path | None = None
    # Each array's name, a top-level key its file spells out, and that key's line.
    key_lines: tuple[tuple[str, str, int], ...] = ()

    def array(self, name: str) -> ArraySpec | None:
        """The array called ``name``, or None."""
        return next((a for a in self.arrays if a.name == name), None)

    def file_of(self, name: str) -> str | None:
        """The file the array ``name`` came from, as diagnostics name it, or None."""
        return next((file for array, file in self.sources if array == name), None)

    def location_of(self, name: str, key: str) -> str | None:
        """``arrays/mail.yaml:19``: the file of the array ``name`` and the line of its top-level
        ``key`` (the file alone when it does not spell the key out), or None."""
        file = self.file_of(name)
        line = next((n for a, k, n in self.key_lines if (a, k) == (name, key)), None)
        return file if file is None or line is None else f"{file}:{line}"

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


def load_specs(
    paths: Iterable[str | Path],
    trusted_inventory: str | Path | None = None,
    *,
    leave_out: bool = False,
) -> SpecSet:
    """Load, validate and cross-check every spec under ``paths``.

    ``trusted_inventory`` names a trusted inventory (``LMCTL_INVENTORY`` on the command line): it is
    used instead of any ``appliances.yaml`` among ``paths``, which are then not read, so that a
    change under review cannot point the appliances' credentials at a host of its choosing.

    Raises ``SpecError`` (with every error and warning) when anything is wrong; otherwise the
    ``SpecSet`` carries the warnings. ``leave_out`` (for ``lmctl ls``, which writes nothing):
    an array spec file with errors is left out instead, named in ``SpecSet.left_out``, and the
    rest checked without it; errors in the inventory or in finding the files still raise.
    """
    collected = _Collected()
    files = discover(paths, collected.diagnostics)
    if trusted_inventory is not None:
        given = [entry for entry in files if _is_inventory_file(entry)]
        collected.diagnostics.extend(_replaced_inventories(given, trusted_inventory))
        trusted = discover([trusted_inventory], collected.diagnostics)
        files = trusted + [entry for entry in files if entry not in given]
    elif not any(_is_inventory_file(f) for f in files):
        files += _neighbouring_inventory(files, collected.diagnostics)
    for spec_file in files:
        _load_file(spec_file, collected)
    collected.diagnostics.extend(_second_inventories(collected.inventories))
    inventory, inventory_file = collected.inventories[0] if collected.inventories else (None, None)
    loaded = list(collected.diagnostics)
    left_out: dict[str, Diagnostic] = {}
    while True:
        arrays = [a for a in collected.arrays if a.document.display not in left_out]
        checked = check_specs(
            arrays,
            inventory,
            inventory_file.display if inventory_file else None,
            check_appliances=inventory is not None or not collected.inventory_broken,
        )
        diagnostics = sort_diagnostics(
            [d for d in [*loaded, *checked] if d.file not in left_out or not d.is_error]
        )
        errors = [d for d in diagnostics if d.is_error]
        if not errors:
            break
        arrays_files = {f.display for f in files} - {i.display for _, i in collected.inventories}
        if not leave_out or inventory is None or collected.inventory_broken:
            raise SpecError(diagnostics)
        if any(d.file not in arrays_files for d in errors):
            raise SpecError(diagnostics)
        for error in errors:
            left_out.setdefault(error.file, error)
    return SpecSet(
        arrays=tuple(a.spec for a in arrays),
        inventory=inventory or Inventory(),
        diagnostics=tuple(d for d in diagnostics if d.file not in left_out),
        digest=_digest(collected.documents),
        files=tuple(d.path for d in collected.documents),
        left_out=tuple(left_out.values()),
        sources=tuple((a.spec.name, a.document.display) for a in arrays),
        key_lines=tuple(
            (a.spec.name, str(key[0]), line)
            for a in arrays
            for key, line in a.document.lines.items()
            if len(key) == 1
        ),
        inventory_file=inventory_file.path if inventory_file else None,
    )


def _replaced_inventories(given: Sequence[SpecFile], trusted: str | Path) -> Iterator[Diagnostic]:
    for entry in given:
        yield Diagnostic(
            "notice",
            entry.display,
            None,
            "",
            f"not read: the inventory is {trusted} (LMCTL_INVENTORY), a trusted copy; "
            "changes to this file take effect once they reach that copy",
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


@dataclass(frozen=True)
class SpecFile:
    """A file to read: its path, the name it is reported by and, for one found by a directory
    scan, the identity of the regular file checked (the reader opens that file or none)."""

    path: Path
    display: str
    expected: FileIdentity | None = None


def discover(paths: Iterable[str | Path], problems: list[Diagnostic]) -> list[SpecFile]:
    """The spec files named by ``paths`` (directories searched); what cannot be read goes to
    ``problems``, each naming the file."""
    found: list[SpecFile] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            escape = _directory_escape(path)
            if escape is not None:
                problems.append(Diagnostic("error", str(given), None, "", escape))
                continue
            names = sorted(p for p in path.iterdir() if is_spec_name(p.name))
            if not names:
                problems.append(
                    Diagnostic("error", str(given), None, "", "no *.yaml or *.yml files here")
                )
            roots = _link_roots(path)
            for name in names:
                _add_scanned(name, roots, found, problems)
        elif path.is_file():
            found.append(SpecFile(path, str(given)))
        else:
            # A FIFO or device (e.g. a link to /dev/zero) is never read: it could block forever.
            problem = "not a regular file" if path.exists() else NO_SUCH_PATH
            problems.append(Diagnostic("error", str(given), None, "", problem))
    unique: dict[Path, SpecFile] = {}
    for spec_file in found:
        unique.setdefault(spec_file.path.resolve(), spec_file)
    return list(unique.values())


def _directory_escape(directory: Path) -> str | None:
    """Why ``directory`` must not be searched: it lies in a repository as written, but a
    symbolic link (the directory or one above it) takes it out of that repository. A merge
    request could ship such a link and have lmctl read, and quote, files from anywhere."""
    written = Path(os.path.abspath(directory))
    repository = next((d for d in (written, *written.parents) if (d / ".git").exists()), None)
    if repository is None or directory.resolve().is_relative_to(repository.resolve()):
        return None
    return (
        "a symbolic link takes this directory out of its repository; lmctl searches spec "
        "directories only inside it: replace the link with the directory itself"
    )


def _link_roots(directory: Path) -> tuple[Path, ...]:
    """Where a link found in ``directory`` may lead: the directory itself and the repository
    it is in (the nearest ancestor holding ``.git``)."""
    resolved = directory.resolve()
    repository = next((d for d in (resolved, *resolved.parents) if (d / ".git").exists()), None)
    return (resolved,) if repository is None else (resolved, repository)


def _add_scanned(
    path: Path, roots: Sequence[Path], found: list[SpecFile], problems: list[Diagnostic]
) -> None:
    """``path`` (found by a directory scan) to ``found`` when it is a regular file or a link to
    one inside ``roots``; else an error naming it to ``problems``. Never a silent skip: the
    array of a file left out would be planned for deletion."""
    try:
        status = path.lstat()
        problem = _scanned_problem(path, status, roots)
        if problem is None and stat.S_ISLNK(status.st_mode):
            status = path.stat()
    except (OSError, RuntimeError) as error:  # RuntimeError: a link loop (Python < 3.13)
        strerror = error.strerror if isinstance(error, OSError) else None
        problem = f"cannot be read ({strerror or 'a loop of symbolic links'})"
    if problem is None:
        found.append(SpecFile(path, str(path), identity(status)))
    else:
        problems.append(Diagnostic("error", str(path), None, "", problem))


def _scanned_problem(path: Path, status: os.stat_result, roots: Sequence[Path]) -> str | None:
    """Why the scanned ``path`` (``status`` its ``lstat``) is not read, or None."""
    if stat.S_ISREG(status.st_mode):
        return None
    if not stat.S_ISLNK(status.st_mode):
        return (
            f"{file_kind(status.st_mode)}, not a regular file: lmctl reads only regular files "
            "here; remove it or rename it to something other than *.yaml/*.yml"
        )
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        return "a symbolic link to nothing (its target does not exist); remove it"
    # The target is not named: a link can be made to point at anything.
    if not any(target.is_relative_to(root) for root in roots):
        return (
            "a symbolic link out of the specs directory and the repository; lmctl follows "
            "links only within them: copy the file here instead"
        )
    kind = target.stat().st_mode
    if not stat.S_ISREG(kind):
        return f"a symbolic link to {file_kind(kind)}, not to a regular file; remove it"
    return None


def is_spec_name(name: str) -> bool:
    """True for a file a directory search reads: ``*.yaml``/``*.yml``, not hidden, not an editor's
    backup, lock or autosave file (``.hq-cas.yaml``, ``hq-cas.yaml~``, ``#hq-cas.yaml#``)."""
    if name.startswith((".", "#")) or name.endswith(("~", "#")):
        return False
    return name.endswith(SPEC_SUFFIXES)


def _is_inventory_file(entry: SpecFile) -> bool:
    return entry.path.name in INVENTORY_NAMES


def _neighbouring_inventory(
    files: Sequence[SpecFile], problems: list[Diagnostic]
) -> list[SpecFile]:
    directories = dict.fromkeys(entry.path.parent for entry in files)
    for directory in directories:
        for name in INVENTORY_NAMES:
            candidate = directory / name
            if candidate.is_symlink() or candidate.exists():
                found: list[SpecFile] = []
                _add_scanned(candidate, _link_roots(directory), found, problems)
                return found
    return []


def _load_file(spec_file: SpecFile, collected: _Collected) -> None:
    path, display = spec_file.path, spec_file.display
    try:
        document = read_document(path, display, spec_file.expected)
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


SCHEMA_DIR = "schema"
"""Where a spec repository keeps the JSON Schemas (``lmctl init`` writes them there): at its
root, beside ``arrays/``, so that the editor hint of every spec reaches them in any clone."""


def schema_hint(kind: SchemaKind, spec_dir: Path) -> str:
    """The editor hint (YAML language server) of a ``kind`` file written in ``spec_dir``.

    It names the schema by a path relative to ``spec_dir``: ``schema/KIND.schema.json`` in the
    nearest directory up to the repository's root (the one holding ``.git``) that has it, else
    ``../schema/KIND.schema.json`` (``arrays/`` at the root of a repository ``lmctl init`` made).
    """
    name = f"{kind}.schema.json"
    start = Path(os.path.abspath(spec_dir))
    target = Path("..", SCHEMA_DIR, name)
    for directory in (start, *start.parents):
        candidate = directory / SCHEMA_DIR / name
        if candidate.is_file():
            target = Path(os.path.relpath(candidate, start))
            break
        if (directory / ".git").exists():
            break
    return f"# yaml-language-server: $schema={target.as_posix()}"
