"""Damaged replies never escape as a parser traceback: truncated or corrupted captures either
parse or raise ``ReplyFormatError`` (which the client reports as ``MalformedReplyError``).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from loadmaster_fakes import FIXTURES

from lmctl.loadmaster import wire
from lmctl.loadmaster.wire import Reply, ReplyFormatError, parse_json_reply, parse_xml_reply

CAPTURES = sorted(path for path in FIXTURES.iterdir() if path.suffix in {".xml", ".json"})
READERS: tuple[Callable[[dict[str, Any]], object], ...] = (
    wire.virtual_services,
    wire.virtual_service,
    wire.real_servers,
    lambda fields: wire.real_server(fields, "10.10.10.10", 8080),
    wire.statistics,
    lambda fields: wire.parameter(fields, "version"),
)


def _damage(body: bytes, cut: int, position: int, byte: int) -> bytes:
    """The body cut short, with one byte replaced."""
    damaged = bytearray(body[: max(0, len(body) - cut)])
    if damaged:
        damaged[position % len(damaged)] = byte
    return bytes(damaged)


def _read_everything(body: bytes, xml: bool) -> None:
    try:
        reply: Reply = parse_xml_reply(body) if xml else parse_json_reply(body)
    except ReplyFormatError:
        return
    for read in READERS:
        with contextlib.suppress(ReplyFormatError):
            read(reply.fields)


@settings(max_examples=300, deadline=None)
@given(
    capture=st.sampled_from(CAPTURES),
    cut=st.integers(min_value=0, max_value=400),
    position=st.integers(min_value=0),
    byte=st.integers(min_value=0, max_value=255),
)
def test_damaged_captures_parse_or_fail_cleanly(
    capture: Any, cut: int, position: int, byte: int
) -> None:
    _read_everything(_damage(capture.read_bytes(), cut, position, byte), capture.suffix == ".xml")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_fail_cleanly(body: bytes) -> None:
    _read_everything(body, xml=True)
    _read_everything(body, xml=False)


FIELD_NAMES = (
    "VS", "Rs", "SubVS", "Vs", "RS", "Index", "VSPort", "VSAddress", "Enable", "Addr", "Port",
    "CertFile", "ActivConns", "Persist", "NickName", "Weight", "data", "version",
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELD_NAMES), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELD_NAMES), JSON_VALUES, max_size=6))
def test_fields_of_any_shape_read_or_fail_cleanly(fields: dict[str, Any]) -> None:
    for read in (*READERS, wire.backup_archive):
        with contextlib.suppress(ReplyFormatError):
            read(fields)


# Python's JSON writes and reads these; plain ``st.floats()`` draws them too rarely to rely on.
NON_FINITE = st.sampled_from((math.inf, -math.inf, math.nan))


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {"code": JSON_VALUES | NON_FINITE},
        optional={"status": JSON_VALUES, "message": JSON_VALUES, "VS": JSON_VALUES},
    )
)
def test_envelopes_of_any_shape_parse_or_fail_cleanly(document: dict[str, Any]) -> None:
    """Written as Python writes JSON: a float may be NaN, Infinity or -Infinity."""
    _read_everything(json.dumps(document).encode(), xml=False)
