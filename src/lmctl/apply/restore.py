"""Restore a kept backup: preview what it changes, then, under the apply lock, check nothing
changed since the preview, take a backup of what is there now, restore, read back, journal.

The appliance restores the virtual services of a backup (``restore`` with ``type=2``): every VS
as it was when the backup was taken, those made since removed. lmctl cannot read the archive
itself (Kemp does not document its layout), so the preview compares the appliance's state now
with the state recorded beside the backup when it was taken (``lmctl.apply.backups``): one
line per VS the restore brings back, removes or changes, field by field.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lmctl.appliance.base import Appliance
from lmctl.appliance.state import ApplianceState, Drift, compare
from lmctl.apply import journal
from lmctl.apply.backups import DEFAULT_KEEP, KeptBackup, keep_backup
from lmctl.apply.execute import read_after
from lmctl.errors import LmctlError, error_text
from lmctl.plan.safety import SafetyViolation
from lmctl.statedir import DEFAULT_STATE_DIR, ApplianceBusyError, appliance_lock


def differences(appliance: str, wanted: ApplianceState, found: ApplianceState) -> list[Drift]:
    """Every difference between two whole states (each VS on either side): ``expected`` is the
    value in ``wanted``, ``found`` the one in ``found``."""
    return compare(appliance, wanted.keys() | found.keys(), wanted, found)


def preview(backup: KeptBackup, now: ApplianceState) -> list[Drift] | None:
    """What restoring ``backup`` changes on an appliance that holds ``now`` (``expected``: the
    value restored, ``found``: the value now); None when no state was recorded with it."""
    if backup.record is None:
        return None
    return differences(backup.file.appliance, backup.record.appliance_state(), now)


def preview_line(drift: Drift, recorded: ApplianceState | None = None) -> str:
    """One preview line, as a plan shows a change: ``+`` brought back (with its real servers'
    count, from ``recorded``: the state recorded with the backup), ``-`` removed, ``~``
    changed (now → restored)."""
    restored, now = drift.expected, drift.found
    whole = drift.field == "virtual service"
    if restored == "absent":
        return f"- {now}" if whole else f"- {drift.key} {drift.field}"
    if now == "absent":
        if not whole:
            return f"+ {drift.key} {drift.field}"
        vs = (recorded or {}).get(drift.key)
        count = "" if vs is None else f" with {len(vs.real_servers)} real servers"
        return f"+ {restored}{count}"
    return f"~ {drift.key} {drift.field}: {now!r} → {restored!r}"


def brought_back(recorded: ApplianceState, now: ApplianceState) -> ApplianceState:
    """The marked VSs a restore makes again: recorded with the backup, and not held now with
    the same marker."""
    return {
        key: vs
        for key, vs in recorded.items()
        if vs.owner is not None and (key not in now or now[key].owner != vs.owner)
    }


def appliance_moves(
    appliance: str,
    restoring: ApplianceState,
    homes: Mapping[str, str],
    others: Mapping[str, ApplianceState],
) -> list[SafetyViolation]:
    """The ``appliance-move`` violations of restoring the marked VSs ``restoring`` (see
    ``brought_back``) on ``appliance``: one per array the specs now put on another appliance
    (``homes``: array → its appliance), and one per VS whose key another appliance
    (``others``: each other inventory appliance as read) holds marked. Either way both
    appliances would hold the address (the array moved after the backup was taken)."""
    arrays: dict[str, list[str]] = {}
    for key, vs in sorted(restoring.items(), key=lambda item: str(item[0])):
        assert vs.owner is not None  # brought_back keeps marked VSs only
        arrays.setdefault(vs.owner.array, []).append(str(key))
    violations = [
        SafetyViolation(
            appliance=appliance,
            rule="appliance-move",
            message=f"{appliance}: the restore brings back array {array!r} "
            f"({', '.join(keys)}), which the specs now put on {homes[array]}: both appliances "
            "would hold its addresses (a duplicate address on the network)",
        )
        for array, keys in arrays.items()
        if homes.get(array, appliance) != appliance
    ]
    violations += [
        SafetyViolation(
            appliance=appliance,
            rule="appliance-move",
            message=f"{appliance}: the restore brings back {vs.describe()}, which {other} "
            f"holds marked as {held.describe()}: both appliances would hold the address",
        )
        for key, vs in sorted(restoring.items(), key=lambda item: str(item[0]))
        for other, state in sorted(others.items())
        if (held := state.get(key)) is not None and held.owner is not None
    ]
    return violations


@dataclass(frozen=True, slots=True)
class RestoreOptions:
    """Where the state directory is, whether to back up what is there first, how many to keep."""

    state_dir: Path = DEFAULT_STATE_DIR
    backup: bool = True
    keep: int = DEFAULT_KEEP


@dataclass
class RestoreResult:
    """What a restore did on its appliance."""

    appliance: str
    restored: str
    refused: str | None = None
    drift: list[Drift] = field(default_factory=list)
    backup: Path | None = None
    pruned: list[Path] = field(default_factory=list)
    written: bool = False
    # False when restored without a record (--without-record): nothing to check it against.
    checked: bool = True
    error: str | None = None
    remaining: list[Drift] = field(default_factory=list)
    unverified: str | None = None
    interrupted: bool = False
    journal_problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when the backup was restored and the appliance now holds what it recorded."""
        return (
            self.written
            and self.error is None
            and not self.remaining
            and self.unverified is None
            and not self.interrupted
        )

    def outcome(self) -> tuple[journal.Outcome, str | None]:
        """How it ended, in the journal's words, and why (None when ok)."""
        left = f"{len(self.remaining)} differences from the backup left" if self.remaining else None
        return journal.outcome(
            interrupted="interrupted (Ctrl-C) while restoring" if self.interrupted else None,
            refused=self.refused,
            failed=self.error or self.unverified or left,
        )


