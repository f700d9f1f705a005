"""The mock's control API under ``/_mock/`` (not part of the LoadMaster API), both sides of it.

Server side: ``handle_control`` runs one request against the ``MockRuntime`` (the appliance, the
planned faults, the call log), JSON in, JSON out. Routes: ``GET /_mock/state``;
``POST /_mock/reset``; ``GET|POST /_mock/health``; ``GET|POST /_mock/connections``;
``POST /_mock/drain``; ``GET|POST|DELETE /_mock/faults``; ``GET|DELETE /_mock/log``;
``POST /_mock/api``; ``GET|POST /_mock/network``. Errors answer ``{"error": "..."}``.

Client side: ``MockControl``, a small synchronous client for tests and for users' own pipelines:
mark real servers Up/Down, set live connections and the drain time, plan faults, read the call
log, reset. TLS is verified against the mock's CA file, or by pinning the server certificate's
SHA-256; only ``insecure=True`` skips verification.
"""

from __future__ import annotations

import hashlib
import math
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from lmctl.errors import LmctlError
from lmctl.mock.appliance import MockAppliance
from lmctl.mock.commands import ApiRefusal
from lmctl.mock.faults import CallLog, CallRecord, FaultPlan
from lmctl.mock.faults import FaultKind as FaultKind  # re-exported: the kinds the mock accepts


