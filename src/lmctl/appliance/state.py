"""What an appliance holds, as lmctl reasons about it: plain, comparable values.

An appliance's virtual services are reduced once, by its backend, to their key, the settings lmctl
manages and their real servers as members, with the live facts status needs (the VS and RS
status) carried alongside but never compared. Plans compare and save these, the simulator evolves
them, and apply checks them for drift.

Ownership: a virtual service is lmctl's only when its NickName is exactly a marker,
``lmctl.<array>.<service>``: the raw NickName, anchored at both ends, no stripping, no case
folding, so a name that merely resembles a marker (a space, a tab, a newline around it) is foreign.
The marker keeps to the characters Kemp documents for a service name (letters, digits and
``. @ - _``); array and service names are slugs without dots, so it parses back unambiguously.
VSs marked the way lmctl 0.1 did (``lmctl:<array>/<service>``) are still recognised and re-marked
in place by the next apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, assert_never

from lmctl.loadmaster.models import (
    VirtualServiceKey,
    VirtualServiceSettings,
    differing_fields,
    host_port,
    wire_name,
)
from lmctl.releases import SERVICE_PORTS, VIRTUAL_DIRECTORIES
from lmctl.text import quoted_name

MARKER_PREFIX = "lmctl."
# An array name is a slug of at most 40 characters (as the spec allows); a service is one of
# the Exchange services lmctl publishes: ``lmctl.hq.legacyapp`` is no marker of lmctl's.
_ARRAY = r"[a-z0-9][a-z0-9-]{0,39}"
_SERVICE = "|".join(re.escape(name) for name in sorted(SERVICE_PORTS, key=len, reverse=True))
_MARKER = re.compile(rf"lmctl\.(?P<array>{_ARRAY})\.(?P<service>{_SERVICE})")
_LEGACY_MARKER = re.compile(rf"lmctl:(?P<array>{_ARRAY})/(?P<service>{_SERVICE})")
# A SubVS's marker, and its content rule's name: the parent's marker and a virtual directory.
_DIRECTORY = "|".join(re.escape(name) for name in VIRTUAL_DIRECTORIES)
_SUB_MARKER = re.compile(rf"{_MARKER.pattern}\.(?P<directory>{_DIRECTORY})")


@dataclass(frozen=True, slots=True)
class Owner:
    """The array and service that a marked virtual service belongs to."""

    array: str
    service: str

    def marker(self) -> str:
        """The NickName value that marks a virtual service as this owner's."""
        return f"{MARKER_PREFIX}{self.array}.{self.service}"


def owner_of(nickname: str | None) -> Owner | None:
    """The owner named by a NickName, or None when it is not exactly a marker."""
    if not nickname:
        return None
    found = _MARKER.fullmatch(nickname) or _LEGACY_MARKER.fullmatch(nickname)
    if found is None:
        return None
    return Owner(array=found["array"], service=found["service"])


def is_legacy_marker(nickname: str | None) -> bool:
    """True for a NickName that is exactly lmctl 0.1's marker (``lmctl:<array>/<service>``)."""
    return nickname is not None and _LEGACY_MARKER.fullmatch(nickname) is not None


# A real server inside its virtual service: (address, port); addresses arrive normalised.
MemberKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RealServerState:
    """A real server as a member of one virtual service: what lmctl manages, and whether the
    appliance's health check passes (``up``, live, never compared)."""

    address: str
    port: int
    weight: int = 1000
    forward: str = "nat"
    enable: bool = True
    up: bool | None = field(default=None, compare=False)

    @property
    def member_key(self) -> MemberKey:
        """How a real server is identified inside its virtual service."""
        return (self.address, self.port)


@dataclass(frozen=True, slots=True)
class ContentRuleState:
    """A content matching rule lmctl named (``showrule``): what it matches."""

    name: str
    pattern: str
    match_type: str = "regex"
    nocase: bool = True
    # Where else the appliance has it assigned, in words (a real server's or a SubVS row's
    # rules anywhere but its own SubVS rows): live, never compared. lmctl owns a rule by its
    # name, so a rule in use elsewhere is one that ``delrule`` or ``modrule`` would change there.
    assigned_elsewhere: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class SubServiceState:
    """A SubVS of a parent VS, identified by its marker (``NickName``), never by its Index.

    ``rules``: the content rules assigned to its row in the parent. ``index`` (its own Index)
    and ``row_index`` (its row's RsIndex in the parent) are what the appliance listed when
    read: live, never compared, never written from (apply reads them again).
    """

    settings: VirtualServiceSettings
    real_servers: tuple[RealServerState, ...] = ()
    rules: tuple[str, ...] = ()
    index: int | None = field(default=None, compare=False)
    row_index: int | None = field(default=None, compare=False)
    status: str | None = field(default=None, compare=False)

    @property
    def marker(self) -> str:
        """Its NickName (an lmctl SubVS marker for the SubVSs lmctl manages)."""
        return self.settings.nickname or ""

    def member(self, key: MemberKey) -> RealServerState | None:
        """The real server at (address, port), if present."""
        return next((rs for rs in self.real_servers if rs.member_key == key), None)


