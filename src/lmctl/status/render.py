"""Rendering of array statuses: the versioned JSON document and the text/rich tables.

The JSON document's format (``lmctl.status/v1``) is documented in docs/operations.md, field by
field; monitoring keys on it, so fields may be added within a version, never renamed.

Every cell is a ``Text`` (``_plain``), never a ``str`` a table would read as rich markup: a VS
Status or a message comes from the appliance, and ``[link=...]`` in it must print as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from lmctl.errors import ExitCode
from lmctl.loadmaster.models import host_port
from lmctl.status.model import ArrayStatus, MemberStatus, ServiceStatus, overall_exit
from lmctl.text import one_line

# Bumped only on an incompatible change; fields may be added within a version.
STATUS_FORMAT = "lmctl.status/v1"

_VERDICT = {
    ExitCode.OK: ("OK", "green"),
    ExitCode.DEGRADED: ("DEGRADED", "yellow"),
    ExitCode.NOT_SERVING: ("NOT SERVING", "bold red"),
    ExitCode.ERROR: ("UNKNOWN", "magenta"),
}
_MEMBER_STYLE = {
    "up": "green",
    "down": "red",
    "drained": "yellow",
    "disabled": "yellow",
    "missing": "red",
}
_CONDITION_STYLE = {"True": "green", "False": "red", "Unknown": "magenta"}


def _member_document(member: MemberStatus) -> dict[str, Any]:
    return {
        "member": member.member,
        "address": member.address,
        "port": member.port,
        "state": member.state,
        "present": member.present,
        "enabled": member.enabled,
        "up": member.up,
        "drained": member.drained,
        "active_connections": member.active_connections,
        "differences": list(member.differences),
    }


def _service_document(service: ServiceStatus) -> dict[str, Any]:
    return {
        "service": service.service,
        "virtual_service": str(service.key),
        "live_virtual_service": None if service.live_key is None else str(service.live_key),
        "held_by": service.key_holder,
        "exists": service.exists,
        "enabled": service.enabled,
        "status": service.vs_status,
        "serving": service.serving,
        "failover_ready": service.failover_ready,
        "in_sync": service.in_sync,
        "setting_differences": [asdict(change) for change in service.setting_differences],
        "unexpected_real_servers": list(service.unexpected_real_servers),
        "duplicate_virtual_services": list(service.duplicates),
        "not_owned_exactly": [clash.detail for clash in service.clashes],
        "content_rule_differences": list(service.rule_differences),
        "layout_differs": service.layout_differs,
        "dropped_from_spec": service.dropped,
        "members": [_member_document(member) for member in service.members],
    }


def status_document(arrays: Sequence[ArrayStatus], checked_at: str) -> dict[str, Any]:
    """The ``--format json`` document (format ``lmctl.status/v1``, see docs/operations.md)."""
    return {
        "format": STATUS_FORMAT,
        "checked_at": checked_at,
        "exit_code": int(overall_exit(arrays)),
        "arrays": [
            {
                "array": array.array,
                "appliance": array.appliance,
                "exit_code": int(array.exit_code),
                "error": array.error,
                "conditions": [asdict(condition) for condition in array.conditions],
                "services": [_service_document(service) for service in array.services],
            }
            for array in arrays
        ],
    }


def _plain(text: str, style: str = "") -> Text:
    """Text lmctl did not write (an appliance's reply, a name) as one line, markup unread."""
    return Text(one_line(text), style=style)


def _service_state(service: ServiceStatus) -> Text:
    if not service.exists:
        return Text("missing", style="red")
    if not service.enabled:
        return Text("disabled", style="red")
    status = service.vs_status or "?"
    return _plain(status, "green" if service.answering else "red")


def _connections_cell(member: MemberStatus) -> Text:
    return Text(f"{member.active_connections} conn" if member.present else "-")


def _sync_cell(service: ServiceStatus) -> Text:
    if service.in_sync:
        return Text("yes", style="green")
    if not service.exists:
        return Text("no", style="red")
    drift = len(service.setting_differences) + len(service.unexpected_real_servers)
    drift += sum(1 for member in service.members if member.differences)
    drift += int(service.moved) + int(service.key_holder is not None) + len(service.duplicates)
    drift += len(service.clashes) + len(service.rule_differences)
    drift += int(service.layout_differs is not None) + int(service.dropped is not None)
    return Text(f"no ({drift} diff)", style="yellow")


def _array_heading(array: ArrayStatus) -> Text:
    verdict, style = _VERDICT[array.exit_code]
    heading = _plain(f"{array.array} on {array.appliance}: ", "bold")
    heading.append(verdict, style=style)
    return heading


def _conditions_table(array: ArrayStatus) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1, 0, 2))
    # Only the message wraps: names, states and reasons are read (and grepped) whole.
    for _ in range(3):
        table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for condition in array.conditions:
        table.add_row(
            Text(condition.type),
            Text(condition.status, style=_CONDITION_STYLE[condition.status]),
            _plain(condition.reason),
            _plain(condition.message),
        )
    return table


def _services_table(array: ArrayStatus, *, boxed: bool) -> Table:
    """One row per service, then one indented row per member under it.

    Four narrow columns instead of all members in one cell, so that addresses and member names
    are never cut on an 80-column terminal (an IPv6 virtual service is the widest cell).
    """
    # Two spaces between columns, and the last one folds its heading first: a per-protocol
    # directory's name (https/Microsoft-Server-ActiveSync) beside an IPv4 address still fits in
    # 80 columns, and no column is ever dropped ("no (1 diff)" is its widest cell).
    table = Table(box=box.SIMPLE_HEAD if boxed else None, padding=(0, 2, 0, 0), pad_edge=False)
    table.add_column("service / member", no_wrap=True)
    table.add_column("address", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("in sync / conns", overflow="fold", min_width=11)
    for service in array.services:
        table.add_row(
            _plain(service.service),
            _plain(str(service.observed_key)),
            _service_state(service),
            _sync_cell(service),
        )
        for member in service.members:
            table.add_row(
                _plain(f"  {member.member}"),
                _plain(host_port(member.address, member.port)),
                Text(member.state, style=_MEMBER_STYLE[member.state]),
                _connections_cell(member),
            )
        if not service.members:
            table.add_row(
                Text("  (no real servers by design)", style="dim"), Text(), Text(), Text()
            )
    return table


def render_status(arrays: Sequence[ArrayStatus], *, boxed: bool) -> RenderableType:
    """Every array: a heading with its verdict, its conditions, its services and members.

    ``boxed`` draws table rules (on a terminal); without it the output is plain aligned text.
    """
    parts: list[RenderableType] = []
    for array in arrays:
        parts.append(_array_heading(array))
        if array.error is not None:
            # Every condition is Unknown for the same reason: say it once.
            line = Text("  ")
            line.append(_plain(array.conditions[0].message, _CONDITION_STYLE["Unknown"]))
            parts.append(line)
        else:
            parts.append(_conditions_table(array))
            parts.append(Padding(_services_table(array, boxed=boxed), (0, 0, 0, 2)))
        parts.append(Text(""))
    verdict, style = _VERDICT[overall_exit(arrays)]
    summary = Text(f"{len(arrays)} array(s): ")
    summary.append(verdict, style=style)
    parts.append(summary)
    return Group(*parts)
