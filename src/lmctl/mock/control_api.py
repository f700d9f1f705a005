"""The mock's control API under ``/_mock/`` (not part of the LoadMaster API): JSON in, JSON out.

Routes: ``GET /_mock/state``; ``POST /_mock/reset``; ``GET|POST /_mock/health``;
``GET|POST /_mock/connections``; ``POST /_mock/drain``; ``GET|POST|DELETE /_mock/faults``;
``GET|DELETE /_mock/log``; ``POST /_mock/api``. Errors answer ``{"error": "..."}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lmctl.mock.errors import CommandError
from lmctl.mock.runtime import MockRuntime

ControlReply = tuple[int, dict[str, Any]]


class ControlError(Exception):
    """A control request that cannot be carried out (HTTP 400 with the message)."""


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ControlError(f"'{name}' is required (a string)")
    return value


def _optional_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(f"'{name}' must be an integer")
    return value


def _number(body: dict[str, Any], name: str, default: float | None = None) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"'{name}' is required (a number)")
    return float(value)


def _state(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    return 200, runtime.appliance.snapshot()


def _reset(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    runtime.interrupt()
    runtime.appliance.reset()
    runtime.faults.clear()
    runtime.calls.clear()
    return 200, {"reset": True}


def _health(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    return 200, {"marks": runtime.appliance.health_marks()}


def _mark_health(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    status = _text(body, "status").capitalize()
    runtime.appliance.mark_health(_text(body, "address"), _optional_int(body, "port"), status)
    return 200, {"marks": runtime.appliance.health_marks()}


def _connections(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    return 200, {
        "drain_seconds": runtime.appliance.drain_seconds(),
        "real_servers": runtime.appliance.connection_rows(),
    }


def _set_connections(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    active = _optional_int(body, "active")
    if active is None:
        raise ControlError("'active' is required (an integer)")
    matched = runtime.appliance.set_connections(
        _text(body, "address"), _optional_int(body, "port"), active
    )
    return 200, {"matched": matched}


def _drain(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    runtime.appliance.set_drain_seconds(_number(body, "seconds"))
    return 200, {"drain_seconds": runtime.appliance.drain_seconds()}


def _faults(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    return 200, {"faults": runtime.faults.pending()}


def _add_fault(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    command = body.get("command")
    if command is not None and not isinstance(command, str):
        raise ControlError("'command' must be a string (or absent for any command)")
    try:
        fault = runtime.faults.add(
            _text(body, "kind"),
            command,
            _optional_int(body, "nth") or 1,
            _number(body, "stall_seconds", 30.0),
        )
    except ValueError as error:
        raise ControlError(str(error)) from None
    return 200, {"id": fault.id, "faults": runtime.faults.pending()}


def _clear_faults(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    return 200, {"cleared": runtime.faults.clear()}


def _log(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    return 200, runtime.calls.summary()


def _clear_log(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    runtime.calls.clear()
    return 200, {"cleared": True}


def _api(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise ControlError("'enabled' is required (true or false)")
    runtime.appliance.set_api_enabled(enabled)
    return 200, {"enabled": runtime.appliance.api_enabled}


Route = Callable[[MockRuntime, dict[str, Any]], ControlReply]

ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "state"): _state,
    ("POST", "reset"): _reset,
    ("GET", "health"): _health,
    ("POST", "health"): _mark_health,
    ("GET", "connections"): _connections,
    ("POST", "connections"): _set_connections,
    ("POST", "drain"): _drain,
    ("GET", "faults"): _faults,
    ("POST", "faults"): _add_fault,
    ("DELETE", "faults"): _clear_faults,
    ("GET", "log"): _log,
    ("DELETE", "log"): _clear_log,
    ("POST", "api"): _api,
}


def handle_control(
    runtime: MockRuntime, method: str, route: str, body: dict[str, Any]
) -> ControlReply:
    """Run one control request; unknown routes answer 404, bad input 400."""
    handler = ROUTES.get((method, route.strip("/")))
    if handler is None:
        known = ", ".join(f"{m} /_mock/{r}" for m, r in ROUTES)
        return 404, {"error": f"no control route {method} /_mock/{route} (known: {known})"}
    try:
        return handler(runtime, body)
    except (ControlError, CommandError) as error:
        return 400, {"error": str(error)}
