"""Desired state: the virtual services and real servers that the array specs want.

Expansion (``lmctl.exchange``) produces these; reconcile compares them with what the appliance
reports (``lmctl.loadmaster.models``). They are plain frozen values: no I/O, no appliance indexes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from lmctl.appliance.state import Owner
from lmctl.loadmaster.models import Address, VirtualServiceKey, VirtualServiceSettings


class DesiredRealServer(BaseModel):
    """One array member as a real server of one virtual service.

    ``enable`` is None unless the spec sets it: an operator's drain is then left alone.
    """

    model_config = ConfigDict(frozen=True)

    member: str
    address: Address
    port: int
    weight: int = 1000
    forward: str = "nat"
    enable: bool | None = None


class DesiredVirtualService(BaseModel):
    """One service of one array, as the virtual service it must be on its appliance."""

    model_config = ConfigDict(frozen=True)

    appliance: str
    array: str
    service: str
    key: VirtualServiceKey
    settings: VirtualServiceSettings
    real_servers: tuple[DesiredRealServer, ...] = ()

    @property
    def owner(self) -> Owner:
        """The ownership marker this VS carries in its NickName."""
        return Owner(array=self.array, service=self.service)
