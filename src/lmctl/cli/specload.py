"""The one way every command loads its specs, so each reports a missing default ``arrays/``, a
missing path and invalid specs with the same diagnostics (and exits 1).

``lmctl.specs`` (pydantic, yaml) is imported inside the function so ``lmctl --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console

    from lmctl.specs import Diagnostic, SpecSet

DEFAULT_SPECS = Path("arrays")
"""The spec directory read when no spec path is given."""

DEFAULT_INVENTORY = DEFAULT_SPECS / "appliances.yaml"
"""The inventory a command that reads only the inventory (``lmctl import``) reads by default."""

INVENTORY_VARIABLE = "LMCTL_INVENTORY"
"""Names a trusted inventory file, read instead of any ``appliances.yaml`` among the specs (for
CI jobs that plan a change under review with the appliances' credentials)."""

SPEC_ERRORS = "the specs have errors (see above)"
"""The start of what a command says after the specs' errors (each says what it did not do)."""

INVALID_SPECS = f"{SPEC_ERRORS}; nothing was read or written"
"""What a command that stops on bad specs says after their diagnostics (validate, whose job is
the diagnostics, ends with its own count instead)."""


def trusted_inventory() -> str | None:
    """The inventory file ``LMCTL_INVENTORY`` names, or None when it is unset or empty."""
    return os.environ.get(INVENTORY_VARIABLE) or None


def load_spec_set(paths: Sequence[Path] | None, *, leave_out: bool = False) -> SpecSet:
    """``load_specs`` of ``paths``, or of the default ``arrays/`` when none is given.

    Raises ``SpecError`` with the diagnostics; when no path is given and there is no
    ``arrays/`` here, the one diagnostic says what lmctl reads by default.
    """
    from lmctl.specs import Diagnostic, SpecError, load_specs

    if not paths and not DEFAULT_SPECS.is_dir():
        raise SpecError(
            [
                Diagnostic(
                    "error",
                    str(DEFAULT_SPECS),
                    None,
                    "",
                    f"no {DEFAULT_SPECS}/ directory here; lmctl reads {DEFAULT_SPECS}/ in the "
                    "current directory unless you name spec files or directories",
                )
            ]
        )
    try:
        return load_specs(
            paths or [DEFAULT_SPECS], trusted_inventory=trusted_inventory(), leave_out=leave_out
        )
    except SpecError as error:
        hinted = _with_array_hints(error.diagnostics, paths or ())
        if hinted == list(error.diagnostics):
            raise
        raise SpecError(hinted) from None


def _reads_as_array_name(path: Path) -> bool:
    """One word, without a directory nor a spec file's suffix: ``hq-cas``, not ``hq-cas.yaml``
    nor ``specs/hq-cas``."""
    text = str(path)
    return (
        len(path.parts) == 1
        and "/" not in text
        and os.sep not in text
        and path.suffix.lower() not in (".yaml", ".yml")
    )


def _with_array_hints(diagnostics: Sequence[Diagnostic], paths: Sequence[Path]) -> list[Diagnostic]:
    """``diagnostics``, where a path that does not exist reads as an array name (``lmctl plan
    hq-cas``) with a hint after "no such file or directory": spec paths are files or
    directories, and the spec file of that array (or of the closest name) when the directories
    given (default ``arrays/``) hold it."""
    from dataclasses import replace

    from lmctl.specs.loader import NO_SUCH_PATH

    words = {str(path) for path in paths if _reads_as_array_name(path)}
    if not any(d.message == NO_SUCH_PATH and d.file in words for d in diagnostics):
        return list(diagnostics)
    spec_set = _quiet_load([path for path in paths if path.is_dir()])
    files = {a.name: spec_set.file_of(a.name) for a in spec_set.arrays} if spec_set else {}
    return [
        replace(d, message=f"{NO_SUCH_PATH}; {_array_hint(d.file, files)}")
        if d.message == NO_SUCH_PATH and d.file in words
        else d
        for d in diagnostics
    ]


def _array_hint(name: str, files: Mapping[str, str | None]) -> str:
    """What to give instead of the array name ``name``; ``files``: each array's spec file."""
    from lmctl.text import closest

    said = "spec paths are files or directories, not array names"
    if name in files:
        return f"{said}: array {name} is in {files[name]}"
    near = closest(name, files)
    if near is not None:
        return f"{said} (did you mean array {near}, in {files[near]}?)"
    return f"{said}: to work on one array, give its spec file (such as {DEFAULT_SPECS}/NAME.yaml)"


def refuse_array_as_path(paths: Sequence[Path] | None, *, array_first: str = "") -> None:
    """Refuse an array name given where a spec path goes (``lmctl status hq-cas`` for
    ``--array hq-cas``, as status once took it; ``array_first``: the command, e.g. ``show``,
    that takes the array before the paths): a path that does not exist and names an array of
    the other paths' specs (default ``arrays/``) is a usage error saying what to write."""
    from lmctl.cli.app import CommandError
    from lmctl.errors import ExitCode
    from lmctl.text import one_line

    missing = [path for path in paths or () if not path.exists()]
    if not missing:
        return
    arrays = set(spec_names([path for path in paths or () if path.exists()], "arrays"))
    for path in missing:
        if str(path) in arrays:
            name = one_line(str(path))
            how = (
                f"{array_first} takes it first: lmctl {array_first} {name} PATH ..."
                if array_first
                else f"to choose an array write --array {name}"
            )
            raise CommandError(
                f"{name} is an array, not a spec file or directory: the arguments after the "
                f"command's own are spec paths (PATH ...); {how}",
                exit_code=ExitCode.USAGE,
            )


def spec_names(
    paths: Sequence[Path], kind: Literal["arrays", "members", "appliances"]
) -> list[str]:
    """The array names, the member names (the CAS members and the transport services' own,
    spec order, each once) or the inventory's appliance names, of the specs under ``paths``
    (default ``arrays/``), read quietly (for
    the shell's completion, and hints). Array spec files with errors are left out; anything that
    goes wrong gives no names: a completion must never print (the shell reads its output) nor
    fail."""
    spec_set = _quiet_load(paths)
    if spec_set is None:
        return []
    if kind == "arrays":
        return [array.name for array in spec_set.arrays]
    if kind == "appliances":
        return list(spec_set.inventory.appliances)
    names = [
        member.name
        for array in spec_set.arrays
        for members in (array.members, *(o.members or () for o in array.overrides.values()))
        for member in members
    ]
    return list(dict.fromkeys(names))


def _quiet_load(paths: Sequence[Path]) -> SpecSet | None:
    """``load_spec_set`` of ``paths`` (default ``arrays/``), array spec files with errors left
    out, printing nothing; None when anything goes wrong (broken specs, unreadable files)."""
    try:
        # Nothing the loader might write reaches the shell.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return load_spec_set(paths, leave_out=True)
    except Exception:  # broken specs, unreadable files: no names
        return None


def load_reporting(
    paths: Sequence[Path],
    errors: Console,
    *,
    leave_out: bool = False,
    arrays: Sequence[str] = (),
    refusal: str = INVALID_SPECS,
) -> SpecSet:
    """``load_spec_set`` for a command that goes on to the appliances: every diagnostic is
    printed on ``errors`` as it is (warnings but not notices, and the errors before the command
    ends with ``refusal``, a ``CommandError`` of kind ``specs`` carrying them).
    ``leave_out``: array spec files with errors are left out (``lmctl ls``), the caller says so.
    ``arrays``: the command works on these arrays alone, so of the array files only theirs
    have their warnings shown, and their notices too (a release past its end of support)."""
    return _reporting(
        lambda: load_spec_set(paths, leave_out=leave_out), errors, arrays=arrays, refusal=refusal
    )


def load_inventory_reporting(inventory: Path | None, errors: Console) -> SpecSet:
    """The inventory alone (no array spec), reported as ``load_reporting`` does: ``inventory``,
    else the trusted one ``LMCTL_INVENTORY`` names, else ``arrays/appliances.yaml``. A trusted
    inventory always wins over a file given (as for every command)."""
    from lmctl.specs import load_specs

    trusted = trusted_inventory()
    paths = [inventory] if inventory is not None else ([] if trusted else [DEFAULT_INVENTORY])
    return _reporting(lambda: load_specs(paths, trusted_inventory=trusted), errors)


def _reporting(
    load: Callable[[], SpecSet],
    errors: Console,
    *,
    arrays: Sequence[str] = (),
    refusal: str = INVALID_SPECS,
) -> SpecSet:
    from lmctl.cli.app import CommandError
    from lmctl.specs import SpecError

    try:
        spec_set = load()
    except SpecError as error:
        # The errors and warnings; notices (a release past its end of support) are validate's
        # to show, as when the specs load.
        shown = [str(d) for d in error.diagnostics if d.severity != "notice"]
        for line in shown:
            errors.print(line)
        raise CommandError(refusal, kind="specs", details=shown) from None
    chosen = {spec_set.file_of(name) for name in arrays} - {None}
    others = {file for _, file in spec_set.sources} - chosen
    # Notices (a release past its end of support) are validate's to show, but for the arrays a
    # command was asked to work on (the set's notice names every array of the release).
    for diagnostic in spec_set.diagnostics:
        if diagnostic.severity != "notice" and not (chosen and diagnostic.file in others):
            errors.print(str(diagnostic))
    for name in dict.fromkeys(arrays):
        for notice in _end_of_support(spec_set, name):
            errors.print(str(notice))
    return spec_set


def _end_of_support(spec_set: SpecSet, name: str) -> list[Diagnostic]:
    """The end-of-support notices of the array ``name`` alone (its release, its members')."""
    from lmctl.specs import Diagnostic
    from lmctl.specs.rules import end_of_support_message

    spec, file = spec_set.array(name), spec_set.file_of(name)
    if spec is None or file is None:
        return []
    majors = [spec.exchange.major] + [m.exchange.major for m in spec.members if m.exchange]
    messages = (end_of_support_message(major, [name]) for major in dict.fromkeys(majors))
    return [Diagnostic("notice", file, None, "exchange", m) for m in messages if m is not None]
