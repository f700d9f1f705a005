"""``drain`` and ``undrain`` of one member (a CAS): which writes, whether it is safe, then the
switches and the wait.

A member belongs to one array only. Draining it touches that array's virtual services only, one
real server at a time (``modrs enable=N``): the global ``disablers`` would also take the server
out of every other array and VS that happens to use the same address. The writes go to the
array's own virtual services as the matcher finds them (``lmctl.plan.match``, through the
array's status), at the key where each one is, never to a VS lmctl does not own.

Both are idempotent: each run reads the appliance first and writes only the real servers not yet
in the wanted state, so an interrupted run is finished by running it again. Waiting re-reads the
appliance (state and connection counts) every poll interval until the goal or the timeout. The
first read, the safety check and the switches hold the appliance's apply lock (no drain writes
while an apply writes); the wait does not, so an apply can run while a drain waits.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from lmctl.appliance.base import Appliance
from lmctl.appliance.changes import FieldChange, UpdateRealServer, counted
from lmctl.errors import ExitCode, LmctlError, error_text
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import normalised_address
from lmctl.plan.match import ArrayScope
from lmctl.statedir import DEFAULT_STATE_DIR, appliance_lock
from lmctl.status.check import read_arrays
from lmctl.status.model import ArrayStatus, MemberStatus, ServiceStatus

Action = Literal["drain", "undrain"]
Outcome = Literal["drained", "undrained", "timed-out", "refused", "absent"]

# Scheduling methods that send every new connection to the member with the fewest: a member
# coming back from maintenance (zero connections) takes the whole wave of reconnects.
LEAST_CONNECTION_METHODS = frozenset({"lc", "wlc"})


class UnknownMemberError(LmctlError, LookupError):
    """No array of the specs has a member with that name or address (or several have)."""


class MaintenanceError(LmctlError):
    """The appliance failed during a drain or undrain: some real servers may already be
    switched, so the message says how to finish or go back."""


# -- the member ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberRef:
    """One member located in the specs: its array, the appliance of that array, its address."""

    appliance: str
    array: str
    member: str
    address: str


def locate_member(desired: Iterable[DesiredVirtualService], name: str) -> MemberRef:
    """The member called ``name`` (case-insensitive, as Windows names are) or with that address
    (compared as an address: ``2001:DB8:0::11`` is ``2001:db8::11``, ``[::ffff:10.0.0.21]`` is
    ``10.0.0.21``).

    A 2013+ server may serve several namespaces: drain works on one spec's services, so a
    server found in several specs is refused rather than left serving the others."""
    wanted = name.strip().lower()
    address = normalised_address(name.strip().strip("[]"))
    known: set[str] = set()
    found: dict[tuple[str, str], MemberRef] = {}
    for service in desired:
        for real_server in service.real_servers:
            known.add(f"{real_server.member} ({service.array})")
            # Model addresses are normalised already (lmctl.loadmaster.models).
            if wanted == real_server.member.lower() or address == real_server.address:
                found.setdefault(
                    (service.appliance, service.array),
                    MemberRef(
                        appliance=service.appliance,
                        array=service.array,
                        member=real_server.member,
                        address=real_server.address,
                    ),
                )
    if len(found) > 1:
        specs = ", ".join(f"{ref.array} (appliance {ref.appliance})" for ref in found.values())
        raise UnknownMemberError(
            f"{name!r} is a member of {len(found)} specs: {specs}; drain and undrain act on one "
            "spec's services, and would leave the server serving the others: drain it on each "
            "appliance by hand, or list it in one spec only"
        )
    if found:
        return next(iter(found.values()))
    listing = ", ".join(sorted(known)) or "none"
    raise UnknownMemberError(
        f"no array in the specs has a member named {name!r} (or with that address); "
        f"members: {listing}"
    )


def spec_enable(desired: Iterable[DesiredVirtualService], member: MemberRef) -> bool | None:
    """What the spec says of the member's enable flag: True, False, or None (not set)."""
    for service in desired:
        if service.array != member.array:
            continue
        for real_server in service.real_servers:
            if real_server.member == member.member:
                return real_server.enable
    return None


def unfinished(member: MemberRef, action: Action) -> str:
    """How to finish an interrupted drain or undrain, or go back."""
    other = "undrain" if action == "drain" else "drain"
    return (
        f"the {action} of {member.member} (array {member.array}) may be unfinished; run "
        f"`lmctl {action} {member.member}` again to finish it (safe to repeat), or "
        f"`lmctl {other} {member.member}` to go back"
    )


