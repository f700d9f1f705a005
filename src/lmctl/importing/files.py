"""The spec files ``lmctl import`` writes: YAML text with its notes, never over a file unless
told to.

Every target is checked before the first is written, so a refused import writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import yaml

from lmctl.errors import LmctlError
from lmctl.importing.recognise import ImportedArray
from lmctl.text import escaped

_SCHEMA_LINE = "# yaml-language-server: $schema=../docs/schema/array.schema.json"


class ImportFileError(LmctlError):
    """A spec file ``lmctl import`` may not or cannot write (nothing was written)."""


def spec_text(array: ImportedArray, appliance: str) -> str:
    """The file of one imported array: the notes as comments, then the spec."""
    header = [
        _SCHEMA_LINE,
        f"# Written by lmctl import from appliance {appliance} (one listvs); review it:",
        "# replace every 'FILL IN' value (lmctl validate lists them), rename the array and its",
        "# members (named from their addresses) to your names, then take the VSs over with",
        f"# lmctl plan --adopt {array.name} (see docs/adoption.md).",
        *(f"# - {_comment(note)}" for note in array.notes),
    ]
    body = yaml.safe_dump(array.document, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


def _comment(note: str) -> str:
    """A note as one comment line: a note quotes the appliance (a health check URL, a
    NickName), whose newline would end the comment and write YAML into the spec."""
    return escaped(note).replace("\n", "\\n")


def target_of(directory: Path, array: ImportedArray) -> Path:
    """Where one array's spec goes: ``DIR/<name>.yaml``."""
    return directory / f"{array.name}.yaml"


def write_specs(
    arrays: Sequence[ImportedArray], directory: Path, appliance: str, *, overwrite: bool
) -> list[Path]:
    """Write each array's spec under ``directory``; ``ImportFileError`` (and nothing written)
    when a file exists and ``overwrite`` is not set, or the directory cannot be made."""
    targets = [target_of(directory, array) for array in arrays]
    existing = [str(path) for path in targets if path.exists() or path.is_symlink()]
    if existing and not overwrite:
        raise ImportFileError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; nothing "
            "was written (give --overwrite to replace, or another --out directory)"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for array, path in zip(arrays, targets, strict=True):
            # Written beside and renamed over: no half-written spec, and a symlink at the
            # target is replaced, never followed to a file elsewhere.
            partial = path.with_name(f".{path.name}.partial")
            partial.write_text(spec_text(array, appliance), encoding="utf-8")
            os.replace(partial, path)
    except OSError as error:
        raise ImportFileError(
            f"cannot write the specs under {directory}: {error.strerror or error}"
        ) from error
    return targets