@dataclass(frozen=True, slots=True)
class VirtualServiceState:
    """A virtual service reduced to its key, its managed settings and its members.

    ``status`` is the appliance's word for it (``Up``, ``Down``, ``Redirect`` ...), live and never
    compared. Plain frozen dataclasses (pydantic serialises them inside plans): planning reduces
    thousands of services, so building these must be cheap.
    """

    key: VirtualServiceKey
    settings: VirtualServiceSettings
    real_servers: tuple[RealServerState, ...] = ()
    index: int | None = None
    status: str | None = field(default=None, compare=False)
    # The Index of every row the appliance listed at this key, when it listed more than one:
    # such rows cannot be told apart, so nothing is written to the key (``lmctl.plan.match``).
    duplicate_indexes: tuple[int, ...] = ()
    # The NickName of each of those rows, in the same order (``lmctl ls`` lists every row).
    duplicate_nicknames: tuple[str | None, ...] = field(default=(), compare=False)
    # What lmctl does not manage on it (content rules, certificates, WAF, ESP, SubVSs), in
    # words: shown when the VS is adopted or deleted, never written; ``compare`` checks it for
    # drift (a VS that gained a content rule since the plan is not the VS the plan read).
    unmanaged: tuple[str, ...] = field(default=(), compare=False)
    sub_services: int = field(default=0, compare=False)
    # SSL re-encryption (``SSLReencrypt``), among ``unmanaged`` too: it cannot work transparently.
    ssl_reencrypt: bool = field(default=False, compare=False)
    # The SubVSs that carry lmctl's SubVS marker of this VS's owner, by marker (the
    # per-protocol layout), and the content rules named with it (read only when the appliance
    # holds such a SubVS: ``showrule`` is global, so they go with the parent that owns them).
    sub_vs: tuple[SubServiceState, ...] = ()
    content_rules: tuple[ContentRuleState, ...] = ()
    # The SubVSs under a VS of lmctl's that carry no SubVS marker of its owner (look-alikes,
    # another array's marker, an admin's own): never written, and a clash (``clashes``).
    foreign_sub_vs: tuple[SubServiceState, ...] = field(default=(), compare=False)

    @property
    def is_ambiguous(self) -> bool:
        """True when the appliance listed more than one VS at this key."""
        return bool(self.duplicate_indexes)

    @property
    def owner(self) -> Owner | None:
        """The array/service named by lmctl's marker, or None for a VS lmctl does not own."""
        return owner_of(self.settings.nickname)

    @property
    def enabled_members(self) -> int:
        """How many real servers can take new connections."""
        return sum(1 for rs in self.real_servers if rs.enable)

    def member(self, key: MemberKey) -> RealServerState | None:
        """The real server at (address, port), if present."""
        for rs in self.real_servers:
            if rs.member_key == key:
                return rs
        return None

    def sub_service(self, marker: str) -> SubServiceState | None:
        """The SubVS carrying ``marker``, if present."""
        return next((sub for sub in self.sub_vs if sub.marker == marker), None)

    def content_rule(self, name: str) -> ContentRuleState | None:
        """The content rule named ``name``, if present."""
        return next((rule for rule in self.content_rules if rule.name == name), None)

    def clashes(self) -> tuple[SubServiceClash, ...]:
        """What this VS holds, or shares, that lmctl cannot own exactly (empty: nothing).

        A SubVS of someone else's inside it, a SubVS marker carried twice (which one is
        lmctl's?), or one of its content rules assigned elsewhere: writing to it would change
        or hide what is not lmctl's, so match makes each a conflict (``lmctl.plan.match``).
        """
        found: list[SubServiceClash] = []
        for sub in self.foreign_sub_vs:
            holds = f" and holds content rules {', '.join(map(quoted_name, sub.rules))}"
            found.append(
                SubServiceClash(
                    "foreign_sub_service",
                    f"SubVS Index {sub.index} (NickName {quoted_name(sub.marker)}) is not "
                    f"lmctl's{holds if sub.rules else ''}: move it to a virtual service of its own",
                )
            )
        if self.sub_vs and self.real_servers:
            # A VS publishes through its real servers or through SubVSs (Kemp 360 Central's VS
            # model: "either a server pool or SubVS"): with both, which layout serves, and where
            # would a drain have to switch a member?
            pool = ", ".join(host_port(rs.address, rs.port) for rs in self.real_servers)
            found.append(
                SubServiceClash(
                    "pool_beside_sub_services",
                    f"it holds real servers ({pool}) beside lmctl's SubVSs: delete on the "
                    "appliance the ones the spec's layout does not use",
                )
            )
        markers: dict[str, list[int | None]] = {}
        for sub in self.sub_vs:
            markers.setdefault(sub.marker, []).append(sub.index)
        found += [
            SubServiceClash(
                "marker_repeated",
                f"{len(indexes)} SubVSs carry the marker {quoted_name(marker)} (Index "
                f"{', '.join(str(index) for index in indexes)}): delete all but one",
            )
            for marker, indexes in markers.items()
            if len(indexes) > 1
        ]
        found += [
            SubServiceClash(
                "rule_shared",
                f"content rule {quoted_name(rule.name)} is also assigned to "
                f"{', '.join(rule.assigned_elsewhere)}: assign a rule of your own there",
            )
            for rule in self.content_rules
            if rule.assigned_elsewhere
        ]
        return tuple(found)

    def describe(self) -> str:
        """How messages name this VS: its key and its NickName, quoted so that invisible
        differences (spaces, control characters) show."""
        name = self.settings.nickname
        return f"{self.key} (NickName {quoted_name(name)})" if name else f"{self.key} (no NickName)"


