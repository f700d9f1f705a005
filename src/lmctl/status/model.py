"""What ``lmctl status`` reports: per-member, per-service and per-array status values.

Plain frozen values built by :mod:`lmctl.status.conditions`; rendering
(:mod:`lmctl.status.render`), drain and undrain (:mod:`lmctl.maintenance`) only read them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lmctl.appliance.state import SubServiceClash
from lmctl.errors import ExitCode
from lmctl.loadmaster.models import VirtualServiceKey

ConditionState = Literal["True", "False", "Unknown"]

# Condition types, in the order they are shown. Their names and reasons are part of the
# documented JSON format: monitoring keys on them, so they never change within a version.
IN_SYNC = "InSync"
HEALTHY = "Healthy"
FAILOVER_READY = "FailoverReady"
SERVING = "Serving"
CONDITION_TYPES: tuple[str, ...] = (SERVING, FAILOVER_READY, HEALTHY, IN_SYNC)

# VS statuses that mean the appliance answers on the VIP. ``Redirect`` is what the web UI
# shows for a VS with no real servers that answers with a fixed redirect.
ANSWERING_VS_STATUSES = frozenset({"up", "redirect"})


@dataclass(frozen=True, slots=True)
class Condition:
    """One Kubernetes-style condition: a type, True/False/Unknown, a CamelCase reason, a message.

    Its field names are the keys of the JSON format (``lmctl.status/v1``): never rename them.
    """

    type: str
    status: ConditionState
    reason: str
    message: str

    @property
    def is_true(self) -> bool:
        """True only when the condition holds (Unknown is not True)."""
        return self.status == "True"


@dataclass(frozen=True, slots=True)
class SettingDifference:
    """One managed VS setting whose live value differs from the spec.

    Its field names are the keys of the JSON format (``lmctl.status/v1``): never rename them.
    """

    setting: str  # the appliance's name of the field, e.g. ``Idletime``
    desired: str
    live: str


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """One array member as a real server of one virtual service.

    ``enabled`` is None when the real server is missing. ``drained`` means present but disabled
    while the spec does not disable it: an operator took it out (``lmctl drain``).
    """

    member: str
    address: str
    port: int
    present: bool
    enabled: bool | None
    up: bool
    drained: bool
    spec_disabled: bool
    active_connections: int
    differences: tuple[str, ...] = ()

    @property
    def serving(self) -> bool:
        """True when the appliance sends new connections to this member: present, enabled, Up."""
        return self.present and bool(self.enabled) and self.up

    @property
    def state(self) -> str:
        """One word for tables: missing, drained, disabled, down, up."""
        if not self.present:
            return "missing"
        if self.drained:
            return "drained"
        if not self.enabled:
            return "disabled"
        return "up" if self.up else "down"


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """One service of an array: its virtual service as observed, and each member in it.

    Its virtual service is the matcher's current VS (``lmctl.plan.match``): the one marked as
    the service's own, or a renamed array's that plan re-marks in place. ``exists`` is False
    when there is none, even if another VS sits on ``key``. ``key`` is where the spec wants it,
    ``live_key`` where the current VS is (they differ after the VIP or port changed in the spec
    and before ``lmctl apply``). ``key_holder`` describes a VS on ``key`` that the service may
    not take (unmarked, or another array's): never used.
    ``vs_status`` is the appliance's raw ``Status`` (None when the VS does not exist).
    ``has_members_by_design`` is False for a service with no real servers at all (the
    http-to-https redirect): the appliance itself answers it. ``duplicates`` describes other
    VSs that carry the service's marker too (plan deletes them).
    """

    service: str
    key: VirtualServiceKey
    exists: bool
    enabled: bool
    vs_status: str | None
    has_members_by_design: bool
    members: tuple[MemberStatus, ...]
    setting_differences: tuple[SettingDifference, ...] = ()
    unexpected_real_servers: tuple[str, ...] = ()
    # The same, each with the member name the specs give its address on the appliance, if any.
    unexpected_named: tuple[str, ...] = ()
    live_key: VirtualServiceKey | None = None
    key_holder: str | None = None
    duplicates: tuple[str, ...] = ()
    # The marker of the SubVS this service is (a per-protocol directory, ``https/ews``), whose
    # members are switched in the SubVS of the VS at ``observed_key``; None for a VS.
    sub_service: str | None = None
    # The parent's key when this is a SubVS whose parent exists (a missing SubVS is named so).
    parent_key: VirtualServiceKey | None = None
    # Whether that parent is enabled (None for a VS): a SubVS disabled in an enabled parent is
    # named as the SubVS, not as the parent.
    parent_enabled: bool | None = None
    # How the content rule that switches a SubVS's directory to it differs from the spec
    # (missing, not assigned to the SubVS's row in the parent, or its definition changed).
    rule_differences: tuple[str, ...] = ()
    # What the service's VS holds or shares that lmctl does not own exactly: a conflict, so
    # plan writes nothing to it (``lmctl.plan.match``).
    clashes: tuple[SubServiceClash, ...] = ()
    # Set when the service's VS is published in the other layout than the spec says (a switch
    # apply refuses in place): it is judged as published, and says why it is not in sync.
    layout_differs: str | None = None
    # Set for a SubVS of lmctl's whose directory the spec no longer lists: it still serves
    # that path until apply deletes it, so it is reported (and drained) as published.
    dropped: str | None = None

    @property
    def observed_key(self) -> VirtualServiceKey:
        """Where the service's VS is: its live key, else (missing) where the spec wants it."""
        return self.live_key or self.key

    @property
    def parent_service(self) -> str:
        """The service whose VS this is: ``https`` for a SubVS's ``https/ews`` (a service name
        and a directory have no ``/``), else the service itself."""
        return self.service.split("/", 1)[0] if self.sub_service is not None else self.service

    @property
    def moved(self) -> bool:
        """True when the service's VS exists at another key than the spec's."""
        return self.live_key is not None and self.live_key != self.key

    @property
    def answering(self) -> bool:
        """True when the VS exists, is enabled and the appliance reports it Up (or Redirect)."""
        return (
            self.exists and self.enabled and (self.vs_status or "").lower() in ANSWERING_VS_STATUSES
        )

    @property
    def serving_members(self) -> tuple[MemberStatus, ...]:
        """Members that take new connections now: present, enabled and Up."""
        return tuple(member for member in self.members if member.serving)

    @property
    def serving(self) -> bool:
        """True when clients get an answer on this service.

        With members: the VS exists, is enabled and has at least one serving member (the VS is
        then Up). Without members by design: the VS exists, is enabled and answers itself.
        """
        if not (self.exists and self.enabled):
            return False
        if not self.has_members_by_design:
            return self.answering
        return bool(self.serving_members)

    @property
    def failover_ready(self) -> bool:
        """True when the service keeps serving if any one member fails.

        A service without members by design does not depend on any member, so it is
        failover-ready whenever it serves.
        """
        if not self.has_members_by_design:
            return self.serving
        return self.serving and len(self.serving_members) >= 2

    @property
    def in_sync(self) -> bool:
        """True when the VS exists at the spec's key, alone there, no other VS carries its
        marker, it holds nothing lmctl does not own, its managed settings and real servers equal
        the spec, and (a SubVS) its directory's content rule is as the spec says and assigned
        to it."""
        return (
            self.exists
            and not self.moved
            and self.key_holder is None
            and not self.setting_differences
            and not self.unexpected_real_servers
            and not self.duplicates
            and not self.clashes
            and not self.rule_differences
            and self.layout_differs is None
            and self.dropped is None
            and all(member.present and not member.differences for member in self.members)
        )


@dataclass(frozen=True, slots=True)
class ArrayStatus:
    """One array on its appliance: every service, and the four conditions over them.

    ``error`` is set (and ``services`` empty, conditions Unknown) when its appliance could not
    be read.
    """

    array: str
    appliance: str
    services: tuple[ServiceStatus, ...]
    conditions: tuple[Condition, ...]
    error: str | None = None

    def condition(self, condition_type: str) -> Condition:
        """The condition of one type (``Serving``, ``FailoverReady``, ``Healthy``, ``InSync``)."""
        for condition in self.conditions:
            if condition.type == condition_type:
                return condition
        raise KeyError(condition_type)

    def service(self, name: str) -> ServiceStatus:
        """The status of one service of this array, by service name."""
        for service in self.services:
            if service.service == name:
                return service
        raise KeyError(name)

    @property
    def exit_code(self) -> ExitCode:
        """What this array alone means for the exit code of ``lmctl status``."""
        if self.error is not None:
            return ExitCode.ERROR
        if not self.condition(SERVING).is_true:
            return ExitCode.NOT_SERVING
        held = (FAILOVER_READY, HEALTHY, IN_SYNC)
        if not all(self.condition(kind).is_true for kind in held):
            return ExitCode.DEGRADED
        return ExitCode.OK


# The worst state wins. An appliance that could not be read may hide an array that is not
# serving, so an error outranks "degraded" but not a known "not serving".
_SEVERITY = (ExitCode.OK, ExitCode.DEGRADED, ExitCode.ERROR, ExitCode.NOT_SERVING)


def overall_exit(arrays: Iterable[ArrayStatus]) -> ExitCode:
    """The exit code for a set of arrays: 3 not serving > 1 unreadable > 2 degraded > 0."""
    worst = ExitCode.OK
    for array in arrays:
        if _SEVERITY.index(array.exit_code) > _SEVERITY.index(worst):
            worst = array.exit_code
    return worst