# -- decisions over the array's status -----------------------------------------------------


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
    has moved its VIP since: a member is only ever present in a VS the array owns.
    """
    return tuple(
        UpdateRealServer(
            array=array.array,
            service=service.service,
            key=service.observed_key,
            member=row.member,
            address=row.address,
            port=row.port,
            fields=(FieldChange(field="enable", old=row.enabled, new=enable),),
        )
        for service, row in member_rows(array, member)
        if service.exists and row.present and row.enabled != enable
    )


def switch_line(switch: UpdateRealServer) -> str:
    """``disable 10.0.0.21:443 in https (10.0.0.10:443/tcp)``."""
    verb = "enable" if switch.enables else "disable"
    return f"{verb} {switch.member_label(None)} in {switch.service} ({switch.key})"


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


def drain_blockers(array: ArrayStatus, member: str) -> tuple[str, ...]:
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
                f"{service.service}: no other member is enabled and Up "
                f"({states or 'it is the only member'})"
            )
    return tuple(blockers)


def failover_losses(array: ArrayStatus, member: str) -> tuple[str, ...]:
    """Services that draining ``member`` now leaves with exactly one member enabled and Up.

    Not a reason to refuse (a drain is refused only when no member would be left), but the
    array is no longer FailoverReady, so the operator must hear it. Only services where the
    member is still enabled count, as in :func:`drain_blockers`.
    """
    pending = {switch.service for switch in switches(array, member, enable=False)}
    losses: list[str] = []
    for service, _row in member_rows(array, member):
        if service.service not in pending:
            continue
        serving = [row.member for row in service.serving_members if row.member != member]
        if len(serving) == 1:
            losses.append(
                f"after this drain, {service.service} has one serving member ({serving[0]}): "
                "the array is no longer FailoverReady"
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


# -- drain and undrain against the appliance -----------------------------------------------


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
    def exit_code(self) -> ExitCode:
        """0 done, 2 timed out (switched, goal not reached), 3 refused, 1 member absent.

        Refused: a drain that would leave a service without a member enabled and Up, or an
        undrain of a member the spec disables.
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
    """The member to drain or undrain; every service the specs want on its appliance (the
    appliance is matched as plan matches it) and plan's scope; the state directory whose apply
    lock the switches hold."""

    member: MemberRef
    desired: Sequence[DesiredVirtualService]
    scope: ArrayScope = None
    state_dir: Path = DEFAULT_STATE_DIR


@dataclass(frozen=True, slots=True)
class _Switched:
    """The switching step done: how many writes, and the warnings to repeat at the end."""

    writes: int
    warnings: tuple[str, ...] = ()


class _Member:
    """One member on its appliance: reads its array's status, switches its real servers."""

    def __init__(
        self, appliance: Appliance, target: Target, action: Action, observer: MaintenanceObserver
    ) -> None:
        self.appliance = appliance
        self.target = target
        self.member = target.member
        self.action: Action = action
        self.observer = observer

    def _failed(self, error: LmctlError | OSError) -> MaintenanceError:
        # Some real servers may be switched already: say how to finish or go back.
        return MaintenanceError(f"{error_text(error)}; {unfinished(self.member, self.action)}")

    async def read(self) -> ArrayStatus:
        """The member's array as the appliance has it now (state + connection counts)."""
        target = self.target
        try:
            (status,) = await read_arrays(
                self.appliance, target.desired, [self.member.array], target.scope
            )
        except (LmctlError, OSError) as error:
            raise self._failed(error) from error
        return status

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

    async def switch(self, pending: Sequence[UpdateRealServer]) -> None:
        """One ``modrs`` per pending switch, one at a time, each noted once made."""
        for change in pending:
            try:
                await self.appliance.apply(change)
            except (LmctlError, OSError) as error:
                raise self._failed(error) from error
            self.observer.note(switch_line(change))

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
    return counted(count, "active connection")


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
    appliance: Appliance,
    target: Target,
    observer: MaintenanceObserver,
    *,
    force: bool = False,
    policy: WaitPolicy | None = None,
) -> MaintenanceResult:
    """Disable the member in every VS of its array (if safe), then wait for 0 active
    connections. ``ApplianceBusyError`` while an apply holds the lock; ``MaintenanceError``
    when the appliance fails."""
    member = target.member
    on_appliance = _Member(appliance, target, "drain", observer)
    with appliance_lock(target.state_dir, member.appliance):
        switched = await _drain_switches(on_appliance, force=force)
    if isinstance(switched, MaintenanceResult):
        return switched
    drained, last = await on_appliance.wait(
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


async def _drain_switches(on_appliance: _Member, *, force: bool) -> MaintenanceResult | _Switched:
    """Read, check and disable: the writes made and the warnings, or the result when it stops
    here. A service left with one serving member is a warning, not a refusal."""
    member, observer = on_appliance.member, on_appliance.observer
    status = await on_appliance.read_first()
    if status is None:
        return _absent(member)
    refusal = _drain_refusal(status, member, observer, force=force)
    if refusal is not None:
        return _refused(member, refusal)
    warnings = tuple(f"WARNING: {loss}" for loss in failover_losses(status, member.member))
    for warning in warnings:
        observer.note(warning)
    if spec_enable(on_appliance.target.desired, member) is True:
        observer.note(
            f"note: the spec sets enabled: true for {member.member}, so the next `lmctl apply` "
            "re-enables it; remove that key to keep it drained"
        )
    pending = switches(status, member.member, enable=False)
    if not pending:
        observer.note(f"{member.member} is already disabled in every service of {member.array}")
    await on_appliance.switch(pending)
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
    appliance: Appliance,
    target: Target,
    observer: MaintenanceObserver,
    *,
    policy: WaitPolicy | None = None,
) -> MaintenanceResult:
    """Re-enable the member in every VS of its array, then wait until it is Up in each.
    ``ApplianceBusyError`` while an apply holds the lock; ``MaintenanceError`` when the
    appliance fails."""
    member = target.member
    on_appliance = _Member(appliance, target, "undrain", observer)
    with appliance_lock(target.state_dir, member.appliance):
        switched = await _undrain_switches(on_appliance)
    if isinstance(switched, MaintenanceResult):
        return switched
    up, last = await on_appliance.wait(
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


async def _undrain_switches(on_appliance: _Member) -> MaintenanceResult | _Switched:
    """Read, check and enable: the writes made, or the result when it stops here."""
    member, observer = on_appliance.member, on_appliance.observer
    desired = on_appliance.target.desired
    status = await on_appliance.read_first()
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
    await on_appliance.switch(pending)
    return _Switched(len(pending))
