"""``lmctl plan`` and ``lmctl apply``: specs → appliances → plan → output → confirmation → apply.

plan: load the specs, open and observe the appliances (one read each, all at once), make the
plan, print it (text, JSON or Markdown), save it (``--out``), and exit with what it holds.
apply: the same plan (or a saved one, checked against the appliances first), shown, gated by
the safety rules and a confirmation, then applied with a live progress and a report.

Errors end the command through the one boundary (``lmctl.cli.app``): this module raises
``LmctlError``s; only plan's failure document (``--format json|markdown`` print the failure on
stdout too) is printed here. Heavy modules (httpx, pydantic models, yaml) are imported inside
the functions so that ``lmctl --help`` stays fast.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lmctl.cli.app import CommandError, app
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    FormatOption,
    OutputFormat,
    RequestTimeoutOption,
    SpecPaths,
    StateDirOption,
    complete_appliance,
    complete_array,
    complete_rule,
    make_console,
    spec_paths_argument,
)
from lmctl.cli.specload import DEFAULT_SPECS, load_reporting
from lmctl.errors import ExitCode, LmctlError, error_text
from lmctl.text import did_you_mean, one_line

if TYPE_CHECKING:
    from rich.console import Console

    from lmctl.appliance.base import Appliance
    from lmctl.apply.execute import ApplianceResult
    from lmctl.plan.document import FailureKind, Plan
    from lmctl.plan.match import ArrayScope
    from lmctl.specs import SpecSet

_PLAN_EXIT_CODES = (
    "Exit codes: 0 no changes (or changes, without --detailed-exitcode); 2 changes pending "
    "(with --detailed-exitcode); 1 error (bad specs, an appliance unreachable, a conflict: an "
    "address the specs want held by a virtual service the plan may not take, which --force "
    "never overrides, a write order that would leave a service without an "
    "enabled member); 3 blocked by a safety rule (deleting a whole "
    "array, moving one to another appliance, removing more than 30 % of an appliance's "
    "services or array members, leaving a service with fewer than two members ...): each "
    "refusal names its rule; re-run with --allow RULE to allow that one, or --force to allow "
    "every rule. See docs/plan-apply.md."
)
_APPLY_EXIT_CODES = (
    "Exit codes: 0 applied (or nothing to do); 1 error, nothing written (bad specs, conflict, "
    "stale saved plan or one writing to what its arrays do not own, a saved plan's "
    "adoption without --adopt ARRAY, no confirmation, "
    "appliance locked by another lmctl, a write order that "
    "would leave a service without an enabled member); 3 blocked by a safety rule (--allow "
    "RULE allows one, --force all); 4 partial failure: some writes were made, then one "
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
    typer.Option(
        "--appliance",
        "-a",
        metavar="NAME",
        autocompletion=complete_appliance,
        help="Only this appliance (repeatable). Default: all.",
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Allow changes that break any safety rule (every --allow).")
]


def known_rules(names: list[str] | None) -> list[str]:
    """``--allow``'s values, each a rule ``--force`` waives; else a usage error naming them."""
    from lmctl.plan.safety import WAIVABLE_RULES, unknown_rules

    unknown = unknown_rules(names or [])
    if unknown:
        hint = did_you_mean(unknown[0], WAIVABLE_RULES) if len(unknown) == 1 else ""
        raise typer.BadParameter(
            f"no safety rule named {', '.join(map(repr, unknown))} that can be allowed{hint}; "
            f"the rules: {', '.join(WAIVABLE_RULES)}"
        )
    return names or []


AllowOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow",
        metavar="RULE",
        callback=known_rules,
        autocompletion=complete_rule,
        help="Allow the changes that break this safety rule (repeatable; each refusal names its "
        "rule, e.g. failover-lost, appliance-move). See docs/plan-apply.md.",
    ),
]
AdoptOption = Annotated[
    list[str] | None,
    typer.Option(
        "--adopt",
        metavar="ARRAY",
        autocompletion=complete_array,
        help="Take over the virtual services without lmctl's marker on exactly the keys this "
        "array wants (repeatable; as adopt: true in its spec). With a saved plan: consent to "
        "the adoptions it holds for this array (a plan file records no consent; one with "
        "adoptions is refused without it). See docs/adoption.md.",
    ),
]


