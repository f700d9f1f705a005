"""Drift: how the objects a plan touches differ from what the plan read (or expects).

Used three times: applying a saved plan (refuse when anything drifted), right before the first
write of every apply (an optimistic guard against a concurrent writer), and after applying
(report any difference left between the expected and the re-read state).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lmctl.loadmaster.models import MANAGED_VS_FIELDS, VirtualServiceKey, wire_name
from lmctl.reconcile.state import ApplianceState, MemberKey, RealServerState, VirtualServiceState

_MEMBER_FIELDS = ("weight", "forward", "enable")


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


def _members(vs: VirtualServiceState) -> dict[MemberKey, RealServerState]:
    return {rs.member_key: rs for rs in vs.real_servers}


def _vs_drift(
    appliance: str, expected: VirtualServiceState, found: VirtualServiceState
) -> list[Drift]:
    drift = [
        Drift(appliance, expected.key, wire_name(name), getattr(expected.settings, name), value)
        for name in MANAGED_VS_FIELDS
        if (value := getattr(found.settings, name)) != getattr(expected.settings, name)
    ]
    want, have = _members(expected), _members(found)
    for member in sorted(want.keys() | have.keys()):
        label = f"real server {member[0]}:{member[1]}"
        if member not in have:
            drift.append(Drift(appliance, expected.key, label, "present", "absent"))
        elif member not in want:
            drift.append(Drift(appliance, expected.key, label, "absent", "present"))
        else:
            drift += [
                Drift(
                    appliance,
                    expected.key,
                    f"{label} {name}",
                    getattr(want[member], name),
                    getattr(have[member], name),
                )
                for name in _MEMBER_FIELDS
                if getattr(want[member], name) != getattr(have[member], name)
            ]
    return drift


def compare(
    appliance: str,
    keys: Iterable[VirtualServiceKey],
    expected: ApplianceState,
    found: ApplianceState,
) -> list[Drift]:
    """Differences between two states over ``keys`` (absent on one side is a difference too)."""
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
        drift += _vs_drift(appliance, want, have)
    return drift
