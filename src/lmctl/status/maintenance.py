"""``drain`` and ``undrain`` against one appliance: check, switch per VS, then wait and watch.

Both are idempotent: each run reads the appliance first and writes only the real servers not yet
in the wanted state, so an interrupted run is finished by running it again. Waiting re-reads the
appliance (``listvs`` + ``stats``) every poll interval until the goal or the timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.status.conditions import array_status
from lmctl.status.drain import (
    MemberRef,
    RealServerSwitch,
    active_connections,
    drain_blockers,
    failover_losses,
    member_rows,
    services_not_up,
    spec_enable,
    switches,
    unreachable_services,
    why_unreachable,
)
from lmctl.status.model import ArrayStatus, StatusExit
from lmctl.status.read import StatusSource, read_appliance

Outcome = Literal["drained", "undrained", "timed-out", "refused", "absent"]

# Holds the appliance's write lock (the one apply takes) for a ``with`` block; raises when
# another lmctl holds it. Held around the first read, the safety check and the switches, never
# around the wait, so an apply can run while a drain waits for connections to close.
WriteLock = Callable[[], AbstractContextManager[object]]

# Scheduling methods that send every new connection to the member with the fewest: a member
# coming back from maintenance (zero connections) takes the whole wave of reconnects.
LEAST_CONNECTION_METHODS = frozenset({"lc", "wlc"})


class MaintenanceClient(StatusSource, Protocol):
    """What drain/undrain need of an appliance client: status reads plus ``modrs enable=``."""

    async def set_real_server_enabled(
        self, vs: VirtualServiceKey | int, address: str, port: int, enabled: bool
    ) -> None:
        """Enable or disable one real server in one virtual service only (``modrs``)."""
        ...


class MaintenanceObserver(Protocol):
    """Where drain/undrain report what they do; the command line shows it."""

    def note(self, message: str) -> None:
        """A step taken or skipped (one line)."""

    def progress(self, message: str, remaining: float) -> None:
        """The state while waiting; ``remaining`` seconds until the timeout."""


@dataclass(frozen=True, slots=True)
class MaintenanceResult:
    """How a drain or undrain ended, with the lines that explain it."""

    outcome: Outcome
    member: MemberRef
    writes: int
    details: tuple[str, ...] = ()
    active_connections: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> StatusExit:
        """0 done, 2 timed out (switched, goal not reached), 3 refused, 1 member absent.

        Refused: a drain that would leave a service without a member enabled and Up, or an
        undrain of a member the spec disables.
        """
        return {
            "drained": StatusExit.OK,
            "undrained": StatusExit.OK,
            "timed-out": StatusExit.DEGRADED,
            "refused": StatusExit.NOT_SERVING,
            "absent": StatusExit.ERROR,
        }[self.outcome]


@dataclass(frozen=True, slots=True)
class _Switched:
    """The switching step done: how many writes, and the warnings to repeat at the end."""

    writes: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WaitPolicy:
    """How long to wait for the goal and how often to look."""

    timeout: float = 600.0
    poll_interval: float = 2.0


class _Member:
    """One member on its appliance: reads its array's status, switches its real servers."""

    def __init__(
        self,
        client: MaintenanceClient,
        member: MemberRef,
        desired: Sequence[DesiredVirtualService],
        observer: MaintenanceObserver,
    ) -> None:
        self.client = client
        self.member = member
        self.desired = [service for service in desired if service.array == member.array]
        self.observer = observer

    async def read(self) -> ArrayStatus:
        """The member's array as the appliance has it now (``listvs`` + ``stats``)."""
        reading = await read_appliance(self.client)
        return array_status(self.member.array, self.member.appliance, self.desired, reading)

    async def read_first(self) -> ArrayStatus | None:
        """The first read; notes services where the member cannot be switched, and is None
        when it can be switched nowhere."""
        status = await self.read()
        missing = unreachable_services(status, self.member.member)
        for service in missing:
            self.observer.note(
                f"{service}: {self.member.member} is not on {self.member.appliance} "
                f"({why_unreachable(status.service(service))}), skipped"
            )
        everywhere = len(missing) == len(member_rows(status, self.member.member))
        return None if everywhere else status

    async def switch(self, pending: Sequence[RealServerSwitch]) -> None:
        """One ``modrs`` per pending switch, one at a time, each noted once made."""
        for change in pending:
            await self.client.set_real_server_enabled(
                change.key, change.address, change.port, change.enable
            )
            self.observer.note(change.describe())

    async def wait(
        self,
        policy: WaitPolicy,
        reached: Callable[[ArrayStatus], bool],
        describe: Callable[[ArrayStatus], str],
    ) -> tuple[bool, ArrayStatus]:
        """Re-read until ``reached`` holds or the timeout passes; (reached?, last status)."""
        deadline = time.monotonic() + policy.timeout
        while True:
            status = await self.read()
            remaining = deadline - time.monotonic()
            self.observer.progress(describe(status), max(0.0, remaining))
            if reached(status):
                return True, status
            if remaining <= 0:
                return False, status
            await asyncio.sleep(min(policy.poll_interval, remaining))


def _absent(member: MemberRef) -> MaintenanceResult:
    return MaintenanceResult(
        "absent",
        member,
        0,
        (
            f"{member.member} is in no virtual service of array {member.array} on "
            f"{member.appliance}; run `lmctl plan` / `lmctl apply` first",
        ),
    )


def _refused(member: MemberRef, reason: str) -> MaintenanceResult:
    return MaintenanceResult("refused", member, 0, (reason,))


def _connections(count: int) -> str:
    return f"{count} active connection{'' if count == 1 else 's'}"


