"""The ``Appliance`` that speaks to a Kemp LoadMaster: wire ↔ state, and nothing else.

Reading reduces ``listvs`` once to ``ApplianceState`` (SubVS entries have no key and are left
out) and ``stats`` to connection counts keyed like the state; writing turns each change into its
one API command. The typed client (``lmctl.loadmaster.client``) does the HTTP, the dialects, the
retries of reads and the read-back after an ambiguous write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Self, assert_never

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
    UnassignContentRule,
    UpdateContentRule,
    UpdateRealServer,
    UpdateSubService,
    UpdateVirtualService,
    counted,
)
from lmctl.appliance.state import (
    ApplianceState,
    Connections,
    ContentRuleState,
    RealServerState,
    SubServiceState,
    VirtualServiceState,
    owner_of,
    sub_service_owner,
)
from lmctl.errors import LmctlError, error_text
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.errors import InvalidOperationError, WriteOutcomeUnknownError
from lmctl.loadmaster.models import (
    MANAGED_VS_FIELDS,
    ContentRule,
    Statistics,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceRef,
    VirtualServiceSettings,
    host_port,
    settings_params,
    wire_value,
)
from lmctl.loadmaster.redact import scrub
from lmctl.text import quoted_name

# The real-server fields lmctl manages, with their ``modrs`` parameter names.
REAL_SERVER_PARAMS: dict[str, str] = {
    "weight": "weight",
    "forward": "forward",
    "enable": "enable",
    "port": "newport",
}


def state_of(
    vs: VirtualService,
    duplicate_indexes: tuple[int, ...] = (),
    sub_services: int | None = None,
    duplicate_nicknames: tuple[str | None, ...] = (),
    children: Iterable[VirtualService] = (),
    rules: Iterable[ContentRule] = (),
    elsewhere: Mapping[str, tuple[str, ...]] | None = None,
) -> VirtualServiceState:
    """Reduce an observed (non-Sub) virtual service to its comparable state.

    ``sub_services``: how many SubVSs the appliance lists for it (``sub_services_of``; default:
    its own ``SubVS`` rows and ``MasterVS``). The values were validated when the reply was
    parsed, so the settings are copied without validating them again (``model_construct``):
    planning thousands of services stays fast. ``children``: the SubVS rows that point to it;
    those carrying its owner's SubVS marker become its ``sub_vs`` (the others, under a VS of
    lmctl's, its ``foreign_sub_vs``), and the ``rules`` named with such a marker its
    ``content_rules``, each with where ``elsewhere`` says it is assigned besides
    (``rule_assignments_elsewhere``).
    """
    subs = sub_services_of(vs, ()) if sub_services is None else sub_services
    key = vs.key
    if key is None:
        raise ValueError(f"virtual service Index {vs.index} is a SubVS and has no key")
    owner = owner_of(vs.nickname)
    listed = list(children)
    mine = [c for c in listed if owner and sub_service_owner(c.nickname) == owner]
    foreign = [c for c in listed if owner and c not in mine]
    assigned = elsewhere or {}
    return VirtualServiceState(
        key,
        _settings(vs),
        _members(vs),
        vs.index,
        status=vs.status,
        duplicate_indexes=duplicate_indexes,
        duplicate_nicknames=duplicate_nicknames,
        # lmctl's SubVSs, and the TLS they are published with, are managed, not left alone.
        unmanaged=unmanaged_of(vs, subs - len(mine), tls_managed=bool(mine)),
        sub_services=subs,
        ssl_reencrypt=bool(vs.ssl_reencrypt),
        sub_vs=tuple(_sub_service(vs, child) for child in mine),
        content_rules=tuple(
            ContentRuleState(
                rule.name,
                rule.pattern,
                rule.match_type,
                rule.nocase,
                assigned_elsewhere=assigned.get(rule.name, ()),
            )
            for rule in rules
            if owner is not None and sub_service_owner(rule.name) == owner
        ),
        foreign_sub_vs=tuple(_sub_service(vs, child) for child in foreign),
    )


def shown_nickname(nickname: str | None) -> str | None:
    """A NickName as every consumer of the state sees it: scrubbed of the secrets of the
    appliances open now (``lmctl.loadmaster.redact``), so ``ls``, plans, plan files and apply
    never print a password an admin typed into one.

    Read while the appliance is open (its secrets are registered then). Scrubbing decides
    nothing: a NickName that is exactly a marker is kept as it is (a secret that happens to be
    part of an array's name is the spec's text, and re-marking it would flap), and ``***`` is
    no marker, so a foreign VS stays foreign; a plan never writes a foreign NickName back
    (adoption writes the marker alone).
    """
    if nickname is None or owner_of(nickname) or sub_service_owner(nickname):
        return nickname
    return scrub(nickname)


def _settings(vs: VirtualService) -> VirtualServiceSettings:
    values = {name: getattr(vs, name) for name in MANAGED_VS_FIELDS}
    values["nickname"] = shown_nickname(values["nickname"])
    return VirtualServiceSettings.model_construct(**values)


def _members(vs: VirtualService) -> tuple[RealServerState, ...]:
    return tuple(
        RealServerState(rs.address, rs.port, rs.weight, rs.forward, rs.enable, up=rs.is_up)
        for rs in vs.real_servers
    )


def _sub_service(parent: VirtualService, child: VirtualService) -> SubServiceState:
    """One SubVS with its row in the parent (its RsIndex and the rules assigned to it)."""
    row = next((r for r in parent.sub_services if r.vs_index == child.index), None)
    return SubServiceState(
        _settings(child),
        _members(child),
        rules=tuple(sorted(row.match_rules)) if row is not None else (),
        index=child.index,
        row_index=row.rs_index if row is not None else None,
        status=child.status,
    )


def holds_sub_services(observed: Sequence[VirtualService]) -> bool:
    """True when a SubVS carries lmctl's SubVS marker, or a rule named with one is assigned
    anywhere (its SubVSs deleted by hand, its rule reused): only then are content rules read."""
    return any(vs.is_sub_service and sub_service_owner(vs.nickname) for vs in observed) or any(
        sub_service_owner(name) for name in rule_assignments_anywhere(observed)
    )


def sub_services_of(vs: VirtualService, children: Iterable[VirtualService]) -> int:
    """How many SubVSs ``vs`` has, by every sign the appliance gives: its own ``SubVS`` rows,
    the rows of ``children`` that point to it (``MasterVSID``: real firmware lists each SubVS
    as a row of its own too, ``fw7.1-listvs-subvs.xml``) and its ``MasterVS`` count (the
    number of its SubVSs in that capture), whichever says most: a parent whose SubVSs show
    only one way still has them."""
    pointed = {row.vs_index for row in vs.sub_services}
    pointed |= {child.index for child in children if child.master_vs_id == vs.index}
    return max(len(pointed), vs.master_vs)


def unmanaged_of(
    vs: VirtualService, sub_services: int, *, tls_managed: bool = False
) -> tuple[str, ...]:
    """What ``vs`` holds that lmctl does not manage, one phrase each (empty: nothing);
    ``tls_managed``: its SSL acceleration is lmctl's (a per-protocol parent)."""
    found: list[str] = []
    rules = {
        "content rules": vs.content_rules,
        "request rules": vs.request_rules,
        "response rules": vs.response_rules,
        "body modification rules": vs.match_body_rules,
        "pre-processing rules": vs.pre_process_rules,
    }
    found += [f"{counted(count, noun[:-1], noun)}" for noun, count in rules.items() if count]
    if (vs.ssl_acceleration or vs.cert_files) and not tls_managed:
        names = ", ".join(vs.cert_files) or "none named"
        how = " (re-encrypted)" if vs.ssl_reencrypt else ""
        found.append(f"SSL acceleration{how} with certificates {names}")
    if vs.waf_mode or vs.legacy_waf:
        found.append(f"WAF (InterceptMode {vs.waf_mode})" if vs.waf_mode else "WAF (legacy)")
    if vs.esp_enabled:
        found.append("ESP (Edge Security Pack)")
    if sub_services:
        found.append(counted(sub_services, "SubVS"))
    return tuple(found)


