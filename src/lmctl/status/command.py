"""The ``status``, ``drain`` and ``undrain`` commands: specs in, appliances read, result shown.

Everything here is glue between the command line (``lmctl.cli.status``), the specs, the
appliance clients and the pure status code; decisions live in the pure modules.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from lmctl.appliance.base import Appliance, open_appliances
from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.cli.console import make_console
from lmctl.cli.progress import progress_for
from lmctl.cli.specload import INVALID_SPECS, load_spec_set
from lmctl.desired import DesiredVirtualService
from lmctl.errors import ExitCode
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.errors import LoadMasterError
from lmctl.specs import SpecError, SpecSet
from lmctl.statedir import DEFAULT_STATE_DIR, ApplianceBusyError, appliance_lock
from lmctl.status.drain import MemberRef, UnknownMemberError, locate_member
from lmctl.status.maintenance import MaintenanceResult, WaitPolicy, drain, undrain
from lmctl.status.model import ArrayStatus, StatusExit, overall_exit
from lmctl.status.read import read_status
from lmctl.status.report import render_status, status_document
from lmctl.status.scope import UnknownArrayError, select_arrays

Action = Literal["drain", "undrain"]
_Check = Callable[[], Awaitable[list[ArrayStatus]]]


class _Failure(Exception):
    """A user error worded for the terminal (e.g. an appliance that cannot be reached)."""


class _BadSpecs(Exception):
    """The specs have errors: the diagnostics, one ``file:line: error: ...`` per line."""


def _load(paths: Sequence[Path]) -> tuple[SpecSet, dict[str, tuple[DesiredVirtualService, ...]]]:
    from lmctl.exchange import expand_all

    try:
        spec_set = load_spec_set(paths)
    except SpecError as error:
        lines = [str(diagnostic) for diagnostic in error.diagnostics]
        raise _BadSpecs("\n".join(lines)) from None
    warnings = make_console(stderr=True)
    for diagnostic in spec_set.diagnostics:  # warnings, shown as plan and apply show them
        warnings.print(str(diagnostic), markup=False)
    return spec_set, {name: tuple(found) for name, found in expand_all(spec_set).items()}


def _client(appliance: Appliance) -> LoadMaster:
    """The LoadMaster client behind an opened appliance (status still reads the wire)."""
    assert isinstance(appliance, LoadMasterAppliance)
    return appliance.client


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _print_error(message: str) -> None:
    make_console(stderr=True).print(f"error: {message}", markup=False)


def _fail(error: Exception) -> StatusExit:
    """Print a user error on stderr (spec diagnostics as they are, then the words plan and
    apply use) and return exit code 1."""
    if isinstance(error, _BadSpecs):  # already ``file:line: error: ...`` lines
        make_console(stderr=True).print(str(error), markup=False)
        _print_error(INVALID_SPECS)
    else:
        _print_error(str(error))
    return StatusExit.ERROR


# -- status ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """How to check: output format, ``--watch`` interval (None: once), mock state, timeout."""

    output: str = "text"
    interval: float | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    request_timeout: float = 10.0


def run_status(paths: Sequence[Path], names: Sequence[str], request: StatusRequest) -> int:
    """``lmctl status``: read, show, and return the exit code of the last check."""
    try:
        spec_set, desired = _load(paths)
        selected = select_arrays(desired, names)
    except (_BadSpecs, UnknownArrayError) as error:
        return _fail(error)
    outcome = _Outcome()
    try:
        asyncio.run(_status(spec_set, selected, request, outcome))
    except KeyboardInterrupt:
        if outcome.code is None:
            _print_error("interrupted before the first check finished")
            return ExitCode.INTERRUPTED
    # Ctrl-C ends --watch: exit with the last check's code.
    return StatusExit.ERROR if outcome.code is None else outcome.code


class _Outcome:
    """The exit code of the latest check (kept across a Ctrl-C that ends ``--watch``)."""

    def __init__(self) -> None:
        self.code: StatusExit | None = None


async def _status(
    spec_set: SpecSet,
    desired: dict[str, tuple[DesiredVirtualService, ...]],
    request: StatusRequest,
    outcome: _Outcome,
) -> None:
    console = make_console()
    opened = open_appliances(
        spec_set,
        list(desired),
        state_dir=request.state_dir,
        timeout=request.request_timeout,
        strict=False,
    )
    async with opened as appliances:
        clients = {name: _client(appliance) for name, appliance in appliances.items()}

        async def check() -> list[ArrayStatus]:
            """Read every appliance once and keep the exit code."""
            arrays = await read_status(desired, clients, appliances.unavailable)
            outcome.code = overall_exit(arrays)
            return arrays

        output, interval = request.output, request.interval
        if interval is None:
            _show(console, await check(), output, one_line=False)
        elif output == "json" or not console.is_terminal:
            while True:
                _show(console, await check(), output, one_line=True)
                await asyncio.sleep(interval)
        else:
            await _watch_live(console, check, interval)


def _show(console: Console, arrays: list[ArrayStatus], output: str, *, one_line: bool) -> None:
    if output == "json":
        document = status_document(arrays, _now())
        sys.stdout.write(json.dumps(document, indent=None if one_line else 2) + "\n")
        sys.stdout.flush()
        return
    if console.is_terminal:
        console.print(render_status(arrays, boxed=True))
        return
    if one_line:  # a watch in a pipe: each check after a time stamp
        console.print(f"--- {_now()}", markup=False)
    # Plain text for pipes and logs: the table columns without their trailing padding.
    with console.capture() as captured:
        console.print(render_status(arrays, boxed=False))
    lines = (line.rstrip() for line in captured.get().splitlines())
    console.out("\n".join(lines), highlight=False)


async def _watch_live(console: Console, check: _Check, interval: float) -> None:
    with Live(console=console, auto_refresh=False, screen=False) as live:
        while True:
            arrays = await check()
            footer = Text(f"checked {_now()}, every {interval:g} s; Ctrl-C to stop", style="dim")
            live.update(Group(render_status(arrays, boxed=True), footer), refresh=True)
            await asyncio.sleep(interval)


# -- drain / undrain ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Maintenance:
    """What to do to a member and how: drain or undrain, force, wait limits, mock state dir,
    and the time each API request may take (``timeout`` is the total wait)."""

    action: Action
    force: bool = False
    timeout: float = 600.0
    poll_interval: float = 2.0
    state_dir: Path = DEFAULT_STATE_DIR
    request_timeout: float = 10.0


def run_maintenance(paths: Sequence[Path], member: str, request: Maintenance) -> int:
    """``lmctl drain`` / ``lmctl undrain`` of one member; returns the exit code."""
    try:
        spec_set, desired = _load(paths)
        everything = [service for services in desired.values() for service in services]
        target = locate_member(everything, member)
    except (_BadSpecs, UnknownMemberError) as error:
        return _fail(error)
    console = make_console()
    try:
        result = asyncio.run(
            _maintain(spec_set, desired[target.appliance], target, request, console)
        )
    except KeyboardInterrupt:
        _print_error(f"interrupted: {_unfinished(target, request.action)}")
        return ExitCode.INTERRUPTED
    except _Failure as error:
        return _fail(error)
    _report(console, result)
    return result.exit_code


def _unfinished(target: MemberRef, action: Action) -> str:
    other = "undrain" if action == "drain" else "drain"
    return (
        f"the {action} of {target.member} (array {target.array}) may be unfinished; run "
        f"`lmctl {action} {target.member}` again to finish it (safe to repeat), or "
        f"`lmctl {other} {target.member}` to go back"
    )


async def _maintain(
    spec_set: SpecSet,
    desired: Sequence[DesiredVirtualService],
    target: MemberRef,
    request: Maintenance,
    console: Console,
) -> MaintenanceResult:
    policy = WaitPolicy(timeout=request.timeout, poll_interval=request.poll_interval)
    opened = open_appliances(
        spec_set,
        [target.appliance],
        state_dir=request.state_dir,
        timeout=request.request_timeout,
        strict=False,
    )
    async with opened as appliances:
        appliance = appliances.get(target.appliance)
        if appliance is None:
            reason = appliances.unavailable.get(target.appliance, "no connection could be opened")
            raise _Failure(f"appliance {target.appliance}: {reason}")
        client = _client(appliance)
        title = f"{request.action}ing {target.member} ({target.array} on {target.appliance})"

        def lock() -> AbstractContextManager[object]:
            """The appliance's apply lock: no drain/undrain writes while an apply writes."""
            return appliance_lock(request.state_dir, target.appliance)

        try:
            with progress_for(console, title) as observer:
                if request.action == "drain":
                    return await drain(
                        client,
                        target,
                        desired,
                        observer,
                        lock=lock,
                        force=request.force,
                        policy=policy,
                    )
                return await undrain(client, target, desired, observer, lock=lock, policy=policy)
        except ApplianceBusyError as busy:
            raise _Failure(str(busy)) from None
        except LoadMasterError as error:
            # Some real servers may already be switched: say how to finish or go back.
            raise _Failure(f"{error}; {_unfinished(target, request.action)}") from None


def _report(console: Console, result: MaintenanceResult) -> None:
    if result.outcome in ("refused", "absent"):
        for line in result.details:
            _print_error(line)
        return
    for line in result.details:
        console.print(line, markup=False)
    # Said before the writes too; repeated as the last words so it is not lost in the wait.
    for warning in result.warnings:
        console.print(warning, markup=False)
