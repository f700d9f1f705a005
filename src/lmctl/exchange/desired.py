"""The desired state: what one array wants on its appliance, as plain frozen values.

No I/O and no appliance indexes: reconcile and status compare these with what the appliance
reports (``lmctl.loadmaster.models``). ``lmctl.exchange.expand`` builds them from the specs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from lmctl.appliance.state import Owner
from lmctl.loadmaster.models import Address, VirtualServiceKey, VirtualServiceSettings

DEFAULT_WEIGHT = 1000


class DesiredRealServer(BaseModel):
    """One array member as a real server of one virtual service.

    ``enable`` is None unless the spec sets it: an operator's drain is then left alone.
    """

    model_config = ConfigDict(frozen=True)

    member: str
    address: Address
    port: int
    weight: int = DEFAULT_WEIGHT
    forward: str = "nat"
    enable: bool | None = None
    # Added with ``non_local=1``: on a subnet the appliance has no interface on.
    non_local: bool = False


class DesiredContentRule(BaseModel):
    """A content matching rule that sends one URL path to one SubVS (``addrule``)."""

    model_config = ConfigDict(frozen=True)

    name: str
    pattern: str
    match_type: str = "regex"
    nocase: bool = True


class DesiredSubService(BaseModel):
    """One virtual directory of a per-protocol array: a SubVS of its parent VS, with its own
    health check and the array's members, and the content rule that sends its path to it.

    A SubVS has no address: it is identified by its parent and its marker (``NickName``), never
    by the appliance's Index.
    """

    model_config = ConfigDict(frozen=True)

    directory: str
    settings: VirtualServiceSettings
    real_servers: tuple[DesiredRealServer, ...] = ()
    rule: DesiredContentRule

    @property
    def marker(self) -> str:
        """The NickName that marks this SubVS as lmctl's (``lmctl.<array>.https.<directory>``)."""
        assert self.settings.nickname is not None
        return self.settings.nickname


class DesiredVirtualService(BaseModel):
    """One service of one array, as the virtual service it must be on its appliance."""

    model_config = ConfigDict(frozen=True)

    appliance: str
    array: str
    service: str
    key: VirtualServiceKey
    settings: VirtualServiceSettings
    real_servers: tuple[DesiredRealServer, ...] = ()
    # The per-protocol layout's parent VS holds SubVSs (one per virtual directory) instead of
    # real servers; every other VS holds none.
    sub_services: tuple[DesiredSubService, ...] = ()

    @property
    def owner(self) -> Owner:
        """The ownership marker this VS carries in its NickName."""
        return Owner(array=self.array, service=self.service)

    @property
    def member_servers(self) -> tuple[DesiredRealServer, ...]:
        """The members as its real servers: its own, or a per-protocol parent's SubVSs' (every
        SubVS lists every member, so a member appears once per SubVS)."""
        return (*self.real_servers, *(rs for sub in self.sub_services for rs in sub.real_servers))
