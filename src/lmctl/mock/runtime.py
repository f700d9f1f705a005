"""What a served mock holds besides the appliance: credentials, faults, call log, latency."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from dataclasses import dataclass, field

from lmctl.mock.appliance import MockAppliance
from lmctl.mock.calllog import CallLog
from lmctl.mock.faults import FaultPlan


@dataclass(frozen=True)
class MockCredentials:
    """The one admin user and the API key the mock accepts."""

    username: str
    password: str
    api_key: str

    def password_matches(self, username: str, password: str) -> bool:
        """Constant-time check of a user name and password."""
        return hmac.compare_digest(username.encode(), self.username.encode()) & hmac.compare_digest(
            password.encode(), self.password.encode()
        )

    def key_matches(self, key: str) -> bool:
        """Constant-time check of an API key."""
        return hmac.compare_digest(key.encode(), self.api_key.encode())

    def basic_matches(self, authorization: str | None) -> bool:
        """True for an ``Authorization: Basic`` header with the right user and password."""
        if not authorization or not authorization.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, separator, password = decoded.partition(":")
        return bool(separator) and self.password_matches(username, password)


@dataclass
class MockRuntime:
    """Everything a request handler needs, shared by all handler threads."""

    appliance: MockAppliance
    credentials: MockCredentials
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