ApplianceState = dict[VirtualServiceKey, VirtualServiceState]

ClashKind = Literal[
    "foreign_sub_service", "marker_repeated", "rule_shared", "pool_beside_sub_services"
]


@dataclass(frozen=True, slots=True)
class SubServiceClash:
    """One thing a VS of lmctl's holds or shares that lmctl cannot own exactly, in words (names
    quoted, so invisible differences show)."""

    kind: ClashKind
    detail: str

    @property
    def hides_members(self) -> bool:
        """True when members may serve where lmctl cannot switch them: a drain would not be one."""
        match self.kind:
            case "foreign_sub_service" | "marker_repeated" | "pool_beside_sub_services":
                return True
            case "rule_shared":
                return False
            case _:
                assert_never(self.kind)


def sub_service_owner(nickname: str | None) -> Owner | None:
    """The parent's owner named by a SubVS marker (``lmctl.<array>.https.<directory>``), or
    None when ``nickname`` is not exactly one."""
    if not nickname:
        return None
    found = _SUB_MARKER.fullmatch(nickname)
    return None if found is None else Owner(array=found["array"], service=found["service"])


# Live connection counts of one appliance: (VS, member key) → active connections, the VS named
# by its key and by the appliance's Index (a SubVS, which has no address, only by its Index).
Connections = dict[tuple[VirtualServiceKey | int, MemberKey], int]


@dataclass(frozen=True, slots=True)
class Drift:
    """One difference: which object, which field, the value expected and the value found."""

    appliance: str
    key: VirtualServiceKey
    field: str
    expected: object
    found: object

    def __str__(self) -> str:
        return (
            f"{self.appliance}: {self.key} {self.field}: expected {self.expected!r}, "
            f"found {self.found!r}"
        )


_MEMBER_FIELDS = ("weight", "forward", "enable")


def _members_drift(
    appliance: str,
    key: VirtualServiceKey,
    expected: Iterable[RealServerState],
    found: Iterable[RealServerState],
    where: str = "",
) -> list[Drift]:
    want = {rs.member_key: rs for rs in expected}
    have = {rs.member_key: rs for rs in found}
    drift: list[Drift] = []
    for member in sorted(want.keys() | have.keys()):
        label = f"{where}real server {member[0]}:{member[1]}"
        if member not in have:
            drift.append(Drift(appliance, key, label, "present", "absent"))
        elif member not in want:
            drift.append(Drift(appliance, key, label, "absent", "present"))
        else:
            drift += [
                Drift(appliance, key, f"{label} {name}", old, new)
                for name in _MEMBER_FIELDS
                if (old := getattr(want[member], name)) != (new := getattr(have[member], name))
            ]
    return drift