async def _locked_restore(
    appliance: Appliance,
    backup: KeptBackup,
    archive: bytes,
    previewed: ApplianceState,
    options: RestoreOptions,
    result: RestoreResult,
) -> None:
    found = await appliance.observe()
    result.drift = differences(appliance.name, previewed, found)
    if result.drift:
        result.refused = (
            f"{appliance.name}: the appliance changed since the preview; nothing was restored"
        )
        return
    if options.backup:
        saved = keep_backup(
            options.state_dir,
            appliance.name,
            await appliance.backup(),
            found,
            keep=options.keep,
            restoring=backup.name,
        )
        result.backup, result.pruned = saved.path, saved.pruned
    try:
        await appliance.restore(archive)
    except (LmctlError, OSError) as error:
        result.error = error_text(error)
        return
    result.written = True
    if backup.record is None:
        result.checked = False
        return
    after = await read_after(appliance, "restored", "after the restore")
    if isinstance(after, str):
        result.unverified = after
        return
    result.remaining = differences(appliance.name, backup.record.appliance_state(), after)


async def restore_backup(
    appliance: Appliance,
    backup: KeptBackup,
    archive: bytes,
    previewed: ApplianceState,
    options: RestoreOptions,
) -> RestoreResult:
    """Restore ``archive`` (the bytes of ``backup``) on ``appliance``, which held ``previewed``
    when the preview was shown; never raises for an appliance-side problem."""
    result = RestoreResult(appliance=appliance.name, restored=backup.name)
    try:
        with appliance_lock(options.state_dir, appliance.name):
            await _locked_restore(appliance, backup, archive, previewed, options, result)
    except (asyncio.CancelledError, KeyboardInterrupt):
        result.interrupted = True
        _journal(options, result)
        raise
    except ApplianceBusyError as busy:
        result.refused = str(busy)
    except (LmctlError, OSError) as error:
        result.refused = f"{appliance.name}: {error_text(error)}; nothing was restored"
    _journal(options, result)
    return result


def _journal(options: RestoreOptions, result: RestoreResult) -> None:
    ended, detail = result.outcome()
    made = journal.entry(
        "restore",
        result.appliance,
        ended,
        restored=result.restored,
        backup=result.backup,
        planned=1,
        writes=[f"restore {result.restored}"] if result.written else [],
        detail=detail,
    )
    result.journal_problem = journal.record(options.state_dir, made)


def report_lines(result: RestoreResult) -> Sequence[tuple[str, bool]]:
    """The restore report: (line, is a problem) pairs, then the verdict."""
    lines: list[tuple[str, bool]] = []
    if result.backup is not None:
        lines.append((f"backup of what was there before: {result.backup}", False))
    if result.pruned:
        names = ", ".join(path.name for path in result.pruned)
        lines.append((f"pruned (keep_backups): {names}", False))
    if result.refused is not None:
        lines.append((f"refused: {result.refused}", True))
        lines += [(f"  changed since the preview: {drift}", True) for drift in result.drift]
    if result.error is not None:
        lines.append((f"failed: {result.error}", True))
    if result.unverified is not None:
        lines.append((result.unverified, True))
    lines += [(f"left different from the backup: {drift}", True) for drift in result.remaining]
    if result.journal_problem is not None:
        lines.append((result.journal_problem, True))
    if result.ok and not result.checked:
        lines.append(
            (
                f"Restore sent: {result.appliance} accepted {result.restored}; it has no "
                "record, so neither the file nor what the appliance holds now was checked: "
                "run lmctl plan",
                False,
            )
        )
    elif result.ok:
        lines.append((f"Restore complete: {result.appliance} holds {result.restored}.", False))
    elif result.error is not None:
        lines.append(
            (
                f"Restore failed: run lmctl plan to see what {result.appliance} holds now.",
                True,
            )
        )
    elif result.written:
        lines.append(
            (
                f"Restore incomplete: {result.restored} was sent to {result.appliance}, but it "
                "does not hold what the backup recorded (above); run lmctl plan",
                True,
            )
        )
    else:
        lines.append((f"Restore not done: nothing was restored to {result.appliance}.", True))
    return lines
