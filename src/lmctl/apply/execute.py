"""Apply a plan: per appliance, lock → drift check → backup → writes in order → read back →
journal entry.

Two lmctl processes must not write to one appliance at once: the apply lock
(``lmctl.statedir.appliance_lock``) is taken before the first write and held until the last.
A writer the lock cannot see (another host, the web UI) is caught by the optimistic check: right
before the first write the appliance is read again, and every object the plan touches must still
be as the plan read it; otherwise nothing is written. The appliance offers no lock of its own, so
a change made during the writes themselves is reported by the read after applying, not
prevented.

Writes to one appliance are serialised; appliances are applied concurrently, at most
``ApplyOptions.parallel`` at a time. The first failed write stops that appliance: the result
says what was done, what failed and what was not attempted, and a second apply converges (it
plans again from what the appliance then holds).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from lmctl.appliance.base import Appliance
from lmctl.appliance.changes import Change, write_label
from lmctl.appliance.state import ApplianceState, Drift, compare
from lmctl.apply import journal
from lmctl.apply.backups import DEFAULT_KEEP, keep_backup, plan_digest
from lmctl.errors import LmctlError, error_text
from lmctl.plan.document import AppliancePlan, Plan
from lmctl.plan.simulate import simulate
from lmctl.statedir import (
    DEFAULT_STATE_DIR,
    ApplianceBusyError,
    appliance_lock,
    state_subdir,
)

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
    """How to apply: state directory (backups, locks, journal), backup or not and how many to
    keep per appliance (``keep``: by name, else ``DEFAULT_KEEP``), concurrency."""

    state_dir: Path = DEFAULT_STATE_DIR
    backup: bool = True
    parallel: int = 8
    keep: Mapping[str, int] = field(default_factory=dict)


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
    # Set when the apply was interrupted (Ctrl-C) while this appliance was being written.
    interrupted: bool = False
    # Set when the journal entry of this apply could not be written.
    journal_problem: str | None = None

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


async def _writes(
    plan: AppliancePlan, appliance: Appliance, result: ApplianceResult, emit: EventSink
) -> None:
    for change in plan.changes:
        try:
            await appliance.apply(change)
        except (LmctlError, OSError) as error:
            result.failed, result.error = change, error_text(error)
            emit(ApplyEvent(plan.name, "failed", change=change, detail=result.error))
            return
        result.done.append(change)
        emit(ApplyEvent(plan.name, "write", change=change))


async def read_after(appliance: Appliance, done: str, after: str) -> ApplianceState | str:
    """The appliance read again ``after`` what was ``done``, or why that read failed, as the
    report says it (``written but not verified: reading lm-hq after applying failed ...``)."""
    try:
        return await appliance.observe()
    except (LmctlError, OSError) as error:
        return (
            f"{done} but not verified: reading {appliance.name} {after} failed "
            f"({error_text(error)}); run lmctl plan"
        )


async def _verify(plan: AppliancePlan, appliance: Appliance, result: ApplianceResult) -> None:
    """Read again: every touched object must now be as the whole plan intends."""
    expected = simulate(plan.observed_state(), plan.changes)
    found = await read_after(appliance, "written", "after applying")
    if isinstance(found, str):
        result.unverified = found
        return
    result.remaining = compare(plan.name, plan.touched, expected, found)


async def _locked_apply(
    plan: AppliancePlan,
    appliance: Appliance,
    options: ApplyOptions,
    result: ApplianceResult,
    emit: EventSink,
) -> None:
    found = await appliance.observe()
    result.drift = compare(plan.name, plan.touched, plan.observed_state(), found)
    if result.drift:
        result.refused = (
            f"{plan.name}: the appliance changed since it was planned; nothing was written"
        )
        return
    if options.backup:
        archive = await appliance.backup()
        keep = options.keep.get(plan.name, DEFAULT_KEEP)
        result.backup = keep_backup(
            options.state_dir, plan.name, archive, found, keep=keep, plan=plan
        )
        emit(ApplyEvent(plan.name, "backup", detail=str(result.backup)))
    await _writes(plan, appliance, result, emit)
    await _verify(plan, appliance, result)


async def apply_appliance(
    plan: AppliancePlan, appliance: Appliance, options: ApplyOptions, emit: EventSink
) -> ApplianceResult:
    """Apply one appliance's changes; never raises for an appliance-side problem."""
    result = ApplianceResult(appliance=plan.name, planned=plan.changes)
    if not plan.changes:
        return result
    emit(ApplyEvent(plan.name, "start", total=len(plan.changes)))
    try:
        with appliance_lock(options.state_dir, plan.name):
            await _locked_apply(plan, appliance, options, result, emit)
    except (asyncio.CancelledError, KeyboardInterrupt):
        result.interrupted = True
        _journal(options, plan, result)
        raise
    except ApplianceBusyError as busy:
        result.refused, result.busy_lock = str(busy), busy.lock_file
    except (LmctlError, OSError) as error:
        result.refused = f"{plan.name}: {error_text(error)}; nothing was written"
    except Exception as error:
        # A bug must not escape into ``gather``: the other appliances' writes go on and
        # their connections stay open until they finish.
        result.unexpected = (
            f"{plan.name}: unexpected error after {len(result.done)} writes "
            f"({type(error).__name__}: {error}); please report it; run lmctl plan"
        )
    _journal(options, plan, result)
    emit(ApplyEvent(plan.name, "finish", total=len(plan.changes)))
    return result


