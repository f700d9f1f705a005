"""``lmctl plan`` and ``lmctl apply``: reconcile the array specs with the appliances.

Heavy modules (httpx, pydantic models, yaml) are imported inside the commands so that
``lmctl --help`` stays fast; the work is done by ``lmctl.reconcile.command``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmctl.cli.app import app
from lmctl.cli.console import OutputFormat
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    FormatOption,
    RequestTimeoutOption,
    SpecPaths,
    StateDirOption,
    spec_paths_argument,
)

_PLAN_EXIT_CODES = (
    "Exit codes: 0 no changes (or changes, without --detailed-exitcode); 2 changes pending "
    "(with --detailed-exitcode); 1 error (bad specs, an appliance unreachable, a conflict: an "
    "address the specs want held by a virtual service the plan may not take, which --force "
    "never overrides, a write order that would leave a service without an "
    "enabled member); 3 blocked by a safety rule (deleting a whole "
    "array, removing more than 30 % of an appliance's managed VSs or RSs, leaving a service "
    "with fewer than two members): re-run with --force to allow it. See docs/plan-apply.md."
)
_APPLY_EXIT_CODES = (
    "Exit codes: 0 applied (or nothing to do); 1 error, nothing written (bad specs, conflict, "
    "stale saved plan, no confirmation, appliance locked by another lmctl, a write order that "
    "would leave a service without an enabled member); 3 blocked by a "
    "safety rule (--force allows it); 4 partial failure: some writes were made, then one "
    "failed (the report lists what was done, what failed and what was not attempted), or the "
    "read after applying found a difference left; running apply again converges; 130 "
    "interrupted (Ctrl-C). See docs/plan-apply.md."
)

ApplyPaths = Annotated[
    list[Path] | None,
    spec_paths_argument(
        "Spec files or directories (default: arrays/), or a saved plan file (recognised by its "
        "content, wherever it is given) with optionally the spec paths that hold the inventory "
        "(default: the paths the plan recorded)."
    ),
]
ApplianceOption = Annotated[
    list[str] | None,
    typer.Option("--appliance", "-a", help="Only this appliance (repeatable). Default: all."),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Allow changes that break a safety rule.")
]


@app.command(
    "plan",
    help="Show what apply would change on the appliances, field by field.\n\n"
    "Reads every appliance once (one listvs each, all at once) and compares the virtual "
    "services carrying lmctl's marker with the specs. --format json emits the versioned plan "
    "document (format_version 1, schema: `lmctl schema --kind plan`); --format markdown suits "
    "a merge-request comment (on an error, both print the error on stdout too); --out FILE "
    "saves the plan for `lmctl apply FILE`.\n\n"
    "Scope: given only directories, every array on the appliances is in scope and a marked "
    "virtual service whose array left the specs is deleted; given a spec file, only the arrays "
    "loaded are in scope and every other array is left alone.\n\n" + _PLAN_EXIT_CODES,
)
def plan_command(
    paths: SpecPaths = None,
    output: FormatOption = OutputFormat.text,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Also save the plan (JSON) to this file (never a spec, nor inside a spec "
            "directory).",
        ),
    ] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    force: ForceOption = False,
    appliance: ApplianceOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Run ``lmctl plan``."""
    from lmctl.reconcile.command import Target, run_plan

    target = Target(tuple(paths or ()), tuple(appliance or ()), state_dir, request_timeout)
    code = run_plan(target, output=output.value, out=out, detailed=detailed_exitcode, force=force)
    raise typer.Exit(int(code))


@app.command(
    "apply",
    help="Make the appliances match the specs (or apply a saved plan file).\n\n"
    "Plans, shows the plan, asks for confirmation (--auto-approve in pipelines; without a "
    "terminal and without it, apply refuses), then per appliance: takes the apply lock, checks "
    "that nothing changed since the plan read it, saves a backup under "
    "<state-dir>/backups/ (--no-backup to skip), writes in make-before-break order and reads "
    "again to report any difference left. Appliances are applied concurrently (--parallel).\n\n"
    + _APPLY_EXIT_CODES,
)
def apply_command(
    paths: ApplyPaths = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking (for pipelines).")
    ] = False,
    force: ForceOption = False,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Do not save a backup before the first write.")
    ] = False,
    parallel: Annotated[
        int, typer.Option("--parallel", min=1, help="Appliances applied at the same time.")
    ] = 8,
    appliance: ApplianceOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Run ``lmctl apply``."""
    from lmctl.reconcile.command import ApplyRequest, Target, run_apply

    target = Target(tuple(paths or ()), tuple(appliance or ()), state_dir, request_timeout)
    request = ApplyRequest(
        auto_approve=auto_approve, force=force, backup=not no_backup, parallel=parallel
    )
    raise typer.Exit(int(run_apply(target, request)))
