"""``drain`` and ``undrain`` of one server (a CAS): which writes, whether it is safe, then the
switches and the wait.

The server is taken out of (or put back into) every spec that lists it (:mod:`.server`): each
array's virtual services only (for a per-protocol array, each of its SubVSs: every directory is
a service of its own, checked and waited for on its own), one real server at a time
(``modrs enable=N``): the global
``disablers`` would also take the server out of every VS that happens to use the same address.
The writes go to each array's own virtual services as the matcher finds them
(``lmctl.plan.match``, through the array's status), at the key where each one is, never to a VS
lmctl does not own.

Every array is read and checked before the first write: a refusal in one array stops the whole
command, nothing switched anywhere. The apply locks of every appliance involved are held from
the first read through the switches (taken in sorted order, so two lmctl processes never wait on
each other in a circle; no drain writes while an apply writes); the wait does not hold them, so
an apply can run while a drain waits. Then one wait, over every array, with one timeout.

Both are idempotent: each run reads the appliances first and writes only the real servers not
yet in the wanted state, so an interrupted run is finished by running it again. Waiting re-reads
the appliances (state and connection counts) every poll interval until the goal or the timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, Protocol

from lmctl.appliance.base import Appliance
from lmctl.appliance.changes import FieldChange, UpdateRealServer, counted
from lmctl.errors import ExitCode, LmctlError, error_text
from lmctl.exchange import DesiredVirtualService
from lmctl.maintenance.server import MemberRef, Server, listing, unfinished
from lmctl.plan.match import ArrayScope
from lmctl.statedir import DEFAULT_STATE_DIR, appliance_lock
from lmctl.status.check import read_arrays
from lmctl.status.model import ArrayStatus, MemberStatus, ServiceStatus

Action = Literal["drain", "undrain"]
Outcome = Literal["drained", "undrained", "timed-out", "refused", "absent"]

# Scheduling methods that send every new connection to the member with the fewest: a member
# coming back from maintenance (zero connections) takes the whole wave of reconnects.
LEAST_CONNECTION_METHODS = frozenset({"lc", "wlc"})


class MaintenanceError(LmctlError):
    """The appliance failed during a drain or undrain: some real servers may already be
    switched, so the message says how to finish or go back."""


def spec_enable(desired: Iterable[DesiredVirtualService], member: MemberRef) -> bool | None:
    """What the member's spec says of its enable flag: True, False, or None (not set)."""
    for service in desired:
        if service.array != member.array:
            continue
        for real_server in service.member_servers:
            if real_server.member == member.member:
                return real_server.enable
    return None


# -- decisions over one array's status -----------------------------------------------------


def member_rows(array: ArrayStatus, member: str) -> list[tuple[ServiceStatus, MemberStatus]]:
    """Every service of the array that has this member, with the member's row in it."""
    return [
        (service, row)
        for service in array.services
        for row in service.members
        if row.member == member
    ]


def switches(array: ArrayStatus, member: str, *, enable: bool) -> tuple[UpdateRealServer, ...]:
    """The ``modrs`` writes still needed: real servers present and not yet in the wanted state.

    Each goes to the service's current VS where it is (``observed_key``), even when the spec
    has moved its VIP since: a member is only ever present in a VS the array owns. A
    per-protocol directory's goes to its SubVS there (found by its marker when written).
    """
    return tuple(
        UpdateRealServer(
            array=array.array,
            service=service.service,
            key=service.observed_key,
            member=row.member,
            address=row.address,
            port=row.port,
            sub_service=service.sub_service,
            fields=(FieldChange(field="enable", old=row.enabled, new=enable),),
        )
        for service, row in member_rows(array, member)
        if service.exists and row.present and row.enabled != enable
    )


