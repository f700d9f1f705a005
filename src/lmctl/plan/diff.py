"""Matches → changes: the pure decision of what must be written, in make-before-break order.

A matched service is adopted (its array takes over an unmarked VS: one ``modvs`` writing the
marker and the settings that differ) or updated (settings, a move, a re-mark: one ``modvs``),
and its members added,
changed or removed; an unmatched one is created with its members; a conflicting one is left as
it is; unclaimed marked VSs are deleted last (see ``lmctl.plan.match`` for which is which).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lmctl.appliance.changes import (
    AddRealServer,
    AdoptVirtualService,
    AssignContentRule,
    Change,
    CreateContentRule,
    CreateSubService,
    CreateVirtualService,
    DeleteContentRule,
    DeleteSubService,
    DeleteVirtualService,
    FieldChange,
    RemoveRealServer,
    SpecOrder,
    UnassignContentRule,
    UpdateContentRule,
    UpdateRealServer,
    UpdateSubService,
    UpdateVirtualService,
    sort_key,
)
from lmctl.appliance.state import (
    ContentRuleState,
    Owner,
    SubServiceState,
    VirtualServiceState,
    sub_service_owner,
)
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.exchange.desired import DesiredContentRule, DesiredSubService
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.plan.match import (
    ApplianceMatch,
    Conflict,
    DrainedMember,
    MemberMatch,
    ServiceMatch,
    match_members,
    settings_changes,
)


@dataclass(frozen=True, slots=True)
class ApplianceDiff:
    """What one appliance needs: changes in write order, conflicts, drained members, and the
    services its specs want there in the specs' order (``(array, service)``)."""

    changes: tuple[Change, ...]
    conflicts: tuple[Conflict, ...]
    drained: tuple[DrainedMember, ...]
    order: tuple[tuple[str, str], ...] = ()


def in_write_order(changes: Iterable[Change], order: SpecOrder | None = None) -> tuple[Change, ...]:
    """The changes sorted into make-before-break order (``lmctl.appliance.changes.Phase``), arrays
    and services in the specs' ``order``."""
    return tuple(sorted(changes, key=lambda change: sort_key(change, order)))


def _add_member(
    desired: DesiredVirtualService,
    key: VirtualServiceKey,
    rs: DesiredRealServer,
    sub_service: str | None = None,
) -> AddRealServer:
    return AddRealServer(
        array=desired.array,
        service=desired.service,
        key=key,
        sub_service=sub_service,
        member=rs.member,
        address=rs.address,
        port=rs.port,
        weight=rs.weight,
        forward=rs.forward,
        enable=True if rs.enable is None else rs.enable,
        non_local=rs.non_local,
    )


def _member_changes(
    want: DesiredVirtualService, members: Iterable[MemberMatch], sub_service: str | None = None
) -> tuple[list[Change], list[DrainedMember]]:
    """Real-server changes of one matched VS (or of its SubVS ``sub_service``), keyed where
    the VS will be when they run."""
    scope = {"array": want.array, "service": want.service, "key": want.key}
    changes: list[Change] = []
    drained: list[DrainedMember] = []
    for member in members:
        if member.current is None:
            assert member.desired is not None
            changes.append(_add_member(want, want.key, member.desired, sub_service))
        elif member.desired is None:
            current = member.current
            changes.append(
                RemoveRealServer(
                    **scope,
                    member=member.name,
                    address=current.address,
                    port=current.port,
                    sub_service=sub_service,
                )
            )
        else:
            fields = member.changes
            if fields:
                changes.append(
                    UpdateRealServer(
                        **scope,
                        sub_service=sub_service,
                        member=member.desired.member,
                        address=member.current.address,
                        port=member.current.port,
                        fields=fields,
                    )
                )
            if member.drained:
                drained.append(
                    DrainedMember(
                        **scope,
                        member=member.desired.member,
                        address=member.current.address,
                        port=member.desired.port,
                        sub_service=sub_service,
                    )
                )
    return changes, drained


def service_changes(match: ServiceMatch) -> tuple[list[Change], list[DrainedMember]]:
    """The writes that make one service as its spec says (none for a conflict), and the
    members an operator drained (left alone)."""
    want, current = match.desired, match.current
    if match.conflict is not None:
        return [], []
    if current is None:
        created = CreateVirtualService(
            array=want.array, service=want.service, key=want.key, settings=want.settings
        )
        added: list[Change] = [_add_member(want, want.key, rs) for rs in want.real_servers]
        subs, _ = _sub_service_changes(match)
        return [created, *added, *subs], []
    changes: list[Change] = []
    fields = match.setting_changes
    modvs = {"array": want.array, "service": want.service, "key": current.key, "fields": fields}
    if match.adopts:
        changes.append(AdoptVirtualService(**modvs, left_alone=current.unmanaged))
    elif fields or match.moved:
        new_key = want.key if match.moved else None
        changes.append(UpdateVirtualService(**modvs, new_key=new_key))
    members, drained = _member_changes(want, match.members)
    subs, sub_drained = _sub_service_changes(match)
    return changes + members + subs, drained + sub_drained


