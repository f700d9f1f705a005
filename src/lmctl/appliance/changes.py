"""What can be done to an appliance: typed, frozen changes, each saying exactly what one write does.

Every change names the array and service it belongs to and the key of the virtual service it acts
on at the moment it runs. One change is one API write, so a plan's length is its write count.
Each kind carries its own facts: its summary key (``action``), the appliance command that makes it
(``command``), its place in make-before-break order (``phase``) and the line a plan shows for it
(``headline``).

The kinds are a closed set (``Change``). Code that acts on a change dispatches with ``match`` over
the kinds, ending in ``assert_never``: a new kind added here and not handled there fails
``mypy --strict`` (``tests/test_architecture.py`` shows it), never at run time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from lmctl.appliance.state import is_legacy_marker
from lmctl.loadmaster.models import (
    VirtualServiceKey,
    VirtualServiceSettings,
    wire_name,
    wire_value,
    written_fields,
)
from lmctl.text import quoted_name

FieldValue = bool | int | str | None
Sign = Literal["+", "~", "-", "!", " "]


# Make-before-break: per array, adopt virtual services (so a VS is lmctl's before any other
# write touches it), create them, move them, create SubVSs, add new members, create content
# rules and assign them (a path is switched only to a SubVS that has its members), update
# settings (enabling a member before disabling another), remove old members, then take rules
# off, delete them and delete SubVSs (a path is unswitched before its SubVS goes); virtual
# services are deleted last of all, after every array's other writes.
class Phase(enum.IntEnum):
    """A change's place in make-before-break order (lower runs first)."""

    ADOPT_VIRTUAL_SERVICES = 0
    CREATE_VIRTUAL_SERVICES = 1
    MOVE_VIRTUAL_SERVICES = 2
    CREATE_SUB_SERVICES = 3
    ADD_REAL_SERVERS = 4
    CREATE_CONTENT_RULES = 5
    ASSIGN_CONTENT_RULES = 6
    UPDATE_VIRTUAL_SERVICES_ENABLE_REAL_SERVERS = 7
    UPDATE_REAL_SERVERS = 8
    DISABLE_REAL_SERVERS = 9
    REMOVE_REAL_SERVERS = 10
    UNASSIGN_CONTENT_RULES = 11
    DELETE_CONTENT_RULES = 12
    DELETE_SUB_SERVICES = 13
    DELETE_VIRTUAL_SERVICES = 14


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun in the number it takes: ``1 write``, ``2 writes``."""
    noun = singular if count == 1 else (plural or f"{singular}s")
    return f"{count} {noun}"


def shown(value: object) -> str:
    """A value as an admin reads it on the appliance: flags Y/N, unset as ``(unset)``."""
    return "(unset)" if value is None else wire_value(value)


class FieldChange(BaseModel):
    """One field of one object, from the value read to the value wanted."""

    model_config = ConfigDict(frozen=True)

    field: str
    old: FieldValue
    new: FieldValue

    @property
    def label(self) -> str:
        """The name an admin knows the field by: the appliance's own for VS settings."""
        try:
            return wire_name(self.field)
        except KeyError:
            return self.field

    @property
    def line(self) -> str:
        """``Idletime: 660 → 1800``."""
        return f"{self.label}: {shown(self.old)} → {shown(self.new)}"


class _Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    command: ClassVar[str]

    array: str
    service: str
    key: VirtualServiceKey

    @property
    def final_key(self) -> VirtualServiceKey:
        """The key of the VS once this change has run (a move ends at its new key)."""
        return self.key

    @property
    def owner_label(self) -> str:
        """``hq-cas/https``."""
        return f"{self.array}/{self.service}"

    @property
    def in_sub_service(self) -> str | None:
        """The marker of the SubVS the change acts in; None for the VS at ``key`` itself."""
        return None


