"""The list of API calls the mock received, with secrets redacted, for tests and benchmarks."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

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
