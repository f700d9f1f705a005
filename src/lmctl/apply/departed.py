"""Appliances the state directory knows (the journal, the backups) that the inventory no longer
names: their virtual services still answer on the VIPs.

An appliance dropped from the inventory while its arrays stay in the specs is no move: plan
creates those arrays on the appliance that remains and leaves the dropped one's virtual services
answering on the same VIPs (duplicate addresses on the network). lmctl cannot read an appliance it
has no entry for, so plan and apply warn from what this state directory recorded: the arrays in
the newest backup record of that appliance, and when it was last applied or backed up.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lmctl.apply.backups import kept_backups
from lmctl.apply.journal import read_journal
from lmctl.errors import LmctlError


@dataclass(frozen=True, slots=True)
class DepartedAppliance:
    """An appliance the state directory recorded and the inventory does not name."""

    name: str
    # The arrays its newest backup record shows it held (empty when no record says).
    arrays: tuple[str, ...]
    # Where it was last seen ("journal" or "backup") and when.
    source: str
    seen: datetime

    def warning(self) -> str:
        """The warning plan and apply print."""
        when = f"{self.source}, {self.seen:%Y-%m-%d %H:%M:%S} UTC"
        held = f"held arrays {', '.join(self.arrays)}" if self.arrays else "was applied to"
        return (
            f"warning: {self.name} {held} ({when}) and is no longer in the inventory: its VSs "
            "still answer unless deleted there; delete them there or add it back to plan the move"
        )


def _sightings(state_dir: Path) -> list[tuple[str, datetime, str, tuple[str, ...]]]:
    """(appliance, when, source, arrays) for every journal entry and lmctl backup; what cannot
    be read (a link, a file not lmctl's) is left out: a warning never stops a plan."""
    seen: list[tuple[str, datetime, str, tuple[str, ...]]] = []
    try:
        entries, _ = read_journal(state_dir)
    except (LmctlError, OSError):
        entries = []
    seen += [(e.appliance, e.time, "journal", ()) for e in entries]
    try:
        backups = kept_backups(state_dir)
    except (LmctlError, OSError):
        backups = []
    for backup in backups:
        if backup.counted and backup.record is not None:
            owners = {vs.owner.array for vs in backup.record.state if vs.owner is not None}
            seen.append(
                (backup.file.appliance, backup.record.taken_at, "backup", tuple(sorted(owners)))
            )
    return seen


def departed_appliances(state_dir: Path, inventory: Collection[str]) -> list[DepartedAppliance]:
    """Every appliance the state directory recorded that ``inventory`` (its names) lacks, by
    name."""
    found: dict[str, DepartedAppliance] = {}
    for name, when, source, arrays in sorted(_sightings(state_dir), key=lambda s: s[1]):
        if name in inventory:
            continue
        before = found.get(name)
        held = arrays if source == "backup" else (before.arrays if before else ())
        found[name] = DepartedAppliance(name, held, source, when)
    return [found[name] for name in sorted(found)]
