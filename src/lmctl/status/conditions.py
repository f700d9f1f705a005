"""An array's status from the matcher's answer and the live connection counts: pure.

The matcher (``lmctl.plan.match``) says which virtual service is each service's (its marked VS,
or a renamed array's that plan re-marks in place), which key is held by a VS the service may not
take, and which marked VSs nothing claims; status has no rule of its own, so it cannot disagree
with plan. To that it adds the live facts (VS and RS status, active connections) and derives the
four conditions: Serving, FailoverReady, Healthy, InSync. Each condition is False for the first
reason found in a fixed priority order; its message names every service and member concerned,
so an operator (or an alert) knows what to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace

from lmctl.appliance.changes import Change, FieldChange, FieldValue, counted, shown
from lmctl.appliance.state import (
    ApplianceState,
    Connections,
    RealServerState,
    SubServiceState,
    VirtualServiceState,
    owner_of,
)
from lmctl.exchange import DesiredRealServer, DesiredSubService
from lmctl.exchange.directories import directory_rule
from lmctl.loadmaster.models import VirtualServiceKey, host_port, wire_value
from lmctl.plan.diff import deletion, in_write_order, rule_changes, service_changes
from lmctl.plan.match import (
    ApplianceMatch,
    Conflict,
    ServiceMatch,
    member_field_changes,
    switches_layout,
)
from lmctl.releases import VIRTUAL_DIRECTORIES
from lmctl.status.model import (
    CONDITION_TYPES,
    FAILOVER_READY,
    HEALTHY,
    IN_SYNC,
    SERVING,
    ArrayStatus,
    Condition,
    MemberStatus,
    ServiceStatus,
    SettingDifference,
)

# -- a service as observed -----------------------------------------------------------------


def real_server_differences(desired: DesiredRealServer, live: RealServerState) -> tuple[str, ...]:
    """How a member's real server differs from the spec (weight, forwarding, a spec'd enable,
    port), as plan compares them."""
    return tuple(_difference(change) for change in member_field_changes(live, desired))


def _difference(change: FieldChange) -> str:
    """``weight 500 (spec 1000)``; an enable flag as ``disabled (spec enabled)``."""
    if change.field == "enable":
        return f"{_enabled(change.old)} (spec {_enabled(change.new)})"
    return f"{change.field} {change.old} (spec {change.new})"


def _enabled(flag: FieldValue) -> str:
    return "enabled" if flag else "disabled"


def member_status(
    desired: DesiredRealServer, live: RealServerState | None, active_connections: int
) -> MemberStatus:
    """One member in one service: present, enabled, Up, drained, connections, differences."""
    spec_disabled = desired.enable is False
    return MemberStatus(
        member=desired.member,
        address=desired.address,
        port=desired.port,
        present=live is not None,
        enabled=None if live is None else live.enable,
        up=live is not None and bool(live.up),
        drained=live is not None and not live.enable and not spec_disabled,
        spec_disabled=spec_disabled,
        active_connections=0 if live is None else active_connections,
        differences=("missing",) if live is None else real_server_differences(desired, live),
    )


def held_by(conflict: Conflict | None) -> str | None:
    """Who holds the service's key when the service may not take it (None: nobody does)."""
    if conflict is None or conflict.sub_service_clashes:
        return None
    ambiguity = conflict.ambiguity()
    if ambiguity is not None:
        return ambiguity
    name = conflict.holder_nickname
    nickname = f"NickName {name!r}" if name else "no NickName"
    owner = owner_of(name)
    if owner is None:
        return f"{conflict.key} is held by a virtual service lmctl does not own ({nickname})"
    return (
        f"{conflict.key} is held by the virtual service of {owner.array}/{owner.service} "
        f"({nickname})"
    )