def switch_line(switch: UpdateRealServer, prefix: str = "", appliance: str | None = None) -> str:
    """``disable 10.0.0.21:443 in https (10.0.0.10:443/tcp)``; with several arrays,
    ``disable 10.0.0.21:443 in mail/https (10.0.0.10:443/tcp on lm-hq)`` (the member drained is
    named once, by the command and its summary)."""
    verb = "enable" if switch.enables else "disable"
    on = f" on {appliance}" if appliance else ""
    return f"{verb} {switch.endpoint} in {prefix}{switch.service} ({switch.key}{on})"


def unreachable_services(array: ArrayStatus, member: str) -> tuple[str, ...]:
    """Services where the member cannot be switched: the VS or the member's RS is missing."""
    return tuple(
        service.service
        for service, row in member_rows(array, member)
        if not (service.exists and row.present)
    )


def why_unreachable(service: ServiceStatus) -> str:
    """Why a member cannot be switched in ``service`` (see :func:`unreachable_services`)."""
    if not service.exists and service.key_holder is not None:
        return f"{service.key_holder}, never changed by lmctl"
    return "virtual service or real server missing; run `lmctl apply`"


def drain_blockers(array: ArrayStatus, member: str, prefix: str = "") -> tuple[str, ...]:
    """Why draining ``member`` now would cut a service off (empty when it is safe).

    Only services where the member still takes connections count: re-running an interrupted
    drain must not be refused for services it already drained.
    """
    pending = {switch.service for switch in switches(array, member, enable=False)}
    blockers: list[str] = []
    for service, _row in member_rows(array, member):
        if service.service not in pending:
            continue
        others = [other for other in service.members if other.member != member]
        if not any(other.serving for other in others):
            states = ", ".join(f"{other.member} {other.state}" for other in others)
            blockers.append(
                f"{prefix}{service.service}: no other member is enabled and Up "
                f"({states or 'it is the only member'})"
            )
    return tuple(blockers)


def failover_losses(array: ArrayStatus, member: str, prefix: str = "") -> tuple[str, ...]:
    """Services that draining ``member`` now leaves with exactly one member enabled and Up.

    Not a reason to refuse (a drain is refused only when no member would be left), but the
    array is no longer FailoverReady, so the operator must hear it. Only services where the
    member is still enabled count, as in :func:`drain_blockers`.
    """
    pending = {switch.service for switch in switches(array, member, enable=False)}
    which = f"array {array.array}" if prefix else "the array"
    losses: list[str] = []
    for service, _row in member_rows(array, member):
        if service.service not in pending:
            continue
        serving = [row.member for row in service.serving_members if row.member != member]
        if len(serving) == 1:
            losses.append(
                f"after this drain, {prefix}{service.service} has one serving member "
                f"({serving[0]}): {which} is no longer FailoverReady"
            )
    return tuple(losses)


def active_connections(array: ArrayStatus, member: str) -> int:
    """The member's active connections, summed over the services of its array."""
    return sum(row.active_connections for _service, row in member_rows(array, member))


def services_not_up(array: ArrayStatus, member: str) -> tuple[str, ...]:
    """Services in which the member is not yet enabled and Up (what undrain waits for).

    Services where it cannot be switched (see :func:`unreachable_services`) are left out.
    """
    return tuple(
        service.service
        for service, row in member_rows(array, member)
        if service.exists and row.present and not row.serving
    )