def outcome(result: ApplianceResult) -> tuple[journal.Outcome, str | None]:
    """How one appliance's apply ended, in the journal's words, and why (None when ok)."""
    failed = None if result.failed is None else f"{write_label(result.failed)}: {result.error}"
    left = f"{len(result.remaining)} differences left after applying" if result.remaining else None
    return journal.outcome(
        interrupted="interrupted (Ctrl-C) while writing" if result.interrupted else None,
        error=result.unexpected,
        refused=result.refused,
        failed=failed or result.unverified or left,
    )


def _journal(options: ApplyOptions, plan: AppliancePlan, result: ApplianceResult) -> None:
    """Append this appliance's apply to the journal; a failure to is reported, never raised
    (the writes are made either way)."""
    ended, detail = outcome(result)
    made = journal.entry(
        "apply",
        plan.name,
        ended,
        plan_digest=plan_digest(plan),
        backup=result.backup,
        planned=len(plan.changes),
        writes=[write_label(change) for change in result.done],
        detail=detail,
    )
    result.journal_problem = journal.record(options.state_dir, made)


def _check_state_dir(options: ApplyOptions) -> None:
    """The locks (and backups) must fit in the state directory before any appliance is
    touched: one clear error rather than every appliance refused alike."""
    state_subdir(options.state_dir, "locks")
    state_subdir(options.state_dir, "journal")
    if options.backup:
        state_subdir(options.state_dir, "backups")


async def apply_plan(
    plan: Plan,
    appliances: Mapping[str, Appliance],
    options: ApplyOptions,
    emit: EventSink,
    *,
    only: Sequence[str] | None = None,
) -> list[ApplianceResult]:
    """Apply every appliance's changes (``only`` these, when given), appliances concurrently
    (bounded), in plan order; ``StateDirError`` before any write if locks cannot be taken."""
    chosen = [a for a in plan.appliances if only is None or a.name in only]
    if any(a.changes for a in chosen):
        _check_state_dir(options)
    slots = asyncio.Semaphore(max(1, options.parallel))

    async def bounded(planned: AppliancePlan) -> ApplianceResult:
        async with slots:
            return await apply_appliance(planned, appliances[planned.name], options, emit)

    return list(await asyncio.gather(*(bounded(a) for a in chosen)))