def _where(vs: VirtualService) -> str:
    name = shown_nickname(vs.nickname)
    named = f"NickName {quoted_name(name)}" if name else "no NickName"
    return f"SubVS Index {vs.index} ({named})" if vs.key is None else f"{vs.key} ({named})"


def rule_assignments_elsewhere(observed: Sequence[VirtualService]) -> dict[str, tuple[str, ...]]:
    """Where each rule named with an lmctl SubVS marker is assigned, in words, besides its own
    rows: the rows of its owner's parent that point to a SubVS carrying that owner's marker.

    A rule is assigned to a real server (content switching on a plain VS) or to a SubVS's row
    in its parent (``addrsrule``), on any VS of the appliance: every such row counts.
    """
    by_index = {vs.index: vs for vs in observed}
    found: dict[str, list[str]] = {}
    for vs in observed:
        parent = owner_of(vs.nickname) if vs.key is not None else None
        for rs in vs.real_servers:
            for name in rs.match_rules:
                if sub_service_owner(name) is not None:
                    found.setdefault(name, []).append(
                        f"real server {host_port(rs.address, rs.port)} of {_where(vs)}"
                    )
        for row in vs.sub_services:
            child = by_index.get(row.vs_index)
            child_owner = sub_service_owner(child.nickname if child is not None else None)
            for name in row.match_rules:
                rule_owner = sub_service_owner(name)
                if rule_owner is None or rule_owner == parent == child_owner:
                    continue
                found.setdefault(name, []).append(
                    f"the row of SubVS Index {row.vs_index} in {_where(vs)}"
                )
    return {name: tuple(places) for name, places in found.items()}


