"""``lmctl backups``, ``lmctl restore`` and ``lmctl history``: the backups apply keeps, bringing
one back, and the journal of what was applied and restored (``lmctl.apply.backups``,
``lmctl.apply.restore``, ``lmctl.apply.journal``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lmctl.cli.app import CommandError, app
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    InventoryOption,
    RequestTimeoutOption,
    StateDirOption,
    complete_appliance,
    make_console,
)
from lmctl.cli.plan import AllowOption
from lmctl.errors import ExitCode, LmctlError, error_text
from lmctl.text import one_line

if TYPE_CHECKING:
    from rich.console import Console

    from lmctl.appliance.base import Appliances
    from lmctl.apply.backups import KeptBackup
    from lmctl.apply.journal import JournalEntry
    from lmctl.apply.restore import RestoreResult
    from lmctl.plan.safety import SafetyViolation


class ListFormat(enum.StrEnum):
    """The ``--format`` choices of ``lmctl backups`` and ``lmctl history``."""

    text = "text"
    json = "json"


ListFormatOption = Annotated[
    ListFormat, typer.Option("--format", "-f", help="text (one line each) or json.")
]
OneApplianceOption = Annotated[
    str | None,
    typer.Option(
        "--appliance",
        "-a",
        metavar="NAME",
        autocompletion=complete_appliance,
        help="Only this appliance.",
    ),
]


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB"


def _plan_words(backup: KeptBackup) -> str:
    record = backup.record
    if record is None:
        return f"? {backup.problem}"
    if record.restoring is not None:
        return f"taken before restoring {record.restoring}"
    if record.plan is None:
        return "no plan recorded"
    return f"plan {record.plan.digest[:12]}: {record.plan.summary.line()}"


def _backup_document(backup: KeptBackup) -> dict[str, Any]:
    record = backup.record
    return {
        "name": backup.name,
        "appliance": backup.file.appliance,
        "taken_at": backup.file.taken_at.isoformat(),
        "size": backup.size,
        "taken_before": None if record is None else record.taken_before,
        "plan": None if record is None or record.plan is None else record.plan.model_dump(),
        "restoring": None if record is None else record.restoring,
        "sha256": None if record is None else record.sha256,
        "problem": backup.problem,
        "restorable": backup.record is not None,
    }


def _columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines, every column but the last padded to its widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


@app.command(
    "backups",
    help="List the backups apply kept (newest first): appliance, when, size, and the plan "
    "applied right after each (its digest and counts). Restore one with `lmctl restore NAME`.\n\n"
    "Exit codes: 0 listed (or no backup kept); 1 error (the state directory cannot be read); "
    "64 usage error. See docs/operations.md.",
)
def backups_command(
    appliance: OneApplianceOption = None,
    output: ListFormatOption = ListFormat.text,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
) -> None:
    """``lmctl backups [--appliance NAME] [--format text|json]``."""
    from lmctl.apply.backups import kept_backups, newest_first

    kept = newest_first(kept_backups(state_dir, appliance))
    console = make_console()
    if output is ListFormat.json:
        console.out(json.dumps([_backup_document(b) for b in kept], indent=2), highlight=False)
        return
    if not kept:
        where = f" of {appliance}" if appliance else ""
        console.print(f"No backup{where} in {one_line(str(state_dir / 'backups'))}.")
        return
    header = ("NAME", "APPLIANCE", "TAKEN", "SIZE", "BEFORE")
    rows = [
        (
            one_line(b.name),
            one_line(b.file.appliance),
            _when(b.file.taken_at),
            _size(b.size),
            one_line(_plan_words(b)),
        )
        for b in kept
    ]
    for line in _columns([header, *rows]):
        console.print(line)


# -- restore -------------------------------------------------------------------------------


def _describe(backup: KeptBackup) -> str:
    record = backup.record
    before = (
        f"taken before applying plan {record.plan.digest[:12]} ({record.plan.summary.line()})"
        if record is not None and record.restoring is None and record.plan is not None
        else _plan_words(backup)
    )
    return (
        f"Restore {backup.name} to {backup.file.appliance} (taken {_when(backup.file.taken_at)}, "
        f"{before})"
    )


def _show_preview(backup: KeptBackup, changes: list[Any] | None, console: Console) -> None:
    from lmctl.apply.restore import preview_line

    console.print(one_line(_describe(backup)))
    if changes is None:
        console.print(
            "warning: no state was recorded with this backup "
            f"({one_line(backup.problem or '')}): what the restore changes cannot be shown"
        )
        return
    recorded = backup.record.appliance_state() if backup.record is not None else None
    for drift in changes:
        console.print(f"  {one_line(preview_line(drift, recorded))}")
    added = sum(1 for d in changes if d.found == "absent")
    removed = sum(1 for d in changes if d.expected == "absent")
    console.print(
        f"Restore: {added} to bring back, {removed} to remove, "
        f"{len(changes) - added - removed} to change (virtual services and real servers)."
    )


def _restore_verdict(result: RestoreResult) -> ExitCode:
    if result.ok:
        return ExitCode.OK
    return ExitCode.PARTIAL if result.written or result.error is not None else ExitCode.ERROR


def _array_homes(errors: Console) -> dict[str, str]:
    """Each array's appliance in the specs under ``arrays/`` (none when there is no such
    directory, or when its specs do not load: said on ``errors``)."""
    from lmctl.cli.specload import DEFAULT_SPECS, load_spec_set
    from lmctl.specs import SpecError

    if not DEFAULT_SPECS.is_dir():
        return {}
    try:
        spec_set = load_spec_set(None, leave_out=True)
    except SpecError:
        errors.print(
            f"warning: the specs in {DEFAULT_SPECS}/ do not load: the restore is not checked "
            "against where they put each array"
        )
        return {}
    return {array.name: array.appliance for array in spec_set.arrays}


async def _others(appliances: Appliances, target: str, errors: Console) -> dict[str, Any]:
    """The other inventory appliances as read; one that cannot be read is said and left out."""
    import asyncio

    names = [name for name in appliances if name != target]
    read = await asyncio.gather(
        *(appliances[name].observe() for name in names), return_exceptions=True
    )
    states: dict[str, Any] = {}
    for name, state in zip(names, read, strict=True):
        if isinstance(state, LmctlError):
            errors.print(
                f"warning: {name} cannot be read ({one_line(error_text(state))}): the restore "
                "is not checked against what it holds"
            )
        elif isinstance(state, BaseException):
            raise state
        else:
            states[name] = state
    for name, why in appliances.unavailable.items():
        errors.print(f"warning: {name} is not checked ({one_line(why)})")
    return states


def _moves(
    backup: KeptBackup, now: Any, homes: dict[str, str], others: dict[str, Any]
) -> list[SafetyViolation]:
    from lmctl.apply.restore import appliance_moves, brought_back

    if backup.record is None:
        return []
    restoring = brought_back(backup.record.appliance_state(), now)
    return appliance_moves(backup.file.appliance, restoring, homes, others)


async def _restore(name: str, inventory: Path | None, choices: RestoreChoices) -> ExitCode:
    from lmctl.appliance.base import open_appliances
    from lmctl.apply.backups import find_backup, read_archive
    from lmctl.apply.restore import RestoreOptions, preview, report_lines, restore_backup
    from lmctl.cli.plan import _ask, can_ask
    from lmctl.cli.specload import load_inventory_reporting
    from lmctl.plan.safety import blocking

    console, errors = make_console(), make_console(stderr=True)
    backup = find_backup(
        state_dir := choices.state_dir, name, without_record=choices.without_record
    )
    archive = read_archive(backup)
    target = backup.file.appliance
    spec_set = load_inventory_reporting(inventory, errors)
    spec = spec_set.inventory.appliance(target)
    if spec is None:
        raise CommandError(
            f"{backup.name} is a backup of {target}, which the inventory does not name; "
            "nothing was restored"
        )
    homes = _array_homes(errors)
    async with open_appliances(
        spec_set,
        [target, *spec_set.inventory.appliances],
        state_dir=state_dir,
        timeout=choices.request_timeout,
        strict=False,
    ) as appliances:
        if target not in appliances:
            raise CommandError(
                f"{target} cannot be opened ({appliances.unavailable.get(target, '?')}); "
                "nothing was restored"
            )
        appliance = appliances[target]
        now = await appliance.observe()
        changes = preview(backup, now)
        _show_preview(backup, changes, console)
        if changes == []:
            console.print(f"Nothing to restore: {target} holds what the backup recorded.")
            return ExitCode.OK
        violations = _moves(backup, now, homes, await _others(appliances, target, errors))
        for violation in violations:
            console.print(f"  - {one_line(violation.message)} [{violation.rule}]")
        if blocking(violations, allow=choices.allow):
            raise CommandError(
                "blocked by the appliance-move safety rule (see above): the array moved after "
                "the backup was taken; re-run with --allow appliance-move to restore anyway "
                "(then remove it from the other appliance); nothing was restored",
                exit_code=ExitCode.BLOCKED,
            )
        if choices.dry_run:
            console.print("Dry run: nothing was restored.")
            return ExitCode.OK
        if not choices.auto_approve and not can_ask():
            raise CommandError(
                "refusing to restore without confirmation: there is no terminal to ask on; "
                "pass --auto-approve in pipelines; nothing was restored"
            )
        if not choices.auto_approve and not _ask(f"Restore {backup.name} to {target}?"):
            errors.print("Restore cancelled: nothing was restored.")
            return ExitCode.ERROR
        options = RestoreOptions(state_dir, backup=choices.backup, keep=spec.keep_backups)
        result = await restore_backup(appliance, backup, archive, now, options)
    for line, problem in report_lines(result):
        (errors if problem else console).print(one_line(line))
    return _restore_verdict(result)


@dataclass(frozen=True)
class RestoreChoices:
    """What the operator chose for one restore."""

    auto_approve: bool
    dry_run: bool
    backup: bool
    allow: frozenset[str]
    state_dir: Path
    request_timeout: float
    without_record: bool = False


@app.command(
    "restore",
    help="Bring an appliance's virtual services back to a backup apply kept.\n\n"
    "Shows what the restore changes (the appliance now against the state recorded with the "
    "backup: + brought back, - removed, ~ changed), stops there with --dry-run, asks for "
    "confirmation (--auto-approve in pipelines), then under the apply lock: checks nothing "
    "changed since the preview, backs up what is there now (--no-backup to skip), restores the "
    "backup's virtual services (the appliance's restore, type 2) and reads again to check.\n\n"
    "A restore that brings back an array's virtual services while the specs (arrays/) put the "
    "array on another appliance, or while another inventory appliance holds their address "
    "marked, is refused unless --allow appliance-move: both appliances would hold the VIP.\n\n"
    "Exit codes: 0 restored (or nothing to restore, or --dry-run); 1 error, nothing restored "
    "(unknown backup, no confirmation, the appliance changed since the preview, lock held); "
    "3 blocked by the appliance-move safety rule; 4 sent but the appliance does not hold what "
    "the backup recorded, or the outcome is unknown; 130 interrupted. See docs/operations.md.",
)
def restore_command(
    backup: Annotated[
        str,
        typer.Argument(
            metavar="BACKUP",
            help="The backup's name as `lmctl backups` lists it (or its path under "
            "<state-dir>/backups/).",
            show_default=False,
        ),
    ],
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Restore without asking (for pipelines).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what the restore changes, restore nothing.")
    ] = False,
    no_backup: Annotated[
        bool,
        typer.Option("--no-backup", help="Do not back up what the appliance holds first."),
    ] = False,
    allow: AllowOption = None,
    inventory: InventoryOption = None,
    without_record: Annotated[
        bool,
        typer.Option(
            "--without-record",
            help="Restore a backup kept without a record (by an earlier lmctl): its SHA-256 "
            "is not checked, the restore not previewed nor verified.",
        ),
    ] = False,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """``lmctl restore BACKUP [--dry-run] [--auto-approve] [--allow appliance-move]``."""
    import asyncio

    choices = RestoreChoices(
        auto_approve=auto_approve,
        dry_run=dry_run,
        backup=not no_backup,
        allow=frozenset(allow or ()),
        state_dir=state_dir,
        request_timeout=request_timeout,
        without_record=without_record,
    )
    try:
        code = asyncio.run(_restore(backup, inventory, choices))
    except KeyboardInterrupt:
        make_console(stderr=True).print(
            "restore interrupted: run `lmctl plan` to see what the appliance holds"
        )
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    raise typer.Exit(int(code))


# -- history -------------------------------------------------------------------------------


def _entry_line(entry: JournalEntry) -> str:
    what = (
        f"plan {entry.plan_digest[:12]}"
        if entry.plan_digest
        else f"restored {entry.restored}"
        if entry.restored
        else ""
    )
    writes = f"{len(entry.writes)} of {entry.planned} writes"
    detail = f": {entry.detail}" if entry.detail else ""
    return (
        f"{_when(entry.time)}  {entry.appliance}  {entry.action}  {entry.outcome}  "
        f"{entry.user}@{entry.host}  {what}  {writes}{detail}"
    )


@app.command(
    "history",
    help="Print the journal of applies and restores, oldest first: when, who (user@host), "
    "which appliance, the plan's digest (or the backup restored), the writes made and how it "
    "ended (ok, failed, refused, interrupted, error).\n\n"
    "Exit codes: 0 printed (or nothing recorded yet, or no entry of that appliance); 1 error "
    "(the journal cannot be read, e.g. it is a link); 64 usage error. See docs/operations.md.",
)
def history_command(
    appliance: OneApplianceOption = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=1, metavar="N", help="Only the newest N entries."),
    ] = None,
    output: ListFormatOption = ListFormat.text,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
) -> None:
    """``lmctl history [--appliance NAME] [--limit N] [--format text|json]``."""
    from lmctl.apply.journal import read_journal

    entries, unreadable = read_journal(state_dir)
    chosen = [e for e in entries if appliance in (None, e.appliance)]
    if limit is not None:
        chosen = chosen[-limit:]
    console = make_console()
    if unreadable:
        make_console(stderr=True).print(
            f"warning: {unreadable} lines of the journal cannot be read and are left out"
        )
    if output is ListFormat.json:
        document = [json.loads(e.model_dump_json()) for e in chosen]
        console.out(json.dumps(document, indent=2), highlight=False)
        return
    if not chosen and appliance is not None and entries:
        names = ", ".join(dict.fromkeys(e.appliance for e in entries))
        console.print(one_line(f"No entry for appliance {appliance} (journal has: {names})."))
        return
    if not chosen:
        console.print("No apply or restore recorded yet.")
        return
    for entry in chosen:
        console.print(one_line(_entry_line(entry)))
