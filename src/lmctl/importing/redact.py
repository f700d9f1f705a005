"""Appliance text in what ``lmctl import`` writes and prints, with its secrets scrubbed.

A health check URL or a NickName is whatever an admin typed on the appliance, a password or an
API key included; a spec file is committed and reviewed, so such a value is written as
``lmctl.loadmaster.redact`` shows it everywhere else (``***``). Call ``redacted`` while the
appliance is open: its own secrets are registered only then.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lmctl.importing.recognise import ImportedArray, ImportResult, Skipped
from lmctl.loadmaster.redact import scrub


def _scrubbed(value: Any) -> Any:
    match value:
        case str():
            return scrub(value)
        case dict():
            return {key: _scrubbed(item) for key, item in value.items()}
        case list():
            return [_scrubbed(item) for item in value]
        case _:
            return value


def _array(array: ImportedArray) -> ImportedArray:
    return replace(
        array,
        document=_scrubbed(array.document),
        notes=tuple(scrub(note) for note in array.notes),
    )


def _skipped(skipped: Skipped) -> Skipped:
    nickname = scrub(skipped.nickname) if skipped.nickname is not None else None
    return replace(skipped, nickname=nickname, reason=scrub(skipped.reason))


def redacted(result: ImportResult) -> ImportResult:
    """``result`` with every secret the appliance's text holds replaced by ``***``."""
    return ImportResult(
        arrays=tuple(_array(array) for array in result.arrays),
        skipped=tuple(_skipped(skipped) for skipped in result.skipped),
        warnings=tuple(scrub(warning) for warning in result.warnings),
    )
