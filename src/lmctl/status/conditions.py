"""Pure derivation of an array's conditions (Serving, FailoverReady, Healthy, InSync).

Each condition is False for the first reason found in a fixed priority order; its message names
every service and member concerned, so an operator (or an alert) knows what to look at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from lmctl.appliance.changes import counted
from lmctl.desired import DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.status.model import (
    FAILOVER_READY,
    HEALTHY,
    IN_SYNC,
    SERVING,
    ArrayStatus,
    Condition,
    MemberStatus,
    ServiceStatus,
)
from lmctl.status.observe import ApplianceReading, service_status
from lmctl.status.pending import PendingChanges, pending_changes

# A problem found in one service: (reason, message).
Problem = tuple[str, str]

_SERVING_REASONS = ("VirtualServiceMissing", "VirtualServiceDisabled", "NoMemberUp", "NotAnswering")
_FAILOVER_REASONS = ("NotServing", "SingleMemberUp")
_HEALTHY_REASONS = (
    "VirtualServiceMissing",
    "VirtualServiceDisabled",
    "MembersMissing",
    "MembersDown",
    "MembersDrained",
    "VirtualServiceDown",
)
_IN_SYNC_REASONS = (
    "VirtualServiceMissing",
    "AddressConflict",
    "AddressDiffers",
    "SettingsDiffer",
    "MembersMissing",
    "MembersDiffer",
    "UnexpectedRealServers",
    "DuplicateVirtualService",
    "UnexpectedVirtualService",
    "ChangesPending",
)


def _condition(
    condition_type: str,
    problems: Sequence[Problem],
    priority: Sequence[str],
    holds: Problem,
) -> Condition:
    """True with ``holds`` when there is no problem; else False with the most important reason."""
    if not problems:
        reason, message = holds
        return Condition(condition_type, "True", reason, message)
    reason = min((found for found, _ in problems), key=priority.index)
    return Condition(condition_type, "False", reason, "; ".join(text for _, text in problems))


def _vs_missing(service: ServiceStatus) -> Problem:
    if service.key_holder is not None:
        # Never vouch for (or count) a VS that is not the service's own.
        return (
            "VirtualServiceMissing",
            f"{service.service}: virtual service is missing: {service.key_holder}",
        )
    return "VirtualServiceMissing", f"{service.service}: virtual service {service.key} is missing"


def _address(key: VirtualServiceKey) -> str:
    """``10.0.10.20:443`` of a key (its text without the protocol)."""
    return str(key).rsplit("/", 1)[0]


def _moved(service: ServiceStatus) -> Problem:
    live, wanted = service.observed_key, service.key
    same_protocol = live.protocol == wanted.protocol
    old, new = (_address(live), _address(wanted)) if same_protocol else (str(live), str(wanted))
    return (
        "AddressDiffers",
        f"{service.service}: VIP/port differs from spec: {old} → {new}; run `lmctl apply`",
    )


def _vs_existence_problem(service: ServiceStatus) -> Problem | None:
    """Missing or disabled VS: a problem for every condition that needs the VS."""
    if not service.exists:
        return _vs_missing(service)
    if not service.enabled:
        return (
            "VirtualServiceDisabled",
            f"{service.service}: virtual service {service.observed_key} is disabled",
        )
    return None


def _member_states(members: Iterable[MemberStatus]) -> str:
    """``cas01 down, cas02 drained``: the state of each member, for messages."""
    return ", ".join(f"{member.member} {member.state}" for member in members)


def serving_problems(services: Sequence[ServiceStatus]) -> list[Problem]:
    """Services on which clients get no answer."""
    problems: list[Problem] = []
    for service in services:
        if service.serving:
            continue
        vs_problem = _vs_existence_problem(service)
        if vs_problem is not None:
            problems.append(vs_problem)
        elif service.has_members_by_design:
            problems.append(
                (
                    "NoMemberUp",
                    f"{service.service}: no member is enabled and Up "
                    f"({_member_states(service.members)})",
                )
            )
        else:
            problems.append(
                (
                    "NotAnswering",
                    f"{service.service}: virtual service {service.observed_key} is "
                    f"{service.vs_status} (it has no real servers by design)",
                )
            )
    return problems


def failover_problems(services: Sequence[ServiceStatus]) -> list[Problem]:
    """Services that would stop serving if one member failed (or that do not serve now)."""
    down = [service.service for service in services if not service.serving]
    problems: list[Problem] = [("NotServing", f"not serving: {', '.join(down)}")] if down else []
    for service in services:
        if service.failover_ready or not service.serving:
            continue
        (only,) = service.serving_members
        problems.append(
            (
                "SingleMemberUp",
                f"{service.service}: only {only.member} is enabled and Up "
                f"(no failover if {only.member} fails)",
            )
        )
    return problems


def _members_by_state(services: Sequence[ServiceStatus]) -> dict[tuple[str, str], list[str]]:
    """(state, member) → services in which a member the spec wants enabled is not serving."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for service in services:
        if not (service.exists and service.enabled):
            continue
        for member in service.members:
            if member.spec_disabled or member.serving:
                continue
            grouped.setdefault((member.state, member.member), []).append(service.service)
    return grouped