def service_status(
    match: ServiceMatch, connections: Connections, duplicates: tuple[str, ...] = ()
) -> ServiceStatus:
    """One service of an array, from its match and the appliance's connection counts.

    ``duplicates`` describes the other VSs marked as the service's (plan deletes them).
    """
    desired, live = match.desired, match.current
    holder = held_by(match.conflict)
    clashes = () if match.conflict is None else match.conflict.sub_service_clashes
    if live is None:
        return ServiceStatus(
            service=desired.service,
            key=desired.key,
            exists=False,
            enabled=False,
            vs_status=None,
            has_members_by_design=bool(desired.real_servers),
            members=tuple(member_status(rs, None, 0) for rs in desired.real_servers),
            key_holder=holder,
            duplicates=duplicates,
        )
    members: list[MemberStatus] = []
    unexpected: list[str] = []
    named: list[str] = []
    for member in match.members:
        rs = member.current
        if member.desired is not None:
            active = 0 if rs is None else connections.get((live.key, rs.member_key), 0)
            members.append(member_status(member.desired, rs, active))
        elif rs is not None:  # a real server that is no member of the spec
            unexpected.append(host_port(rs.address, rs.port))
            # Named as the specs name its address on this appliance, when they do.
            named.append(f"{member.name} {unexpected[-1]}" if member.name else unexpected[-1])
    return ServiceStatus(
        service=desired.service,
        key=desired.key,
        exists=True,
        enabled=live.settings.enable,
        vs_status=live.status,
        has_members_by_design=bool(desired.real_servers),
        members=tuple(members),
        setting_differences=tuple(
            SettingDifference(
                setting=change.label, desired=wire_value(change.new), live=wire_value(change.old)
            )
            for change in match.setting_changes
        ),
        unexpected_real_servers=tuple(unexpected),
        unexpected_named=tuple(named),
        live_key=live.key,
        key_holder=holder,
        duplicates=duplicates,
        clashes=clashes,
    )


def services_of(
    match: ServiceMatch, connections: Connections, duplicates: tuple[str, ...] = ()
) -> tuple[ServiceStatus, ...]:
    """What status reports for one service: itself, or for a per-protocol parent one service
    per SubVS (``https/ews``...), since each SubVS checks and holds the members for its own
    virtual directory: a member Down for EWS alone serves every other directory."""
    if switches_layout(match):
        return _as_published(match, connections, duplicates)
    want, current = match.desired, match.current
    if not want.sub_services:
        return (service_status(match, connections, duplicates),)
    found = tuple(
        sub_service_status(match, sub, connections, duplicates) for sub in want.sub_services
    )
    if current is None or match.conflict is not None:
        return found
    # A SubVS of a directory the spec dropped still serves its path until apply deletes it:
    # reported (and drained) as published.
    wanted = {sub.marker for sub in want.sub_services}
    leaving = {sub.marker: sub for sub in current.sub_vs if sub.marker not in wanted}
    members = want.sub_services[0].real_servers
    return found + tuple(
        replace(
            sub_service_status(match, sub, connections, duplicates),
            dropped=f"{want.service}/{sub.directory}: SubVS {sub.rule.name} of {current.key} "
            f"serves a directory the spec no longer lists; `lmctl apply` deletes it",
        )
        for sub in _published(current, leaving.values(), members)
    )


def _directory_order(parent: str) -> Callable[[SubServiceState], tuple[int, str]]:
    """Live SubVSs in the order the spec lists directories by default (unknown ones last)."""
    known = {f"{parent}.{directory}": rank for rank, directory in enumerate(VIRTUAL_DIRECTORIES)}
    return lambda sub: (known.get(sub.marker, len(known)), sub.marker)


def _published(
    parent: VirtualServiceState,
    subs: Iterable[SubServiceState],
    members: tuple[DesiredRealServer, ...],
) -> tuple[DesiredSubService, ...]:
    """Live SubVSs of lmctl's as a spec listing them would want them (their own settings, the
    array's ``members``), in the default directory order: to judge them as published."""
    marker = parent.settings.nickname or ""
    return tuple(
        DesiredSubService(
            directory=(directory := sub.marker.removeprefix(f"{marker}.")),
            settings=sub.settings,
            real_servers=members,
            rule=directory_rule(sub.marker, directory),
        )
        for sub in sorted(subs, key=_directory_order(marker))
    )


