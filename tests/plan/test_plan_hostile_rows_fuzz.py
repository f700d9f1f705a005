"""Fuzz over ``listvs`` rows (issue 11): fields missing, duplicated or out of range, rows listed
twice, managed settings changed on the appliance and then left out of the reply, in both
dialects, read as the client reads them and planned as ``lmctl plan`` plans them.

From an appliance in sync with the specs, every such reply either fails the read with an
``LmctlError`` (never another exception: no traceback) or plans a conflict and no change: never
a write. Where a setting was changed on the appliance ("drift"), a plan that is made has a
change for that VS: a setting left out is never read as the spec's value.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plan_builders import desired, key, members, observed_from
from pydantic import SecretStr

from lmctl.appliance.loadmaster import appliance_state
from lmctl.errors import LmctlError
from lmctl.loadmaster import wire
from lmctl.loadmaster.connection import ApiKey, ApplianceConnection
from lmctl.loadmaster.models import REQUIRED_SETTING_ELEMENTS
from lmctl.loadmaster.transport import DEFAULT_MAX_REPLY_BYTES, ApiChannel
from lmctl.loadmaster.wire import ApiDialect
from lmctl.plan.diff import ApplianceDiff, diff
from lmctl.plan.match import match_appliance

WANTED = [
    desired(service="https", real_servers=members("10.0.1.21", "10.0.1.22")),
    desired(service="smtp", at=key(port="25"), real_servers=members("10.0.1.21", port=25)),
]
ROWS = [
    {
        **observed_from(want, index=n).model_dump(by_alias=True, exclude_none=True),
        # As a real appliance reports the layer: both flags, opposite, next to Layer.
        "ForceL4": want.settings.layer == 4,
        "ForceL7": want.settings.layer == 7,
    }
    for n, want in enumerate(WANTED, start=1)
]
KEYS = ("VSAddress", "VSPort", "Protocol", "Index")
# Every element plan compares, in a VS row and its real server rows. A row without the layer
# elements may still say its layer as firmware 7.1 does (ForceL7 alone), so dropping those is
# judged by the plan only; dropping any other of these is a malformed reply.
LAYER_ELEMENTS = ("Layer", "ForceL4", "ForceL7")
COMPARED = (*REQUIRED_SETTING_ELEMENTS, *LAYER_ELEMENTS, "Rs.Weight", "Rs.Forward", "Rs.Enable")
# A value each compared setting can have on the appliance that differs from the specs' (a
# layer is changed as the appliance shows it: all three elements).
DRIFTS: dict[str, dict[str, Any]] = {
    "Enable": {"Enable": False},
    "Schedule": {"Schedule": "lc"},
    "VStype": {"VStype": "http"},
    "Idletime": {"Idletime": 60},
    "PersistTimeout": {"PersistTimeout": 60},
    "CheckType": {"CheckType": "tcp"},
    "CheckPort": {"CheckPort": 8443},
    "Transparent": {"Transparent": True},
    "SubnetOriginating": {"SubnetOriginating": False},
    "ErrorCode": {"ErrorCode": 503},
    "Layer": {"Layer": 4, "ForceL4": True, "ForceL7": False},
    "Rs.Weight": {"Rs.Weight": 500},
    "Rs.Forward": {"Rs.Forward": "route"},
}
OUT_OF_RANGE: dict[str, list[Any]] = {
    "VSPort": ["0", "65536", "99999", "-1", "", "443x", "0443", 70000, None],
    "VSAddress": ["", "lm.example.net", "10.0.1", None],
    "Protocol": ["", "sctp", None],
    "Index": [0, -1, "", None],
    "Idletime": [-1, 86401, 10**12],
    "PersistTimeout": [-1, 2419201],
    "CheckPort": [-1, 65536],
    "Rs.Weight": [-5, 0, 65531],
    "Rs.Port": [0, 1, 2, 65531, 70000],
}


KEY = ApiKey(key=SecretStr("k3y"))
DIALECTS: dict[str, ApiDialect] = {"v1": ApiDialect("v1", KEY), "v2": ApiDialect("v2", KEY)}


def channel(dialect: str) -> ApiChannel:
    """The client's reply handling for one appliance (no HTTP: the bytes are given)."""
    connection = ApplianceConnection(
        name="lm-fuzz",
        url="https://lm-fuzz.example.net",
        dialect=DIALECTS[dialect].name,
        credentials=KEY,
    )
    return ApiChannel(
        connection,
        timeout=1.0,
        max_reply_bytes=DEFAULT_MAX_REPLY_BYTES,
        transport=None,
        logger=logging.getLogger("lmctl.test"),
    )


CHANNELS = {dialect: channel(dialect) for dialect in ("v1", "v2")}


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return escape(str(value))


def xml_row(row: dict[str, Any], repeated: set[str]) -> str:
    """One ``<VS>`` element; an element named in ``repeated`` is sent twice."""
    parts = []
    for name, value in row.items():
        if name in ("Rs", "SubVS"):
            for inner in value:
                cells = "".join(f"<{k}>{_xml_value(v)}</{k}>" for k, v in inner.items())
                parts.append(f"<{name}>{cells}</{name}>")
            continue
        element = f"<{name}>{_xml_value(value)}</{name}>"
        parts.append(element * (2 if name in repeated else 1))
    return "<VS>" + "".join(parts) + "</VS>"


def body(dialect: str, rows: list[dict[str, Any]], repeated: list[set[str]]) -> bytes:
    if dialect == "v2":
        return json.dumps({"code": 200, "VS": rows, "status": "ok"}).encode()
    inner = "".join(xml_row(row, names) for row, names in zip(rows, repeated, strict=True))
    return (
        f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<Response stat="200" code="ok">'
        f"<Success><Data>{inner}</Data></Success></Response>"
    ).encode("latin-1")


