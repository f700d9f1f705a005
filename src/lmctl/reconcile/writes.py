"""One change → one API write through the client: the only place that knows the mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmctl.loadmaster.models import VirtualServiceSettings, settings_params, wire_value
from lmctl.reconcile.changes import (
    REAL_SERVER_PARAMS,
    AddRealServer,
    Change,
    CreateVirtualService,
    DeleteVirtualService,
    FieldChange,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
)

if TYPE_CHECKING:
    from lmctl.loadmaster.client import LoadMaster

COMMANDS: dict[str, str] = {
    "create_vs": "addvs",
    "update_vs": "modvs",
    "delete_vs": "delvs",
    "add_rs": "addrs",
    "update_rs": "modrs",
    "remove_rs": "delrs",
}


def modvs_params(change: UpdateVirtualService) -> dict[str, str]:
    """Every changed setting of one VS, plus ``vsaddress``/``vsport`` when it moves."""
    new_values = VirtualServiceSettings.model_validate({f.field: f.new for f in change.fields})
    params = settings_params(new_values, [f.field for f in change.fields])
    if change.new_key is not None:
        params["vsaddress"] = change.new_key.address
        params["vsport"] = change.new_key.port
    return params


def modrs_params(fields: tuple[FieldChange, ...]) -> dict[str, str]:
    """Every changed member field (a port change is ``newport``)."""
    return {REAL_SERVER_PARAMS[f.field]: wire_value(f.new) for f in fields}


async def write(client: LoadMaster, change: Change) -> None:
    """Send the one write that makes ``change`` (errors: ``lmctl.loadmaster.errors``)."""
    if isinstance(change, CreateVirtualService):
        await client.add_virtual_service(change.key, settings_params(change.settings))
    elif isinstance(change, UpdateVirtualService):
        await client.modify_virtual_service(change.key, modvs_params(change))
    elif isinstance(change, DeleteVirtualService):
        await client.delete_virtual_service(change.key)
    elif isinstance(change, AddRealServer):
        await client.add_real_server(
            change.key,
            change.address,
            change.port,
            weight=change.weight,
            forward=change.forward,
            enable=change.enable,
        )
    elif isinstance(change, UpdateRealServer):
        await client.modify_real_server(
            change.key, change.address, change.port, modrs_params(change.fields)
        )
    else:
        assert isinstance(change, RemoveRealServer)
        await client.delete_real_server(change.key, change.address, change.port)