def rule_assignments_anywhere(observed: Iterable[VirtualService]) -> set[str]:
    """The name of every content rule assigned to a real server or a SubVS row."""
    return {
        name
        for vs in observed
        for row in (*vs.real_servers, *vs.sub_services)
        for name in row.match_rules
    }


def appliance_state(
    observed: Iterable[VirtualService], rules: Iterable[ContentRule] = ()
) -> ApplianceState:
    """Every addressable VS of an appliance by key; SubVS entries are skipped (no key).

    Two rows at one key are not resolved by their order: the key is kept once, as its row with
    the lowest Index, carrying every row's Index (``duplicate_indexes``), so that match reports
    it the same way whatever order the appliance listed the rows in.
    """
    listed_all = list(observed)
    rules = list(rules)
    elsewhere = rule_assignments_elsewhere(listed_all) if rules else {}
    rows: dict[VirtualServiceKey, list[VirtualService]] = {}
    children: dict[int, list[VirtualService]] = {}
    for vs in listed_all:
        key = vs.key
        if key is not None:
            rows.setdefault(key, []).append(vs)
        if vs.is_sub_service:
            children.setdefault(vs.master_vs_id, []).append(vs)
    state: ApplianceState = {}
    for key, listed in rows.items():
        first = min(listed, key=lambda vs: vs.index)
        ordered = sorted(listed, key=lambda vs: vs.index) if len(listed) > 1 else []
        duplicates = tuple(vs.index for vs in ordered)
        nicknames = tuple(shown_nickname(vs.nickname) for vs in ordered)
        subs = sub_services_of(first, children.get(first.index, ()))
        state[key] = state_of(
            first,
            duplicates,
            subs,
            nicknames,
            children=children.get(first.index, ()),
            rules=rules,
            elsewhere=elsewhere,
        )
    return state