def _sub_services_drift(
    appliance: str, want: VirtualServiceState, have: VirtualServiceState
) -> list[Drift]:
    """lmctl's SubVSs and rules field by field, whatever order each side lists them in (the
    appliance lists them in its order, the simulator in the plan's): a stale plan names what
    changed (a member disabled in one SubVS), not just that something did."""
    key = want.key
    drift: list[Drift] = []
    rules = {rule.name: rule for rule in want.content_rules}
    found_rules = {rule.name: rule for rule in have.content_rules}
    for name in sorted(rules.keys() | found_rules.keys()):
        old, new = rules.get(name), found_rules.get(name)
        if old != new:
            drift.append(
                Drift(appliance, key, f"content rule {name}", _rule_text(old), _rule_text(new))
            )
    subs = {sub.marker: sub for sub in want.sub_vs}
    found_subs = {sub.marker: sub for sub in have.sub_vs}
    for marker in sorted(subs.keys() | found_subs.keys()):
        sub, other = subs.get(marker), found_subs.get(marker)
        where = f"SubVS {marker} "
        if sub is None or other is None:
            expected, found = ("present", "absent") if other is None else ("absent", "present")
            drift.append(Drift(appliance, key, f"SubVS {marker}", expected, found))
            continue
        drift += [
            Drift(
                appliance,
                key,
                f"{where}{wire_name(name)}",
                getattr(sub.settings, name),
                getattr(other.settings, name),
            )
            for name in differing_fields(other.settings, sub.settings)
        ]
        if set(sub.rules) != set(other.rules):
            shown = (
                ", ".join(sorted(sub.rules)) or "none",
                ", ".join(sorted(other.rules)) or "none",
            )
            drift.append(Drift(appliance, key, f"{where}rules", *shown))
        drift += _members_drift(appliance, key, sub.real_servers, other.real_servers, where)
    return drift


def _rule_text(rule: ContentRuleState | None) -> str:
    if rule is None:
        return "absent"
    case = "ignoring case" if rule.nocase else "matching case"
    return f"{rule.match_type} {rule.pattern} ({case})"


def compare(
    appliance: str,
    keys: Iterable[VirtualServiceKey],
    expected: ApplianceState,
    found: ApplianceState,
) -> list[Drift]:
    """Differences between two states over ``keys`` (absent on one side is a difference too).

    Used three times: applying a saved plan (refuse when anything drifted), right before the
    first write of every apply (an optimistic guard against a concurrent writer), and after
    applying (report any difference left between the expected and the re-read state).
    """
    drift: list[Drift] = []
    for key in sorted(set(keys), key=str):
        want, have = expected.get(key), found.get(key)
        if want is None and have is None:
            continue
        if want is None or have is None:
            drift.append(
                Drift(
                    appliance,
                    key,
                    "virtual service",
                    "absent" if want is None else want.describe(),
                    "absent" if have is None else have.describe(),
                )
            )
            continue
        drift += [
            Drift(
                appliance,
                key,
                wire_name(name),
                getattr(want.settings, name),
                getattr(have.settings, name),
            )
            for name in differing_fields(have.settings, want.settings)
        ]
        drift += _sub_services_drift(appliance, want, have)
        if (clashes := have.clashes()) != want.clashes():
            # A SubVS or a rule assignment of someone else's that came since the plan.
            drift.append(
                Drift(
                    appliance,
                    key,
                    "what lmctl does not own in it",
                    "; ".join(clash.detail for clash in want.clashes()) or "nothing",
                    "; ".join(clash.detail for clash in clashes) or "nothing",
                )
            )
        # A per-protocol parent is compared over lmctl's SubVSs and rules, above: what it holds
        # besides (the TLS lmctl set, counted as left alone until its first SubVS is marked)
        # would differ from the simulator's prediction after a partly failed apply.
        if not (want.sub_vs or have.sub_vs) and want.unmanaged != have.unmanaged:
            # SubVSs are counted among them: a SubVS added since the plan is drift too.
            drift.append(
                Drift(
                    appliance,
                    key,
                    "settings lmctl leaves alone",
                    ", ".join(want.unmanaged) or "none",
                    ", ".join(have.unmanaged) or "none",
                )
            )
        drift += _members_drift(appliance, key, want.real_servers, have.real_servers)
    return drift
