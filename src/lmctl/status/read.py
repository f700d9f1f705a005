"""Reading appliances for status: ``listvs`` and ``stats``, two calls per appliance, all at once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Protocol

from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.errors import LoadMasterError
from lmctl.loadmaster.models import Statistics, VirtualService
from lmctl.status.conditions import array_status, group_by_array, unreadable_array_status
from lmctl.status.model import ArrayStatus
from lmctl.status.observe import ApplianceReading


class StatusSource(Protocol):
    """What status needs of an appliance client (``lmctl.loadmaster.client.LoadMaster``)."""

    async def list_virtual_services(self) -> list[VirtualService]:
        """Every VS with its real servers: one ``listvs`` call."""
        ...

    async def statistics(self) -> Statistics:
        """Live connection counts: one ``stats`` call."""
        ...


async def read_appliance(client: StatusSource) -> ApplianceReading:
    """The appliance's virtual services and statistics: exactly two reads.

    One after the other, not together: on an ``auto`` dialect the first call settles the
    dialect, so two concurrent first calls could both probe and double the call count.
    """
    virtual_services = await client.list_virtual_services()
    return ApplianceReading.of(virtual_services, await client.statistics())


def _error_text(error: LoadMasterError | OSError) -> str:
    return str(error) or type(error).__name__


async def appliance_status(
    appliance: str,
    desired: Sequence[DesiredVirtualService],
    client: StatusSource | None,
    *,
    unavailable: str = "no connection to it could be opened",
) -> list[ArrayStatus]:
    """The status of every array of one appliance; Unknown conditions when it cannot be read."""
    arrays = group_by_array(desired)
    try:
        if client is None:
            raise LoadMasterError(appliance, unavailable)
        reading = await read_appliance(client)
    except (LoadMasterError, OSError) as error:
        text = _error_text(error)
        return [unreadable_array_status(name, appliance, text) for name in arrays]
    return [array_status(name, appliance, services, reading) for name, services in arrays.items()]


async def read_status(
    desired: Mapping[str, Sequence[DesiredVirtualService]],
    clients: Mapping[str, StatusSource],
    unavailable: Mapping[str, str] | None = None,
) -> list[ArrayStatus]:
    """Every array's status, all appliances read concurrently, in the order of ``desired``.

    ``unavailable`` gives, per appliance that has no client, why (e.g. a missing secret).
    """
    reasons = unavailable or {}
    per_appliance = await asyncio.gather(
        *(
            appliance_status(
                appliance,
                services,
                clients.get(appliance),
                unavailable=reasons.get(appliance, "no connection to it could be opened"),
            )
            for appliance, services in desired.items()
        )
    )
    return [array for arrays in per_appliance for array in arrays]