def _drain_refusal(
    status: ArrayStatus, member: MemberRef, observer: MaintenanceObserver, *, force: bool
) -> str | None:
    """Why the drain must not go ahead (None: go ahead; with ``--force``, say what it breaks)."""
    blockers = drain_blockers(status, member.member)
    if blockers and not force:
        return (
            f"refusing to drain {member.member}: {'; '.join(blockers)}. Bring another member "
            "Up first, or use --force to drain anyway."
        )
    for blocker in blockers:
        observer.note(f"--force: draining although {blocker}")
    return None


async def drain(
    client: MaintenanceClient,
    member: MemberRef,
    desired: Sequence[DesiredVirtualService],
    observer: MaintenanceObserver,
    *,
    lock: WriteLock,
    force: bool = False,
    policy: WaitPolicy | None = None,
) -> MaintenanceResult:
    """Disable ``member`` in every VS of its array (if safe), then wait for 0 active connections.

    The read, the safety check and the switches run under ``lock``; the wait does not.
    """
    target = _Member(client, member, desired, observer)
    with lock():
        switched = await _drain_switches(target, desired, force=force)
    if isinstance(switched, MaintenanceResult):
        return switched
    drained, last = await target.wait(
        policy or WaitPolicy(),
        lambda now: (
            active_connections(now, member.member) == 0
            and not switches(now, member.member, enable=False)
        ),
        lambda now: f"{member.member}: {_connections(active_connections(now, member.member))}",
    )
    if drained:
        done = f"{member.member} is drained: disabled in array {member.array}, 0 connections"
        return MaintenanceResult(
            "drained", member, switched.writes, (done,), warnings=switched.warnings
        )
    left = active_connections(last, member.member)
    timed_out = (
        f"timed out: {member.member} is disabled in array {member.array} but still has "
        f"{_connections(left)}; run `lmctl drain {member.member}` again to keep waiting"
    )
    return MaintenanceResult(
        "timed-out", member, switched.writes, (timed_out,), left, switched.warnings
    )


async def _drain_switches(
    target: _Member, desired: Sequence[DesiredVirtualService], *, force: bool
) -> MaintenanceResult | _Switched:
    """Read, check and disable: the writes made and the warnings, or the result when it stops
    here. A service left with one serving member is a warning, not a refusal."""
    member, observer = target.member, target.observer
    status = await target.read_first()
    if status is None:
        return _absent(member)
    refusal = _drain_refusal(status, member, observer, force=force)
    if refusal is not None:
        return _refused(member, refusal)
    warnings = tuple(f"WARNING: {loss}" for loss in failover_losses(status, member.member))
    for warning in warnings:
        observer.note(warning)
    if spec_enable(desired, member) is True:
        observer.note(
            f"note: the spec sets enabled: true for {member.member}, so the next `lmctl apply` "
            "re-enables it; remove that key to keep it drained"
        )
    pending = switches(status, member.member, enable=False)
    if not pending:
        observer.note(f"{member.member} is already disabled in every service of {member.array}")
    await target.switch(pending)
    return _Switched(len(pending), warnings)


def _least_connection_services(
    desired: Sequence[DesiredVirtualService], member: MemberRef
) -> list[str]:
    return [
        service.service
        for service in desired
        if service.array == member.array
        and service.settings.schedule in LEAST_CONNECTION_METHODS
        and any(rs.member == member.member for rs in service.real_servers)
    ]


def _not_up_yet(status: ArrayStatus, member: str) -> str:
    down = services_not_up(status, member)
    return f"{member}: not Up yet in {', '.join(down)}" if down else "Up everywhere"


async def undrain(
    client: MaintenanceClient,
    member: MemberRef,
    desired: Sequence[DesiredVirtualService],
    observer: MaintenanceObserver,
    *,
    lock: WriteLock,
    policy: WaitPolicy | None = None,
) -> MaintenanceResult:
    """Re-enable ``member`` in every VS of its array, then wait until it is Up in each.

    The read, the check and the switches run under ``lock``; the wait does not.
    """
    target = _Member(client, member, desired, observer)
    with lock():
        switched = await _undrain_switches(target, desired)
    if isinstance(switched, MaintenanceResult):
        return switched
    up, last = await target.wait(
        policy or WaitPolicy(),
        lambda now: not services_not_up(now, member.member),
        lambda now: _not_up_yet(now, member.member),
    )
    if up:
        done = f"{member.member} is enabled and Up in every service of array {member.array}"
        return MaintenanceResult("undrained", member, switched.writes, (done,))
    timed_out = (
        f"timed out: {member.member} is enabled but not Up in "
        f"{', '.join(services_not_up(last, member.member))} (check the server and the health "
        f"check); run `lmctl undrain {member.member}` again to keep waiting"
    )
    return MaintenanceResult("timed-out", member, switched.writes, (timed_out,))


async def _undrain_switches(
    target: _Member, desired: Sequence[DesiredVirtualService]
) -> MaintenanceResult | _Switched:
    """Read, check and enable: the writes made, or the result when it stops here."""
    member, observer = target.member, target.observer
    status = await target.read_first()
    if status is None:
        return _absent(member)
    if spec_enable(desired, member) is False:
        return _refused(
            member,
            f"refusing to undrain {member.member}: the spec disables it (enabled: false), so the "
            "next `lmctl apply` would disable it again. Set enabled: true (or remove the key) "
            "and run `lmctl apply` instead.",
        )
    pending = switches(status, member.member, enable=True)
    if not pending:
        observer.note(f"{member.member} is already enabled in every service of {member.array}")
    flooded = _least_connection_services(desired, member)
    if pending and flooded:
        observer.note(
            f"{', '.join(flooded)} use least-connection scheduling: new connections go to "
            f"{member.member} first until it catches up with the other members"
        )
    await target.switch(pending)
    return _Switched(len(pending))
