"""Read every appliance's virtual services: one ``listvs`` per appliance, all concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from lmctl.errors import LmctlError
from lmctl.loadmaster.errors import LoadMasterError
from lmctl.loadmaster.models import VirtualService

if TYPE_CHECKING:
    from lmctl.loadmaster.client import LoadMaster


class ReadError(LmctlError):
    """At least one appliance could not be read; ``failures`` maps each to why."""

    def __init__(self, failures: Mapping[str, str]) -> None:
        self.failures = dict(failures)
        super().__init__(
            "; ".join(f"cannot read {name}: {why}" for name, why in sorted(failures.items()))
        )


async def _read(client: LoadMaster) -> list[VirtualService] | str:
    try:
        return await client.list_virtual_services()
    except (LoadMasterError, OSError) as error:
        return str(error) or type(error).__name__


async def read_appliances(clients: Mapping[str, LoadMaster]) -> dict[str, list[VirtualService]]:
    """Every appliance's VSs (SubVS entries included); ``ReadError`` naming each one that failed."""
    names = sorted(clients)
    replies = await asyncio.gather(*(_read(clients[name]) for name in names))
    failures = {
        name: reply for name, reply in zip(names, replies, strict=True) if isinstance(reply, str)
    }
    if failures:
        raise ReadError(failures)
    return {
        name: reply
        for name, reply in zip(names, replies, strict=True)
        if not isinstance(reply, str)
    }
