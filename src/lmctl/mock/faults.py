"""What a test makes the served mock do wrong, and what it reads back afterwards.

Faults make the Nth next API call (of one command, or of any) fail in a chosen way; the call log
keeps every API call received, with secrets redacted, for tests and benchmarks.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast, get_args

FaultKind = Literal["drop", "http500", "stall", "reset_after_write"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass
class Fault:
    """One planned fault: ``kind`` on the ``nth`` next matching call (``command`` None = any)."""

    id: int
    kind: FaultKind
    command: str | None
    nth: int
    stall_seconds: float
    remaining: int


class FaultPlan:
    """The pending faults; each fires once and is then forgotten."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(
        self, kind: str, command: str | None = None, nth: int = 1, stall_seconds: float = 30.0
    ) -> Fault:
        """Plan a fault; ``ValueError`` for an unknown kind or a non-positive ``nth``."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r} (one of: {', '.join(FAULT_KINDS)})")
        if nth < 1:
            raise ValueError("nth must be 1 or more (1 = the next matching call)")
        if stall_seconds < 0:
            raise ValueError("stall_seconds must be 0 or more")
        name = command.lower() if command else None
        with self._lock:
            fault = Fault(next(self._ids), cast(FaultKind, kind), name, nth, stall_seconds, nth)
            self._faults.append(fault)
            return fault

    def take(self, command: str) -> Fault | None:
        """Count this call against every matching fault; return the one that fires, if any."""
        name = command.lower()
        fired: Fault | None = None
        with self._lock:
            for fault in list(self._faults):
                if fault.command is not None and fault.command != name:
                    continue
                fault.remaining -= 1
                if fault.remaining > 0:
                    continue
                if fired is None:
                    fired = fault
                    self._faults.remove(fault)
                else:
                    fault.remaining = 1  # two faults due on one call: the second fires next
        return fired

    def pending(self) -> list[dict[str, Any]]:
        """The faults not fired yet."""
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def clear(self) -> int:
        """Forget all pending faults; returns how many there were."""
        with self._lock:
            count = len(self._faults)
            self._faults.clear()
            return count


# Parts of a parameter name that mark a secret: apikey, apipass, password, currpassword (the
# Python SDK's usersetsyspassword), passwd, ... even on commands the mock does not implement.
SECRET_NAME_PARTS = ("apikey", "api_key", "pass", "secret", "token")
REDACTED = "***"
_LONG_VALUE = 200


def is_secret_parameter(name: str) -> bool:
    """True for a parameter whose value must never be shown."""
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def redact(params: Mapping[str, str]) -> dict[str, str]:
    """Parameters as safe to show: secrets replaced by ``***``, long values (backups) shortened."""
    shown: dict[str, str] = {}
    for name, value in params.items():
        if is_secret_parameter(name):
            shown[name] = REDACTED
        elif len(value) > _LONG_VALUE:
            shown[name] = f"<{len(value)} characters>"
        else:
            shown[name] = value
    return shown


@dataclass(frozen=True)
class CallRecord:
    """One API call: what was asked, in which dialect, and how it ended."""

    seq: int
    time: float
    dialect: str
    command: str
    params: dict[str, str]
    status: int
    write: bool
    fault: str | None = None

    @property
    def applied_write(self) -> bool:
        """A write command that changed the appliance (even if the reply was then lost)."""
        return self.write and self.status == 200


class CallLog:
    """Thread-safe, bounded list of ``CallRecord``."""

    def __init__(self, limit: int = 100_000) -> None:
        self._records: list[CallRecord] = []
        self._limit = limit
        self._seq = 0
        self._lock = threading.Lock()

    def record(
        self,
        dialect: str,
        command: str,
        params: Mapping[str, str],
        status: int,
        *,
        write: bool,
        fault: str | None = None,
    ) -> None:
        """Append one call (parameters redacted here, so nothing secret is ever stored)."""
        with self._lock:
            self._seq += 1
            self._records.append(
                CallRecord(
                    self._seq, time.time(), dialect, command, redact(params), status, write, fault
                )
            )
            del self._records[: -self._limit]

    def records(self) -> list[CallRecord]:
        """A copy of the recorded calls, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget every recorded call."""
        with self._lock:
            self._records.clear()

    def summary(self) -> dict[str, Any]:
        """``calls`` (as dicts), ``total`` and ``writes`` (write commands that were applied)."""
        records = self.records()
        return {
            "calls": [asdict(record) for record in records],
            "total": len(records),
            "writes": sum(1 for record in records if record.applied_write),
        }
