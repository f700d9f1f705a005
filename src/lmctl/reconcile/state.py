"""The part of an appliance's state that reconcile reasons about, as plain comparable values.

An observed ``VirtualService`` carries live facts (status, indexes, firmware-specific fields) that
must never show up as changes. Here it is reduced, once, to its key, its managed settings and its
real servers as members, which is what plans compare, plan files save and the simulator evolves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lmctl.loadmaster.models import (
    MANAGED_VS_FIELDS,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceSettings,
)
from lmctl.ownership import Owner, owner_of

# A real server inside its virtual service: (address, port); addresses arrive normalised.
MemberKey = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RealServerState:
    """A real server as a member of one virtual service: only what lmctl manages."""

    address: str
    port: int
    weight: int = 1000
    forward: str = "nat"
    enable: bool = True

    @property
    def member_key(self) -> MemberKey:
        """How a real server is identified inside its virtual service."""
        return (self.address, self.port)


@dataclass(frozen=True, slots=True)
class VirtualServiceState:
    """A virtual service reduced to its key, its managed settings and its members.

    Plain frozen dataclasses (pydantic serialises them inside plans): planning reduces thousands
    of services, so building these must be cheap.
    """

    key: VirtualServiceKey
    settings: VirtualServiceSettings
    real_servers: tuple[RealServerState, ...] = ()
    index: int | None = None

    @property
    def owner(self) -> Owner | None:
        """The array/service named by lmctl's marker, or None for an unmarked VS."""
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

    def describe(self) -> str:
        """How messages name this VS: its key and its NickName."""
        name = self.settings.nickname
        return f"{self.key} ({name})" if name else f"{self.key} (no NickName)"


ApplianceState = dict[VirtualServiceKey, VirtualServiceState]


def state_of(vs: VirtualService) -> VirtualServiceState:
    """Reduce an observed (non-Sub) virtual service to its comparable state.

    The values were validated when the reply was parsed, so the settings are copied without
    validating them again (``model_construct``): planning thousands of services stays fast.
    """
    key = vs.key
    if key is None:
        raise ValueError(f"virtual service Index {vs.index} is a SubVS and has no key")
    settings = VirtualServiceSettings.model_construct(
        **{name: getattr(vs, name) for name in MANAGED_VS_FIELDS}
    )
    members = tuple(
        RealServerState(rs.address, rs.port, rs.weight, rs.forward, rs.enable)
        for rs in vs.real_servers
    )
    return VirtualServiceState(key, settings, members, vs.index)


def appliance_state(observed: Iterable[VirtualService]) -> ApplianceState:
    """Every addressable VS of an appliance by key; SubVS entries are skipped (no key)."""
    states = (state_of(vs) for vs in observed if not vs.is_sub_service and vs.address)
    return {state.key: state for state in states}
