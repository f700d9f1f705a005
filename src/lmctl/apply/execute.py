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

One order holds across appliances: an array moving to another appliance (``lmctl.plan.moves``)
is made there before it is deleted here. The appliance it leaves makes its other writes, then
waits (under its lock, without holding a ``parallel`` slot) until every appliance it moves to
has made all of its writes; if one of them did not, the deletes are not attempted and the array
keeps serving from its old appliance.
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
from lmctl.plan.moves import ApplianceMove, move_deletes_last, moving_away
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
    # The older backups retention removed after this one was taken.
    pruned: list[Path] = field(default_factory=list)
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


class MoveOrder:
    """Holds the deletes of an array moving to another appliance until the appliances it moves
    to have made all their writes (each appliance's writes other than its own move deletes)."""

    def __init__(
        self,
        plans: Sequence[AppliancePlan],
        moves: Sequence[ApplianceMove],
        slots: asyncio.Semaphore,
    ) -> None:
        self.moves = moves
        self.slots = slots
        self._made = {plan.name: asyncio.Event() for plan in plans}
        self._ok: dict[str, bool] = {}

    def split(self, plan: AppliancePlan) -> tuple[tuple[Change, ...], tuple[Change, ...]]:
        """The appliance's writes made at once, and its move deletes made after the wait."""
        return move_deletes_last(plan.changes, moving_away(self.moves, plan.name))

    def made(self, appliance: str, ok: bool) -> None:
        """The appliance's writes before its move deletes are over (``ok``: all made); the
        first word counts."""
        if appliance not in self._ok:
            self._ok[appliance] = ok
        if appliance in self._made:
            self._made[appliance].set()

    async def unmade(self, appliance: str) -> list[str]:
        """Wait for the appliances the arrays leaving ``appliance`` move to; the ones that did
        not make all their writes (those of another apply, not in this one, count as made:
        their plan is not this one's)."""
        targets = sorted(
            {name for move in self.moves if move.source == appliance for name in move.destinations}
        )
        waiting = [self._made[name] for name in targets if name in self._made]
        if waiting and not all(event.is_set() for event in waiting):
            # Give the slot back while waiting: the appliances waited for may need it.
            self.slots.release()
            try:
                for event in waiting:
                    await event.wait()
            finally:
                await self.slots.acquire()
        return [name for name in targets if not self._ok.get(name, True)]


async def _writes(
    name: str,
    changes: Sequence[Change],
    appliance: Appliance,
    result: ApplianceResult,
    emit: EventSink,
) -> None:
    for change in changes:
        try:
            await appliance.apply(change)
        except (LmctlError, OSError) as error:
            result.failed, result.error = change, error_text(error)
            emit(ApplyEvent(name, "failed", change=change, detail=result.error))
            return
        result.done.append(change)
        emit(ApplyEvent(name, "write", change=change))


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


async def _verify(
    plan: AppliancePlan, intended: Sequence[Change], appliance: Appliance, result: ApplianceResult
) -> None:
    """Read again: every touched object must now be as the writes ``intended`` leave it."""
    expected = simulate(plan.observed_state(), intended)
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
    order: MoveOrder,
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
        saved = keep_backup(options.state_dir, plan.name, archive, found, keep=keep, plan=plan)
        result.backup, result.pruned = saved.path, saved.pruned
        emit(ApplyEvent(plan.name, "backup", detail=str(result.backup)))
    now, later = order.split(plan)
    await _writes(plan.name, now, appliance, result, emit)
    order.made(plan.name, ok=result.failed is None)
    intended: Sequence[Change] = plan.changes
    if later and result.failed is None:
        unmade = await order.unmade(plan.name)
        if unmade:
            intended = now
            arrays = sorted({change.array for change in later})
            result.refused = (
                f"{plan.name}: {', '.join(arrays)} moves to {', '.join(unmade)}, where not every "
                f"write was made: its virtual services here are not deleted (they keep serving); "
                "fix that, then run lmctl apply again"
            )
        else:
            await _writes(plan.name, later, appliance, result, emit)
    await _verify(plan, intended, appliance, result)


async def apply_appliance(
    plan: AppliancePlan,
    appliance: Appliance,
    options: ApplyOptions,
    emit: EventSink,
    order: MoveOrder | None = None,
) -> ApplianceResult:
    """Apply one appliance's changes; never raises for an appliance-side problem. ``order``
    holds its move deletes back until the appliances the arrays move to are made (none: the
    plan of this appliance alone)."""
    order = order or MoveOrder([plan], (), asyncio.Semaphore())
    now, later = order.split(plan)
    result = ApplianceResult(appliance=plan.name, planned=now + later)
    if not plan.changes:
        order.made(plan.name, ok=True)
        return result
    emit(ApplyEvent(plan.name, "start", total=len(plan.changes)))
    try:
        with appliance_lock(options.state_dir, plan.name):
            await _locked_apply(plan, appliance, options, result, emit, order)
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
    finally:
        # Refused before writing, or stopped: an appliance waiting for this one goes on (and
        # makes no move delete).
        order.made(plan.name, ok=False)
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
    # Only the moves whose both ends are applied now: the plan narrowed to one appliance
    # (--appliance) has no other end to wait for.
    order = MoveOrder(chosen, plan.only([a.name for a in chosen]).moves, slots)

    async def bounded(planned: AppliancePlan) -> ApplianceResult:
        async with slots:
            return await apply_appliance(planned, appliances[planned.name], options, emit, order)

    return list(await asyncio.gather(*(bounded(a) for a in chosen)))
