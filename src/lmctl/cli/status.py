"""``lmctl status``, ``lmctl drain`` and ``lmctl undrain``: failover checks and CAS maintenance.

Each command parses its options, loads the specs, opens the appliances, calls the library
(``lmctl.status``, ``lmctl.maintenance``) and shows the values it returns; a user error (an
``LmctlError``) is one ``error:`` line on stderr and its exit code. Heavy modules (httpx, pydantic
models, yaml) are imported inside the functions, so that ``lmctl --help`` stays fast.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console, Group
from rich.text import Text

from lmctl.cli.app import app
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    ArrayOption,
    MemberArgument,
    RequestTimeoutOption,
    SpecPaths,
    StateDirOption,
    make_console,
    print_table,
)
from lmctl.cli.specload import DEFAULT_SPECS, load_reporting, refuse_array_as_path
from lmctl.errors import ExitCode
from lmctl.text import one_line

if TYPE_CHECKING:
    from lmctl.exchange import DesiredVirtualService
    from lmctl.maintenance.drain import MaintenanceResult, Target
    from lmctl.plan.match import ArrayScope
    from lmctl.specs import SpecSet
    from lmctl.status.model import ArrayStatus

_EXIT_CODES = (
    "Exit codes: 0 every array is FailoverReady and Healthy; 2 degraded (every array serving, "
    "but one is not FailoverReady or not Healthy, e.g. a member Down or drained); 3 an array "
    "is not Serving (a service has no member enabled and Up, or its virtual service is missing "
    "or disabled); 1 error (bad specs, unknown array, an appliance that could not be read). "
    "See docs/operations.md."
)
DEFAULT_WATCH_SECONDS = 5.0


class StatusFormat(enum.StrEnum):
    """The ``--format`` choices of ``lmctl status``."""

    text = "text"
    json = "json"
    prometheus = "prometheus"


PollOption = Annotated[
    float,
    typer.Option(
        "--poll-interval",
        metavar="SECONDS",
        min=0.01,
        help="Seconds between two reads while waiting.",
    ),
]
# The total wait of drain/undrain; each API request is bounded by ``--request-timeout``.
WaitTimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", metavar="SECONDS", min=0, help="Seconds to wait at most before giving up."
    ),
]


@app.command(
    "status",
    help="Check every array's failover readiness: Serving, FailoverReady, Healthy, InSync.\n\n"
    "Reads each appliance of the arrays checked with two calls (listvs and stats), and every "
    "other inventory appliance with one (listvs: an array's virtual services left on an "
    "appliance its spec no longer names make it not InSync), all appliances at once. "
    "--watch refreshes in place every --interval seconds until Ctrl-C; --format json prints "
    "the documented lmctl.status/v1 document (one per line with --watch).\n\n" + _EXIT_CODES,
)
def status_command(
    paths: SpecPaths = None,
    arrays: ArrayOption = None,
    output_format: Annotated[
        StatusFormat,
        typer.Option(
            "--format",
            "-f",
            help="text (a table), json (lmctl.status/v1) or prometheus (the text exposition "
            "format, for a node_exporter textfile collector; not with --watch).",
        ),
    ] = StatusFormat.text,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Check again and again until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            "-n",
            metavar="SECONDS",
            min=0.5,
            show_default=False,
            help=f"Seconds between two checks (implies --watch; "
            f"default {DEFAULT_WATCH_SECONDS:g}).",
        ),
    ] = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Run ``lmctl status``."""
    if output_format is StatusFormat.prometheus and (watch or interval is not None):
        raise typer.BadParameter(
            "--format prometheus prints one scrape; run it once per scrape, without --watch",
            param_hint="'--format'",
        )
    if watch and interval is None:
        interval = DEFAULT_WATCH_SECONDS
    request = StatusRequest(output_format.value, interval, state_dir, request_timeout)
    refuse_array_as_path(paths)
    raise typer.Exit(int(run_status(paths or [], arrays or [], request)))


