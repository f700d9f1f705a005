"""``lmctl status``, ``lmctl drain`` and ``lmctl undrain``: failover checks and CAS maintenance.

Heavy modules (httpx, pydantic models, yaml) are imported inside the commands, so that
``lmctl --help`` stays fast.
"""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from lmctl.cli.app import app
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    RequestTimeoutOption,
    SpecPathsOption,
    StateDirOption,
)

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


MemberArgument = Annotated[
    str,
    typer.Argument(
        help="Member name as in the spec (e.g. HQ-CAS02, any case) or its IPv4/IPv6 address "
        "(any spelling: 2001:DB8:0::11 is 2001:db8::11)."
    ),
]
PollOption = Annotated[
    float,
    typer.Option("--poll-interval", min=0.01, help="Seconds between two reads while waiting."),
]
# The total wait of drain/undrain; each API request is bounded by ``--request-timeout``.
WaitTimeoutOption = Annotated[
    float,
    typer.Option("--timeout", min=0, help="Seconds to wait at most before giving up."),
]


@app.command(
    "status",
    help="Check every array's failover readiness: Serving, FailoverReady, Healthy, InSync.\n\n"
    "Reads each appliance with two calls (listvs and stats), all appliances at once. "
    "--watch refreshes in place every --interval seconds until Ctrl-C; --format json prints "
    "the documented lmctl.status/v1 document (one per line with --watch).\n\n" + _EXIT_CODES,
)
def status_command(
    arrays: Annotated[
        list[str] | None, typer.Argument(help="Arrays to check (default: every array).")
    ] = None,
    specs: SpecPathsOption = None,
    output_format: Annotated[
        StatusFormat,
        typer.Option("--format", "-f", help="text (a table) or json (lmctl.status/v1)."),
    ] = StatusFormat.text,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Check again and again until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            "-n",
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
    from lmctl.status.command import StatusRequest, run_status

    if watch and interval is None:
        interval = DEFAULT_WATCH_SECONDS
    request = StatusRequest(output_format.value, interval, state_dir, request_timeout)
    raise typer.Exit(int(run_status(specs or [], arrays or [], request)))


@app.command(
    "drain",
    help="Take a member (a CAS) out of its array for maintenance.\n\n"
    "Disables the member's real server in every virtual service of ITS array (one modrs "
    "enable=N per service; other arrays are never touched), after checking that every service "
    "keeps at least one other member enabled and Up; then waits until its active connections "
    "reach 0 or --timeout passes. Idempotent: run it again after an interruption.\n\n"
    "Exit codes: 0 drained (0 connections); 2 timed out (disabled, connections left); "
    "3 refused (a service would have no member left; --force overrides); 1 error.",
)
def drain_command(
    member: MemberArgument,
    specs: SpecPathsOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Drain even if a service is left with no member Up.")
    ] = False,
    timeout: WaitTimeoutOption = 600.0,
    poll_interval: PollOption = 2.0,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Run ``lmctl drain``."""
    from lmctl.status.command import Maintenance, run_maintenance

    request = Maintenance("drain", force, timeout, poll_interval, state_dir, request_timeout)
    raise typer.Exit(run_maintenance(specs or [], member, request))


@app.command(
    "undrain",
    help="Put a drained member back: re-enable its real server in every virtual service of its "
    "array, then wait until the appliance reports it Up in each (or --timeout passes).\n\n"
    "Exit codes: 0 enabled and Up everywhere; 2 timed out (enabled, not Up yet); 3 refused "
    "(the spec disables the member); 1 error.",
)
def undrain_command(
    member: MemberArgument,
    specs: SpecPathsOption = None,
    timeout: WaitTimeoutOption = 300.0,
    poll_interval: PollOption = 2.0,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Run ``lmctl undrain``."""
    from lmctl.status.command import Maintenance, run_maintenance

    request = Maintenance("undrain", False, timeout, poll_interval, state_dir, request_timeout)
    raise typer.Exit(run_maintenance(specs or [], member, request))
