"""The backups apply takes, and what lmctl records beside each: kept, listed and pruned.

A LoadMaster backup is the appliance's own archive (a tar.gz whose layout Kemp does not
document), so lmctl does not read it. Beside each backup it keeps a record (``<backup>.json``,
0600): when and why it was taken, its size and SHA-256, the plan applied right after it (digest
and summary), and the appliance's virtual services as ``listvs`` showed them when it was taken.
That state is what a restore brings back, so ``lmctl restore`` previews a restore by comparing it
with what the appliance holds now. The record holds no secret: names, addresses and settings.

Retention: after a new backup is saved, the appliance's oldest backups beyond the newest
``keep`` (the inventory's ``keep_backups``, 10 unless set) are removed with their records; the
one just taken is never among them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from lmctl import __version__
from lmctl.appliance.state import ApplianceState, VirtualServiceState
from lmctl.errors import LmctlError
from lmctl.files import read_regular_file
from lmctl.plan.document import AppliancePlan, Summary
from lmctl.specs.inventory import DEFAULT_KEEP_BACKUPS
from lmctl.statedir import (
    BackupFile,
    backup_file,
    backups_in,
    prune_backups,
    record_name,
    save_backup,
    save_backup_record,
)

DEFAULT_KEEP = DEFAULT_KEEP_BACKUPS
"""How many backups per appliance are kept unless the inventory says otherwise."""

BackupReason = Literal["apply", "restore"]


class BackupError(LmctlError):
    """A backup named on the command line is not one lmctl kept, or cannot be read."""


def plan_digest(plan: AppliancePlan) -> str:
    """The SHA-256 of one appliance's plan (its changes and what they were planned against),
    as the backup record and the journal name it."""
    return hashlib.sha256(plan.model_dump_json().encode()).hexdigest()


class PlanApplied(BaseModel):
    """The plan applied right after a backup: its digest and its counts."""

    model_config = ConfigDict(frozen=True)

    digest: str
    summary: Summary

    @classmethod
    def of(cls, plan: AppliancePlan) -> PlanApplied:
        """The digest and counts of ``plan``."""
        return cls(digest=plan_digest(plan), summary=plan.summary)


class BackupRecord(BaseModel):
    """What lmctl records beside one backup (``<backup>.json``)."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = 1
    kind: Literal["lmctl-backup"] = "lmctl-backup"
    lmctl_version: str = __version__
    appliance: str
    taken_at: datetime
    size: int
    sha256: str
    # Taken before an apply (``plan`` is what it applied) or before a restore (``restoring``
    # names the backup that restore brought back).
    taken_before: BackupReason
    plan: PlanApplied | None = None
    restoring: str | None = None
    # The appliance's virtual services when the backup was taken (one listvs, reduced).
    state: tuple[VirtualServiceState, ...] = ()

    def appliance_state(self) -> ApplianceState:
        """The recorded virtual services, keyed as observed states are."""
        return {vs.key: vs for vs in self.state}


@dataclass(frozen=True, slots=True)
class KeptBackup:
    """A backup in the state directory and its record (None: kept without one, by an earlier
    lmctl, or the record cannot be read: ``problem`` says why)."""

    file: BackupFile
    size: int
    record: BackupRecord | None
    problem: str | None = None

    @property
    def name(self) -> str:
        """The backup's file name, as ``lmctl restore`` takes it."""
        return self.file.path.name


def keep_backup(
    state_dir: Path,
    appliance: str,
    archive: bytes,
    state: ApplianceState,
    *,
    keep: int = DEFAULT_KEEP,
    plan: AppliancePlan | None = None,
    restoring: str | None = None,
) -> Path:
    """Save ``archive`` with its record, then prune the appliance's backups to the newest
    ``keep``; the path of the backup saved."""
    path = save_backup(state_dir, appliance, archive)
    found = backup_file(path)
    assert found is not None  # save_backup names it so
    record = BackupRecord(
        appliance=appliance,
        taken_at=found.taken_at,
        size=len(archive),
        sha256=hashlib.sha256(archive).hexdigest(),
        taken_before="apply" if restoring is None else "restore",
        plan=None if plan is None else PlanApplied.of(plan),
        restoring=restoring,
        state=tuple(state[key] for key in sorted(state, key=str)),
    )
    save_backup_record(path, record.model_dump_json(indent=1).encode())
    prune_backups(state_dir, appliance, keep, spare=path)
    return path


def _read_record(path: Path) -> tuple[BackupRecord | None, str | None]:
    record = path.with_name(record_name(path.name))
    try:
        return BackupRecord.model_validate_json(read_regular_file(record)), None
    except FileNotFoundError:
        return None, "no record kept beside it (taken by an earlier lmctl)"
    except (OSError, ValidationError) as error:
        why = error.strerror if isinstance(error, OSError) else "not a backup record"
        return None, f"its record {record.name} cannot be read ({why or error})"


def _kept(file: BackupFile) -> KeptBackup:
    try:
        size = file.path.lstat().st_size
    except OSError:
        size = 0
    record, problem = _read_record(file.path)
    return KeptBackup(file, size, record, problem)


def kept_backups(state_dir: Path, appliance: str | None = None) -> list[KeptBackup]:
    """Every backup kept in the state directory (``appliance``'s only, when given), oldest
    first, each with its record."""
    return [_kept(file) for file in backups_in(state_dir, appliance)]


def find_backup(state_dir: Path, name: str) -> KeptBackup:
    """The kept backup called ``name`` (its file name, or a path to it in the state directory's
    ``backups/``); ``BackupError`` naming what is kept when there is none."""
    wanted = Path(name).name
    kept = kept_backups(state_dir)
    for backup in kept:
        if backup.name == wanted:
            return backup
    listed = ", ".join(b.name for b in kept[-3:]) or "none"
    raise BackupError(
        f"no backup {wanted} in {state_dir / 'backups'} (newest kept: {listed}); "
        "lmctl backups lists them"
    )


def read_archive(backup: KeptBackup) -> bytes:
    """The backup's bytes, checked against the SHA-256 recorded when it was taken."""
    try:
        archive = read_regular_file(backup.file.path)
    except OSError as error:
        raise BackupError(
            f"the backup {backup.file.path} cannot be read ({error.strerror or error})"
        ) from None
    record = backup.record
    if record is not None and hashlib.sha256(archive).hexdigest() != record.sha256:
        raise BackupError(
            f"the backup {backup.file.path} is not the file lmctl saved (its SHA-256 differs "
            "from the one recorded); it will not be restored"
        )
    return archive


def newest_first(backups: Sequence[KeptBackup]) -> list[KeptBackup]:
    """``backups`` newest first, as listings show them."""
    return sorted(backups, key=lambda b: (b.file.taken_at, b.name), reverse=True)