@dataclass(frozen=True)
class Target:
    """Where to work: spec paths, the appliances to consider, state directory, and the
    seconds each API request may take."""

    paths: tuple[Path, ...]
    appliances: tuple[str, ...] = ()
    state_dir: Path = DEFAULT_STATE_DIR
    request_timeout: float = 10.0
    # Arrays named with --adopt (their specs may also say ``adopt: true``).
    adopt: tuple[str, ...] = ()

    @property
    def spec_paths(self) -> tuple[Path, ...]:
        """The spec paths given, or the default ``arrays/``."""
        return self.paths or (DEFAULT_SPECS,)


@dataclass(frozen=True)
class Waivers:
    """The safety rules the operator allows: every one (``--force``) or each ``--allow RULE``."""

    force: bool = False
    allow: frozenset[str] = frozenset()


# -- planning ----------------------------------------------------------------------------


def appliance_names(
    spec_set: SpecSet, chosen: Sequence[str], scope: ArrayScope = None
) -> list[str]:
    """The appliances to read: those chosen, else every one (or, for a narrowed scope, those
    that serve the arrays in it: ``lmctl ls``). Plan and apply read every one for any scope:
    an array may have left an appliance, and its marked VSs there are part of its plan (a move
    across appliances; ``make_plan`` keeps only the appliances its arrays are or were on)."""
    known = list(spec_set.inventory.appliances)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise CommandError(
            f"no appliance named {', '.join(unknown)} in the inventory (known: {', '.join(known)})"
        )
    if chosen:
        return list(chosen)
    if scope is None:
        return known
    serving = {a.appliance for a in spec_set.arrays if a.name in scope}
    return [name for name in known if name in serving]


def _scope(target: Target, spec_set: SpecSet) -> ArrayScope:
    from lmctl.plan.match import plan_scope

    return plan_scope(target.spec_paths, (a.name for a in spec_set.arrays))


def adopting(spec_set: SpecSet, named: Sequence[str]) -> tuple[str, ...]:
    """The arrays that adopt: those named with ``--adopt`` (each must be in the specs) and
    those whose spec says ``adopt: true``."""
    known = [a.name for a in spec_set.arrays]
    unknown = [name for name in named if name not in known]
    if unknown:
        raise CommandError(
            f"--adopt {', '.join(unknown)}: no such array in the specs (arrays: "
            f"{', '.join(known) or 'none'}); nothing was read or written"
        )
    return tuple(sorted({*named, *(a.name for a in spec_set.arrays if a.adopt)}))


def _urls(spec_set: SpecSet) -> dict[str, str]:
    return {name: spec.url for name, spec in spec_set.inventory.appliances.items()}


async def _make_plan(
    spec_set: SpecSet, appliances: Mapping[str, Appliance], target: Target, scope: ArrayScope
) -> Plan:
    from lmctl.appliance.base import observe_all
    from lmctl.apply.departed import departed_appliances
    from lmctl.cli.certificates import check_certificates
    from lmctl.exchange import expand_all
    from lmctl.plan.certificates import needed_by_specs
    from lmctl.plan.document import make_plan
    from lmctl.plan.planfile import with_urls

    errors = make_console(stderr=True)
    for departed in departed_appliances(target.state_dir, spec_set.inventory.appliances):
        errors.print(one_line(departed.warning()))
    desired = expand_all(spec_set)
    wanted = needed_by_specs(service for services in desired.values() for service in services)
    await check_certificates(wanted, appliances, spec_set, target.state_dir)
    plan = make_plan(
        desired,
        await observe_all(appliances),
        specs_digest=spec_set.digest,
        # As shown (escaped): a path that is not UTF-8 has no place in a JSON document.
        spec_paths=[one_line(str(p)) for p in target.spec_paths],
        scope=scope,
        adopting=adopting(spec_set, target.adopt),
        limits=spec_set.inventory.safety.bulk_removal,
    )
    return with_urls(plan, _urls(spec_set))


def _check_out(out: Path | None, spec_set: SpecSet, target: Target) -> None:
    from lmctl.plan.planfile import out_conflict, out_unwritable

    if out is None:
        return
    problem = out_conflict(out, spec_set.files, target.spec_paths) or out_unwritable(out)
    if problem is not None:
        raise CommandError(f"{problem}; nothing was read or written")