def connections_of(statistics: Statistics) -> Connections:
    """``ActivConns`` per (VS, member): each ``Rs`` row under its ``VSIndex``, and under the key
    of the ``Vs`` row with that Index when the row has an address. A SubVS's real servers are
    listed under the SubVS's own Index (a real server joins a SubVS by its VSIndex), so they
    are found by the Index ``listvs`` gives the SubVS, whatever its ``Vs`` row says. A member
    listed twice under one VS counts as its busiest row: drain never waits on less than the
    appliance shows."""
    keys = {
        row.index: VirtualServiceKey(address=row.address, port=row.port, protocol=row.protocol)
        for row in statistics.virtual_services
        if row.address is not None and row.protocol in ("tcp", "udp")
    }
    counts: Connections = {}
    for row in statistics.real_servers:
        member = (row.address, row.port)
        places: list[VirtualServiceKey | int] = [row.vs_index]
        if row.vs_index in keys:
            places.append(keys[row.vs_index])
        for place in places:
            counts[(place, member)] = max(counts.get((place, member), 0), row.active_conns)
    return counts


class SubServiceNotFoundError(LmctlError):
    """A SubVS a change names is not where the change expects it (changed since the plan)."""


class SubServiceLeftError(LmctlError):
    """A SubVS lmctl created is left without its marker: it could neither take its settings
    nor be deleted again, or another SubVS was made beside it at the same moment."""


def sub_service_rows(
    listed: Iterable[VirtualService], parent: VirtualServiceKey, marker: str
) -> tuple[int, int] | None:
    """The Index of the SubVS carrying ``marker`` under the VS at ``parent``, and the RsIndex
    of its row in the parent; None when there is no such one SubVS."""
    rows = list(listed)
    vs = next((vs for vs in rows if vs.key == parent), None)
    if vs is None:
        return None
    subs = [r for r in rows if r.master_vs_id == vs.index and r.nickname == marker]
    row = next((r for r in vs.sub_services if len(subs) == 1 and r.vs_index == subs[0].index), None)
    return None if row is None else (subs[0].index, row.rs_index)


def _new_settings(fields: Iterable[FieldChange]) -> VirtualServiceSettings:
    return VirtualServiceSettings.model_validate({f.field: f.new for f in fields})


def _names(fields: Iterable[FieldChange]) -> list[str]:
    return [f.field for f in fields]


def modvs_params(change: UpdateVirtualService | AdoptVirtualService) -> dict[str, str]:
    """Every changed setting of one VS (an adoption's marker among them), plus
    ``vsaddress``/``vsport`` when it moves. Nothing else: ``modvs`` changes only the fields it
    is given (Kemp's API guide, "Modify a Virtual Service"), so what lmctl does not manage stays.
    """
    params = settings_params(_new_settings(change.fields), _names(change.fields))
    if isinstance(change, UpdateVirtualService) and change.new_key is not None:
        params["vsaddress"] = change.new_key.address
        params["vsport"] = change.new_key.port
    return params


def modrs_params(fields: Iterable[FieldChange]) -> dict[str, str]:
    """Every changed member field (a port change is ``newport``)."""
    return {REAL_SERVER_PARAMS[f.field]: wire_value(f.new) for f in fields}


