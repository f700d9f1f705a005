"""The backups apply takes, and what lmctl records beside each: kept, listed and pruned.

A LoadMaster backup is the appliance's own archive (a tar.gz whose layout Kemp does not
document), so lmctl does not read it. Beside each backup it keeps a record (``<backup>.json``,
0600): when and why it was taken, its size and SHA-256, the plan applied right after it (digest
and summary), and the appliance's virtual services as ``listvs`` showed them when it was taken.
That state is what a restore brings back, so ``lmctl restore`` previews a restore by comparing it
with what the appliance holds now. The record holds no secret: names, addresses and settings.

Retention: after a new backup is saved, the appliance's oldest backups beyond the newest
``keep`` (the inventory's ``keep_backups``, 10 unless set) are removed with their records; the
one just taken is never among them. Only backups lmctl kept count, oldest by their record's
time: a backup and its record both private to the user (0600, see ``statedir.not_private``) and
the record naming the backup's appliance and time. Any other file is never counted nor removed
(a file named with a future time cannot push real backups out).

What vouches for a backup: its SHA-256 in the record. What vouches for the record: only that
the user wrote it (0600, in a 0700 directory of theirs). A file anyone else could have written
is refused by restore and listed as not lmctl's.
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
    backups_dir,
    backups_in,
    not_private,
    record_name,
    remove_backup,
    save_backup,
    save_backup_record,
)

DEFAULT_KEEP = DEFAULT_KEEP_BACKUPS
"""How many backups per appliance are kept unless the inventory says otherwise."""

BackupReason = Literal["apply", "restore"]

MAX_RECORD_SIZE = 16 * 1024 * 1024
"""The largest record lmctl reads (one holds a few KiB per virtual service)."""


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
    """A file named like a backup in the state directory and its record. ``record`` is None
    when there is none (``missing``: kept by an earlier lmctl) or it cannot be trusted or read,
    or the backup itself is not lmctl's: ``problem`` says why."""

    file: BackupFile
    size: int
    record: BackupRecord | None
    problem: str | None = None
    missing: bool = False

    @property
    def name(self) -> str:
        """The backup's file name, as ``lmctl restore`` takes it."""
        return self.file.path.name

    @property
    def counted(self) -> bool:
        """True for a backup lmctl kept with its record: retention counts (and prunes) these
        only."""
        return self.file.foreign is None and self.record is not None


@dataclass(frozen=True, slots=True)
class SavedBackup:
    """A backup just kept, and the older ones retention removed to make room (oldest first)."""

    path: Path
    pruned: list[Path]


def keep_backup(
    state_dir: Path,
    appliance: str,
    archive: bytes,
    state: ApplianceState,
    *,
    keep: int = DEFAULT_KEEP,
    plan: AppliancePlan | None = None,
    restoring: str | None = None,
) -> SavedBackup:
    """Save ``archive`` with its record, then prune the appliance's backups to the newest
    ``keep``."""
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
    return SavedBackup(path, prune_backups(state_dir, appliance, keep, spare=path))


def _recorded_time(backup: KeptBackup) -> tuple[datetime, str]:
    assert backup.record is not None  # counted backups only
    return backup.record.taken_at, backup.name


def prune_backups(state_dir: Path, appliance: str, keep: int, spare: Path) -> list[Path]:
    """Remove the appliance's oldest backups (and their records) beyond the newest ``keep``,
    counting only the backups lmctl kept (``KeptBackup.counted``), by their record's time;
    ``spare`` (the backup just taken) is never removed. The backups removed, oldest first."""
    kept = kept_backups(state_dir, appliance)
    counted = sorted((b for b in kept if b.counted), key=_recorded_time)
    older = [b.file.path for b in counted if b.name != spare.name]
    excess = older[: max(0, len(counted) - max(keep, 1))]
    for path in excess:
        remove_backup(path)
    return excess


def _record_problem(file: BackupFile, record: BackupRecord) -> str | None:
    if record.appliance != file.appliance or record.taken_at != file.taken_at:
        return (
            f"its record names a backup of {record.appliance} taken "
            f"{record.taken_at:%Y-%m-%d %H:%M:%S} UTC, not what the file name says "
            f"({file.appliance}, {file.taken_at:%Y-%m-%d %H:%M:%S} UTC)"
        )
    return None


def _read_record(file: BackupFile) -> KeptBackup:
    path = file.path.with_name(record_name(file.path.name))
    size = _size(file.path)
    try:
        foreign = not_private(path.lstat())
        if foreign is not None:
            why = f"its record {path.name} is not lmctl's ({foreign})"
            return KeptBackup(file, size, None, why)
        record = BackupRecord.model_validate_json(read_regular_file(path, max_size=MAX_RECORD_SIZE))
    except FileNotFoundError:
        return KeptBackup(file, size, None, "no record kept beside it", missing=True)
    except (OSError, ValidationError) as error:
        why = str(error) if isinstance(error, OSError) else "not a backup record"
        return KeptBackup(file, size, None, f"its record {path.name} cannot be read ({why})")
    problem = _record_problem(file, record)
    return KeptBackup(file, size, record if problem is None else None, problem)


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _kept(file: BackupFile) -> KeptBackup:
    if file.foreign is not None:
        return KeptBackup(file, _size(file.path), None, f"not lmctl's ({file.foreign})")
    return _read_record(file)


def kept_backups(state_dir: Path, appliance: str | None = None) -> list[KeptBackup]:
    """Every file named like a backup in the state directory (``appliance``'s only, when
    given), oldest first by name, each with its record or the problem that leaves it without."""
    return [_kept(file) for file in backups_in(state_dir, appliance)]


def find_backup(state_dir: Path, name: str, *, without_record: bool = False) -> KeptBackup:
    """The backup called ``name`` (its file name, or a path to it in the state directory's
    ``backups/``), fit to restore: lmctl's, with a record that can be read and agrees with it
    (or none at all, when ``without_record``). ``BackupError`` saying why otherwise."""
    given = Path(name)
    directory = backups_dir(state_dir) or state_dir / "backups"
    if given.name != name and given.parent.resolve() != directory.resolve():
        raise BackupError(
            f"{name} is not in {directory}; lmctl restores only the backups it kept there: "
            "give the name `lmctl backups` lists"
        )
    kept = kept_backups(state_dir)
    for backup in kept:
        if backup.name == given.name:
            _check_restorable(backup, without_record=without_record)
            return backup
    listed = ", ".join(b.name for b in kept[-3:]) or "none"
    raise BackupError(
        f"no backup {given.name} in {directory} (newest kept: {listed}); lmctl backups lists them"
    )


def _check_restorable(backup: KeptBackup, *, without_record: bool) -> None:
    path = backup.file.path
    if backup.file.foreign is not None:
        raise BackupError(
            f"{path} is not a backup lmctl kept ({backup.file.foreign}; lmctl writes them 0600, "
            "owned by you): a repository or another user may have put it there; remove it"
        )
    if backup.record is not None or (backup.missing and without_record):
        return
    if backup.missing:
        raise BackupError(
            f"{path} has no record beside it: its SHA-256 cannot be checked nor what it "
            "restores shown; give --without-record to restore it unchecked"
        )
    raise BackupError(
        f"{path} will not be restored: {backup.problem}; a record lmctl wrote would be "
        "readable and agree with its backup: remove both if you did not change them"
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
