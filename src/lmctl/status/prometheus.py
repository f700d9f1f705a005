"""Array statuses as Prometheus metrics: the text exposition format, version 0.0.4
(https://prometheus.io/docs/instrumenting/exposition_formats/).

One family per fact, each with its ``# HELP`` and ``# TYPE`` lines before its samples, every
sample labelled with its ``appliance`` and ``array`` (and ``service``, ``member``, ``address``
below them); every value is a gauge (0/1 for a yes/no). A label value is escaped as the format
says (backslash, double quote, line feed: ``\\\\``, ``\\"``, ``\\n``) after lmctl's own escaping of
hidden characters (``lmctl.text.escaped``), so a name from a spec cannot end a label, forge a
sample or put a control character on a terminal. Samples come in the order of the statuses
(the specs' order), so two scrapes of the same state are the same text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from lmctl.loadmaster.models import host_port
from lmctl.status.model import (
    CONDITION_TYPES,
    FAILOVER_READY,
    ArrayStatus,
    ConditionState,
    MemberStatus,
    ServiceStatus,
)
from lmctl.text import escaped

Labels = tuple[tuple[str, str], ...]
Sample = tuple[Labels, int]
SampleSource = Callable[[Sequence[ArrayStatus]], Iterator[Sample]]


def label_value(text: str) -> str:
    """``text`` as the inside of a quoted label value (hidden characters shown escaped first)."""
    return escaped(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _help_text(text: str) -> str:
    # HELP escapes backslash and line feed only.
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _sample(name: str, labels: Labels, value: int) -> str:
    inside = ",".join(f'{label}="{label_value(text)}"' for label, text in labels)
    return f"{name}{{{inside}}} {value}"


@dataclass(frozen=True, slots=True)
class Family:
    """One metric: its name, its help text, and how to take its samples from the statuses."""

    name: str
    help: str
    samples: SampleSource

    def lines(self, arrays: Sequence[ArrayStatus]) -> Iterator[str]:
        """``# HELP``, ``# TYPE`` and every sample."""
        yield f"# HELP {self.name} {_help_text(self.help)}"
        yield f"# TYPE {self.name} gauge"
        for labels, value in self.samples(arrays):
            yield _sample(self.name, labels, value)


def _array_labels(array: ArrayStatus) -> Labels:
    return (("appliance", array.appliance), ("array", array.array))


def _service_labels(array: ArrayStatus, service: ServiceStatus) -> Labels:
    return (*_array_labels(array), ("service", service.service))


def _member_labels(array: ArrayStatus, service: ServiceStatus, member: MemberStatus) -> Labels:
    address = host_port(member.address, member.port)
    return (*_service_labels(array, service), ("member", member.member), ("address", address))


def _readable(arrays: Sequence[ArrayStatus]) -> Iterator[Sample]:
    for array in arrays:
        yield _array_labels(array), int(array.error is None)


def _failover_ready(arrays: Sequence[ArrayStatus]) -> Iterator[Sample]:
    for array in arrays:
        yield _array_labels(array), int(array.condition(FAILOVER_READY).is_true)


_STATES: tuple[ConditionState, ...] = ("True", "False", "Unknown")


def _conditions(arrays: Sequence[ArrayStatus]) -> Iterator[Sample]:
    # As kube-state-metrics shows conditions: one sample per state, 1 on the state it is in.
    for array in arrays:
        for kind in CONDITION_TYPES:
            state = array.condition(kind).status
            for candidate in _STATES:
                labels = (*_array_labels(array), ("condition", kind), ("status", candidate))
                yield labels, int(state == candidate)


def _services(arrays: Sequence[ArrayStatus]) -> Iterator[tuple[ArrayStatus, ServiceStatus]]:
    return ((array, service) for array in arrays for service in array.services)


def _per_service(fact: Callable[[ServiceStatus], bool]) -> SampleSource:
    return lambda arrays: (
        (_service_labels(array, service), int(fact(service)))
        for array, service in _services(arrays)
    )


def _per_member(fact: Callable[[MemberStatus], int]) -> SampleSource:
    return lambda arrays: (
        (_member_labels(array, service, member), fact(member))
        for array, service in _services(arrays)
        for member in service.members
    )


FAMILIES: tuple[Family, ...] = (
    Family(
        "lmctl_array_readable",
        "1 when the array's appliance was read; 0 when it could not be (every condition is "
        "then Unknown and the array has no service or member samples).",
        _readable,
    ),
    Family(
        "lmctl_array_failover_ready",
        "1 when every service of the array keeps serving if any one member fails "
        "(condition FailoverReady True); else 0, also when it is Unknown.",
        _failover_ready,
    ),
    Family(
        "lmctl_array_condition",
        "1 on the state (True, False, Unknown) each condition of the array is in "
        "(Serving, FailoverReady, Healthy, InSync), 0 on the other two.",
        _conditions,
    ),
    Family(
        "lmctl_service_up",
        "1 when clients get an answer on the service: its virtual service exists, is enabled "
        "and has a serving member (or answers itself, a redirect).",
        _per_service(lambda service: service.serving),
    ),
    Family(
        "lmctl_service_failover_ready",
        "1 when the service keeps serving if any one of its members fails.",
        _per_service(lambda service: service.failover_ready),
    ),
    Family(
        "lmctl_service_in_sync",
        "1 when the service's virtual service and real servers equal the spec (for a "
        "per-protocol directory, its content rule too).",
        _per_service(lambda service: service.in_sync),
    ),
    Family(
        "lmctl_member_up",
        "1 when the appliance sends new connections to the member: its real server is "
        "present, enabled and Up.",
        _per_member(lambda member: int(member.serving)),
    ),
    Family(
        "lmctl_member_drained",
        "1 when the member's real server is disabled while its spec does not disable it "
        "(lmctl drain).",
        _per_member(lambda member: int(member.drained)),
    ),
    Family(
        "lmctl_member_active_connections",
        "Active connections of the member's real server, as the appliance counts them.",
        _per_member(lambda member: member.active_connections),
    ),
)


def render_prometheus(arrays: Sequence[ArrayStatus]) -> str:
    """Every family over ``arrays``, in the text exposition format (ends with a line feed)."""
    return "".join(f"{line}\n" for family in FAMILIES for line in family.lines(arrays))
