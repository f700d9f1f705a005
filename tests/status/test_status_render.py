"""The status JSON document and the plain text rendering."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from lmctl.status.conditions import unreadable_array_status
from lmctl.status.model import ArrayStatus
from lmctl.status.render import STATUS_FORMAT, render_status, status_document
from status_testkit import (
    desired_service,
    ipv6_service,
    observed_service,
    statistics,
    status_of,
    table_rows,
    two_member_array,
)


def degraded_hq() -> ArrayStatus:
    desired = two_member_array()
    down = {"cas01": ("Up", True), "cas02": ("Down", True)}
    live = [
        observed_service(desired[0], 1, members=down),
        observed_service(desired[1], 2, members=down),
        observed_service(desired[2], 3),
    ]
    return status_of(desired, live, statistics({(2, "cas01", 443): 9}))


def test_json_document_is_versioned_and_carries_conditions_services_members() -> None:
    arrays = [degraded_hq(), unreadable_array_status("dr", "lm-dr", "connection refused")]

    document = json.loads(json.dumps(status_document(arrays, "2026-11-26T14:00:00Z")))

    assert document["format"] == STATUS_FORMAT == "lmctl.status/v1"
    assert document["exit_code"] == 1
    hq, dr = document["arrays"]
    assert (hq["array"], hq["appliance"], hq["exit_code"], hq["error"]) == ("hq", "lm-hq", 2, None)
    healthy = next(c for c in hq["conditions"] if c["type"] == "Healthy")
    assert healthy == {
        "type": "Healthy",
        "status": "False",
        "reason": "MembersDown",
        "message": "cas02 is Down in rpc, https",
    }
    https = hq["services"][1]
    assert (https["service"], https["virtual_service"], https["status"]) == (
        "https",
        "10.20.0.10:443/tcp",
        "Up",
    )
    assert https["members"][0] == {
        "member": "cas01",
        "address": "10.20.0.21",
        "port": 443,
        "state": "up",
        "present": True,
        "enabled": True,
        "up": True,
        "drained": False,
        "active_connections": 9,
        "differences": [],
    }
    assert hq["services"][2]["members"] == []
    # The v1 contract: these keys at each level (fields may be added, never removed).
    assert set(document) == {"format", "checked_at", "exit_code", "arrays"}
    assert set(hq) == {"array", "appliance", "exit_code", "error", "conditions", "services"}
    assert set(https) == {
        "service",
        "virtual_service",
        "live_virtual_service",
        "held_by",
        "exists",
        "enabled",
        "status",
        "serving",
        "failover_ready",
        "in_sync",
        "setting_differences",
        "unexpected_real_servers",
        "duplicate_virtual_services",
        "not_owned_exactly",
        "content_rule_differences",
        "layout_differs",
        "dropped_from_spec",
        "members",
    }
    assert (dr["exit_code"], dr["error"], dr["services"]) == (1, "connection refused", [])


def test_plain_rendering_shows_verdict_conditions_and_member_states() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, no_color=True, width=200)

    unreadable = unreadable_array_status("dr", "lm-dr", "connection refused")
    console.print(render_status([degraded_hq(), unreadable], boxed=False))

    text = out.getvalue()
    assert "hq on lm-hq: DEGRADED" in text
    assert "Healthy" in text and "MembersDown" in text and "cas02 is Down in rpc, https" in text
    rows = table_rows(text)
    assert ["https", "10.20.0.10:443/tcp", "Up", "yes"] in rows
    assert ["cas01", "10.20.0.21:443", "up", "9 conn"] in rows
    assert ["cas02", "10.20.0.22:443", "down", "0 conn"] in rows
    assert "(no real servers by design)" in text
    assert "dr on lm-dr: UNKNOWN\n  appliance lm-dr could not be read: connection refused\n" in text
    assert text.count("ApplianceUnreadable") == 0  # said once, not as four Unknown rows
    assert text.rstrip().endswith("2 array(s): UNKNOWN")
    assert "\x1b[" not in text


def test_terminal_rendering_colours_states_and_draws_table_rules() -> None:
    out = io.StringIO()
    console = Console(
        file=out, force_terminal=True, color_system="standard", no_color=False, width=200
    )

    console.print(render_status([degraded_hq()], boxed=True))

    text = out.getvalue()
    assert "\x1b[33mDEGRADED" in text  # yellow verdict
    assert "\x1b[31mdown" in text  # the Down member in red
    assert "\x1b[32mup" in text
    assert "─" in text


OPERATIONS_PAGE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", list: "list", type(None): "null"}


def documented_fields() -> dict[str, str]:
    """field path → type, from the v1 schema table of docs/operations.md (its own section: the
    page has other tables, e.g. exchange check's, whose rows look alike)."""
    page = OPERATIONS_PAGE.read_text()
    section = page.split("## `--format json`: the `lmctl.status/v1` document", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_\[\].]+)` \| ([a-z ]+) \|", section, re.M)
    return dict(rows)


def produced_fields(value: Any, path: str, found: dict[str, set[str]]) -> None:
    """Every field path of a document (lists as ``name[]``) with the JSON types seen at it."""
    if isinstance(value, dict):
        for key, item in value.items():
            produced_fields(item, f"{path}.{key}" if path else key, found)
    elif isinstance(value, list):
        found.setdefault(f"{path}[]", set()).add("list")
        for item in value:
            if isinstance(item, dict):
                produced_fields(item, f"{path}[]", found)
            else:
                found[f"{path}[]"].add(_JSON_TYPES[type(item)])
    else:
        found.setdefault(path, set()).add(_JSON_TYPES[type(value)])


def test_docs_schema_table_lists_every_field_of_the_document_with_its_type() -> None:
    drifted = [desired_service("https", 443, ["cas01", "cas02"], array="dr", Idletime=1800)]
    live = observed_service(drifted[0], 2, members={"cas01": ("Up", True)}, Idletime=660)
    stray = live.real_servers[0].model_copy(update={"address": "10.20.0.99"})
    live = live.model_copy(update={"real_servers": (*live.real_servers, stray)})
    arrays = [
        degraded_hq(),
        status_of(drifted, [live], array="dr"),
        unreadable_array_status("br", "lm-br", "connection refused"),
    ]
    produced: dict[str, set[str]] = {}

    produced_fields(status_document(arrays, "2026-11-26T14:00:00Z"), "", produced)

    documented = documented_fields()
    assert sorted(documented) == sorted(produced)
    for path, types in produced.items():
        assert all(kind in documented[path] for kind in types), (path, types, documented[path])


def test_table_on_an_80_column_terminal_cuts_no_address_or_member_name() -> None:
    long_names = {"HQ-EXCH-CAS01": "2001:db8::11", "HQ-EXCH-CAS02": "2001:db8::12"}
    ipv6 = ipv6_service(long_names)
    moved = desired_service("rpc", 135, ["cas01", "cas02"], ExtraPorts="60000,60001")
    live = [
        observed_service(ipv6, 1, members={"HQ-EXCH-CAS01": ("Up", True)}),
        observed_service(moved, 2, VSAddress="10.120.101.160", Idletime=660),
    ]
    arrays = [
        degraded_hq(),
        status_of([ipv6, moved], live),
    ]
    out = io.StringIO()
    console = Console(
        file=out, force_terminal=True, color_system="standard", no_color=False, width=80
    )

    console.print(render_status(arrays, boxed=True))

    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    rows = table_rows(text)
    assert ["https", str(ipv6.key), "Up", "no (1 diff)"] in rows
    assert ["HQ-EXCH-CAS01", "[2001:db8::11]:443", "up", "0 conn"] in rows
    assert ["HQ-EXCH-CAS02", "[2001:db8::12]:443", "missing", "-"] in rows
    assert ["rpc", "10.120.101.160:135/tcp", "Up", "no (2 diff)"] in rows
    assert ["cas02", "10.20.0.22:135", "up", "0 conn"] in rows


def test_a_per_protocol_directory_name_keeps_every_column_on_80_columns() -> None:
    # https/Microsoft-Server-ActiveSync is the longest service name lmctl reports; beside an
    # IPv4 VIP the sync column stays, and neither the name nor an address is cut.
    https = desired_service("https", 443, ["cas01", "cas02"])
    redirect = desired_service("http-redirect", 80, [])
    live = [observed_service(https, 1), observed_service(redirect, 2, status="Redirect")]
    array = status_of([https, redirect], live)
    name = "https/Microsoft-Server-ActiveSync"
    renamed = (replace(array.services[0], service=name), *array.services[1:])
    array = replace(array, services=renamed)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)

    console.print(render_status([array], boxed=True))

    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    rows = table_rows(text)
    assert [name, str(https.key), "Up", "yes"] in rows
    assert ["http-redirect", str(redirect.key), "Redirect", "yes"] in rows