def _as_published(
    match: ServiceMatch, connections: Connections, duplicates: tuple[str, ...]
) -> tuple[ServiceStatus, ...]:
    """A service whose VS is published in the other layout than its spec's (the spec changed,
    and apply refuses the switch in place): judged as the VS is published, with the spec's
    members, since that is what clients get until the layout moves; never in sync."""
    want, current = match.desired, match.current
    assert current is not None
    if want.sub_services:
        held, wanted = "single-service", "per-protocol"
        members = want.sub_services[0].real_servers
        single = want.model_copy(
            update={"sub_services": (), "real_servers": members, "settings": current.settings}
        )
        found: tuple[ServiceStatus, ...] = (
            service_status(replace(match, desired=single), connections, duplicates),
        )
    else:
        held, wanted = "per-protocol", "single-service"
        subs = _published(current, current.sub_vs, want.real_servers)
        published = want.model_copy(update={"sub_services": subs, "settings": current.settings})
        as_published = replace(match, desired=published)
        found = tuple(
            sub_service_status(as_published, sub, connections, duplicates) for sub in subs
        )
    why = (
        f"{want.service}: {current.key} is published {held} and the spec says {wanted}; apply "
        'refuses to switch a VS in place (docs/layouts.md, "Moving an array to per-protocol")'
    )
    return tuple(replace(status, layout_differs=why) for status in found)


def receiving_sub_service(
    parent: VirtualServiceState, sub: DesiredSubService
) -> SubServiceState | None:
    """The SubVS carrying ``sub``'s marker that the directory's requests reach: when several
    carry it (a clash, ``marker_repeated``), the one whose row in the parent has the directory's
    content rule, else the one with the lowest Index; never an empty copy an admin made."""
    carrying = [found for found in parent.sub_vs if found.marker == sub.marker]
    if len(carrying) < 2:
        return carrying[0] if carrying else None
    return min(
        carrying,
        key=lambda found: (
            sub.rule.name not in found.rules,
            found.index is None,
            found.index or 0,
        ),
    )


def sub_service_status(
    match: ServiceMatch,
    sub: DesiredSubService,
    connections: Connections,
    duplicates: tuple[str, ...] = (),
) -> ServiceStatus:
    """One SubVS of a per-protocol parent, as a service named ``<parent>/<directory>`` at the
    parent's address: it exists when the parent and the SubVS do, it is enabled when both are;
    its status, members and connections (counted under the SubVS's Index) are the SubVS's
    own."""
    parent, desired = match.current, match.desired
    found = None if parent is None else receiving_sub_service(parent, sub)
    current: VirtualServiceState | None = None
    own_connections: Connections = {}
    if parent is not None and found is not None:
        current = VirtualServiceState(
            key=parent.key,
            settings=found.settings,
            real_servers=found.real_servers,
            status=found.status,
        )
        own_connections = {
            (parent.key, member): count
            for (where, member), count in connections.items()
            if where == found.index
        }
    as_service = ServiceMatch(
        desired=desired.model_copy(
            update={
                "service": f"{desired.service}/{sub.directory}",
                "settings": sub.settings,
                "real_servers": sub.real_servers,
                "sub_services": (),
            }
        ),
        current=current,
        conflict=match.conflict,
        names=match.names,
    )
    status = service_status(as_service, own_connections, duplicates)
    parent_enabled = parent is not None and parent.settings.enable
    return replace(
        status,
        enabled=status.enabled and parent_enabled,
        sub_service=sub.marker,
        parent_key=None if parent is None else parent.key,
        parent_enabled=parent_enabled,
        rule_differences=() if found is None else rule_differences(parent, found, sub),
    )


# A directory's rule that is not there, or not on its SubVS's row, switches nothing to it.
RULE_MISSING = "missing"
RULE_UNASSIGNED = "not assigned to the SubVS"


def rule_differences(
    parent: VirtualServiceState | None, found: SubServiceState, sub: DesiredSubService
) -> tuple[str, ...]:
    """How the content rule that switches ``sub``'s directory to its SubVS (``found``) differs
    from the spec, as plan compares it: missing, its definition changed, or not assigned to
    the SubVS's row in the parent (then the rule does not switch the path to the SubVS)."""
    rule = sub.rule
    existing = None if parent is None else parent.content_rule(rule.name)
    if existing is None:
        return (RULE_MISSING,)
    found_differences = tuple(
        f"{change.field} {shown(change.old)} (spec {shown(change.new)})"
        for change in rule_changes(existing, rule)
    )
    if rule.name not in found.rules:
        found_differences += (RULE_UNASSIGNED,)
    return found_differences


