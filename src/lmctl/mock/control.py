"""``MockControl``: a small synchronous client of the mock's control API (``/_mock/``).

For tests and for users' own pipelines: mark real servers Up/Down, set live connections and the
drain time, plan faults, read the call log, reset. TLS is verified against the mock's CA file,
or by pinning the server certificate's SHA-256; only ``insecure=True`` skips verification.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from lmctl.errors import LmctlError
from lmctl.mock.closing import ClosesOnExit
from lmctl.mock.faults import FaultKind as FaultKind  # re-exported: the kinds the mock accepts


class MockControlError(LmctlError):
    """The control API refused a request or could not be reached safely."""


@dataclass(frozen=True)
class LoggedCall:
    """One API call the mock received (secrets already redacted by the mock)."""

    seq: int
    dialect: str
    command: str
    params: dict[str, str]
    status: int
    write: bool
    fault: str | None

    @property
    def applied_write(self) -> bool:
        """A write command the appliance carried out."""
        return self.write and self.status == 200


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

    def mark(self, address: str, status: Literal["Up", "Down"], port: int | None = None) -> None:
        """Mark a real-server address (every port, or one port) Up or Down."""
        body: dict[str, Any] = {"address": address, "status": status}
        if port is not None:
            body["port"] = port
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

    def calls(self) -> list[LoggedCall]:
        """The API calls received since the last reset or ``clear_log``."""
        rows = self._request("GET", "log")["calls"]
        return [
            LoggedCall(
                row["seq"],
                row["dialect"],
                row["command"],
                row["params"],
                row["status"],
                row["write"],
                row["fault"],
            )
            for row in rows
        ]

    def write_count(self) -> int:
        """How many write commands were carried out (replied to or not)."""
        writes: int = self._request("GET", "log")["writes"]
        return writes

    def clear_log(self) -> None:
        """Empty the call log."""
        self._request("DELETE", "log")

    def set_api_enabled(self, enabled: bool) -> None:
        """Switch the LoadMaster API on or off (off: every API URL answers 404)."""
        self._request("POST", "api", {"enabled": enabled})
