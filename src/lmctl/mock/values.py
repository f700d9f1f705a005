"""Parsing and validating parameter values the way the appliance does (422 on a bad value)."""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable
from typing import get_args

from lmctl.loadmaster.models import (
    CHECK_TYPES,
    PERSISTENCE_MODES,
    SCHEDULING_METHODS,
    Protocol,
)
from lmctl.loadmaster.models import parse_flag as parse_model_flag
from lmctl.mock.errors import invalid
from lmctl.mock.layout import FieldValue

PERSIST_METHODS = tuple(mode for mode in PERSISTENCE_MODES if mode != "none")
VS_TYPES = ("gen", "http", "http2", "ts", "tls", "log")
FORWARD_METHODS = ("nat", "route")
PROTOCOLS: tuple[str, ...] = get_args(Protocol)
MAX_EXTRA_PORTS = 510


def parse_flag(name: str, text: str) -> bool:
    """``Y``/``N``, ``y``/``n``, ``1``/``0`` (and yes/no, true/false) as bool; empty is refused."""
    if text.strip():
        with contextlib.suppress(ValueError):
            return parse_model_flag(text)
    raise invalid(f"Invalid value for {name}: {text!r} (use Y or N)")


def parse_number(name: str, text: str, low: int, high: int) -> int:
    """An integer within ``low``..``high``."""
    try:
        number = int(text.strip())
    except ValueError:
        raise invalid(f"Invalid value for {name}: {text!r} (a number is required)") from None
    if not low <= number <= high:
        raise invalid(f"Invalid value for {name}: {number} (allowed {low}-{high})")
    return number


def parse_choice(name: str, text: str, allowed: tuple[str, ...]) -> str:
    """One of ``allowed`` (case-insensitive), in the appliance's spelling."""
    lowered = text.strip().lower()
    if lowered not in allowed:
        raise invalid(f"Invalid value for {name}: {text!r} (allowed: {', '.join(allowed)})")
    return lowered


def parse_address(text: str) -> str:
    """An IPv4 or IPv6 address in canonical form; 422 ``Invalid address format`` otherwise."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise invalid("Invalid address format") from None


def parse_vs_port(text: str) -> str:
    """A VS port 1-65535, or ``*`` for a wildcard VS."""
    stripped = text.strip()
    if stripped == "*":
        return "*"
    if not stripped.isdigit() or not 1 <= int(stripped) <= 65535:
        raise invalid(f"Invalid port: {text!r}")
    return str(int(stripped))


def parse_rs_port(text: str) -> int:
    """A real-server port, 3-65530 on a real appliance."""
    return parse_number("port", text, 3, 65530)


def parse_protocol(text: str) -> str:
    """``tcp`` or ``udp``."""
    return parse_choice("protocol", text, PROTOCOLS)


def parse_extra_ports(text: str) -> str | None:
    """Comma-separated ports and ranges (``8080,8443,9000-9010``), at most 510 ports."""
    stripped = text.strip()
    if not stripped:
        return None
    count = 0
    for part in stripped.split(","):
        low_text, _, high_text = part.strip().partition("-")
        low = parse_number("ExtraPorts", low_text, 1, 65535)
        high = parse_number("ExtraPorts", high_text, low, 65535) if high_text else low
        count += high - low + 1
    if count > MAX_EXTRA_PORTS:
        raise invalid(f"Invalid value for ExtraPorts: {count} ports (at most {MAX_EXTRA_PORTS})")
    return stripped.replace(" ", "")


def _optional_text(_: str, text: str) -> str | None:
    return text if text.strip() else None


def _persist(name: str, text: str) -> str | None:
    if text.strip().lower() in {"", "none"}:
        return None
    return parse_choice(name, text, PERSIST_METHODS)


def _error_code(name: str, text: str) -> str:
    code = parse_number(name, text or "0", 0, 999)
    if code and not 300 <= code <= 599:
        raise invalid(f"Invalid value for {name}: {code} (0, or an HTTP status 300-599)")
    return str(code)


def _text_number(low: int, high: int) -> Callable[[str, str], str]:
    return lambda name, text: str(parse_number(name, text, low, high))


def _number(low: int, high: int) -> Callable[[str, str], int]:
    return lambda name, text: parse_number(name, text, low, high)


def _choice(allowed: tuple[str, ...]) -> Callable[[str, str], str]:
    return lambda name, text: parse_choice(name, text, allowed)


def _optional_address(_: str, text: str) -> str | None:
    return parse_address(text) if text.strip() else None


ValueParser = Callable[[str, str], FieldValue]

# The VS fields that addvs/modvs accept, by their element name (matched case-insensitively).
VS_PARAMETERS: dict[str, ValueParser] = {
    "NickName": _optional_text,
    "Enable": parse_flag,
    "VStype": _choice(VS_TYPES),
    "Schedule": _choice(SCHEDULING_METHODS),
    "Persist": _persist,
    "PersistTimeout": _text_number(0, 604800),
    "Idletime": _number(0, 86400),
    "CheckType": _choice(CHECK_TYPES),
    "CheckUrl": _optional_text,
    "CheckHost": _optional_text,
    "CheckCodes": _optional_text,
    "CheckPattern": _optional_text,
    "CheckPort": _text_number(0, 65535),
    "CheckUse1.1": parse_flag,
    "ChkInterval": _number(0, 120),
    "ChkTimeout": _number(0, 60),
    "ChkRetryCount": _number(0, 10),
    "ExtraPorts": lambda _, text: parse_extra_ports(text),
    "Transparent": parse_flag,
    "SubnetOriginating": parse_flag,
    "ErrorCode": _error_code,
    "ErrorUrl": _optional_text,
    "ForceL7": parse_flag,
    "Cookie": _optional_text,
    "AltAddress": _optional_address,
    "DefaultGW": _optional_address,
    "Cache": parse_flag,
    "Compress": parse_flag,
    "MultiConnect": parse_flag,
    "RsMinimum": _number(0, 65535),
    "QoS": _number(0, 4),
    "SSLAcceleration": lambda name, text: parse_flag(name, text) if text.strip() else None,
    "CertFile": _optional_text,
}

VS_PARAMETER_NAMES: dict[str, str] = {name.lower(): name for name in VS_PARAMETERS}


def vs_settings_from(params: dict[str, str]) -> dict[str, FieldValue]:
    """The VS fields named in ``params`` (lower-cased names), parsed; others are ignored."""
    settings: dict[str, FieldValue] = {}
    for lowered, text in params.items():
        name = VS_PARAMETER_NAMES.get(lowered)
        if name is not None:
            settings[name] = VS_PARAMETERS[name](name, text)
    # ForceL4 is ForceL7's opposite; clients send only the one that is set
    # (mathlu/loadmaster-go-client vs.go: ``ForceL4`` / ``ForceL7`` with omitempty).
    if "forcel4" in params and "ForceL7" not in settings:
        settings["ForceL7"] = not parse_flag("ForceL4", params["forcel4"])
    return settings