# -- decisions over every array of the server ----------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """The server's arrays as the appliances have them now: one status per member of the
    server (``Server.members``, same order)."""

    server: Server
    arrays: tuple[ArrayStatus, ...]

    def each(self) -> Iterator[tuple[MemberRef, ArrayStatus, str]]:
        """(member, its array's status, the prefix of its services' names in messages)."""
        for ref, array in zip(self.server.members, self.arrays, strict=True):
            yield ref, array, self.server.prefix(ref)

    def switches(self, *, enable: bool) -> tuple[tuple[MemberRef, UpdateRealServer], ...]:
        """Every write still needed, array by array, with the member (and so the appliance)."""
        return tuple(
            (ref, switch)
            for ref, array, _prefix in self.each()
            for switch in switches(array, ref.member, enable=enable)
        )

    def reachable(self, ref: MemberRef, array: ArrayStatus) -> bool:
        """Whether the member can be switched in at least one service of its array."""
        rows = member_rows(array, ref.member)
        return len(unreachable_services(array, ref.member)) < len(rows)

    def absent(self) -> bool:
        """The server can be switched nowhere: it is in no VS of any of its arrays."""
        return not any(self.reachable(ref, array) for ref, array, _prefix in self.each())

    def settled(self, *, enable: bool) -> tuple[MemberRef, ...]:
        """The arrays where the server is reachable and already in the wanted state."""
        return tuple(
            ref
            for ref, array, _prefix in self.each()
            if self.reachable(ref, array) and not switches(array, ref.member, enable=enable)
        )

    def blockers(self) -> tuple[str, ...]:
        """Why draining now would cut a service off, in any array (empty: safe)."""
        return tuple(
            blocker
            for ref, array, prefix in self.each()
            for blocker in drain_blockers(array, ref.member, prefix)
        )

    def hiding(self) -> tuple[str, ...]:
        """What may serve the server where lmctl cannot switch it (a SubVS that is not
        lmctl's, a SubVS marker carried twice), once per VS, in any array (empty: none)."""
        return tuple(
            dict.fromkeys(
                f"{prefix}{service.observed_key}: {clash.detail}"
                for ref, array, prefix in self.each()
                for service in array.services
                if any(row.member == ref.member for row in service.members)
                for clash in service.clashes
                if clash.hides_members
            )
        )

    def failover_losses(self) -> tuple[str, ...]:
        """Services that draining now leaves with exactly one serving member, in any array."""
        return tuple(
            loss
            for ref, array, prefix in self.each()
            for loss in failover_losses(array, ref.member, prefix)
        )

    def active_connections(self) -> int:
        """The server's active connections, summed over every service of every array."""
        return sum(active_connections(array, ref.member) for ref, array, _prefix in self.each())

    def not_up(self) -> tuple[str, ...]:
        """The services (prefixed) where the server is not yet enabled and Up."""
        return tuple(
            f"{prefix}{service}"
            for ref, array, prefix in self.each()
            for service in services_not_up(array, ref.member)
        )

    def drained(self) -> bool:
        """Disabled everywhere it can be, and no active connection left."""
        return self.active_connections() == 0 and not self.switches(enable=False)


# -- drain and undrain against the appliances ----------------------------------------------


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
    server: Server
    writes: int
    details: tuple[str, ...] = ()
    active_connections: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        """0 done, 2 timed out (switched, goal not reached), 3 refused, 1 member absent.

        Refused: a drain that would leave a service without a member enabled and Up, or an
        undrain of a member a spec disables.
        """
        return {
            "drained": ExitCode.OK,
            "undrained": ExitCode.OK,
            "timed-out": ExitCode.DEGRADED,
            "refused": ExitCode.NOT_SERVING,
            "absent": ExitCode.ERROR,
        }[self.outcome]


@dataclass(frozen=True, slots=True)
class WaitPolicy:
    """How long to wait for the goal and how often to look."""

    timeout: float = 600.0
    poll_interval: float = 2.0


@dataclass(frozen=True, slots=True)
class Target:
    """The server to drain or undrain; per appliance involved, every service the specs want on
    it (each appliance is matched as plan matches it) and plan's scope; the state directory
    whose apply locks the switches hold."""

    server: Server
    desired: Mapping[str, Sequence[DesiredVirtualService]]
    scope: ArrayScope = None
    state_dir: Path = DEFAULT_STATE_DIR


@dataclass(frozen=True, slots=True)
class _Switched:
    """The switching step done: how many writes, and the warnings to repeat at the end."""

    writes: int
    warnings: tuple[str, ...] = ()


class _OnAppliances:
    """The server on its appliances: reads its arrays' status, switches its real servers."""

    def __init__(
        self,
        appliances: Mapping[str, Appliance],
        target: Target,
        action: Action,
        observer: MaintenanceObserver,
    ) -> None:
        self.appliances = appliances
        self.target = target
        self.server = target.server
        self.action: Action = action
        self.observer = observer

    def _failed(self, error: LmctlError | OSError) -> MaintenanceError:
        # Some real servers may be switched already: say how to finish or go back.
        return MaintenanceError(f"{error_text(error)}; {unfinished(self.server, self.action)}")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Every appliance's apply lock, taken in sorted order; ``ApplianceBusyError`` (and
        the locks taken so far released) when one is held by another lmctl."""
        with ExitStack() as locks:
            for appliance in self.server.appliances:
                locks.enter_context(appliance_lock(self.target.state_dir, appliance))
            yield

    async def _read_appliance(self, appliance: str) -> dict[str, ArrayStatus]:
        target = self.target
        arrays = [ref.array for ref in self.server.members if ref.appliance == appliance]
        statuses = await read_arrays(
            self.appliances[appliance], target.desired[appliance], arrays, target.scope
        )
        return {status.array: status for status in statuses}

    async def read(self) -> ServerStatus:
        """The server's arrays as the appliances have them now (each appliance read once, all
        at once: state + connection counts)."""
        names = self.server.appliances
        # Every read ends before any error is raised: none is left running behind it.
        read = await asyncio.gather(
            *(self._read_appliance(name) for name in names), return_exceptions=True
        )
        by_appliance: dict[str, dict[str, ArrayStatus]] = {}
        for name, outcome in zip(names, read, strict=True):
            if isinstance(outcome, LmctlError | OSError):
                raise self._failed(outcome) from outcome
            if isinstance(outcome, BaseException):
                raise outcome
            by_appliance[name] = outcome
        return ServerStatus(
            self.server,
            tuple(by_appliance[ref.appliance][ref.array] for ref in self.server.members),
        )

    async def read_first(self) -> ServerStatus | MaintenanceResult:
        """The first read, or the result when it stops there: refused when lmctl cannot switch
        every place that may serve the server (before anything is noted: nothing is skipped,
        everything is refused), else absent when the server can be switched nowhere. Notes the
        services where it cannot be switched."""
        status = await self.read()
        if hiding := _hiding_refusal(status, self.action):
            return hiding
        for ref, array, prefix in status.each():
            for service in unreachable_services(array, ref.member):
                self.observer.note(
                    f"{prefix}{service}: {ref.member} is not on {ref.appliance} "
                    f"({why_unreachable(array.service(service))}), skipped"
                )
        return _absent(self.server) if status.absent() else status

    async def switch(self, pending: Sequence[tuple[MemberRef, UpdateRealServer]]) -> None:
        """One ``modrs`` per pending switch, one at a time, each noted once made."""
        several = self.server.several
        for ref, change in pending:
            try:
                await self.appliances[ref.appliance].apply(change)
            except (LmctlError, OSError) as error:
                raise self._failed(error) from error
            if several:
                line = switch_line(change, self.server.prefix(ref), ref.appliance)
            else:
                line = switch_line(change)
            self.observer.note(line)

    async def wait(
        self,
        policy: WaitPolicy,
        reached: Callable[[ServerStatus], bool],
        describe: Callable[[ServerStatus], str],
    ) -> tuple[bool, ServerStatus]:
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


def _absent(server: Server) -> MaintenanceResult:
    arrays = server.arrays_on() if server.several else f"array {server.arrays_on()}"
    return MaintenanceResult(
        "absent",
        server,
        0,
        (
            f"{server.name} is in no virtual service of {arrays}; "
            "run `lmctl plan` / `lmctl apply` first",
        ),
    )


def _refused(server: Server, reason: str) -> MaintenanceResult:
    return MaintenanceResult("refused", server, 0, (reason,))


def _connections(count: int) -> str:
    return counted(count, "active connection")


def _in_array(server: Server, ref: MemberRef) -> str:
    """``two`` (one spec), ``mail16 on lm-hq`` (several)."""
    return f"{ref.array} on {ref.appliance}" if server.several else ref.array


def _spec_of(server: Server, refs: Sequence[MemberRef]) -> str:
    """``the spec`` (one spec), ``the spec of mail16`` (several)."""
    return f"the spec of {listing([ref.array for ref in refs])}" if server.several else "the spec"


async def drain(
    appliances: Mapping[str, Appliance],
    target: Target,
    observer: MaintenanceObserver,
    *,
    force: bool = False,
    policy: WaitPolicy | None = None,
) -> MaintenanceResult:
    """Disable the server in every VS of each of its arrays (if safe in all of them), then
    wait for 0 active connections. ``ApplianceBusyError`` while an apply holds a lock;
    ``MaintenanceError`` when an appliance fails."""
    server = target.server
    on_appliances = _OnAppliances(appliances, target, "drain", observer)
    with on_appliances.locked():
        switched = await _drain_switches(on_appliances, force=force)
    if isinstance(switched, MaintenanceResult):
        return switched
    drained, last = await on_appliances.wait(
        policy or WaitPolicy(),
        ServerStatus.drained,
        lambda now: f"{server.name}: {_connections(now.active_connections())}",
    )
    if drained:
        done = f"{server.name} is drained: disabled in {server.where()}, 0 connections"
        return MaintenanceResult(
            "drained", server, switched.writes, (done,), warnings=switched.warnings
        )
    left = last.active_connections()
    timed_out = (
        f"timed out: {server.name} is disabled in {server.where()} but still has "
        f"{_connections(left)}; run `{server.command('drain')}` again to keep waiting"
    )
    return MaintenanceResult(
        "timed-out", server, switched.writes, (timed_out,), left, switched.warnings
    )


async def _drain_switches(
    on_appliances: _OnAppliances, *, force: bool
) -> MaintenanceResult | _Switched:
    """Read and check every array, then disable: the writes made and the warnings, or the
    result when it stops here. A service left with one serving member is a warning, not a
    refusal."""
    server, observer = on_appliances.server, on_appliances.observer
    status = await on_appliances.read_first()
    if isinstance(status, MaintenanceResult):
        return status
    blockers = status.blockers()
    if blockers and not force:
        return _refused(
            server,
            f"refusing to drain {server.name}: {'; '.join(blockers)}. Bring another member "
            "Up first, or use --force to drain anyway.",
        )
    for blocker in blockers:
        observer.note(f"--force: draining although {blocker}")
    warnings = tuple(f"WARNING: {loss}" for loss in status.failover_losses())
    for warning in warnings:
        observer.note(warning)
    desired = on_appliances.target.desired
    for ref in server.members:
        if spec_enable(desired[ref.appliance], ref) is True:
            observer.note(
                f"note: {_spec_of(server, [ref])} sets enabled: true for {ref.member}, so the "
                "next `lmctl apply` re-enables it; remove that key to keep it drained"
            )
    for ref in status.settled(enable=False):
        observer.note(
            f"{ref.member} is already disabled in every service of {_in_array(server, ref)}"
        )
    pending = status.switches(enable=False)
    await on_appliances.switch(pending)
    return _Switched(len(pending), warnings)


def _hiding_refusal(status: ServerStatus, verb: str) -> MaintenanceResult | None:
    """Refused, whatever the flags, when lmctl cannot switch every place that may serve the
    server: a drain would report it out while it still serves (an undrain could stop partway)."""
    hiding = status.hiding()
    if not hiding:
        return None
    return _refused(
        status.server,
        f"refusing to {verb} {status.server.name}: lmctl cannot switch it everywhere it may "
        f"serve: {'; '.join(hiding)}; nothing was switched (not even --force changes that)",
    )


def _least_connection_services(
    desired: Mapping[str, Sequence[DesiredVirtualService]], server: Server
) -> list[str]:
    return [
        f"{server.prefix(ref)}{service.service}"
        for ref in server.members
        for service in desired[ref.appliance]
        if service.array == ref.array
        and service.settings.schedule in LEAST_CONNECTION_METHODS
        and any(rs.member == ref.member for rs in service.member_servers)
    ]


def _not_up_yet(status: ServerStatus) -> str:
    down = status.not_up()
    return f"{status.server.name}: not Up yet in {', '.join(down)}" if down else "Up everywhere"


async def undrain(
    appliances: Mapping[str, Appliance],
    target: Target,
    observer: MaintenanceObserver,
    *,
    policy: WaitPolicy | None = None,
) -> MaintenanceResult:
    """Re-enable the server in every VS of each of its arrays, then wait until it is Up in
    each. ``ApplianceBusyError`` while an apply holds a lock; ``MaintenanceError`` when an
    appliance fails."""
    server = target.server
    on_appliances = _OnAppliances(appliances, target, "undrain", observer)
    with on_appliances.locked():
        switched = await _undrain_switches(on_appliances)
    if isinstance(switched, MaintenanceResult):
        return switched
    up, last = await on_appliances.wait(
        policy or WaitPolicy(), lambda now: not now.not_up(), _not_up_yet
    )
    if up:
        done = f"{server.name} is enabled and Up in every service of {server.where()}"
        return MaintenanceResult("undrained", server, switched.writes, (done,))
    timed_out = (
        f"timed out: {server.name} is enabled but not Up in {', '.join(last.not_up())} (check "
        f"the server and the health check); run `{server.command('undrain')}` again to keep "
        "waiting"
    )
    return MaintenanceResult("timed-out", server, switched.writes, (timed_out,))


def _undrain_refusal(
    server: Server, desired: Mapping[str, Sequence[DesiredVirtualService]]
) -> str | None:
    """Why the undrain must not go ahead: a spec disables the server (None: go ahead)."""
    disabled = [ref for ref in server.members if spec_enable(desired[ref.appliance], ref) is False]
    if not disabled:
        return None
    others = [ref.array for ref in server.members if ref not in disabled]
    elsewhere = ""
    if others:
        kept = tuple(ref for ref in server.members if ref not in disabled)
        rest = replace(server, members=kept, restricted=tuple(others))
        elsewhere = f", or undrain it in {listing(others)} only: `{rest.command('undrain')}`"
    return (
        f"refusing to undrain {server.name}: {_spec_of(server, disabled)} disables it "
        "(enabled: false), so the next `lmctl apply` would disable it again. Set enabled: true "
        f"(or remove the key) and run `lmctl apply` instead{elsewhere}."
    )


async def _undrain_switches(on_appliances: _OnAppliances) -> MaintenanceResult | _Switched:
    """Read and check every array, then enable: the writes made, or the result when it stops
    here."""
    server, observer = on_appliances.server, on_appliances.observer
    desired = on_appliances.target.desired
    status = await on_appliances.read_first()
    if isinstance(status, MaintenanceResult):
        return status
    refusal = _undrain_refusal(server, desired)
    if refusal is not None:
        return _refused(server, refusal)
    for ref in status.settled(enable=True):
        observer.note(
            f"{ref.member} is already enabled in every service of {_in_array(server, ref)}"
        )
    pending = status.switches(enable=True)
    flooded = _least_connection_services(desired, server)
    if pending and flooded:
        observer.note(
            f"{', '.join(flooded)} use least-connection scheduling: new connections go to "
            f"{server.name} first until it catches up with the other members"
        )
    await on_appliances.switch(pending)
    return _Switched(len(pending))
