"""How a member's real server differs from the spec: the one comparison plan and status share."""

from __future__ import annotations

from typing import Protocol

from lmctl.exchange import DesiredRealServer
from lmctl.reconcile.changes import FieldChange


class ObservedMember(Protocol):
    """A real server as read from an appliance (``RealServer`` or ``RealServerState``)."""

    @property
    def weight(self) -> int:
        """Its scheduling weight."""
        ...

    @property
    def forward(self) -> str:
        """Its forwarding method (``nat`` or ``route``)."""
        ...

    @property
    def enable(self) -> bool:
        """Whether the appliance may send it new connections."""
        ...

    @property
    def port(self) -> int:
        """Its port."""
        ...


def member_field_changes(
    observed: ObservedMember, desired: DesiredRealServer
) -> tuple[FieldChange, ...]:
    """Every member field whose live value differs from the spec, old → new.

    In order: weight, forward, enable (only when the spec sets it: ``enable=None`` leaves the
    flag alone, respecting an operator's drain), port.
    """
    changes = [
        FieldChange(field=name, old=getattr(observed, name), new=getattr(desired, name))
        for name in ("weight", "forward")
        if getattr(observed, name) != getattr(desired, name)
    ]
    if desired.enable is not None and desired.enable != observed.enable:
        changes.append(FieldChange(field="enable", old=observed.enable, new=desired.enable))
    if desired.port != observed.port:
        changes.append(FieldChange(field="port", old=observed.port, new=desired.port))
    return tuple(changes)
