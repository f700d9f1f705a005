"""Fuzz over ``listvs`` rows (issue 11): fields missing, duplicated or out of range, rows listed
twice, in both dialects, read as the client reads them and planned as ``lmctl plan`` plans them.

From an appliance in sync with the specs, every such reply either fails the read with an
``LmctlError`` (never another exception: no traceback) or plans a conflict and no change: never
a write.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st
from plan_builders import desired, key, members, observed_from
from pydantic import SecretStr

from lmctl.appliance.loadmaster import appliance_state
from lmctl.errors import LmctlError
from lmctl.loadmaster import wire
from lmctl.loadmaster.connection import ApiKey, ApplianceConnection
from lmctl.loadmaster.transport import DEFAULT_MAX_REPLY_BYTES, ApiChannel
from lmctl.loadmaster.wire import ApiDialect
from lmctl.plan.diff import ApplianceDiff, diff
from lmctl.plan.match import match_appliance

WANTED = [
    desired(service="https", real_servers=members("10.0.1.21", "10.0.1.22")),
    desired(service="smtp", at=key(port="25"), real_servers=members("10.0.1.21", port=25)),
]
ROWS = [
    observed_from(want, index=n).model_dump(by_alias=True, exclude_none=True)
    for n, want in enumerate(WANTED, start=1)
]
KEYS = ("VSAddress", "VSPort", "Protocol", "Index")
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
    st.tuples(st.just("drop"), st.integers(0, 1), st.sampled_from(KEYS), st.none()),
    st.sampled_from(sorted(OUT_OF_RANGE)).flatmap(
        lambda name: st.tuples(
            st.just("set"), st.integers(0, 1), st.just(name), st.sampled_from(OUT_OF_RANGE[name])
        )
    ),
    st.tuples(st.just("duplicate"), st.integers(0, 1), st.booleans(), st.integers(3, 10**6)),
    st.tuples(st.just("repeat"), st.integers(0, 1), st.sampled_from(KEYS), st.none()),
)


def mutated(
    dialect: str, changes: list[Mutation]
) -> tuple[list[dict[str, Any]], list[set[str]], bool]:
    """The rows after ``changes``, the elements sent twice per row (v1), and whether any
    change makes the rows malformed (rather than only listing a key twice)."""
    rows = [{**row, "Rs": [dict(rs) for rs in row["Rs"]]} for row in ROWS]
    repeated: list[set[str]] = [set() for _ in rows]
    malformed = False
    copies: list[tuple[int, bool, dict[str, Any]]] = []
    for kind, position, name, value in changes:
        row = rows[position]
        match kind:
            case "drop":
                row.pop(name, None)
                malformed = True
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
    return rows, repeated, malformed


def test_the_unmutated_rows_plan_in_sync_in_both_dialects() -> None:
    for dialect in ("v1", "v2"):
        rows, repeated, _ = mutated(dialect, [])
        result = plan_of(dialect, body(dialect, rows, repeated))
        assert (result.changes, result.conflicts) == ((), ())


@settings(max_examples=250, deadline=None)
@given(
    dialect=st.sampled_from(["v1", "v2"]),
    changes=st.lists(mutations, min_size=1, max_size=3),
)
def test_hostile_rows_fail_the_read_or_plan_a_conflict_never_a_write(
    dialect: str, changes: list[Mutation]
) -> None:
    rows, repeated, malformed = mutated(dialect, changes)
    try:
        result = plan_of(dialect, body(dialect, rows, repeated))
    except LmctlError as error:
        assert str(error).startswith("lm-fuzz answered listvs with a malformed reply: ")
        return
    assert not malformed, f"a malformed reply was read: {changes}"
    # Rows listed twice are a conflict; without them (only a v2 "repeat", which a decoded JSON
    # object cannot carry) the appliance is as in sync as before.
    assert bool(result.conflicts) == any(change[0] == "duplicate" for change in changes)
    assert result.changes == ()
