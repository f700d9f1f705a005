"""The mock's state as JSON: the optional state file (written atomically) and ``backup`` files.

The same JSON document is what ``GET /_mock/state`` shows, what the state file holds and, gzipped,
what ``backup`` returns and ``restore`` takes.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar, assert_never

from lmctl.errors import LmctlError
from lmctl.files import NotARegularFile, read_regular_file
from lmctl.mock.state import (
    Connections,
    InstalledCertificate,
    MockContentRule,
    MockRealServer,
    MockState,
    MockVirtualService,
    default_parameters,
    local_networks,
)
from lmctl.mock.tables import (
    FORWARD_METHODS,
    NEW_RS_FORWARD,
    NEW_RS_LIMIT,
    NEW_RS_WEIGHT,
    PROTOCOLS,
    RULE_MATCH_TYPES,
    VS_FIELD_BY_NAME,
    FieldSpec,
    FieldValue,
    Opts,
)

STATE_FORMAT = 1


class StateFileError(LmctlError):
    """The state file exists but cannot be read as a mock state, or cannot be written."""


def _settings_to_json(settings: dict[str, FieldValue]) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, Opts) else value for name, value in settings.items()
    }


def state_to_json(state: MockState) -> dict[str, Any]:
    """The state as a JSON-compatible dict."""
    services = []
    for service in state.services.values():
        entry = asdict(service)
        entry["settings"] = _settings_to_json(service.settings)
        services.append(entry)
    return {
        "format": STATE_FORMAT,
        "parameters": dict(state.parameters),
        "services": services,
        "next_index": state.next_index,
        "next_rs_index": state.next_rs_index,
        "last_change": state.last_change,
        "health": dict(state.health),
        "drain_seconds": state.drain_seconds,
        "local_subnets": state.local_subnets,
        "rules": [asdict(rule) for rule in state.rules.values()],
        "certificates": [asdict(certificate) for certificate in state.certificates.values()],
    }


# -- reading a state back ----------------------------------------------------------------------
# Every value is checked against what ``state_to_json`` writes, so a damaged or hand-edited file
# is refused at load with the path of the wrong value, never met later as a crash mid-request.

T = TypeVar("T")
Read = Callable[[Any, str], T]
"""A reader: the value checked (or converted) and returned, ``ValueError`` naming ``where``."""


def _kind(value: Any) -> str:
    """What a JSON value is, in the words of the messages."""
    match value:
        case None:
            return "null"
        case bool():
            return "true/false"
        case int() | float():
            return "a number"
        case str():
            return "text"
        case list():
            return "a list"
        case dict():
            return "an object"
        case _:
            return type(value).__name__


def _wrong(where: str, expected: str, value: Any) -> ValueError:
    return ValueError(f"{where} must be {expected}, not {_kind(value)}")


@dataclass(frozen=True)
class _Object:
    """A JSON object being read, and its path in the document (``services[0].settings``)."""

    values: dict[str, Any]
    where: str

    @classmethod
    def read(cls, value: Any, where: str) -> _Object:
        if not isinstance(value, dict):
            raise _wrong(where or "the state", "an object", value)
        return cls(value, where)

    def path(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def required(self, name: str, read: Read[T]) -> T:
        if name not in self.values:
            raise ValueError(f"{self.path(name)} is missing")
        return read(self.values[name], self.path(name))

    def optional(self, name: str, default: Any, read: Read[T]) -> T:
        return read(self.values.get(name, default), self.path(name))


def _list_of(read: Read[T]) -> Read[list[T]]:
    def read_list(value: Any, where: str) -> list[T]:
        if not isinstance(value, list):
            raise _wrong(where, "a list", value)
        return [read(item, f"{where}[{position}]") for position, item in enumerate(value)]

    return read_list


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _wrong(where, "text", value)
    return value


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _wrong(where, "true or false", value)
    return value


# The mock's own bound: what it keeps are indexes, counters and times in seconds; a number past
# a signed 32-bit one is damage, not state (and would overflow a client's reading of it).
MAX_COUNT = 2**31 - 1
# A JSON number with more digits is refused before Python converts it (which fails past 4300
# digits with advice about sys.set_int_max_str_digits); shorter ones are refused by the value.
_MAX_DIGITS = 1000


def _count(value: Any, where: str) -> int:
    """A whole number, 0 or more, at most ``MAX_COUNT`` (JSON's 1.5, true and 1e400 are not)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(where, "a whole number", value)
    if value < 0:
        raise ValueError(f"{where} must be 0 or more, not {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{where} must be at most {MAX_COUNT}, not {value}")
    return value


def _whole_number(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise ValueError(f"a number of {len(text)} digits, far too large")
    return int(text)


def state_from_bytes(data: bytes) -> MockState:
    """A state from the JSON text of ``state_to_json`` output; ``ValueError`` (``RecursionError``
    when nested thousands deep) saying what is wrong if it is not one."""
    return state_from_json(json.loads(data.decode("utf-8"), parse_int=_whole_number))


def _index(value: Any, where: str) -> int:
    """An ``Index`` or ``RsIndex``: 1 or more."""
    if _count(value, where) == 0:
        raise ValueError(f"{where} must be 1 or more, not 0")
    return int(value)


def _port(value: Any, where: str) -> int:
    if _count(value, where) not in range(1, 65536):
        raise ValueError(f"{where} must be a port 1-65535, not {value}")
    return int(value)


def _vs_port(value: Any, where: str) -> str:
    """A VS port as text: a port, ``*`` (a wildcard VS) or ``0`` (a SubVS)."""
    text = _text(value, where)
    if text != "*" and not (re.fullmatch(r"[0-9]{1,5}", text) and int(text) <= 65535):
        raise ValueError(f"{where} must be a port 0-65535 or *, as text")
    return text


def _seconds(value: Any, where: str) -> float:
    """A finite number of seconds, 0 or more (JSON allows Infinity, NaN and 1e400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(where, "a number of seconds", value)
    try:
        seconds = float(value)
    except OverflowError:  # an integer too large for a float
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{where} must be a finite number of seconds, 0 or more")
    return seconds


def _optional_seconds(value: Any, where: str) -> float | None:
    return None if value is None else _seconds(value, where)


def _address(value: Any, where: str) -> str:
    text = _text(value, where)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{where} must be an IPv4 or IPv6 address") from None
    if "%" in text:
        # A zone index (``fe80::50%eth0``, RFC 4007) names an interface of one host and is
        # never part of an address on the wire: no VS or real server listens on one.
        raise ValueError(f"{where} must be an IPv4 or IPv6 address without a zone index")
    return text


def _optional_address(value: Any, where: str) -> str | None:
    """A VS's address; a SubVS has none."""
    return None if value is None else _address(value, where)


def _one_of(*allowed: str) -> Read[str]:
    def read_choice(value: Any, where: str) -> str:
        if _text(value, where) not in allowed:
            raise ValueError(f"{where} must be one of {', '.join(allowed)}")
        return str(value)

    return read_choice


def _text_map(value: Any, where: str) -> dict[str, str]:
    entry = _Object.read(value, where)
    return {name: entry.required(name, _text) for name in entry.values}


def _setting(spec: FieldSpec, value: Any, where: str) -> FieldValue:
    """One stored VS setting, of its field's JSON kind (null only where the field may be unset)."""
    if value is None and spec.optional:
        return None
    match spec.kind:
        case "flag":
            return _flag(value, where)
        case "int":
            return _count(value, where)
        case "text":
            text = _text(value, where)
            # The one text the mock computes with (a VS's status): at most 3 ASCII digits.
            if spec.name == "ErrorCode" and not re.fullmatch(r"[0-9]{1,3}", text):
                raise ValueError(f"{where} must be an HTTP status code or 0, as text")
            return text
        case "opts":
            return Opts(_list_of(_text)(value, where))
        case unknown:
            assert_never(unknown)


def _settings(value: Any, where: str) -> dict[str, FieldValue]:
    entry = _Object.read(value, where)
    restored: dict[str, FieldValue] = {}
    for name, setting in entry.values.items():
        spec = VS_FIELD_BY_NAME.get(name)
        if spec is None or spec.computed:
            continue  # not stored: an older mock's field, or one shown from the live state
        restored[name] = _setting(spec, setting, entry.path(name))
    return restored


def _row_options(value: Any, where: str) -> dict[str, int | str | bool]:
    """A SubVS row's weight, limit, forward and critical, as ``modrs`` set them."""
    entry = _Object.read(value, where)
    return {
        name: option if isinstance(option, str | bool) else _count(option, entry.path(name))
        for name, option in entry.values.items()
    }


def _connections(value: Any, where: str) -> Connections:
    entry = _Object.read(value, where)
    return Connections(
        active=entry.optional("active", 0, _count),
        drain_from=entry.optional("drain_from", 0, _count),
        drain_started=entry.optional("drain_started", None, _optional_seconds),
    )


def _real_server(value: Any, where: str) -> MockRealServer:
    entry = _Object.read(value, where)
    return MockRealServer(
        rs_index=entry.required("rs_index", _index),
        address=entry.required("address", _address),
        port=entry.required("port", _port),
        forward=entry.optional("forward", NEW_RS_FORWARD, _one_of(*FORWARD_METHODS)),
        weight=entry.optional("weight", NEW_RS_WEIGHT, _count),
        limit=entry.optional("limit", NEW_RS_LIMIT, _count),
        enable=entry.optional("enable", True, _flag),
        critical=entry.optional("critical", False, _flag),
        non_local=entry.optional("non_local", False, _flag),
        connections=entry.optional("connections", {}, _connections),
        rules=entry.optional("rules", [], _list_of(_text)),
    )


def _service(value: Any, where: str) -> MockVirtualService:
    entry = _Object.read(value, where)
    return MockVirtualService(
        index=entry.required("index", _index),
        address=entry.required("address", _optional_address),
        port=entry.required("port", _vs_port),
        protocol=entry.required("protocol", _one_of(*PROTOCOLS)),
        settings=entry.required("settings", _settings),
        master_index=entry.optional("master_index", 0, _count),
        row_rs_index=entry.optional("row_rs_index", 0, _count),
        row_options=entry.optional("row_options", {}, _row_options),
        row_rules=entry.optional("row_rules", [], _list_of(_text)),
        real_servers=entry.optional("real_servers", [], _list_of(_real_server)),
        sub_services=entry.optional("sub_services", [], _list_of(_index)),
    )


def _services(value: Any, where: str) -> dict[int, MockVirtualService]:
    services: dict[int, MockVirtualService] = {}
    for position, service in enumerate(_list_of(_service)(value, where)):
        if service.index in services:
            raise ValueError(f"{where}[{position}].index {service.index} is used twice")
        services[service.index] = service
    return services


def _rule(value: Any, where: str) -> MockContentRule:
    entry = _Object.read(value, where)
    return MockContentRule(
        name=entry.required("name", _text),
        pattern=entry.optional("pattern", "", _text),
        match_type=entry.optional("match_type", "regex", _one_of(*RULE_MATCH_TYPES)),
        nocase=entry.optional("nocase", False, _flag),
        negate=entry.optional("negate", False, _flag),
        include_host=entry.optional("include_host", False, _flag),
        include_query=entry.optional("include_query", False, _flag),
        header=entry.optional("header", "", _text),
        must_fail=entry.optional("must_fail", False, _flag),
    )


def _rules(value: Any, where: str) -> dict[str, MockContentRule]:
    return {rule.name: rule for rule in _list_of(_rule)(value, where)}


def _certificate(value: Any, where: str) -> InstalledCertificate:
    entry = _Object.read(value, where)
    name, pem = entry.required("name", _text), entry.required("pem", _text)
    return InstalledCertificate(name=name, pem=pem)


def _certificates(value: Any, where: str) -> dict[str, InstalledCertificate]:
    return {cert.name: cert for cert in _list_of(_certificate)(value, where)}


def _health(value: Any, where: str) -> dict[str, str]:
    marks = _text_map(value, where)
    for key, mark in marks.items():
        _one_of("Up", "Down")(mark, f"{where}.{key}")
    return marks


def _local_subnets(value: Any, where: str) -> list[str] | None:
    return None if value is None else local_networks(_list_of(_text)(value, where))


def state_from_json(document: Any) -> MockState:
    """A state from ``state_to_json`` output; ``ValueError`` saying which value is wrong (missing,
    of another kind, out of range) if it is not one."""
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise ValueError("not an lmctl mock state (missing or unknown 'format')")
    state = _Object(document, "")
    parameters = default_parameters()
    parameters.update(state.optional("parameters", {}, _text_map))
    return MockState(
        parameters=parameters,
        services=state.required("services", _services),
        next_index=state.required("next_index", _index),
        next_rs_index=state.required("next_rs_index", _index),
        last_change=state.optional("last_change", 0, _count),
        health=state.optional("health", {}, _health),
        drain_seconds=state.optional("drain_seconds", 30.0, _seconds),
        local_subnets=state.optional("local_subnets", None, _local_subnets),
        rules=state.optional("rules", [], _rules),
        certificates=state.optional("certificates", [], _certificates),
    )


def _problem(error: ValueError | RecursionError) -> str:
    """Why a state cannot be read: a ``UnicodeDecodeError`` names a byte, not the problem, and
    a ``RecursionError`` (JSON nested thousands deep) says nothing."""
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error)


class StateStore:
    """Loads the state at start, saves it after every change, never leaves a half-written file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> MockState | None:
        """The saved state, or None when there is no file yet."""
        try:
            data = read_regular_file(self.path)
        except FileNotFoundError:
            return None
        except NotARegularFile as error:
            raise StateFileError(
                f"mock state file {self.path} is {error.strerror}; remove it to start from an "
                "empty appliance"
            ) from None
        except OSError as error:
            raise StateFileError(f"cannot read mock state file {self.path}: {error}") from None
        try:
            return state_from_bytes(data)
        except (ValueError, RecursionError) as error:
            raise StateFileError(
                f"mock state file {self.path} is not a valid lmctl mock state "
                f"({_problem(error)}); "
                "delete it to start from an empty appliance"
            ) from None

    def save(self, state: MockState) -> None:
        """Write the state next to the target, then atomically replace the target."""
        text = json.dumps(state_to_json(state), indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
        except OSError as error:
            raise StateFileError(
                f"cannot write mock state file {self.path}: {error.strerror or error}"
            ) from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