def _verdict(plan: Plan, waivers: Waivers, *, detailed: bool) -> ExitCode:
    """What the plan allows: its exit code, or the error that stops it (nothing is written)."""
    from lmctl.appliance.changes import counted
    from lmctl.plan.safety import UNWAIVABLE_RULES, blocking

    force = waivers.force

    if plan.conflicts:
        forced = " (--force does not change that)" if force else ""
        raise CommandError(
            f"{counted(len(plan.conflicts), 'conflict')} (see the plan): an address the specs "
            "want is held by a VS this plan may not take, and lmctl never takes one over; or a "
            "VS of lmctl's holds what lmctl does not own, and lmctl never writes to it"
            f"{forced}; nothing was written"
        )
    if any(v.rule in UNWAIVABLE_RULES for v in plan.violations):
        raise CommandError(
            "the write order would leave a serving service without an enabled member "
            "(see the plan); refused even with --force; nothing was written"
        )
    blocked = blocking(plan.violations, force=force, allow=waivers.allow)
    if blocked:
        rules = list(dict.fromkeys(v.rule for v in blocked))
        allow = " ".join(f"--allow {rule}" for rule in rules)
        raise CommandError(
            f"blocked by {counted(len(blocked), 'safety rule')} ({', '.join(rules)}; see the "
            f"plan); review it, then re-run with {allow} to allow it (--force allows every rule)",
            exit_code=ExitCode.BLOCKED,
        )
    return ExitCode.CHANGES if plan.has_changes and detailed else ExitCode.OK


def _print_plan(plan: Plan, output: str, console: Console, waivers: Waivers) -> None:
    from lmctl.plan.render import RENDERERS

    rendered = RENDERERS[output](plan, force=waivers.force, allow=waivers.allow)
    if isinstance(rendered, str):
        console.out(rendered, highlight=False)
    else:
        console.print(rendered)


def _failure_kind(error: LmctlError) -> FailureKind:
    from lmctl.appliance.base import ReadError

    if isinstance(error, CommandError):
        return error.kind
    return "read" if isinstance(error, ReadError) else "appliance"


def _print_failure(error: LmctlError, output: str) -> None:
    """On stdout for json/markdown, so a pipeline shows the failure rather than nothing."""
    from lmctl import __version__
    from lmctl.plan.document import FailureDetail, PlanFailure
    from lmctl.plan.render import FAILURE_RENDERERS

    if output not in FAILURE_RENDERERS:
        return
    details = error.details if isinstance(error, CommandError) else ()
    # One line each, escaped: a file name or an appliance's message is anything, and the JSON
    # document must stay valid (no lone surrogate from a file name that is not UTF-8).
    failure = PlanFailure(
        lmctl_version=__version__,
        error=FailureDetail(
            kind=_failure_kind(error),
            message=one_line(error_text(error)),
            details=tuple(one_line(detail) for detail in details),
        ),
        exit_code=int(error.exit_code),
    )
    make_console().out(FAILURE_RENDERERS[output](failure), highlight=False)


async def _plan_now(target: Target, out: Path | None, errors: Console) -> Plan:
    from lmctl.appliance.base import open_appliances

    spec_set = load_reporting(target.paths, errors)
    _check_out(out, spec_set, target)
    adopting(spec_set, target.adopt)
    scope = _scope(target, spec_set)
    names = appliance_names(spec_set, target.appliances)
    async with open_appliances(
        spec_set, names, state_dir=target.state_dir, timeout=target.request_timeout
    ) as appliances:
        return await _make_plan(spec_set, appliances, target, scope)


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
    "loaded are in scope (on every appliance they are or were on: a move to another appliance "
    "is planned whole) and every other array is left alone.\n\n" + _PLAN_EXIT_CODES,
)
def plan_command(
    paths: SpecPaths = None,
    output: FormatOption = OutputFormat.text,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE",
            help="Also save the plan (JSON) to this file (never a spec, nor inside a spec "
            "directory).",
        ),
    ] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 2 when there are changes.")
    ] = False,
    force: ForceOption = False,
    allow: AllowOption = None,
    adopt: AdoptOption = None,
    appliance: ApplianceOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """Print (and optionally save) the plan; the exit code says what it holds."""
    import asyncio

    from lmctl.plan.planfile import PlanFileError, save_plan

    target = Target(
        tuple(paths or ()), tuple(appliance or ()), state_dir, request_timeout, tuple(adopt or ())
    )
    errors = make_console(stderr=True)
    try:
        plan = asyncio.run(_plan_now(target, out, errors))
    except LmctlError as error:
        _print_failure(error, output.value)
        raise
    waivers = Waivers(force, frozenset(allow or ()))
    _print_plan(plan, output.value, make_console(), waivers)
    if out is not None:
        try:
            save_plan(plan, out)
        except PlanFileError as error:
            raise CommandError(
                f"{error}; nothing was written to the appliances", kind="plan-file"
            ) from None
        errors.print(f"Plan saved to {one_line(str(out))}")
    raise typer.Exit(int(_verdict(plan, waivers, detailed=detailed_exitcode)))


