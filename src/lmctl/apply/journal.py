"""The journal: one line of JSON per appliance for every apply and restore, in the state
directory (``journal/journal.jsonl``, 0600, appended, never through a link).

Each entry says when, who (the local user) and where (the host name) lmctl ran, on which
appliance, what it did (the digest of the plan applied, or the backup restored), the writes made,
and how it ended: ``ok``, ``failed`` (a write failed or a difference was left), ``refused``
(nothing written: drift, the lock held, the state directory unusable), ``interrupted`` (Ctrl-C
while writing) or ``error``. The entry holds no secret: error texts come already redacted from
the client, and no credential, URL query or backup content is ever put in it.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from lmctl import __version__
from lmctl.errors import LmctlError, error_text
from lmctl.files import FileTooLarge, read_regular_file
from lmctl.statedir import StateDirError, append_journal, journal_to_read

Outcome = Literal["ok", "failed", "refused", "interrupted", "error"]
Action = Literal["apply", "restore"]

MAX_JOURNAL_SIZE = 256 * 1024 * 1024
"""The largest journal ``history`` reads whole (an entry is a few hundred bytes: about a million
entries)."""


class JournalEntry(BaseModel):
    """One appliance's part of one apply or restore."""

    model_config = ConfigDict(frozen=True)

    time: datetime
    user: str
    host: str
    lmctl_version: str = __version__
    action: Action
    appliance: str
    plan_digest: str | None = None
    # The backup a restore brought back, and the backup taken before the first write.
    restored: str | None = None
    backup: str | None = None
    planned: int = 0
    writes: tuple[str, ...] = ()
    outcome: Outcome
    detail: str | None = None


def who() -> tuple[str, str]:
    """The local user and host name, as the journal records them."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no passwd entry (a bare container)
        user = "unknown"
    return user, socket.gethostname()


def entry(
    action: Action,
    appliance: str,
    outcome: Outcome,
    *,
    plan_digest: str | None = None,
    restored: str | None = None,
    backup: Path | None = None,
    planned: int = 0,
    writes: Sequence[str] = (),
    detail: str | None = None,
) -> JournalEntry:
    """A journal entry made now, by this user on this host."""
    user, host = who()
    return JournalEntry(
        time=datetime.now(UTC),
        user=user,
        host=host,
        action=action,
        appliance=appliance,
        plan_digest=plan_digest,
        restored=restored,
        backup=None if backup is None else backup.name,
        planned=planned,
        writes=tuple(writes),
        outcome=outcome,
        detail=detail,
    )


def outcome(
    *,
    interrupted: str | None = None,
    error: str | None = None,
    refused: str | None = None,
    failed: str | None = None,
) -> tuple[Outcome, str | None]:
    """How it ended and why: the first reason given, in this order; ``ok`` when none is."""
    reasons: tuple[tuple[Outcome, str | None], ...] = (
        ("interrupted", interrupted),
        ("error", error),
        ("refused", refused),
        ("failed", failed),
    )
    return next(((ended, why) for ended, why in reasons if why is not None), ("ok", None))


def record(state_dir: Path, journal_entry: JournalEntry) -> str | None:
    """Append the entry to the journal; what went wrong when it could not be (the writes were
    made either way, so it is reported, never raised)."""
    try:
        append_journal(state_dir, (journal_entry.model_dump_json() + "\n").encode())
    except (LmctlError, OSError) as error:
        return f"the journal entry was not written: {error_text(error)}"
    return None


def read_journal(state_dir: Path) -> tuple[list[JournalEntry], int]:
    """Every entry of the journal, oldest first, and how many lines could not be read (a line
    cut short by a full disk, an edit by hand)."""
    path = journal_to_read(state_dir)
    try:
        data = read_regular_file(path, max_size=MAX_JOURNAL_SIZE)
    except FileNotFoundError:
        return [], 0
    except FileTooLarge as error:
        raise StateDirError(
            f"the journal cannot be read: {error}; move it aside (the next apply starts a new "
            "one) and read it with other tools"
        ) from None
    except OSError as error:
        # A link, a FIFO, no permission: said in one line, never followed or waited on.
        raise StateDirError(f"the journal cannot be read: {error}") from None
    entries: list[JournalEntry] = []
    unreadable = 0
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            entries.append(JournalEntry.model_validate_json(line))
        except ValidationError:
            unreadable += 1
    return entries, unreadable