# -- the conditions ------------------------------------------------------------------------


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
    # First: a conflict, which no apply clears (plan writes nothing to that VS until it is).
    "NotOwnedExactly",
    "VirtualServiceMissing",
    "AddressConflict",
    "AddressDiffers",
    "LayoutDiffers",
    "ContentRuleDiffers",
    "SettingsDiffer",
    "MembersMissing",
    "MembersDiffer",
    "UnexpectedRealServers",
    "DuplicateVirtualService",
    "UnexpectedVirtualService",
    "MarkedElsewhere",
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
    if service.sub_service is not None and service.parent_key is not None:
        missing = f"SubVS {service.sub_service} of {service.parent_key}"
        return "VirtualServiceMissing", f"{service.service}: {missing} is missing"
    return "VirtualServiceMissing", f"{service.service}: virtual service {service.key} is missing"


def _address(key: VirtualServiceKey) -> str:
    """``10.0.10.20:443`` of a key (its text without the protocol)."""
    return str(key).rsplit("/", 1)[0]


def _moved(service: ServiceStatus) -> Problem:
    # The matcher moves a VS only within its protocol: the addresses say it all.
    old, new = _address(service.observed_key), _address(service.key)
    return (
        "AddressDiffers",
        f"{service.service}: VIP/port differs from spec: {old} → {new}; run `lmctl apply`",
    )


def _vs_existence_problem(service: ServiceStatus) -> Problem | None:
    """Missing or disabled VS: a problem for every condition that needs the VS."""
    if not service.exists:
        return _vs_missing(service)
    if not service.enabled:
        if service.sub_service is not None and service.parent_enabled:
            # Its parent serves the other directories: the SubVS is what is off.
            disabled = f"SubVS {service.sub_service} of {service.observed_key}"
        else:
            disabled = f"virtual service {service.observed_key}"
        return "VirtualServiceDisabled", f"{service.service}: {disabled} is disabled"
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
                f"{', '.join(service.unexpected_named or service.unexpected_real_servers)}",
            )
        )
    return problems


def _rule_differs(service: ServiceStatus) -> Problem:
    # The directory's rule is named like its SubVS (``lmctl.<array>.https.<directory>``).
    rule = f"content rule {service.sub_service}"
    directory = service.service.split("/", 1)[-1]
    unswitched = ""
    if {RULE_MISSING, RULE_UNASSIGNED} & set(service.rule_differences):
        unswitched = f" (requests to /{directory}/ are not switched to its SubVS)"
    return (
        "ContentRuleDiffers",
        f"{service.service}: {rule}: {', '.join(service.rule_differences)}{unswitched}; "
        "`lmctl apply` puts it back",
    )


def _duplicates(service: ServiceStatus) -> list[Problem]:
    # Named by the service whose marker it carries (a per-protocol parent's, once for all its
    # SubVSs: ``sync_problems`` keeps one of each).
    return [
        (
            "DuplicateVirtualService",
            f"{service.parent_service}: duplicate virtual service {duplicate} also carries the "
            "service's marker; `lmctl apply` deletes it",
        )
        for duplicate in service.duplicates
    ]