def _sub_service_changes(match: ServiceMatch) -> tuple[list[Change], list[DrainedMember]]:
    """The writes that make a per-protocol parent's SubVSs and content rules as the spec
    says: each wanted SubVS made or updated with its members, its rule made and assigned; each
    of lmctl's SubVSs no directory wants has its rules taken off and deleted, then goes."""
    want, current = match.desired, match.current
    have = {sub.marker: sub for sub in current.sub_vs} if current is not None else {}
    rules = {rule.name for rule in current.content_rules} if current is not None else set()
    scope = {"array": want.array, "service": want.service, "key": want.key}
    changes: list[Change] = []
    drained: list[DrainedMember] = []
    for sub in want.sub_services:
        found = have.get(sub.marker)
        ours = {**scope, "sub_service": sub.marker}
        if found is None:
            changes.append(CreateSubService(**ours, settings=sub.settings))
        elif fields := settings_changes(found.settings, sub.settings):
            changes.append(UpdateSubService(**ours, fields=fields))
        members, drains = _member_changes(want, _sub_members(match, sub, found), sub.marker)
        changes += members
        drained += drains
        rule = sub.rule
        definition = {
            "rule": rule.name,
            "pattern": rule.pattern,
            "match_type": rule.match_type,
            "nocase": rule.nocase,
        }
        existing = current.content_rule(rule.name) if current is not None else None
        if existing is None:
            changes.append(CreateContentRule(**ours, **definition))
        elif fields := rule_changes(existing, rule):
            changes.append(UpdateContentRule(**ours, **definition, fields=fields))
        if found is None or rule.name not in found.rules:
            changes.append(AssignContentRule(**ours, rule=rule.name))
        # Any other rule on its row (another directory's, or an admin's catch-all) would send
        # that rule's paths to this SubVS: the row is lmctl's, the rule itself is left alone.
        stray = found.rules if found is not None else ()
        changes += [UnassignContentRule(**ours, rule=r) for r in stray if r != rule.name]
    wanted = {sub.marker for sub in want.sub_services}
    leaving = [sub for marker, sub in have.items() if marker not in wanted]
    kept = {sub.rule.name for sub in want.sub_services}
    changes += sub_service_removals(want.array, want.service, want.key, leaving, rules - kept)
    return changes, drained


def rule_changes(have: ContentRuleState, want: DesiredContentRule) -> tuple[FieldChange, ...]:
    """What differs between a rule as the appliance has it and as its directory needs it, by
    ``addrule``'s parameter names (someone changed it on the appliance)."""
    pairs = (
        ("pattern", have.pattern, want.pattern),
        ("matchtype", have.match_type, want.match_type),
        ("nocase", have.nocase, want.nocase),
    )
    return tuple(FieldChange(field=f, old=old, new=new) for f, old, new in pairs if old != new)


def _sub_members(
    match: ServiceMatch, sub: DesiredSubService, found: SubServiceState | None
) -> tuple[MemberMatch, ...]:
    current = found.real_servers if found is not None else ()
    return match_members(sub.real_servers, current, match.names)


def sub_service_removals(
    array: str,
    service: str,
    key: VirtualServiceKey,
    leaving: Iterable[SubServiceState],
    rules: Iterable[str],
    *,
    delete_sub_services: bool = True,
) -> list[Change]:
    """Each leaving SubVS's own rules taken off it, the rules (``rules``: every one of lmctl's
    that nothing keeps) deleted, then the SubVS deleted (left to the parent's ``delvs`` without
    ``delete_sub_services``)."""
    scope = {"array": array, "service": service, "key": key}
    changes: list[Change] = []
    for sub in leaving:
        ours = {**scope, "sub_service": sub.marker}
        changes += [
            UnassignContentRule(**ours, rule=rule)
            for rule in sub.rules
            if sub_service_owner(rule) is not None
        ]
        if delete_sub_services:
            changes.append(DeleteSubService(**ours, real_servers=len(sub.real_servers)))
    changes += [DeleteContentRule(**scope, sub_service=rule, rule=rule) for rule in sorted(rules)]
    return changes


def deletion(owner: Owner, vs: VirtualServiceState) -> DeleteVirtualService:
    """The ``delvs`` of a marked VS nothing claims."""
    return DeleteVirtualService(
        array=owner.array,
        service=owner.service,
        key=vs.key,
        nickname=vs.settings.nickname,
        real_servers=len(vs.real_servers),
        destroys=vs.unmanaged,
    )


def diff(match: ApplianceMatch) -> ApplianceDiff:
    """The changes that make one appliance hold its desired services, in write order."""
    changes: list[Change] = []
    drained: list[DrainedMember] = []
    # Services in the specs' order (the matcher keeps it), so drained members are too.
    for service in match.services:
        found, drains = service_changes(service)
        changes += found
        drained += drains
    # Content rules are the appliance's, not the VS's: ``delvs`` would leave them behind. But a
    # rule named with a deleted VS's marker may be the one the claimed parent of that marker
    # uses (a copy of the marker elsewhere): those stay, and each goes once.
    gone = {sub.rule.name for s in match.services for sub in s.desired.sub_services}
    gone |= {change.rule for change in changes if isinstance(change, DeleteContentRule)}
    for owner, vs in match.unclaimed:
        rules = [rule.name for rule in vs.content_rules if rule.name not in gone]
        gone.update(rules)
        changes += sub_service_removals(
            owner.array, owner.service, vs.key, vs.sub_vs, rules, delete_sub_services=False
        )
        changes.append(deletion(owner, vs))
    conflicts = [s.conflict for s in match.services if s.conflict is not None]
    conflicts += match.unclaimed_conflicts
    services = tuple((s.desired.array, s.desired.service) for s in match.services)
    order = SpecOrder(services)
    return ApplianceDiff(
        changes=in_write_order(changes, order),
        conflicts=tuple(
            sorted(conflicts, key=lambda c: (order.service(c.array, c.service), str(c.key)))
        ),
        drained=tuple(drained),
        order=services,
    )


def touched_keys(changes: Iterable[Change]) -> set[VirtualServiceKey]:
    """Every VS key a change reads or writes (both ends of a move)."""
    keys: set[VirtualServiceKey] = set()
    for change in changes:
        keys.add(change.key)
        keys.add(change.final_key)
    return keys