# The states a member the spec wants enabled can be in when it is not serving (``disabled``
# means the spec disables it: never a health problem).
_HEALTH_REASON_OF_STATE = {
    "missing": "MembersMissing",
    "down": "MembersDown",
    "drained": "MembersDrained",
}
_HEALTH_WORDS_OF_STATE = {
    "missing": "is missing from",
    "down": "is Down in",
    "drained": "is drained in",
}


def health_problems(services: Sequence[ServiceStatus]) -> list[Problem]:
    """Every virtual service not Up and every member not enabled-and-Up, named per member."""
    problems: list[Problem] = []
    for service in services:
        vs_problem = _vs_existence_problem(service)
        if vs_problem is not None:
            problems.append(vs_problem)
        elif not service.answering and all(member.serving for member in service.members):
            problems.append(
                (
                    "VirtualServiceDown",
                    f"{service.service}: virtual service {service.observed_key} is "
                    f"{service.vs_status}",
                )
            )
    for (state, member), in_services in _members_by_state(services).items():
        problems.append(
            (
                _HEALTH_REASON_OF_STATE[state],
                f"{member} {_HEALTH_WORDS_OF_STATE[state]} {', '.join(in_services)}",
            )
        )
    return problems


def _address_conflict(service: ServiceStatus) -> Problem:
    # apply never deletes a VS it does not own, so the operator has to clear the address.
    return (
        "AddressConflict",
        f"{service.service}: {service.key_holder}; `lmctl apply` cannot move the service there "
        "until that virtual service is moved or removed by hand",
    )


def _settings_differ(service: ServiceStatus) -> Problem:
    settings = ", ".join(
        f"{difference.setting} {difference.live or '(unset)'} "
        f"(spec {difference.desired or '(unset)'})"
        for difference in service.setting_differences
    )
    return "SettingsDiffer", f"{service.service}: {settings}"


def _real_server_problems(service: ServiceStatus) -> list[Problem]:
    """Members missing or differing from the spec, and real servers the spec does not name."""
    name = service.service
    problems: list[Problem] = []
    missing = [member.member for member in service.members if not member.present]
    if missing:
        problems.append(("MembersMissing", f"{name}: {', '.join(missing)} missing"))
    problems += [
        ("MembersDiffer", f"{name}: {member.member} {', '.join(member.differences)}")
        for member in service.members
        if member.present and member.differences
    ]
    if service.unexpected_real_servers:
        problems.append(
            (
                "UnexpectedRealServers",
                f"{name}: real servers not in the spec: "
                f"{', '.join(service.unexpected_real_servers)}",
            )
        )
    return problems


def _duplicates(service: ServiceStatus) -> list[Problem]:
    return [
        (
            "DuplicateVirtualService",
            f"{service.service}: duplicate virtual service {duplicate} also carries the "
            "service's marker; `lmctl apply` deletes it",
        )
        for duplicate in service.duplicates
    ]


def _service_sync_problems(service: ServiceStatus) -> list[Problem]:
    """Every difference between one live virtual service and its spec."""
    if not service.exists:
        return [_vs_missing(service)]
    problems: list[Problem] = []
    if service.key_holder is not None:
        problems.append(_address_conflict(service))
    if service.moved:
        problems.append(_moved(service))
    if service.setting_differences:
        problems.append(_settings_differ(service))
    return problems + _real_server_problems(service) + _duplicates(service)