def _clashes(service: ServiceStatus) -> list[Problem]:
    # Plan refuses to write to the VS (a conflict): the operator clears it on the appliance.
    # Named by the VS, not the SubVS: every SubVS row of one parent carries the same clashes.
    return [
        ("NotOwnedExactly", f"{service.observed_key}: {clash.detail}") for clash in service.clashes
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
    if service.layout_differs is not None:
        problems.append(("LayoutDiffers", service.layout_differs))
    if service.dropped is not None:
        problems.append(("UnexpectedVirtualService", service.dropped))
    if service.rule_differences:
        problems.append(_rule_differs(service))
    if service.setting_differences:
        problems.append(_settings_differ(service))
    return problems + _real_server_problems(service) + _duplicates(service) + _clashes(service)


def sync_problems(services: Sequence[ServiceStatus]) -> list[Problem]:
    """Every difference between the live virtual services and the spec, each once."""
    found = (problem for service in services for problem in _service_sync_problems(service))
    return list(dict.fromkeys(found))


def leftover_problems(leftovers: Iterable[tuple[str, str]]) -> list[Problem]:
    """Marked VSs of this array for services the spec no longer has: (service, the VS)."""
    return [
        (
            "UnexpectedVirtualService",
            f"{service}: virtual service {virtual_service} carries this array's marker but the "
            "spec has no such service; `lmctl apply` deletes it",
        )
        for service, virtual_service in leftovers
    ]


def changes_pending(changes: Sequence[Change], found: Sequence[Problem]) -> list[Problem]:
    """Whatever plan would still write that no other InSync reason names (status and plan read
    the same match, so this is a safety net: nothing reaches it today)."""
    if not changes or found:
        return []
    lines = [change.headline[1] for change in in_write_order(changes)]
    return [
        (
            "ChangesPending",
            f"`lmctl plan` would make {counted(len(lines), 'change')}: {'; '.join(lines)}",
        )
    ]


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
        (
            "AllMembersUp",
            "every member the spec does not disable is enabled and Up in every service",
        ),
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
    services: Sequence[ServiceStatus],
    leftovers: Iterable[tuple[str, str]] = (),
    changes: Sequence[Change] = (),
) -> tuple[Condition, ...]:
    """The four conditions of an array, in display order.

    ``leftovers``: (service, VS) marked for this array by a service the spec no longer has;
    ``changes``: what plan would write for the array's services.
    """
    serving, failover = serving_problems(services), failover_problems(services)
    healthy, sync = health_problems(services), sync_problems(services)
    sync += leftover_problems(leftovers)
    sync += changes_pending(changes, sync)
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
    array: str, appliance: str, match: ApplianceMatch, connections: Connections
) -> ArrayStatus:
    """The status of one array from its appliance's match and live connection counts.

    ``match`` is the appliance matched once with every service the specs want on it, in the
    scope plan uses: the array's marked VSs nothing claims are duplicates of a service of the
    spec, or leftovers of a service it no longer has (plan deletes both).
    """
    matches = match.of_array(array)
    wanted = {service.desired.service for service in matches}
    duplicates: dict[str, tuple[str, ...]] = {}
    leftovers: list[tuple[str, str]] = []
    for owner, virtual_service in match.unclaimed_of(array):
        described = deletion(owner, virtual_service).described
        if owner.service in wanted:
            duplicates[owner.service] = (*duplicates.get(owner.service, ()), described)
        else:
            leftovers.append((owner.service, described))
    services = tuple(
        status
        for service in matches
        for status in services_of(service, connections, duplicates.get(service.desired.service, ()))
    )
    changes = [change for service in matches for change in service_changes(service)[0]]
    return ArrayStatus(
        array=array,
        appliance=appliance,
        services=services,
        conditions=conditions_of(services, leftovers, changes),
    )


def marked_elsewhere(status: ArrayStatus, found: Mapping[str, ApplianceState]) -> ArrayStatus:
    """``status`` with ``InSync`` False when another appliance read (``found``: name → its
    state) holds VSs with the array's marker: the array left it (``appliance:`` changed) and
    ``lmctl apply`` has not deleted them yet, so both appliances hold its addresses."""
    held = []
    for name, state in sorted(found.items()):
        marked = [
            deletion(vs.owner, vs).described
            for vs in state.values()
            if vs.owner is not None and vs.owner.array == status.array
        ]
        if name != status.appliance and marked:
            held.append(f"{name}: {', '.join(marked)}")
    if status.error is not None or not held:
        return status
    problem = (
        "MarkedElsewhere",
        "its virtual services are also on an appliance its spec no longer names, which holds "
        f"its addresses too until `lmctl apply` deletes them there: {'; '.join(held)}",
    )
    condition = status.condition(IN_SYNC)
    problems = [] if condition.is_true else [(condition.reason, condition.message)]
    synced = _condition(IN_SYNC, [*problems, problem], _IN_SYNC_REASONS, problem)
    return replace(
        status,
        conditions=tuple(synced if c.type == IN_SYNC else c for c in status.conditions),
    )


def unreadable_array_status(array: str, appliance: str, error: str) -> ArrayStatus:
    """The status of an array whose appliance could not be read: every condition Unknown."""
    message = f"appliance {appliance} could not be read: {error}"
    conditions = tuple(
        Condition(condition_type, "Unknown", "ApplianceUnreadable", message)
        for condition_type in CONDITION_TYPES
    )
    return ArrayStatus(
        array=array, appliance=appliance, services=(), conditions=conditions, error=error
    )
