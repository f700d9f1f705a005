"""Appliance-wide commands: ``get``/``set``, ``stats``, ``backup``/``restore``."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Mapping

from lmctl.mock.errors import invalid, missing
from lmctl.mock.lookup import required
from lmctl.mock.records import Record, statistics_record
from lmctl.mock.result import CommandResult
from lmctl.mock.state import ApplianceState, state_from_json, state_to_json
from lmctl.mock.values import parse_flag, parse_number

READ_ONLY_PARAMETERS = frozenset({"version"})
RESTORE_BASE = 1
RESTORE_VS = 2
INVALID_BACKUP = "Invalid backup file"


def get_parameter(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``get``: ``<Data><param>value</param></Data>``."""
    name = required(params, "param").lower()
    if name not in state.parameters:
        raise invalid(f"Unknown parameter: {name}")
    return CommandResult(data=Record([(name, state.parameters[name])]))


def set_parameter(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``set``: change a global parameter (``enableapi=no`` turns the API off: 404 from then on)."""
    name = required(params, "param").lower()
    if "value" not in params:
        raise missing("value")
    if name not in state.parameters:
        raise invalid(f"Unknown parameter: {name}")
    if name in READ_ONLY_PARAMETERS:
        raise invalid(f"Parameter {name} is read-only")
    value = params["value"]
    if name == "enableapi":
        value = "yes" if parse_flag(name, value) else "no"
    state.parameters[name] = value
    state.last_change = int(now)
    return CommandResult(changed=True)


def statistics(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``stats``: totals plus ``Vs`` and ``Rs`` rows with live connection counts."""
    return CommandResult(data=statistics_record(state, now))


def backup(state: ApplianceState, params: Mapping[str, str], now: float) -> CommandResult:
    """``backup``: the configuration as a gzip-compressed JSON file (a real one is a tar.gz)."""
    document = json.dumps(state_to_json(state), sort_keys=True).encode()
    return CommandResult(binary=gzip.compress(document, mtime=0))


def _backup_file(params: Mapping[str, str], body: bytes | None) -> bytes:
    if body:
        return body
    encoded = params.get("data")
    if not encoded:
        raise missing("data")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(INVALID_BACKUP) from None


def restore(
    state: ApplianceState, params: Mapping[str, str], now: float, body: bytes | None
) -> CommandResult:
    """``restore``: ``type`` bitmask 1 base configuration, 2 virtual services (4, 8 accepted)."""
    kinds = parse_number("type", required(params, "type"), 1, 15)
    try:
        saved = state_from_json(json.loads(gzip.decompress(_backup_file(params, body))))
    except (OSError, EOFError, zlib.error, ValueError):
        raise invalid(INVALID_BACKUP) from None
    if kinds & RESTORE_VS:
        state.services = saved.services
        state.next_index = max(state.next_index, saved.next_index)
        state.next_rs_index = max(state.next_rs_index, saved.next_rs_index)
    if kinds & RESTORE_BASE:
        for name, value in saved.parameters.items():
            if name not in READ_ONLY_PARAMETERS and name != "enableapi":
                state.parameters[name] = value
    state.last_change = int(now)
    return CommandResult(changed=True)