@app.command(
    "drain",
    help="Take a server (a CAS) out of its arrays for maintenance.\n\n"
    "Disables the server's real server in every virtual service of every array (namespace) "
    "that lists it, on every appliance involved, or only in the --array ones (one modrs "
    "enable=N per service; other arrays are never touched), after checking in all of them "
    "that every service keeps at least one other member enabled and Up (one refusal: nothing "
    "written anywhere); then waits until its active connections reach 0 in all of them or "
    "--timeout passes. Idempotent: run it again after an interruption.\n\n"
    "Exit codes: 0 drained (0 connections); 2 timed out (disabled, connections left); "
    "3 refused (a service would have no member left; --force overrides); 1 error.",
)
def drain_command(
    member: MemberArgument,
    paths: SpecPaths = None,
    force: Annotated[
        bool, typer.Option("--force", help="Drain even if a service is left with no member Up.")
    ] = False,
    arrays: ArrayOption = None,
    timeout: WaitTimeoutOption = 600.0,
    poll_interval: PollOption = 2.0,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Run ``lmctl drain``."""
    request = MaintenanceRequest(
        "drain", force, timeout, poll_interval, state_dir, request_timeout, tuple(arrays or ())
    )
    refuse_array_as_path(paths)
    raise typer.Exit(run_maintenance(paths or [], member, request))


@app.command(
    "undrain",
    help="Put a drained server back: re-enable its real server in every virtual service of "
    "every array that lists it (or of the --array ones), then wait until the appliances report "
    "it Up in each (or --timeout passes).\n\n"
    "Exit codes: 0 enabled and Up everywhere; 2 timed out (enabled, not Up yet); 3 refused "
    "(a spec disables the member); 1 error.",
)
def undrain_command(
    member: MemberArgument,
    paths: SpecPaths = None,
    arrays: ArrayOption = None,
    timeout: WaitTimeoutOption = 300.0,
    poll_interval: PollOption = 2.0,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Run ``lmctl undrain``."""
    request = MaintenanceRequest(
        "undrain", False, timeout, poll_interval, state_dir, request_timeout, tuple(arrays or ())
    )
    refuse_array_as_path(paths)
    raise typer.Exit(run_maintenance(paths or [], member, request))


# -- shared by the three commands -----------------------------------------------------------


def _print_error(message: str) -> None:
    make_console(stderr=True).print(f"error: {one_line(message)}")


@dataclass(frozen=True, slots=True)
class _Specs:
    """The specs loaded: every desired service per appliance, and the scope plan would use for
    the same spec paths (status matches each appliance exactly as plan does)."""

    spec_set: SpecSet
    desired: dict[str, tuple[DesiredVirtualService, ...]]
    scope: ArrayScope


def _load(paths: Sequence[Path]) -> _Specs:
    from lmctl.exchange import expand_all
    from lmctl.plan.match import plan_scope

    spec_set = load_reporting(paths, make_console(stderr=True))
    desired = {name: tuple(found) for name, found in expand_all(spec_set).items()}
    scope = plan_scope(paths or (DEFAULT_SPECS,), (array.name for array in spec_set.arrays))
    return _Specs(spec_set, desired, scope)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- status --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusRequest:
    """How to check: output format, ``--watch`` interval (None: once), mock state, timeout."""

    output: str = "text"
    interval: float | None = None
    state_dir: Path = DEFAULT_STATE_DIR
    request_timeout: float = 10.0


class _Outcome:
    """The exit code of the latest check (kept across a Ctrl-C that ends ``--watch``)."""

    def __init__(self) -> None:
        self.code: ExitCode | None = None


def run_status(paths: Sequence[Path], names: Sequence[str], request: StatusRequest) -> int:
    """``lmctl status``: read, show, and return the exit code of the last check."""
    import asyncio

    from lmctl.status.check import select_arrays

    outcome = _Outcome()
    specs = _load(paths)
    selected = select_arrays(specs.desired, names)
    try:
        asyncio.run(_status(specs, selected, request, outcome))
    except KeyboardInterrupt:
        if outcome.code is None:
            _print_error("interrupted before the first check finished")
            return ExitCode.INTERRUPTED
    # Ctrl-C ends --watch: exit with the last check's code.
    return ExitCode.ERROR if outcome.code is None else outcome.code


async def _status(
    specs: _Specs, selected: dict[str, tuple[str, ...]], request: StatusRequest, outcome: _Outcome
) -> None:
    import asyncio

    from lmctl.appliance.base import open_appliances
    from lmctl.status.check import check_arrays
    from lmctl.status.model import overall_exit

    console = make_console()
    opened = open_appliances(
        specs.spec_set,
        # Every inventory appliance: an array's marked VSs left on one it moved from count too.
        [*selected, *specs.spec_set.inventory.appliances],
        state_dir=request.state_dir,
        timeout=request.request_timeout,
        strict=False,
    )
    async with opened as appliances:

        async def check() -> list[ArrayStatus]:
            """Read every appliance once and keep the exit code."""
            arrays = await check_arrays(
                appliances, specs.desired, selected, specs.scope, appliances.unavailable
            )
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
    from lmctl.status.render import render_status, status_document

    if output == "prometheus":
        from lmctl.status.prometheus import render_prometheus

        sys.stdout.write(render_prometheus(arrays))
        sys.stdout.flush()
        return
    if output == "json":
        document = status_document(arrays, _now())
        sys.stdout.write(json.dumps(document, indent=None if one_line else 2) + "\n")
        sys.stdout.flush()
        return
    if console.is_terminal:
        console.print(render_status(arrays, boxed=True))
        return
    if one_line:  # a watch in a pipe: each check after a time stamp
        console.print(f"--- {_now()}")
    # Plain text for pipes and logs: the table columns without their trailing padding.
    print_table(console, render_status(arrays, boxed=False))


async def _watch_live(
    console: Console, check: Callable[[], Awaitable[list[ArrayStatus]]], interval: float
) -> None:
    import asyncio

    from rich.live import Live

    from lmctl.status.render import render_status

    with Live(console=console, auto_refresh=False, screen=False) as live:
        while True:
            arrays = await check()
            footer = Text(f"checked {_now()}, every {interval:g} s; Ctrl-C to stop", style="dim")
            live.update(Group(render_status(arrays, boxed=True), footer), refresh=True)
            await asyncio.sleep(interval)


# -- drain / undrain -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MaintenanceRequest:
    """What to do to a member and how: drain or undrain, force, wait limits, mock state dir,
    the time each API request may take (``timeout`` is the total wait), and the arrays it is
    restricted to (``--array``; empty: every array that lists the server)."""

    action: Literal["drain", "undrain"]
    force: bool = False
    timeout: float = 600.0
    poll_interval: float = 2.0
    state_dir: Path = DEFAULT_STATE_DIR
    request_timeout: float = 10.0
    arrays: tuple[str, ...] = ()


def run_maintenance(paths: Sequence[Path], member: str, request: MaintenanceRequest) -> int:
    """``lmctl drain`` / ``lmctl undrain`` of one server in every array that lists it (or in
    the ``--array`` ones); returns the exit code."""
    import asyncio

    from lmctl.maintenance.drain import Target
    from lmctl.maintenance.server import locate_server, unfinished

    specs = _load(paths)
    everything = [service for services in specs.desired.values() for service in services]
    # The commands it suggests repeat the spec paths given, unless they are the default.
    given = () if tuple(paths) == (DEFAULT_SPECS,) else paths
    server = locate_server(
        everything, member, request.arrays, paths=given, state_dir=request.state_dir
    )
    desired = {name: specs.desired[name] for name in server.appliances}
    target = Target(server, desired, specs.scope, request.state_dir)
    console = make_console()
    try:
        result = asyncio.run(_maintain(specs.spec_set, target, request, console))
    except KeyboardInterrupt:
        _print_error(f"interrupted: {unfinished(server, request.action)}")
        return ExitCode.INTERRUPTED
    _report(console, result)
    return result.exit_code


async def _maintain(
    spec_set: SpecSet, target: Target, request: MaintenanceRequest, console: Console
) -> MaintenanceResult:
    from lmctl.appliance.base import open_appliances
    from lmctl.cli.progress import progress_for
    from lmctl.maintenance.drain import WaitPolicy, drain, undrain

    server = target.server
    policy = WaitPolicy(timeout=request.timeout, poll_interval=request.poll_interval)
    opened = open_appliances(
        spec_set,
        server.appliances,
        state_dir=request.state_dir,
        timeout=request.request_timeout,
    )
    async with opened as appliances:
        title = f"{request.action}ing {server.name} ({server.arrays_on()})"
        with progress_for(console, title) as observer:
            if request.action == "drain":
                return await drain(appliances, target, observer, force=request.force, policy=policy)
            return await undrain(appliances, target, observer, policy=policy)


def _report(console: Console, result: MaintenanceResult) -> None:
    if result.outcome in ("refused", "absent"):
        for line in result.details:
            _print_error(line)
        return
    for line in (*result.details, *result.warnings):
        # The warnings were said before the writes too: repeated last, not lost in the wait.
        console.print(one_line(line))
