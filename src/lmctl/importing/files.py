"""The spec files ``lmctl import`` writes: YAML text with its notes, never over a file unless
told to.

Every target is checked before the first is written, so a refused import writes nothing. The
specs are written all at once or not at all, as far as a file system allows
(``lmctl.files.write_all``: temporaries beside the targets, renamed over them, never through a
link); a failure says which specs were written.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from lmctl.errors import LmctlError
from lmctl.files import write_all
from lmctl.importing.recognise import ImportedArray
from lmctl.loadmaster.models import normalised_address
from lmctl.specs import schema_hint
from lmctl.text import escaped


class ImportFileError(LmctlError):
    """A spec file ``lmctl import`` may not or cannot write (the message says what was)."""


def spec_text(array: ImportedArray, appliance: str, directory: Path) -> str:
    """The file of one imported array in ``directory``: the editor hint and the notes as
    comments, then the spec."""
    header = [
        schema_hint("array", directory),
        f"# Written by lmctl import from appliance {appliance} (one listvs); review it:",
        "# replace every 'FILL IN' value (lmctl validate lists them), rename the array and its",
        "# members (named from their addresses) to your names, then take the VSs over with",
        f"# lmctl plan --adopt {array.name} (see docs/adoption.md).",
        *(f"# - {_comment(note)}" for note in array.notes),
    ]
    # ASCII only: every other character is written as a YAML escape (\u202E, \x85), so a value
    # the appliance holds cannot reorder, hide or break lines in review of the committed file.
    body = yaml.safe_dump(array.document, sort_keys=False, allow_unicode=False, width=100)
    return "\n".join(header) + "\n" + body


def _comment(note: str) -> str:
    """A note as one comment line: a note quotes the appliance (a health check URL, a
    NickName), whose newline would end the comment and write YAML into the spec. ASCII like the
    rest of the file: the arrow of a change is ``->``, any other character its escape."""
    line = escaped(note.replace("→", "->")).replace("\n", "\\n")
    return "".join(c if c.isascii() else c.encode("unicode_escape").decode("ascii") for c in line)


def target_of(directory: Path, array: ImportedArray) -> Path:
    """Where one array's spec goes: ``DIR/<name>.yaml``."""
    return directory / f"{array.name}.yaml"


def _refusal(targets: Sequence[Path], arrays: Sequence[ImportedArray], overwrite: bool) -> str:
    """Why no spec may be written to ``targets`` (empty: they may)."""
    first: dict[Path, ImportedArray] = {}
    for array, path in zip(arrays, targets, strict=True):
        other = first.setdefault(path, array)
        if other is not array:
            return (
                f"the arrays of VIPs {other.document['vip']} and {array.document['vip']} would "
                f"both be written to {path}; nothing was written"
            )
    existing = [path for path in targets if path.exists() or path.is_symlink()]
    odd = [str(p) for p in existing if not p.is_symlink() and not p.is_file()]
    if odd:
        verb = "is" if len(odd) == 1 else "are"
        return f"{', '.join(odd)} {verb} no file lmctl may replace; nothing was written"
    replaced = dict(zip(targets, arrays, strict=True))
    others = [f"{p} (VIP {vip})" for p in existing if (vip := _other_vip(p, replaced[p]))]
    if others:
        return (
            f"{', '.join(others)} holds the array of another VIP; nothing was written (move it, "
            "or give another --out directory)"
        )
    if existing and not overwrite:
        return (
            f"{', '.join(map(str, existing))} already exist{'s' if len(existing) == 1 else ''}"
            "; nothing was written (give --overwrite to replace, or another --out directory)"
        )
    return ""


def _other_vip(path: Path, array: ImportedArray) -> str | None:
    """The VIP of the spec at ``path`` when it is not ``array``'s: a name lmctl import gave
    before (or an admin's edit) that ``--overwrite`` must not replace with another array."""
    if path.is_symlink():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, yaml.YAMLError):
        return None
    vip = document.get("vip") if isinstance(document, dict) else None
    if not isinstance(vip, str) or normalised_address(vip) == array.document["vip"]:
        return None
    return escaped(vip)


def write_specs(
    arrays: Sequence[ImportedArray], directory: Path, appliance: str, *, overwrite: bool
) -> list[Path]:
    """Write each array's spec under ``directory``, all or none; ``ImportFileError`` (saying
    which were written) when two arrays share a file, a file exists and ``overwrite`` is not
    set, or a file cannot be written."""
    targets = [target_of(directory, array) for array in arrays]
    refusal = _refusal(targets, arrays, overwrite)
    if refusal:
        raise ImportFileError(refusal)
    written: list[Path] = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        texts = [
            (path, spec_text(array, appliance, directory))
            for array, path in zip(arrays, targets, strict=True)
        ]
        write_all(texts, written)
    except OSError as error:
        left = [str(path) for path in targets if path not in written]
        done = f"wrote only {', '.join(map(str, written))}" if written else "nothing was written"
        raise ImportFileError(
            f"cannot write the specs under {directory}: {error.strerror or error}; {done}"
            f" (not written: {', '.join(left)})"
        ) from error
    return targets
