"""The changes a plan is made of: typed, frozen values that say exactly what one write does.

Every change names the array and service it belongs to and the key of the virtual service it
acts on at the moment it runs. One change is one API call on the appliance, so a plan's length
is its write count. Conflicts and drained members are reported alongside but never written.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings, wire_name

FieldValue = bool | int | str | None

# The real-server fields lmctl manages, with their ``modrs``/``addrs`` parameter names.
REAL_SERVER_PARAMS: dict[str, str] = {
    "weight": "weight",
    "forward": "forward",
    "enable": "enable",
    "port": "newport",
}


class FieldChange(BaseModel):
    """One field of one object, from the value read to the value wanted."""

    model_config = ConfigDict(frozen=True)

    field: str
    old: FieldValue
    new: FieldValue

    @property
    def label(self) -> str:
        """The name an admin knows the field by: the appliance's own for VS settings."""
        try:
            return wire_name(self.field)
        except KeyError:
            return self.field


class _Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    array: str
    service: str
    key: VirtualServiceKey


class CreateVirtualService(_Change):
    """``addvs`` with every managed setting (members follow as ``AddRealServer``)."""

    action: Literal["create_vs"] = "create_vs"
    settings: VirtualServiceSettings


class UpdateVirtualService(_Change):
    """``modvs`` with every changed setting; ``new_key`` moves the VS (``vsaddress``/``vsport``)."""

    action: Literal["update_vs"] = "update_vs"
    fields: tuple[FieldChange, ...] = ()
    new_key: VirtualServiceKey | None = None


class DeleteVirtualService(_Change):
    """``delvs`` of a marked VS whose array or service has left the specs (or a duplicate)."""

    action: Literal["delete_vs"] = "delete_vs"
    nickname: str | None = None
    real_servers: int = 0


class AddRealServer(_Change):
    """``addrs``: a member joins the virtual service."""

    action: Literal["add_rs"] = "add_rs"
    member: str | None = None
    address: str
    port: int
    weight: int = 1000
    forward: str = "nat"
    enable: bool = True


class UpdateRealServer(_Change):
    """``modrs`` with every changed member field (weight, forward, enable, port)."""

    action: Literal["update_rs"] = "update_rs"
    member: str | None = None
    address: str
    port: int
    fields: tuple[FieldChange, ...]


class RemoveRealServer(_Change):
    """``delrs``: a real server that is no member of the array any more."""

    action: Literal["remove_rs"] = "remove_rs"
    address: str
    port: int


Change = Annotated[
    CreateVirtualService
    | UpdateVirtualService
    | DeleteVirtualService
    | AddRealServer
    | UpdateRealServer
    | RemoveRealServer,
    Field(discriminator="action"),
]


class Conflict(BaseModel):
    """A key the specs want, held by a VS this plan may not take: reported, never taken over.

    The holder is an unmarked VS (``holder_array`` None), a VS of another array that stays in
    the specs, or one of an array outside the plan's scope (``holder_in_scope`` False).
    """

    model_config = ConfigDict(frozen=True)

    array: str
    service: str
    key: VirtualServiceKey
    holder_nickname: str | None
    holder_index: int | None = None
    holder_array: str | None = None
    holder_in_scope: bool = True

    @property
    def message(self) -> str:
        """What is wrong and what to do."""
        wants = f"{self.array}/{self.service} wants {self.key}"
        if self.holder_array is not None and not self.holder_in_scope:
            return (
                f"{wants}, which is held by array {self.holder_array} ({self.holder_nickname}), "
                f"outside this plan's scope (spec files given); if {self.holder_array} was "
                "renamed, plan the whole spec directory: the VS is then re-marked in place"
            )
        if self.holder_array is not None:
            return (
                f"{wants}, which is held by array {self.holder_array} "
                f"({self.holder_nickname}), still in the specs; give one of the two arrays "
                "another VIP or port"
            )
        holder = (
            f"the VS named {self.holder_nickname!r}" if self.holder_nickname else "an unnamed VS"
        )
        index = f" (Index {self.holder_index})" if self.holder_index is not None else ""
        return (
            f"{wants}, which is held by {holder}{index} that lmctl does not own; move one of "
            "them (change the spec's VIP or free the address on the appliance): lmctl never "
            "takes over a VS it does not own"
        )


class DrainedMember(BaseModel):
    """A member disabled on the appliance while its spec leaves ``enable`` unset: left alone."""

    model_config = ConfigDict(frozen=True)

    array: str
    service: str
    key: VirtualServiceKey
    member: str
    address: str
    port: int


def member_label(change: AddRealServer | UpdateRealServer | RemoveRealServer) -> str:
    """``cas01 10.0.0.21:443``, or the address alone for a member the specs no longer name."""
    member = None if isinstance(change, RemoveRealServer) else change.member
    endpoint = f"{change.address}:{change.port}"
    return f"{member} {endpoint}" if member else endpoint


def final_key(change: Change) -> VirtualServiceKey:
    """The key of the VS once this change has run (a move ends at its new key)."""
    if isinstance(change, UpdateVirtualService) and change.new_key is not None:
        return change.new_key
    return change.key