# -- applying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyRequest:
    """The flags of ``lmctl apply``."""

    auto_approve: bool = False
    waivers: Waivers = Waivers()
    backup: bool = True
    parallel: int = 8


def can_ask() -> bool:
    """True when a person can answer the confirmation question (stdin is a terminal)."""
    return sys.stdin.isatty()


def _ask(question: str) -> bool:
    """``typer.confirm`` with Ctrl-C answering at once: asyncio's SIGINT handler (which only
    cancels the task, and lets the prompt wait for a second Ctrl-C) is set aside meanwhile.
    Ctrl-C raises ``KeyboardInterrupt`` (click's ``Abort`` included)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: leave the handler alone
        previous = None
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:
        raise KeyboardInterrupt from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _confirmed(plan: Plan, request: ApplyRequest, errors: Console) -> bool:
    from lmctl.appliance.changes import counted

    if request.auto_approve:
        return True
    writes = counted(plan.summary.writes, "write")
    appliances = counted(sum(1 for a in plan.appliances if a.changes), "appliance")
    if _ask(f"Apply these {writes} to {appliances}?"):
        return True
    errors.print("Apply cancelled: nothing was written.")
    return False


def _apply_verdict(results: Sequence[ApplianceResult]) -> ExitCode:
    """0 all applied; 4 a write failed or only part was done; 1 refused before any write."""
    if all(result.ok for result in results):
        return ExitCode.OK
    if any(
        result.done or result.failed is not None or result.unexpected is not None
        for result in results
    ):
        return ExitCode.PARTIAL
    return ExitCode.ERROR


def _narrowed(plan: Plan, chosen: Sequence[str], source: Path) -> Plan:
    """The saved plan cut down to the appliances chosen with ``--appliance`` (all if none)."""
    if not chosen:
        return plan
    planned = [a.name for a in plan.appliances]
    unknown = [name for name in chosen if name not in planned]
    if unknown:
        raise CommandError(
            f"--appliance {', '.join(unknown)}: not in {source} (it plans "
            f"{', '.join(planned) or 'no appliance'}); nothing was read or written"
        )
    return plan.only(chosen)


def _consented(plan: Plan, adopt: Sequence[str], path: Path, errors: Console) -> None:
    """Raises unless each adoption of the saved plan is consented to with ``--adopt ARRAY``
    (an adoption is a waiver, which a plan file does not carry), before anything is read."""
    from lmctl.appliance.changes import counted
    from lmctl.plan.ownership import unconsented

    refused = unconsented(plan, adopt)
    if not refused:
        return
    for appliance, adoption in refused:
        errors.print(f"not consented: {one_line(f'{appliance}: {adoption.headline[1]}')}")
    arrays = sorted({adoption.array for _, adoption in refused})
    flags = " ".join(f"--adopt {one_line(array)}" for array in arrays)
    raise CommandError(
        f"{one_line(str(path))} adopts virtual services lmctl does not own "
        f"({counted(len(refused), 'adoption')} above), and a saved plan records no consent: "
        f"review them, then apply it with {flags}; nothing was read or written"
    )


def _saved_plan(
    path: Path, spec_paths: Sequence[Path], target: Target, errors: Console
) -> tuple[Plan, SpecSet, list[str]]:
    """A saved plan (only the appliances chosen with ``--appliance``, when any) with the specs
    (for the inventory) at ``spec_paths``, or else at the paths it recorded (relative ones
    resolve from the current directory); its adoptions consented to with ``--adopt``."""
    from lmctl.plan.planfile import load_plan, moved_appliances

    plan = _narrowed(load_plan(path), target.appliances, path)
    _consented(plan, target.adopt, path, errors)
    recorded = tuple(Path(p) for p in plan.spec_paths)
    try:
        spec_set = load_reporting(tuple(spec_paths) or recorded, errors)
    except CommandError:
        if spec_paths:
            raise
        raise CommandError(
            f"the spec paths {path} recorded ({', '.join(map(str, recorded))}) cannot be used "
            "(see above); nothing was read or written; run from the directory the plan was "
            f"made in, or name the specs after the plan file: lmctl apply {path} PATH ..."
        ) from None
    moved = moved_appliances(plan, _urls(spec_set))
    if moved:
        for problem in moved:
            errors.print(f"moved: {one_line(problem)}")
        raise CommandError(
            f"{path} was planned against other appliances than the inventory names now (see "
            "above); nothing was read or written; make a new plan"
        )
    # The verdict under this inventory's thresholds (a saved plan's own is never trusted).
    plan = plan.checked(spec_set.inventory.safety.bulk_removal)
    if spec_set.digest != plan.specs_digest:
        errors.print(
            f"warning: the specs changed since {one_line(str(path))} was made; applying the plan "
            "as saved",
        )
    return plan, spec_set, appliance_names(spec_set, [a.name for a in plan.appliances])


async def _still_to_apply(
    plan: Plan,
    source: Path,
    appliances: Mapping[str, Appliance],
    spec_set: SpecSet,
    errors: Console,
) -> bool:
    """False when the appliances already hold what the saved plan makes; raises when it is
    stale, or when a change would write to what its array does not own there now."""
    from lmctl.appliance.base import observe_all
    from lmctl.appliance.changes import counted
    from lmctl.exchange import expand_all
    from lmctl.plan.ownership import not_owned
    from lmctl.plan.planfile import already_applied, stale_objects

    observed = await observe_all(appliances)
    stale = stale_objects(plan, observed)
    if stale and already_applied(plan, observed):
        return False
    for drift in stale:
        errors.print(f"drifted: {one_line(str(drift))}")
    if stale:
        raise CommandError(
            f"{source} is stale: the objects above changed since it was planned; "
            "nothing was written; make a new plan"
        )
    # The plan's record matches what was read, and is its own claim: whose each object is,
    # is checked on what was read.
    refused = not_owned(plan, observed, expand_all(spec_set))
    for change in refused:
        errors.print(f"not owned: {one_line(str(change))}")
    if refused:
        raise CommandError(
            f"{source} would write to what its changes' arrays do not own on the appliances "
            "now, to a VS that holds or shares what lmctl does not own, or adopt what the specs "
            f"do not want ({counted(len(refused), 'change')} above); nothing was written; make "
            "a new plan"
        )
    return True


def _gate(plan: Plan, request: ApplyRequest, console: Console, errors: Console) -> ExitCode | None:
    """Show the plan; the exit code when apply stops here, None to go on writing (raises when
    the plan may not be applied)."""
    _print_plan(plan, "text", console, request.waivers)
    _verdict(plan, request.waivers, detailed=False)
    if not plan.has_changes:
        console.print("Nothing to apply.")
        return ExitCode.OK
    return None if _confirmed(plan, request, errors) else ExitCode.ERROR


@dataclass
class ApplyStage:
    """How far ``apply`` got: after ``writing`` is set, Ctrl-C may have left writes made."""

    writing: bool = False


async def _apply(
    source: Path | None, target: Target, request: ApplyRequest, stage: ApplyStage
) -> ExitCode:
    from lmctl.appliance.base import open_appliances
    from lmctl.apply.execute import ApplyOptions, apply_plan
    from lmctl.apply.report import render_report
    from lmctl.cli.certificates import check_certificates
    from lmctl.cli.progress import apply_progress
    from lmctl.plan.certificates import needed_by_changes

    console, errors = make_console(), make_console(stderr=True)
    if source is not None:
        spec_paths = tuple(p for p in target.paths if p != source)
        plan, spec_set, names = _saved_plan(source, spec_paths, target, errors)
    else:
        spec_set = load_reporting(target.paths, errors)
        adopting(spec_set, target.adopt)
        scope = _scope(target, spec_set)
        names = appliance_names(spec_set, target.appliances)
    async with open_appliances(
        spec_set, names, state_dir=target.state_dir, timeout=target.request_timeout
    ) as appliances:
        if source is None:
            plan = await _make_plan(spec_set, appliances, target, scope)
        elif not await _still_to_apply(plan, source, appliances, spec_set, errors):
            console.print(
                f"{one_line(str(source))}: plan already applied: nothing to do (the appliances "
                "already hold what it makes)",
            )
            return ExitCode.OK
        else:
            changes = {planned.name: planned.changes for planned in plan.appliances}
            await check_certificates(
                needed_by_changes(changes), appliances, spec_set, target.state_dir, source
            )
        stop = _gate(plan, request, console, errors)
        if stop is not None:
            return stop
        options = ApplyOptions(
            state_dir=target.state_dir,
            backup=request.backup,
            parallel=request.parallel,
            keep=spec_set.inventory.keep_backups(),
        )
        stage.writing = True
        with apply_progress(console) as sink:
            results = await apply_plan(plan, appliances, options, sink, only=names)
    console.print(render_report(results))
    return _apply_verdict(results)


def _plan_file(paths: Sequence[Path]) -> Path | None:
    """The saved plan among the paths, by content (wherever it is given), or None."""
    from lmctl.plan.planfile import looks_like_plan

    plans = [path for path in paths if looks_like_plan(path)]
    if len(plans) > 1:
        raise CommandError(
            f"more than one saved plan given ({', '.join(map(str, plans))}); apply one at a time"
        )
    return plans[0] if plans else None


@app.command(
    "apply",
    help="Make the appliances match the specs (or apply a saved plan file).\n\n"
    "Plans, shows the plan, asks for confirmation (--auto-approve in pipelines; without a "
    "terminal and without it, apply refuses), then per appliance: takes the apply lock, checks "
    "that nothing changed since the plan read it, saves a backup under "
    "<state-dir>/backups/ (--no-backup to skip), writes in make-before-break order and reads "
    "again to report any difference left. Appliances are applied concurrently (--parallel).\n\n"
    "A saved plan (apply FILE) records no waiver: --allow RULE and --force are given again, "
    "and --adopt ARRAY for each array it adopts for (one with adoptions is refused without "
    "it, before anything is read). It writes only to what its arrays own when applied, never "
    "to a VS holding what lmctl does not own, never deletes or moves a VS it adopts.\n\n"
    + _APPLY_EXIT_CODES,
)
def apply_command(
    paths: ApplyPaths = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking (for pipelines).")
    ] = False,
    force: ForceOption = False,
    allow: AllowOption = None,
    adopt: AdoptOption = None,
    no_backup: Annotated[
        bool, typer.Option("--no-backup", help="Do not save a backup before the first write.")
    ] = False,
    parallel: Annotated[
        int,
        typer.Option("--parallel", metavar="N", min=1, help="Appliances applied at the same time."),
    ] = 8,
    appliance: ApplianceOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """``lmctl apply [PATH ...]`` or ``lmctl apply PLANFILE [PATH ...]``."""
    import asyncio

    target = Target(
        tuple(paths or ()), tuple(appliance or ()), state_dir, request_timeout, tuple(adopt or ())
    )
    request = ApplyRequest(
        auto_approve=auto_approve,
        waivers=Waivers(force, frozenset(allow or ())),
        backup=not no_backup,
        parallel=parallel,
    )
    if not request.auto_approve and not can_ask():
        raise CommandError(
            "refusing to apply without confirmation: there is no terminal to ask on; "
            "review the plan (lmctl plan) and pass --auto-approve in pipelines"
        )
    errors = make_console(stderr=True)
    stage = ApplyStage()
    try:
        # ``apply PLANFILE [SPEC PATH ...]``: the spec paths only locate the inventory.
        source = _plan_file(target.paths)
        code = asyncio.run(_apply(source, target, request, stage))
    except KeyboardInterrupt:
        if not stage.writing:
            errors.print("apply interrupted: nothing was written")
        else:
            errors.print(
                "apply interrupted: the writes shown as ok were made; one in flight may or may "
                "not have been; the apply locks are released; run `lmctl plan` to see what is "
                "left, or `lmctl apply` again to converge",
            )
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    raise typer.Exit(int(code))
