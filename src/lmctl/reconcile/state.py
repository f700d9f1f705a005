"""The part of an appliance's state that reconcile reasons about, as plain comparable values.

An observed ``VirtualService`` carries live facts (status, indexes, firmware-specific fields) that
must never show up as changes. Here it is reduced, once, to its key, its managed settings and its
real servers as members, which is what plans compare, plan files save and the simulator evolves.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from lmctl.loadmaster.models import VirtualService, VirtualServiceKey, VirtualServiceSettings
from lmctl.ownership import Owner, owner_of

MemberKey = tuple[str, int]


class RealServerState(BaseModel):
    """A real server as a member of one virtual service: only what lmctl manages."""

    model_config = ConfigDict(frozen=True)

    address: str
    port: int
    weight: int = 1000
    forward: str = "nat"
    enable: bool = True

    @property
    def member_key(self) -> MemberKey:
        """How a real server is identified inside its virtual service."""
        return (self.address, self.port)


class VirtualServiceState(BaseModel):
    """A virtual service reduced to its key, its managed settings and its members."""

    model_config = ConfigDict(frozen=True)

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
    """Reduce an observed (non-Sub) virtual service to its comparable state."""
    key = vs.key
    if key is None:
        raise ValueError(f"virtual service Index {vs.index} is a SubVS and has no key")
    return VirtualServiceState(
        key=key,
        settings=vs.settings(),
        real_servers=tuple(
            RealServerState(
                address=rs.address,
                port=rs.port,
                weight=rs.weight,
                forward=rs.forward,
                enable=rs.enable,
            )
            for rs in vs.real_servers
        ),
        index=vs.index,
    )


def appliance_state(observed: Iterable[VirtualService]) -> ApplianceState:
    """Every addressable VS of an appliance by key; SubVS entries are skipped (no key)."""
    state: ApplianceState = {}
    for vs in observed:
        if vs.key is not None:
            state[vs.key] = state_of(vs)
    return state
