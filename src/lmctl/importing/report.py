"""What ``lmctl import --format json`` prints: the specs written and the VSs skipped, with
reasons, as a versioned document (schema: ``lmctl schema --kind import``, committed as
``docs/schema/import.schema.json``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from lmctl import __version__
from lmctl.importing.recognise import ImportResult
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.specs.loader import SCHEMA_DIALECT

IMPORT_FORMAT_VERSION: Literal[1] = 1
IMPORT_KIND: Literal["lmctl-import"] = "lmctl-import"
IMPORT_SCHEMA_TITLE = "lmctl import document (import --format json), format_version 1"


class WrittenSpec(BaseModel):
    """One array spec file written: the VSs it takes over once adopted, and its notes (the
    comments at the top of the file)."""

    model_config = ConfigDict(frozen=True)

    file: str
    array: str
    vip: str
    services: tuple[str, ...]
    members: int
    virtual_services: tuple[VirtualServiceKey, ...]
    notes: tuple[str, ...] = ()


class SkippedService(BaseModel):
    """A virtual service no spec was written for, and why; lmctl leaves it as it is."""

    model_config = ConfigDict(frozen=True)

    key: VirtualServiceKey
    nickname: str | None = None
    reason: str


class ImportReport(BaseModel):
    """What ``lmctl import --format json`` prints; ``next`` holds the commands to run next
    (validate, then plan with adoption), empty when nothing was written."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = IMPORT_FORMAT_VERSION
    kind: Literal["lmctl-import"] = IMPORT_KIND
    lmctl_version: str = __version__
    appliance: str
    written: tuple[WrittenSpec, ...] = ()
    skipped: tuple[SkippedService, ...] = ()
    # What to settle before planning (a marker already carried elsewhere on the appliance).
    warnings: tuple[str, ...] = ()
    next: tuple[str, ...] = ()


def import_report(
    appliance: str, result: ImportResult, files: Sequence[Path], next_commands: Sequence[str]
) -> ImportReport:
    """The document of one import: ``files`` are where ``result``'s arrays were written."""
    return ImportReport(
        appliance=appliance,
        written=tuple(
            WrittenSpec(
                file=str(path),
                array=array.name,
                vip=array.document["vip"],
                services=tuple(array.document["services"]),
                members=len(array.document["members"]),
                virtual_services=array.keys,
                notes=array.notes,
            )
            for array, path in zip(result.arrays, files, strict=True)
        ),
        skipped=tuple(
            SkippedService(key=s.key, nickname=s.nickname, reason=s.reason) for s in result.skipped
        ),
        warnings=result.warnings,
        next=tuple(next_commands),
    )


def import_json_schema() -> dict[str, Any]:
    """The schema of ``lmctl import --format json``."""
    schema = ImportReport.model_json_schema(mode="serialization")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": IMPORT_SCHEMA_TITLE}
