"""The root of every error lmctl raises for its user to act on, and the exit codes they map to.

``LmctlError`` is what a caller catches to handle any of them; each subclass's message says what
is wrong and what to do, and its ``exit_code`` says how the command line ends. ``lmctl.cli.main``
is the one place that catches them. The families below it:

- ``lmctl.specs.SpecError`` (invalid specs), ``lmctl.specs.CredentialError`` (a secret the
  inventory names cannot be found);
- ``lmctl.loadmaster.errors.LoadMasterError``: the appliance refused, could not be reached,
  answered something unreadable, or its certificate did not match;
- ``lmctl.appliance``: appliances that cannot be opened or read;
- ``lmctl.apply``: the apply lock held by another lmctl, a state directory lmctl may not use;
- ``lmctl.plan``: saved plans that cannot be used;
- ``lmctl.status`` and ``lmctl.maintenance``: unknown arrays and members;
- ``lmctl.mock``: the mock's control API refused a request, or its state cannot be read.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """How every lmctl command ends; a command documents the ones it uses in its ``--help``.

    2 and 3 mean one thing per command family: plan's "changes pending" and "blocked by a safety
    rule", status's (and drain's) "degraded" and "not serving". Usage errors are 64 (EX_USAGE
    of sysexits.h), never 2, so a pipeline cannot take a typo for "changes pending".
    """

    OK = 0
    ERROR = 1
    CHANGES = 2
    BLOCKED = 3
    PARTIAL = 4
    USAGE = 64
    INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

    DEGRADED = 2
    NOT_SERVING = 3


class LmctlError(Exception):
    """Base of every error lmctl reports to a user: catch this to handle any of them.

    ``exit_code`` is what the command line exits with when this error ends a command.
    """

    exit_code: ExitCode = ExitCode.ERROR


def error_text(error: BaseException) -> str:
    """An exception as one line for a message: its text, or its type when it has none."""
    return str(error) or type(error).__name__
