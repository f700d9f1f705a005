"""Apply a plan: per appliance, lock → drift check → backup → writes in order → read again.

Writes to one appliance are serialised; appliances are applied concurrently, at most
``ApplyOptions.parallel`` at a time. The first failed write stops that appliance: the result
says what was done, what failed and what was not attempted, and a second apply converges
(it plans again from what the appliance then holds).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lmctl.loadmaster.errors import LoadMasterError
from lmctl.reconcile.changes import Change
from lmctl.reconcile.drift import Drift, compare
from lmctl.reconcile.guard import ApplianceBusyError, appliance_lock
from lmctl.reconcile.plan import AppliancePlan, Plan
from lmctl.reconcile.simulate import simulate
from lmctl.reconcile.state import appliance_state
from lmctl.reconcile.statedir import state_subdir
from lmctl.reconcile.writes import write

if TYPE_CHECKING:
    from lmctl.loadmaster.client import LoadMaster

EventKind = Literal["start", "backup", "write", "failed", "finish"]


@dataclass(frozen=True, slots=True)
class ApplyEvent:
    """Progress of one appliance: its writes as they happen."""

    appliance: str
    kind: EventKind
    total: int = 0
    change: Change | None = None
    detail: str = ""


EventSink = Callable[[ApplyEvent], None]


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    """How to apply: state directory (backups, locks), backup or not, concurrency."""

    state_dir: Path = Path(".lmctl")
    backup: bool = True
    parallel: int = 8


@dataclass
class ApplianceResult:
    """What happened on one appliance."""

    appliance: str
    planned: tuple[Change, ...]
    done: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str | None = None
    refused: str | None = None
    # Set when another lmctl held the appliance's apply lock: nothing was written.
    busy_lock: Path | None = None
    drift: list[Drift] = field(default_factory=list)
    backup: Path | None = None
    remaining: list[Drift] = field(default_factory=list)
    # Set when the read after applying failed: the writes were made but not checked.
    unverified: str | None = None
    # Set when something lmctl did not expect went wrong (a bug): writing there stopped.
    unexpected: str | None = None

    @property
    def not_attempted(self) -> tuple[Change, ...]:
        """Planned changes after the failed one (or all of them when refused)."""
        skipped = len(self.done) + (1 if self.failed is not None else 0)
        return self.planned[skipped:]

    @property
    def stopped(self) -> bool:
        """True when writing stopped early: a write failed, or an unexpected error."""
        return self.failed is not None or self.refused is not None or self.unexpected is not None

    @property
    def ok(self) -> bool:
        """True when every planned write was made and nothing is left to do."""
        return (
            self.failed is None
            and self.refused is None
            and len(self.done) == len(self.planned)
            and not self.remaining
            and self.unverified is None
            and self.unexpected is None
        )


def save_backup(state_dir: Path, appliance: str, archive: bytes) -> Path:
    """Keep the appliance's backup as ``backups/<appliance>-<UTC timestamp>.bak`` (mode 0600)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    path = state_subdir(state_dir, "backups") / f"{appliance}-{stamp}.bak"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(archive)
    return path


def _error_text(error: Exception) -> str:
    return str(error) or type(error).__name__


async def _writes(
    plan: AppliancePlan, client: LoadMaster, result: ApplianceResult, emit: EventSink
) -> None:
    for change in plan.changes:
        try:
            await write(client, change)
        except (LoadMasterError, OSError) as error:
            result.failed, result.error = change, _error_text(error)
            emit(ApplyEvent(plan.name, "failed", change=change, detail=result.error))
            return
        result.done.append(change)
        emit(ApplyEvent(plan.name, "write", change=change))


async def _verify(plan: AppliancePlan, client: LoadMaster, result: ApplianceResult) -> None:
    """Read again: every touched object must now be as the whole plan intends."""
    expected = simulate(plan.observed_state(), plan.changes)
    try:
        found = appliance_state(await client.list_virtual_services())
    except (LoadMasterError, OSError) as error:
        result.unverified = (
            f"written but not verified: reading {plan.name} after applying failed "
            f"({_error_text(error)}); run lmctl plan"
        )
        return
    keys = [t.key for t in plan.observed]
    result.remaining = compare(plan.name, keys, expected, found)


async def _locked_apply(
    plan: AppliancePlan,
    client: LoadMaster,
    options: ApplyOptions,
    result: ApplianceResult,
    emit: EventSink,
) -> None:
    found = appliance_state(await client.list_virtual_services())
    keys = [t.key for t in plan.observed]
    result.drift = compare(plan.name, keys, plan.observed_state(), found)
    if result.drift:
        result.refused = (
            f"{plan.name}: the appliance changed since it was planned; nothing was written"
        )
        return
    if options.backup:
        result.backup = save_backup(options.state_dir, plan.name, await client.backup())
        emit(ApplyEvent(plan.name, "backup", detail=str(result.backup)))
    await _writes(plan, client, result, emit)
    await _verify(plan, client, result)


async def apply_appliance(
    plan: AppliancePlan, client: LoadMaster, options: ApplyOptions, emit: EventSink
) -> ApplianceResult:
    """Apply one appliance's changes; never raises for an appliance-side problem."""
    result = ApplianceResult(appliance=plan.name, planned=plan.changes)
    if not plan.changes:
        return result
    emit(ApplyEvent(plan.name, "start", total=len(plan.changes)))
    try:
        with appliance_lock(options.state_dir, plan.name):
            await _locked_apply(plan, client, options, result, emit)
    except ApplianceBusyError as busy:
        result.refused, result.busy_lock = str(busy), busy.lock_file
    except (LoadMasterError, OSError) as error:
        result.refused = f"{plan.name}: {_error_text(error)}; nothing was written"
    except Exception as error:
        # A bug must not escape into ``gather``: the other appliances' writes go on and
        # their clients stay open until they finish.
        result.unexpected = (
            f"{plan.name}: unexpected error after {len(result.done)} writes "
            f"({type(error).__name__}: {error}); please report it; run lmctl plan"
        )
    emit(ApplyEvent(plan.name, "finish", total=len(plan.changes)))
    return result


async def apply_plan(
    plan: Plan,
    clients: Mapping[str, LoadMaster],
    options: ApplyOptions,
    emit: EventSink,
    *,
    appliances: Sequence[str] | None = None,
) -> list[ApplianceResult]:
    """Apply every appliance's changes, appliances concurrently (bounded), in plan order."""
    slots = asyncio.Semaphore(max(1, options.parallel))
    chosen = [a for a in plan.appliances if appliances is None or a.name in appliances]

    async def bounded(appliance: AppliancePlan) -> ApplianceResult:
        async with slots:
            return await apply_appliance(appliance, clients[appliance.name], options, emit)

    return list(await asyncio.gather(*(bounded(a) for a in chosen)))
