"""A mock appliance that starts from a captured ``listvs`` reply (``lmctl mock serve
--seed-listvs FILE``): the virtual services, SubVSs and real servers a real appliance listed,
served as they were, so that lmctl can be run against what an appliance really held (hand-built
names with spaces included: what a template or the web UI made, which this mock's ``addvs``
refuses, see docs/mock.md).

The mock's own reading, never the client's: the APIv1 XML (``<Response><Success><Data><VS>``)
or APIv2 JSON (``{"VS": [...]}``) reply is turned into the document of the state file and read
by ``lmctl.mock.persistence``, so every value is checked as a state file's is. Each VS keeps the
stored elements it was listed with (an element older firmware lacks stays missing, as it was);
live elements (``Status``, ``Layer``, ``NumberOfRSs`` ...) are the mock's to compute.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from lmctl.mock.persistence import STATE_FORMAT, state_from_json
from lmctl.mock.state import MockState
from lmctl.mock.tables import FLAG_FALSE, FLAG_TRUE, VS_FIELD_BY_NAME

# The row lists inside a ``<VS>`` (one element each, not wrapped in a list).
_ROWS = ("Rs", "SubVS")


def _xml_value(element: Element) -> Any:
    """An element as JSON would carry it: a text, a list of ``<Opt>`` texts, or an object."""
    children = list(element)
    if not children:
        return (element.text or "").strip()
    if all(child.tag == "Opt" for child in children):
        return [(child.text or "").strip() for child in children]
    record: dict[str, Any] = {}
    for child in children:
        value = _xml_value(child)
        if child.tag in _ROWS:
            record.setdefault(child.tag, []).append(value)
        else:
            record[child.tag] = value
    return record


def _listed_rows(data: bytes) -> list[dict[str, Any]]:
    """The ``VS`` rows of a ``listvs`` reply in either dialect; ``ValueError`` if it is none."""
    text = data.lstrip()
    if text.startswith(b"<"):
        try:
            root = ElementTree.fromstring(data)
        except ElementTree.ParseError as error:
            raise ValueError(f"not XML: {error}") from None
        found = root.find("./Success/Data")
        if root.tag != "Response" or found is None:
            raise ValueError("not a listvs reply (no <Response><Success><Data>)")
        return [_xml_value(vs) for vs in found.findall("VS")]
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"neither XML nor JSON: {error}") from None
    rows = document.get("VS", []) if isinstance(document, dict) else None
    rows = [rows] if isinstance(rows, dict) else rows
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ValueError("not a listvs reply (no VS list)")
    return rows


def _rows(vs: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    rows = vs.get(name, [])
    return [rows] if isinstance(rows, dict) else list(rows)


def _flag(value: Any) -> Any:
    """``Y``/``N`` (XML) as true/false; JSON's booleans pass as they are."""
    if isinstance(value, str) and value.lower() in FLAG_TRUE | FLAG_FALSE:
        return value.lower() in FLAG_TRUE
    return value


def _number(value: Any) -> Any:
    """A number XML sent as text, as JSON would send it (anything else is left to be refused)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value


def _settings(vs: Mapping[str, Any]) -> dict[str, Any]:
    """The stored elements of one listed VS, each of its field's JSON kind."""
    settings: dict[str, Any] = {}
    for name, value in vs.items():
        spec = VS_FIELD_BY_NAME.get(name)
        if spec is None or spec.computed:
            continue
        match spec.kind:
            case "flag":
                settings[name] = _flag(value)
            case "int":
                settings[name] = _number(value)
            case "text":
                settings[name] = str(value) if isinstance(value, int | str) else value
            case "opts":
                settings[name] = value
    return settings


def _real_server(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "rs_index": _number(row.get("RsIndex")),
        "address": row.get("Addr"),
        "port": _number(row.get("Port")),
        "forward": row.get("Forward", "nat"),
        "weight": _number(row.get("Weight", 1000)),
        "limit": _number(row.get("Limit", 0)),
        "enable": _flag(row.get("Enable", True)),
        "critical": _flag(row.get("Critical", False)),
    }


def _service(vs: Mapping[str, Any], row_of: Mapping[int, int]) -> dict[str, Any]:
    index = _number(vs.get("Index"))
    return {
        "index": index,
        "address": vs.get("VSAddress"),
        "port": str(vs.get("VSPort", "")),
        "protocol": vs.get("Protocol", "tcp"),
        "settings": _settings(vs),
        "master_index": _number(vs.get("MasterVSID", 0)),
        "row_rs_index": row_of.get(index, 0) if isinstance(index, int) else 0,
        "real_servers": [_real_server(row) for row in _rows(vs, "Rs")],
        "sub_services": [_number(row.get("VSIndex")) for row in _rows(vs, "SubVS")],
    }


def state_from_listvs(data: bytes) -> MockState:
    """The appliance a ``listvs`` reply shows; ``ValueError`` saying what is wrong if it is no
    such reply or holds a value no appliance sends."""
    rows = _listed_rows(data)
    # A SubVS's row in its parent names it by VSIndex and has an RsIndex of its own.
    row_of = {
        _number(row.get("VSIndex")): _number(row.get("RsIndex"))
        for vs in rows
        for row in _rows(vs, "SubVS")
    }
    services = [_service(vs, row_of) for vs in rows]
    indexes = [s["index"] for s in services if isinstance(s["index"], int)]
    rs_indexes = [
        rs["rs_index"]
        for s in services
        for rs in s["real_servers"]
        if isinstance(rs["rs_index"], int)
    ] + [i for i in row_of.values() if isinstance(i, int)]
    return state_from_json(
        {
            "format": STATE_FORMAT,
            "services": services,
            "next_index": max(indexes, default=0) + 1,
            "next_rs_index": max(rs_indexes, default=0) + 1,
        }
    )
