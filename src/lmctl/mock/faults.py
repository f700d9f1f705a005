"""Fault injection: make the Nth next call (of one command, or of any) fail in a chosen way."""

from __future__ import annotations

import itertools
import threading
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
