"""What a mock command returns before it is written in one dialect or the other."""

from __future__ import annotations

from dataclasses import dataclass

from lmctl.mock.records import Record

COMPLETED = "Command completed ok"


@dataclass(frozen=True)
class CommandResult:
    """A successful command: a data record, a binary file (``backup``) or ``Command completed ok``.

    ``changed`` says the configuration changed (the state file is written and the call counts as a
    write in the log).
    """

    data: Record | None = None
    binary: bytes | None = None
    changed: bool = False