class LoadMasterAppliance:
    """One LoadMaster behind the ``Appliance`` protocol; an async context manager that closes
    its client."""

    def __init__(self, name: str, client: LoadMaster) -> None:
        self._name = name
        self.client = client
        # The ``listvs`` that SubVS Indexes are looked up in: read at the first SubVS write
        # after any write that can make, remove or move a VS or SubVS (or after a failed
        # write), so a run of writes to SubVSs that already exist reads it once.
        self._listed: list[VirtualService] | None = None

    @property
    def name(self) -> str:
        """The appliance's name in the inventory."""
        return self._name

    async def __aenter__(self) -> Self:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.client.__aexit__(exc_type, exc, traceback)

    async def observe(self) -> ApplianceState:
        """One ``listvs``; and one ``showrule`` when a SubVS carries lmctl's marker (the
        per-protocol layout), so an appliance without one costs no more. The SubVS Indexes
        writes look up are read afresh after it."""
        self._listed = None
        listed = await self.client.list_virtual_services()
        rules = await self.client.list_content_rules() if holds_sub_services(listed) else []
        return appliance_state(listed, rules)

    async def connections(self) -> Connections:
        """One ``stats``."""
        return connections_of(await self.client.statistics())

    async def certificates(self) -> frozenset[str]:
        """One ``listcert``."""
        return frozenset(await self.client.list_certificates())

    async def install_certificate(self, name: str, pem: bytes, *, replace: bool = False) -> None:
        """One ``addcert`` with the PEM as the file it uploads."""
        await self.client.add_certificate(name, pem, replace=replace)

    async def backup(self) -> bytes:
        """The appliance's own backup archive (``backup``)."""
        return await self.client.backup()

    async def restore(self, archive: bytes) -> None:
        """The virtual services of a backup, restored (``restore``, type 2)."""
        self._listed = None
        await self.client.restore(archive)

    async def _sub_service(self, parent: VirtualServiceKey, marker: str) -> tuple[int, int]:
        """The Index of the SubVS ``marker`` of the VS at ``parent`` and the RsIndex of its row
        there, as one ``listvs`` gives them now (never as a plan read them)."""
        if self._listed is None:
            self._listed = await self.client.list_virtual_services()
        found = sub_service_rows(self._listed, parent, marker)
        if found is None:
            raise SubServiceNotFoundError(f"{parent} has no SubVS {marker}")
        return found

    async def _holder(
        self, change: AddRealServer | UpdateRealServer | RemoveRealServer
    ) -> VirtualServiceRef:
        """Where a real-server change goes: the VS's key, or its SubVS's Index."""
        if change.sub_service is None:
            return change.key
        index, _ = await self._sub_service(change.key, change.sub_service)
        return index

    async def _create_sub_service(self, change: CreateSubService) -> None:
        """``createsubvs`` on the parent, then the new SubVS's settings, its marker among them.

        The new SubVS is the parent's row that was not there before, also when the reply to
        ``createsubvs`` was lost (the client cannot tell a new SubVS from an old one; this
        knows the rows before). Should the second call fail, the SubVS just made is deleted
        again: without its marker it is no SubVS of lmctl's, and the next plan would stop at it
        as a conflict."""
        before = {row.vs_index for row in (await self._parent(change.key)).sub_services}
        try:
            after = await self.client.modify_virtual_service(change.key, {"createsubvs": ""})
        except WriteOutcomeUnknownError:
            after = await self._parent(change.key)
        new = [row.vs_index for row in after.sub_services if row.vs_index not in before]
        if not new:
            raise SubServiceNotFoundError(f"{change.key}: createsubvs added no SubVS row")
        if len(new) > 1:
            # Someone else made a SubVS in this parent at the same moment: which one is lmctl's
            # cannot be told, so neither is marked, and the admin is told where they are.
            indexes = ", ".join(map(str, new))
            raise SubServiceLeftError(
                f"{change.key}: createsubvs added {len(new)} SubVS rows (VS index {indexes}), "
                "expected one: the parent changed at the same time; one of them is lmctl's, "
                "unmarked: delete the one that is not yours on the appliance before applying "
                "again"
            )
        try:
            await self.client.modify_virtual_service(new[0], settings_params(change.settings))
        except (LmctlError, OSError) as error:
            await self._remove_unmarked(change.key, new[0], error)
            raise

    async def _remove_unmarked(
        self, parent: VirtualServiceKey, index: int, error: LmctlError | OSError
    ) -> None:
        """Delete the SubVS ``index`` that ``createsubvs`` just made and that did not get its
        settings; when that fails too, ``SubServiceLeftError`` names it for the admin."""
        try:
            await self.client.delete_virtual_service(index)
        except (LmctlError, OSError) as second:
            raise SubServiceLeftError(
                f"{parent}: the SubVS lmctl created (VS index {index}) did not take its "
                f"settings ({error_text(error)}) and could not be deleted again "
                f"({error_text(second)}): it carries no marker of lmctl's, so delete VS index "
                f"{index} on the appliance before applying again"
            ) from error

    async def _create_content_rule(self, change: CreateContentRule) -> None:
        """``addrule``; when the appliance refuses it because a rule of that name is there,
        assigned nowhere, that rule is lmctl's leftover (a parent deleted outside lmctl: the
        SubVSs go with it, the appliance's global rules stay) and ``modrule`` sets it instead.
        A rule of that name in use anywhere is not taken over: the refusal stands."""
        client, name, pattern = self.client, change.rule, change.pattern
        match_type, nocase = change.match_type, change.nocase
        try:
            await client.add_content_rule(name, pattern, match_type=match_type, nocase=nocase)
        except InvalidOperationError:
            if name not in {rule.name for rule in await client.list_content_rules()}:
                raise
            self._listed = await client.list_virtual_services()
            if name in rule_assignments_anywhere(self._listed):
                raise
            await client.modify_content_rule(name, pattern, match_type=match_type, nocase=nocase)

    async def _parent(self, key: VirtualServiceKey) -> VirtualService:
        return await self.client.show_virtual_service(key)

    async def apply(self, change: Change) -> None:
        """The one write that makes ``change`` (errors: ``lmctl.loadmaster.errors``)."""
        try:
            await self._write(change)
        except BaseException:
            self._listed = None
            raise
        match change:
            case (
                AddRealServer()
                | UpdateRealServer()
                | RemoveRealServer()
                | CreateContentRule()
                | UpdateContentRule()
                | DeleteContentRule()
                | AssignContentRule()
                | UnassignContentRule()
            ):
                pass  # no VS or SubVS made, removed or moved: the Indexes read still hold
            case _:
                self._listed = None

    async def _write(self, change: Change) -> None:
        client = self.client
        match change:
            case CreateVirtualService():
                await client.add_virtual_service(change.key, settings_params(change.settings))
            case UpdateVirtualService() | AdoptVirtualService():
                await client.modify_virtual_service(change.key, modvs_params(change))
            case DeleteVirtualService():
                await client.delete_virtual_service(change.key)
            case AddRealServer():
                await client.add_real_server(
                    await self._holder(change),
                    change.address,
                    change.port,
                    weight=change.weight,
                    forward=change.forward,
                    enable=change.enable,
                    non_local=change.non_local,
                )
            case UpdateRealServer():
                await client.modify_real_server(
                    await self._holder(change),
                    change.address,
                    change.port,
                    modrs_params(change.fields),
                )
            case RemoveRealServer():
                await client.delete_real_server(
                    await self._holder(change), change.address, change.port
                )
            case CreateSubService():
                await self._create_sub_service(change)
            case UpdateSubService():
                index, _ = await self._sub_service(change.key, change.sub_service)
                await client.modify_virtual_service(
                    index, settings_params(_new_settings(change.fields), _names(change.fields))
                )
            case DeleteSubService():
                index, _ = await self._sub_service(change.key, change.sub_service)
                await client.delete_virtual_service(index)
            case CreateContentRule():
                await self._create_content_rule(change)
            case UpdateContentRule():
                await client.modify_content_rule(
                    change.rule, change.pattern, match_type=change.match_type, nocase=change.nocase
                )
            case DeleteContentRule():
                await client.delete_content_rule(change.rule)
            case AssignContentRule():
                _, row = await self._sub_service(change.key, change.sub_service)
                await client.assign_sub_service_rule(change.key, row, change.rule)
            case UnassignContentRule():
                _, row = await self._sub_service(change.key, change.sub_service)
                await client.unassign_sub_service_rule(change.key, row, change.rule)
            case _:
                assert_never(change)