class CreateVirtualService(_Change):
    """``addvs`` with every managed setting (members follow as ``AddRealServer``).

    The plan shows only the settings it gives a value: an unset one is written empty (``Persist``
    ``none``), as a new VS has it (none of them is set in the 7.2.5x ``addvs`` capture); the plan
    document's ``settings`` keeps every one."""

    command: ClassVar[str] = "addvs"
    action: Literal["create_vs"] = "create_vs"
    settings: VirtualServiceSettings

    @property
    def phase(self) -> Phase:
        return Phase.CREATE_VIRTUAL_SERVICES

    @property
    def headline(self) -> tuple[Sign, str]:
        return "+", f"create virtual service {self.key}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        """Each setting the new VS is created with a value (unset ones left out)."""
        return tuple(
            ("+", f"{wire_name(name)}: {shown(value)}")
            for name in written_fields(self.settings)
            if (value := getattr(self.settings, name)) is not None
        )


class UpdateVirtualService(_Change):
    """``modvs`` with every changed setting; ``new_key`` moves the VS (``vsaddress``/``vsport``)."""

    command: ClassVar[str] = "modvs"
    action: Literal["update_vs"] = "update_vs"
    fields: tuple[FieldChange, ...] = ()
    new_key: VirtualServiceKey | None = None

    @property
    def final_key(self) -> VirtualServiceKey:
        return self.new_key or self.key

    @property
    def phase(self) -> Phase:
        if self.new_key is not None:
            return Phase.MOVE_VIRTUAL_SERVICES
        return Phase.UPDATE_VIRTUAL_SERVICES_ENABLE_REAL_SERVERS

    @property
    def remarks(self) -> bool:
        """True when the change (also) writes lmctl's marker: a rename or an old-style marker."""
        return any(f.field == "nickname" for f in self.fields)

    @property
    def headline(self) -> tuple[Sign, str]:
        if self.new_key is not None:
            return "~", f"move virtual service {self.key} → {self.new_key}"
        if self.remarks:
            old = next(f.old for f in self.fields if f.field == "nickname")
            why = " (lmctl 0.1's marker)" if is_legacy_marker(str(old)) else ""
            return "~", f"re-mark virtual service {self.key} as {self.owner_label}{why}"
        return "~", f"update virtual service {self.key}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        """One line per field, old → new."""
        return tuple(("~", f.line) for f in self.fields)


class AdoptVirtualService(_Change):
    """``modvs`` writing lmctl's marker on a VS lmctl did not own, because its array adopts it
    (``adopt: true`` or ``--adopt``), with every managed setting that differs in the same write.

    ``fields`` holds the NickName change and the others; ``left_alone`` what the VS holds that
    lmctl does not manage (content rules, certificates, WAF, ESP): no write ever touches them.
    """

    command: ClassVar[str] = "modvs"
    action: Literal["adopt_vs"] = "adopt_vs"
    fields: tuple[FieldChange, ...]
    left_alone: tuple[str, ...] = ()

    @property
    def phase(self) -> Phase:
        return Phase.ADOPT_VIRTUAL_SERVICES

    @property
    def nickname(self) -> FieldValue:
        """The NickName the VS had before it was adopted."""
        return next((f.old for f in self.fields if f.field == "nickname"), None)

    @property
    def headline(self) -> tuple[Sign, str]:
        name = f"NickName {quoted_name(str(self.nickname))}" if self.nickname else "no NickName"
        return "~", f"adopt {self.key} ({name} → lmctl marker) as {self.owner_label}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        """Each other setting it changes, old → new; then what it leaves as it is."""
        changed: tuple[tuple[Sign, str], ...] = tuple(
            ("~", f.line) for f in self.fields if f.field != "nickname"
        )
        return changed + tuple((" ", f"left as they are: {item}") for item in self.left_alone)


class DeleteVirtualService(_Change):
    """``delvs`` of a marked VS whose array or service has left the specs (or a duplicate).

    ``destroys``: what the VS holds that lmctl does not manage (content rules, certificates, WAF,
    ESP, SubVSs; an adopted VS's): ``delvs`` removes them with it, and lmctl cannot make them
    again.
    """

    command: ClassVar[str] = "delvs"
    action: Literal["delete_vs"] = "delete_vs"
    nickname: str | None = None
    real_servers: int = 0
    destroys: tuple[str, ...] = ()

    @property
    def phase(self) -> Phase:
        return Phase.DELETE_VIRTUAL_SERVICES

    @property
    def described(self) -> str:
        """``10.0.0.99:443/tcp (NickName 'lmctl.hq.https', 2 real servers, 2 content rules)``."""
        name = f"NickName {quoted_name(self.nickname)}" if self.nickname else "no NickName"
        held = [name, counted(self.real_servers, "real server"), *self.destroys]
        return f"{self.key} ({', '.join(held)})"

    @property
    def headline(self) -> tuple[Sign, str]:
        return "-", f"delete virtual service {self.described}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


class SubServiceChange(_Change):
    """A change to one SubVS of the parent VS at ``key``, named by its marker (the appliance's
    Index of it and of its row are read at the moment the change runs, never stored)."""

    sub_service: str

    @property
    def where(self) -> str:
        """``SubVS lmctl.hq.https.ews``."""
        return f"SubVS {self.sub_service}"

    @property
    def in_sub_service(self) -> str | None:
        return self.sub_service


class CreateSubService(SubServiceChange):
    """``modvs createsubvs`` on the parent, then ``modvs`` of the new SubVS with every managed
    setting (its marker among them): two calls, as the appliance makes a SubVS empty.

    Members follow as ``AddRealServer`` with ``sub_service`` set."""

    command: ClassVar[str] = "modvs createsubvs"
    action: Literal["create_subvs"] = "create_subvs"
    settings: VirtualServiceSettings

    @property
    def phase(self) -> Phase:
        return Phase.CREATE_SUB_SERVICES

    @property
    def headline(self) -> tuple[Sign, str]:
        return "+", f"create {self.where}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        """Its health check, whole (what sets one SubVS apart from another); the settings it
        shares with its parent are the parent's."""
        check = ("check_type", "check_url", "check_host", "check_use_1_1")
        return tuple(
            ("+", f"{wire_name(name)}: {shown(getattr(self.settings, name))}")
            for name in check
            if getattr(self.settings, name) is not None
        )


class UpdateSubService(SubServiceChange):
    """``modvs`` of one SubVS with every changed setting."""

    command: ClassVar[str] = "modvs"
    action: Literal["update_subvs"] = "update_subvs"
    fields: tuple[FieldChange, ...]

    @property
    def phase(self) -> Phase:
        return Phase.UPDATE_VIRTUAL_SERVICES_ENABLE_REAL_SERVERS

    @property
    def headline(self) -> tuple[Sign, str]:
        return "~", f"update {self.where}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return tuple(("~", f.line) for f in self.fields)


class DeleteSubService(SubServiceChange):
    """``delvs`` of one SubVS (with its real servers) whose directory left the spec."""

    command: ClassVar[str] = "delvs"
    action: Literal["delete_subvs"] = "delete_subvs"
    real_servers: int = 0

    @property
    def phase(self) -> Phase:
        return Phase.DELETE_SUB_SERVICES

    @property
    def headline(self) -> tuple[Sign, str]:
        return "-", f"delete {self.where} ({counted(self.real_servers, 'real server')})"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


class CreateContentRule(SubServiceChange):
    """``addrule``: the content rule that sends one directory's path to its SubVS (named like
    the SubVS; ``rule`` is that name)."""

    command: ClassVar[str] = "addrule"
    action: Literal["create_rule"] = "create_rule"
    rule: str
    pattern: str
    match_type: str = "regex"
    nocase: bool = True

    @property
    def phase(self) -> Phase:
        return Phase.CREATE_CONTENT_RULES

    @property
    def headline(self) -> tuple[Sign, str]:
        case = ", any case" if self.nocase else ""
        return "+", f"create content rule {self.rule} ({self.match_type} {self.pattern}{case})"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


class UpdateContentRule(SubServiceChange):
    """``modrule``: a rule lmctl named whose definition was changed on the appliance, made to
    match its directory again (every field sent, as ``addrule`` sends them)."""

    command: ClassVar[str] = "modrule"
    action: Literal["update_rule"] = "update_rule"
    rule: str
    pattern: str
    match_type: str = "regex"
    nocase: bool = True
    fields: tuple[FieldChange, ...]

    @property
    def phase(self) -> Phase:
        return Phase.CREATE_CONTENT_RULES

    @property
    def headline(self) -> tuple[Sign, str]:
        return "~", f"update content rule {self.rule}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return tuple(("~", f.line) for f in self.fields)


class DeleteContentRule(SubServiceChange):
    """``delrule`` of a rule lmctl named whose directory left the spec."""

    command: ClassVar[str] = "delrule"
    action: Literal["delete_rule"] = "delete_rule"
    rule: str

    @property
    def phase(self) -> Phase:
        return Phase.DELETE_CONTENT_RULES

    @property
    def headline(self) -> tuple[Sign, str]:
        return "-", f"delete content rule {self.rule}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


class AssignContentRule(SubServiceChange):
    """``addrsrule``: the rule on the SubVS's row in the parent (the path now reaches it)."""

    command: ClassVar[str] = "addrsrule"
    action: Literal["assign_rule"] = "assign_rule"
    rule: str

    @property
    def phase(self) -> Phase:
        return Phase.ASSIGN_CONTENT_RULES

    @property
    def headline(self) -> tuple[Sign, str]:
        return "+", f"assign content rule {self.rule} to {self.where}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


class UnassignContentRule(SubServiceChange):
    """``delrsrule``: the rule off the SubVS's row (the path no longer reaches it)."""

    command: ClassVar[str] = "delrsrule"
    action: Literal["unassign_rule"] = "unassign_rule"
    rule: str

    @property
    def phase(self) -> Phase:
        return Phase.UNASSIGN_CONTENT_RULES

    @property
    def headline(self) -> tuple[Sign, str]:
        return "-", f"unassign content rule {self.rule} from {self.where}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


class _RealServerChange(_Change):
    # The member's name as the specs give it; None for a real server no spec names.
    member: str | None = None
    address: str
    port: int
    # The marker of the SubVS the real server is in; None: in the VS at ``key`` itself.
    sub_service: str | None = None

    @property
    def member_key(self) -> tuple[str, int]:
        return (self.address, self.port)

    @property
    def endpoint(self) -> str:
        """``10.0.0.21:443``."""
        return f"{self.address}:{self.port}"

    @property
    def member_label(self) -> str:
        """``cas01 10.0.0.21:443``, or the address alone for a real server no spec names."""
        return f"{self.member} {self.endpoint}" if self.member else self.endpoint

    @property
    def in_sub_service(self) -> str | None:
        return self.sub_service

    @property
    def where(self) -> str:
        """``10.0.0.10:443/tcp``, or ``SubVS lmctl.hq.https.ews of 10.0.0.10:443/tcp``."""
        if self.sub_service is None:
            return str(self.key)
        return f"SubVS {self.sub_service} of {self.key}"


class AddRealServer(_RealServerChange):
    """``addrs``: a member joins the virtual service."""

    command: ClassVar[str] = "addrs"
    action: Literal["add_rs"] = "add_rs"
    weight: int = 1000
    forward: str = "nat"
    enable: bool = True
    # ``non_local=1``: the server is on a subnet the appliance has no interface on.
    non_local: bool = False

    @property
    def phase(self) -> Phase:
        return Phase.ADD_REAL_SERVERS

    @property
    def headline(self) -> tuple[Sign, str]:
        state = "enabled" if self.enable else "disabled"
        where = ", non-local" if self.non_local else ""
        return "+", (
            f"add real server {self.member_label} "
            f"(weight {self.weight}, forward {self.forward}, {state}{where})"
        )

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


class UpdateRealServer(_RealServerChange):
    """``modrs`` with every changed member field (weight, forward, enable, port)."""

    command: ClassVar[str] = "modrs"
    action: Literal["update_rs"] = "update_rs"
    fields: tuple[FieldChange, ...]

    @property
    def enables(self) -> bool | None:
        """True when it enables the member, False when it disables it, else None."""
        for change in self.fields:
            if change.field == "enable":
                return bool(change.new)
        return None

    @property
    def phase(self) -> Phase:
        match self.enables:
            case True:
                return Phase.UPDATE_VIRTUAL_SERVICES_ENABLE_REAL_SERVERS
            case False:
                return Phase.DISABLE_REAL_SERVERS
            case None:
                return Phase.UPDATE_REAL_SERVERS

    @property
    def headline(self) -> tuple[Sign, str]:
        return "~", f"change real server {self.member_label}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return tuple(("~", f.line) for f in self.fields)


class RemoveRealServer(_RealServerChange):
    """``delrs``: a real server that is no member of the array any more."""

    command: ClassVar[str] = "delrs"
    action: Literal["remove_rs"] = "remove_rs"

    @property
    def phase(self) -> Phase:
        return Phase.REMOVE_REAL_SERVERS

    @property
    def headline(self) -> tuple[Sign, str]:
        return "-", f"remove real server {self.member_label}"

    @property
    def details(self) -> tuple[tuple[Sign, str], ...]:
        return ()


# The kinds that act on a SubVS or a content rule of a per-protocol parent.
SubServiceKind = (
    CreateSubService
    | UpdateSubService
    | DeleteSubService
    | CreateContentRule
    | UpdateContentRule
    | DeleteContentRule
    | AssignContentRule
    | UnassignContentRule
)

Change = Annotated[
    AdoptVirtualService
    | CreateVirtualService
    | UpdateVirtualService
    | DeleteVirtualService
    | AddRealServer
    | UpdateRealServer
    | RemoveRealServer
    | SubServiceKind,
    Field(discriminator="action"),
]


def write_label(change: Change) -> str:
    """``addrs cas01 10.0.1.21:443 in 10.0.1.10:443/tcp (hq-cas/https)``: what one write does."""
    scope = f"({change.owner_label})"
    match change:
        case AddRealServer() | UpdateRealServer() | RemoveRealServer():
            return f"{change.command} {change.member_label} in {change.where} {scope}"
        case CreateContentRule() | UpdateContentRule() | DeleteContentRule():
            return f"{change.command} {change.rule} {scope}"
        case AssignContentRule() | UnassignContentRule():
            return f"{change.command} {change.rule} on {change.where} of {change.key} {scope}"
        case CreateSubService() | UpdateSubService() | DeleteSubService():
            return f"{change.command} {change.where} of {change.key} {scope}"
        case UpdateVirtualService(new_key=VirtualServiceKey() as new_key):
            return f"{change.command} {change.key} → {new_key} {scope}"
        case _:
            return f"{change.command} {change.key} {scope}"


class SpecOrder:
    """The specs' order of arrays and services (arrays as loaded, each one's services in its
    profile's order), by which plan, status and apply list them; what the specs do not hold
    (an array or a service that left them) comes after, by name."""

    def __init__(self, services: Iterable[tuple[str, str]] = ()) -> None:
        self._arrays: dict[str, int] = {}
        self._services: dict[tuple[str, str], int] = {}
        for array, service in services:
            self._arrays.setdefault(array, len(self._arrays))
            self._services.setdefault((array, service), len(self._services))

    def array(self, array: str) -> tuple[int, str]:
        """The sort key of ``array``."""
        return (self._arrays.get(array, len(self._arrays)), array)

    def service(self, array: str, service: str) -> tuple[int, str, int, str]:
        """The sort key of one service of ``array``."""
        rank = self._services.get((array, service), len(self._services))
        return (*self.array(array), rank, service)


def sort_key(
    change: Change, order: SpecOrder | None = None
) -> tuple[bool, tuple[int, str], int, tuple[int, str, int, str], str, str, tuple[str, int]]:
    """Stable execution order: deletions of VSs last, then array, phase, service, key, SubVS,
    member (arrays and services in ``order``, by name without one)."""
    match change:
        case AddRealServer() | UpdateRealServer() | RemoveRealServer():
            member = change.member_key
        case _:
            member = ("", 0)
    deletes_vs = change.phase is Phase.DELETE_VIRTUAL_SERVICES
    ranks = order or SpecOrder()
    return (
        deletes_vs,
        ranks.array(change.array),
        change.phase,
        ranks.service(change.array, change.service),
        str(change.key),
        change.in_sub_service or "",
        member,
    )