def plan_of(dialect: str, reply_body: bytes) -> ApplianceDiff:
    """Read ``listvs`` as the client does, then match and diff as ``lmctl plan`` does."""
    lm = CHANNELS[dialect]
    reply = lm.reply(DIALECTS[dialect], "listvs", 200, reply_body)
    services = lm.parsed("listvs", lambda: wire.virtual_services(reply.fields))
    return diff(match_appliance(WANTED, appliance_state(services)))


Mutation = tuple[str, int, str, Any]
mutations = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 1), st.sampled_from(KEYS + COMPARED), st.none()),
    st.tuples(st.just("drift"), st.integers(0, 1), st.sampled_from(sorted(DRIFTS)), st.none()),
    st.sampled_from(sorted(OUT_OF_RANGE)).flatmap(
        lambda name: st.tuples(
            st.just("set"), st.integers(0, 1), st.just(name), st.sampled_from(OUT_OF_RANGE[name])
        )
    ),
    st.tuples(st.just("duplicate"), st.integers(0, 1), st.booleans(), st.integers(3, 10**6)),
    st.tuples(st.just("repeat"), st.integers(0, 1), st.sampled_from(KEYS), st.none()),
)


def _set(row: dict[str, Any], name: str, value: Any) -> None:
    if name.startswith("Rs."):
        row["Rs"][0][name.removeprefix("Rs.")] = value
    else:
        row[name] = value


def _drop(row: dict[str, Any], name: str) -> None:
    if name.startswith("Rs."):
        for rs in row["Rs"]:
            rs.pop(name.removeprefix("Rs."), None)
    else:
        row.pop(name, None)


def mutated(
    dialect: str, changes: list[Mutation]
) -> tuple[list[dict[str, Any]], list[set[str]], bool, set[int]]:
    """The rows after ``changes`` (drifts first: what the appliance holds, then what the reply
    leaves out), the elements sent twice per row (v1), whether any change makes the rows
    malformed (rather than only listing a key twice), and the positions of drifted rows."""
    rows = [{**row, "Rs": [dict(rs) for rs in row["Rs"]]} for row in ROWS]
    repeated: list[set[str]] = [set() for _ in rows]
    malformed = False
    drifted: set[int] = set()
    copies: list[tuple[int, bool, dict[str, Any]]] = []
    for kind, position, name, value in sorted(changes, key=lambda change: change[0] != "drift"):
        row = rows[position]
        match kind:
            case "drift":
                for element, drifted_value in DRIFTS[name].items():
                    _set(row, element, drifted_value)
                drifted.add(position)
            case "drop":
                _drop(row, name)
                malformed = malformed or name not in LAYER_ELEMENTS
            case "set" if name.startswith("Rs."):
                row["Rs"][0][name.removeprefix("Rs.")] = value
                malformed = True
            case "set" if value is None:
                row.pop(name, None)
                malformed = True
            case "set":
                row[name] = value
                malformed = True
            case "repeat" if dialect == "v1":
                repeated[position].add(name)
                malformed = True
            case "repeat":
                pass  # a JSON object cannot name a field twice once decoded
            case "duplicate":
                copies.append((position, bool(name), {**row, "Index": value}))
    originals = list(rows)
    for position, before, copy in copies:
        at = next(n for n, row in enumerate(rows) if row is originals[position])
        at += 0 if before else 1
        rows.insert(at, copy)
        repeated.insert(at, set())
    return rows, repeated, malformed, drifted


def test_the_unmutated_rows_plan_in_sync_in_both_dialects() -> None:
    for dialect in ("v1", "v2"):
        rows, repeated, _, _ = mutated(dialect, [])
        result = plan_of(dialect, body(dialect, rows, repeated))
        assert (result.changes, result.conflicts) == ((), ())


@pytest.mark.parametrize("drift", sorted(DRIFTS))
@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_each_drift_read_in_full_plans_a_change(dialect: str, drift: str) -> None:
    # The drifts are differences plan sees when the reply carries them, so a plan without a
    # change below means the setting was read as the spec's value.
    rows, repeated, _, _ = mutated(dialect, [("drift", 0, drift, None)])
    result = plan_of(dialect, body(dialect, rows, repeated))
    assert {change.key for change in result.changes} == {WANTED[0].key}


@settings(max_examples=250, deadline=None)
@given(
    dialect=st.sampled_from(["v1", "v2"]),
    changes=st.lists(mutations, min_size=1, max_size=3),
)
def test_hostile_rows_fail_the_read_or_plan_a_conflict_never_a_write(
    dialect: str, changes: list[Mutation]
) -> None:
    rows, repeated, malformed, drifted = mutated(dialect, changes)
    try:
        result = plan_of(dialect, body(dialect, rows, repeated))
    except LmctlError as error:
        assert str(error).startswith("lm-fuzz answered listvs with a malformed reply: ")
        return
    assert not malformed, f"a malformed reply was read: {changes}"
    # Rows listed twice are a conflict; without them (only a v2 "repeat", which a decoded JSON
    # object cannot carry) the appliance is as in sync as before, but for the drifted rows.
    duplicated = any(change[0] == "duplicate" for change in changes)
    assert bool(result.conflicts) == duplicated
    changed = {change.key for change in result.changes}
    wanted_changed = {WANTED[position].key for position in drifted}
    if duplicated:
        assert changed <= wanted_changed
    else:
        assert changed == wanted_changed, f"a difference was missed: {changes}"