class ClosesOnExit:
    """``with obj:`` calls ``obj.close()`` on the way out (a server handle, a client)."""

    def close(self) -> None:
        """Release what the object holds (overridden)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class MockRuntime:
    """What the API and the control API act on, shared by all handler threads."""

    appliance: MockAppliance
    latency_seconds: float = 0.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    calls: CallLog = field(default_factory=CallLog)
    _wake: threading.Event = field(default_factory=threading.Event)

    def pause(self, seconds: float) -> bool:
        """Sleep; False when a reset or shutdown cut the sleep short (abandon the call then).

        So a call stalled in one test never lands in the fresh state of the next one.
        """
        wake = self._wake
        if seconds > 0:
            wake.wait(seconds)
        return not wake.is_set()

    def interrupt(self) -> None:
        """Wake every paused call and mark it abandoned (on reset and on shutdown)."""
        woken, self._wake = self._wake, threading.Event()
        woken.set()


# --- server side ---------------------------------------------------------------------------

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
    # JSON as Python reads it has NaN, Infinity and 1e400: a drain time of NaN would be saved in
    # the state file, and the next start refuse it.
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        number = math.inf
    if not math.isfinite(number):
        raise ControlError(f"'{name}' must be a finite number")
    return number


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
    url = body.get("url")
    if url is not None and not isinstance(url, str):
        raise ControlError("'url' must be a string (the check URL, e.g. /ews/healthcheck.htm)")
    runtime.appliance.mark_health(_text(body, "address"), _optional_int(body, "port"), status, url)
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


def _network(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    return 200, {"local_subnets": runtime.appliance.local_subnets()}


def _set_network(runtime: MockRuntime, body: dict[str, Any]) -> ControlReply:
    subnets = body.get("local_subnets")
    well_formed = isinstance(subnets, list) and all(isinstance(s, str) for s in subnets)
    if "local_subnets" not in body or not (subnets is None or well_formed):
        raise ControlError("'local_subnets' is required: a list of subnets, or null (all local)")
    try:
        runtime.appliance.set_local_subnets(subnets)
    except ValueError as error:
        raise ControlError(str(error)) from None
    return _network(runtime, body)


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
    ("GET", "network"): _network,
    ("POST", "network"): _set_network,
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
    except (ControlError, ApiRefusal) as error:
        return 400, {"error": str(error)}


# --- client side ---------------------------------------------------------------------------


class MockControlError(LmctlError):
    """The control API refused a request or could not be reached safely."""


@dataclass(frozen=True)
class RealServerConnections:
    """Live facts of one real server as the control API reports them."""

    vs_index: int
    rs_index: int
    address: str
    port: int
    enable: bool
    status: str
    active: int


def _pinned_context(url: str, fingerprint_sha256: str) -> ssl.SSLContext:
    """Trust exactly the certificate whose SHA-256 is pinned, checked before any credential is sent.

    The certificate is fetched without sending anything, compared with the pin, then made the
    only trust anchor (partial-chain verification accepts a trusted leaf).
    """
    parts = httpx.URL(url)
    pin = fingerprint_sha256.replace(":", "").lower()
    try:
        pem = ssl.get_server_certificate((parts.host, parts.port or 443), timeout=10)
    except OSError as error:
        raise MockControlError(f"mock at {parts.host}:{parts.port} unreachable: {error}") from None
    if hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest() != pin:
        raise MockControlError(
            f"the server at {parts.host}:{parts.port} does not present the pinned certificate "
            "(SHA-256 mismatch): refusing to talk to it"
        )
    context = ssl.create_default_context(cadata=pem)
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.check_hostname = False  # the pin, not the name, identifies the appliance
    return context


def _verify_setting(
    url: str, ca_file: Path | None, fingerprint_sha256: str | None, insecure: bool
) -> ssl.SSLContext | bool:
    if ca_file is not None:
        return ssl.create_default_context(cafile=str(ca_file))
    if fingerprint_sha256 is not None and url.startswith("https:"):
        return _pinned_context(url, fingerprint_sha256)
    return not insecure


class MockControl(ClosesOnExit):
    """Typed access to ``/_mock/`` of one served mock (same credentials as the API)."""

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        ca_file: Path | None = None,
        fingerprint_sha256: str | None = None,
        insecure: bool = False,
        timeout: float = 10.0,
    ) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/") + "/_mock/",
            auth=(username, password),
            verify=_verify_setting(url, ca_file, fingerprint_sha256, insecure),
            timeout=timeout,
        )

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def _request(self, method: str, route: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, route, json=body)
        except httpx.HTTPError as error:
            raise MockControlError(f"mock control API unreachable: {error}") from None
        if response.status_code != 200:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise MockControlError(
                f"mock control {method} /_mock/{route} failed ({response.status_code}): {message}"
            )
        return response.json()

    def reset(self) -> None:
        """Empty appliance, API enabled, no health marks, no faults, empty log."""
        self._request("POST", "reset")

    def state(self) -> dict[str, Any]:
        """The whole state, as the state file holds it."""
        result: dict[str, Any] = self._request("GET", "state")
        return result

    def mark(
        self,
        address: str,
        status: Literal["Up", "Down"],
        port: int | None = None,
        url: str | None = None,
    ) -> None:
        """Mark a real-server address (every port, or one port) Up or Down; with ``url``, only
        for the health checks that request it (one SubVS's ``/ews/healthcheck.htm``)."""
        body: dict[str, Any] = {"address": address, "status": status}
        if port is not None:
            body["port"] = port
        if url is not None:
            body["url"] = url
        self._request("POST", "health", body)

    def health_marks(self) -> dict[str, str]:
        """The marks set so far (``address`` or ``address:port`` → Up/Down)."""
        marks: dict[str, str] = self._request("GET", "health")["marks"]
        return marks

    def set_connections(self, address: str, active: int, port: int | None = None) -> int:
        """Set live connections on every RS with this address (and port); returns how many."""
        body: dict[str, Any] = {"address": address, "active": active}
        if port is not None:
            body["port"] = port
        matched: int = self._request("POST", "connections", body)["matched"]
        return matched

    def connections(self) -> list[RealServerConnections]:
        """Every real server with its enable flag, health and live connections now."""
        rows = self._request("GET", "connections")["real_servers"]
        return [RealServerConnections(**row) for row in rows]

    def set_drain_seconds(self, seconds: float) -> None:
        """How long a disabled real server takes to drain to 0 connections."""
        self._request("POST", "drain", {"seconds": seconds})

    def add_fault(
        self,
        kind: FaultKind,
        *,
        command: str | None = None,
        nth: int = 1,
        stall_seconds: float = 30.0,
    ) -> int:
        """Plan a fault for the ``nth`` next call of ``command`` (None: any); returns its id."""
        body: dict[str, Any] = {"kind": kind, "nth": nth, "stall_seconds": stall_seconds}
        if command is not None:
            body["command"] = command
        fault_id: int = self._request("POST", "faults", body)["id"]
        return fault_id

    def pending_faults(self) -> list[dict[str, Any]]:
        """Faults not fired yet."""
        faults: list[dict[str, Any]] = self._request("GET", "faults")["faults"]
        return faults

    def clear_faults(self) -> int:
        """Forget every pending fault."""
        cleared: int = self._request("DELETE", "faults")["cleared"]
        return cleared

    def calls(self) -> list[CallRecord]:
        """The API calls received since the last reset or ``clear_log``."""
        return [CallRecord(**row) for row in self._request("GET", "log")["calls"]]

    def write_count(self) -> int:
        """How many write commands were carried out (replied to or not)."""
        writes: int = self._request("GET", "log")["writes"]
        return writes

    def clear_log(self) -> None:
        """Empty the call log."""
        self._request("DELETE", "log")

    def local_subnets(self) -> list[str] | None:
        """The appliance's own subnets (None: every address is local)."""
        subnets: list[str] | None = self._request("GET", "network")["local_subnets"]
        return subnets

    def set_local_subnets(self, subnets: list[str] | None) -> None:
        """Set the appliance's subnets: a real server outside them then needs ``non_local=1``
        (None: every address is local again). A reset goes back to those the mock started with."""
        self._request("POST", "network", {"local_subnets": subnets})

    def set_api_enabled(self, enabled: bool) -> None:
        """Switch the LoadMaster API on or off (off: every API URL answers 404)."""
        self._request("POST", "api", {"enabled": enabled})