def sync_problems(services: Sequence[ServiceStatus]) -> list[Problem]:
    """Every difference between the live virtual services and the spec."""
    return [problem for service in services for problem in _service_sync_problems(service)]


def plan_problems(pending: PendingChanges, found: Sequence[Problem]) -> list[Problem]:
    """What plan would still change that the per-service comparison does not show."""
    problems: list[Problem] = [
        (
            "UnexpectedVirtualService",
            f"{service}: virtual service {virtual_service} carries this array's marker but the "
            "spec has no such service; `lmctl apply` deletes it",
        )
        for service, virtual_service in pending.leftovers
    ]
    if pending.changes and not (found or problems):
        problems.append(
            (
                "ChangesPending",
                f"`lmctl plan` would make {counted(len(pending.changes), 'change')}: "
                f"{'; '.join(pending.changes)}",
            )
        )
    return problems


# Per condition, in display order: its reason priority and (reason, message) when it holds.
_CONDITION_RULES: tuple[tuple[str, Sequence[str], Problem], ...] = (
    (
        SERVING,
        _SERVING_REASONS,
        ("ServicesUp", "every service has at least one member enabled and Up"),
    ),
    (
        FAILOVER_READY,
        _FAILOVER_REASONS,
        ("RedundantMembers", "every service keeps serving if any one member fails"),
    ),
    (
        HEALTHY,
        _HEALTHY_REASONS,
        ("AllMembersUp", "every member is enabled and Up in every service"),
    ),
    (
        IN_SYNC,
        _IN_SYNC_REASONS,
        ("MatchesSpec", "live virtual services and real servers equal the spec"),
    ),
)


def _nothing_applied(services: Sequence[ServiceStatus]) -> list[Problem] | None:
    """One problem for an array none of whose VS exists yet (None when any exists or is held)."""
    if not services or any(service.exists or service.key_holder for service in services):
        return None
    names = ", ".join(service.service for service in services)
    return [
        (
            "VirtualServiceMissing",
            f"none of its virtual services exists ({names}); run `lmctl apply`",
        )
    ]


def conditions_of(
    services: Sequence[ServiceStatus], pending: PendingChanges | None = None
) -> tuple[Condition, ...]:
    """The four conditions of an array, in display order (``pending``: plan's diff of it)."""
    serving, failover = serving_problems(services), failover_problems(services)
    healthy, sync = health_problems(services), sync_problems(services)
    sync += plan_problems(pending or PendingChanges(), sync)
    missing = _nothing_applied(services)
    if missing is not None:
        # Nothing applied yet: one sentence instead of one per service and condition.
        serving = healthy = sync = missing
    problems = (serving, failover, healthy, sync)
    return tuple(
        _condition(condition_type, found, priority, holds)
        for found, (condition_type, priority, holds) in zip(problems, _CONDITION_RULES, strict=True)
    )


def array_status(
    array: str,
    appliance: str,
    desired: Sequence[DesiredVirtualService],
    reading: ApplianceReading,
) -> ArrayStatus:
    """The status of one array from its desired services and one read of its appliance.

    InSync agrees with ``lmctl plan``: it is True only when plan's diff of this array is empty.
    """
    pending = pending_changes(array, desired, reading.state)
    services = tuple(
        replace(
            service_status(wanted, reading),
            duplicates=pending.duplicates.get(wanted.service, ()),
        )
        for wanted in desired
    )
    return ArrayStatus(
        array=array,
        appliance=appliance,
        services=services,
        conditions=conditions_of(services, pending),
    )


def unreadable_array_status(array: str, appliance: str, error: str) -> ArrayStatus:
    """The status of an array whose appliance could not be read: every condition Unknown."""
    message = f"appliance {appliance} could not be read: {error}"
    conditions = tuple(
        Condition(condition_type, "Unknown", "ApplianceUnreadable", message)
        for condition_type in (SERVING, FAILOVER_READY, HEALTHY, IN_SYNC)
    )
    return ArrayStatus(
        array=array, appliance=appliance, services=(), conditions=conditions, error=error
    )


def group_by_array(
    desired: Iterable[DesiredVirtualService],
) -> dict[str, list[DesiredVirtualService]]:
    """Desired services by array name, in the order they come."""
    grouped: dict[str, list[DesiredVirtualService]] = {}
    for service in desired:
        grouped.setdefault(service.array, []).append(service)
    return grouped
