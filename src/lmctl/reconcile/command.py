"""``lmctl plan`` and ``lmctl apply`` end to end: specs → appliances → plan → output → apply.

Returns exit codes (``ExitCode``); prints through ``make_console`` (rich on a terminal, plain in
a pipe). Every user-facing failure is a message, never a traceback.
"""

from __future__ import annotations

import asyncio
import enum
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from lmctl import __version__, defaults
from lmctl.appliances import ApplianceUnavailableError, open_appliances
from lmctl.cli.console import make_console
from lmctl.cli.specload import INVALID_SPECS, load_spec_set
from lmctl.defaults import DEFAULT_SPECS, DEFAULT_STATE_DIR
from lmctl.loadmaster.client import LoadMaster
from lmctl.reconcile.execute import ApplianceResult, ApplyOptions, apply_plan
from lmctl.reconcile.origin import moved_appliances, with_urls
from lmctl.reconcile.outpath import out_conflict, out_unwritable
from lmctl.reconcile.plan import UNWAIVABLE_RULES, FailureDetail, FailureKind, Plan, PlanFailure
from lmctl.reconcile.planfile import PlanFileError, load_plan, looks_like_plan, save_plan
from lmctl.reconcile.planning import make_plan
from lmctl.reconcile.progress import progress_sink
from lmctl.reconcile.read import ReadError, read_appliances
from lmctl.reconcile.render import RENDERERS
from lmctl.reconcile.render.failure import render_failure_json, render_failure_markdown
from lmctl.reconcile.render.report import render_report
from lmctl.reconcile.scope import ArrayScope, plan_scope
from lmctl.reconcile.staleness import already_applied, stale_objects
from lmctl.reconcile.words import counted
from lmctl.specs import SpecError, SpecSet


class ExitCode(enum.IntEnum):
    """What ``lmctl plan``/``apply`` exit with (documented in ``--help`` and docs)."""

    OK = 0
    ERROR = 1
    CHANGES = 2
    BLOCKED = 3
    PARTIAL = 4
    INTERRUPTED = defaults.INTERRUPTED


class CommandError(Exception):
    """A problem to report to the user as one message, exit 1; ``kind`` says what failed and
    ``details`` carries the lines behind it (e.g. each spec error) for the error documents."""

    def __init__(
        self, message: str, kind: FailureKind = "usage", details: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.details = tuple(details)


@dataclass(frozen=True)
class Target:
    """Where to work: spec paths, the appliances to consider, state directory, and the
    seconds each API request may take."""

    paths: tuple[Path, ...]
    appliances: tuple[str, ...] = ()
    state_dir: Path = DEFAULT_STATE_DIR
    request_timeout: float = 10.0

    @property
    def spec_paths(self) -> tuple[Path, ...]:
        """The spec paths given, or the default ``arrays/``."""
        return self.paths or (DEFAULT_SPECS,)


def _load(paths: Sequence[Path], errors: Console) -> SpecSet:
    try:
        spec_set = load_spec_set(paths)
    except SpecError as error:
        for diagnostic in error.diagnostics:
            errors.print(str(diagnostic), markup=False)
        raise CommandError(
            INVALID_SPECS,
            kind="specs",
            details=[str(d) for d in error.diagnostics],
        ) from None
    for diagnostic in spec_set.diagnostics:
        errors.print(str(diagnostic), markup=False)
    return spec_set


def _names(spec_set: SpecSet, chosen: Sequence[str], scope: ArrayScope = None) -> list[str]:
    """The appliances to read: those chosen, else every one (or, for a narrowed scope, those
    that serve the arrays in it)."""
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


async def _make_plan(
    spec_set: SpecSet, clients: Mapping[str, LoadMaster], target: Target, scope: ArrayScope
) -> Plan:
    from lmctl.exchange import expand_all

    observed = await read_appliances(clients)
    plan = make_plan(
        expand_all(spec_set),
        observed,
        specs_digest=spec_set.digest,
        spec_paths=[str(p) for p in target.spec_paths],
        scope=scope,
    )
    return with_urls(plan, _inventory_urls(spec_set))


def _inventory_urls(spec_set: SpecSet) -> dict[str, str]:
    return {name: spec.url for name, spec in spec_set.inventory.appliances.items()}


def _scope(target: Target, spec_set: SpecSet) -> ArrayScope:
    return plan_scope(target.spec_paths, (a.name for a in spec_set.arrays))


def _plan_verdict(plan: Plan, *, force: bool, detailed: bool, errors: Console) -> ExitCode:
    if plan.conflicts:
        forced = " (--force does not change that)" if force else ""
        errors.print(
            f"error: {counted(len(plan.conflicts), 'conflict')}: an address the specs want is "
            "held by a VS this plan may not take (see the plan); lmctl never takes one over"
            f"{forced}; nothing was written",
            markup=False,
        )
        return ExitCode.ERROR
    if any(v.rule in UNWAIVABLE_RULES for v in plan.violations):
        errors.print(
            "error: the write order would leave a serving service without an enabled member "
            "(see the plan); refused even with --force; nothing was written",
            markup=False,
        )
        return ExitCode.ERROR
    if plan.violations and not force:
        errors.print(
            f"error: blocked by {counted(len(plan.violations), 'safety rule')} (see the plan); "
            "review it, then re-run with --force to allow it",
            markup=False,
        )
        return ExitCode.BLOCKED
    return ExitCode.CHANGES if plan.has_changes and detailed else ExitCode.OK


def _print_plan(plan: Plan, output: str, console: Console, *, force: bool) -> None:
    rendered = RENDERERS[output](plan, force=force)
    if isinstance(rendered, str):
        console.out(rendered, highlight=False)
    else:
        console.print(rendered)


def _print_failure(error: CommandError, output: str, console: Console) -> None:
    """On stdout for json/markdown, so a pipeline shows the failure rather than nothing."""
    if output == "text":
        return
    failure = PlanFailure(
        lmctl_version=__version__,
        error=FailureDetail(kind=error.kind, message=str(error), details=error.details),
        exit_code=int(ExitCode.ERROR),
    )
    render = render_failure_json if output == "json" else render_failure_markdown
    console.out(render(failure), highlight=False)


def _as_command_error(error: Exception) -> CommandError:
    if isinstance(error, CommandError):
        return error
    kind: FailureKind = "read" if isinstance(error, ReadError) else "appliance"
    return CommandError(str(error), kind=kind)


def _check_out(out: Path | None, spec_set: SpecSet, target: Target) -> None:
    if out is None:
        return
    problem = out_conflict(out, spec_set.files, target.spec_paths) or out_unwritable(out)
    if problem is not None:
        raise CommandError(f"{problem}; nothing was read or written")


def run_plan(
    target: Target, *, output: str, out: Path | None, detailed: bool, force: bool
) -> ExitCode:
    """``lmctl plan``: print (and optionally save) the plan; the exit code says what it holds."""
    errors = make_console(stderr=True)

    async def plan_now() -> Plan:
        spec_set = _load(target.paths, errors)
        _check_out(out, spec_set, target)
        scope = _scope(target, spec_set)
        names = _names(spec_set, target.appliances, scope)
        async with open_appliances(
            spec_set, names, state_dir=target.state_dir, timeout=target.request_timeout
        ) as clients:
            return await _make_plan(spec_set, clients, target, scope)

    try:
        plan = asyncio.run(plan_now())
    except (CommandError, ApplianceUnavailableError, ReadError) as error:
        failure = _as_command_error(error)
        errors.print(f"error: {failure}", markup=False)
        _print_failure(failure, output, make_console())
        return ExitCode.ERROR
    _print_plan(plan, output, make_console(), force=force)
    if out is not None:
        try:
            save_plan(plan, out)
        except PlanFileError as error:
            errors.print(f"error: {error}; nothing was written to the appliances", markup=False)
            return ExitCode.ERROR
        errors.print(f"Plan saved to {out}", markup=False)
    return _plan_verdict(plan, force=force, detailed=detailed, errors=errors)


@dataclass(frozen=True)
class ApplyRequest:
    """The flags of ``lmctl apply``."""

    auto_approve: bool = False
    force: bool = False
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
    if request.auto_approve:
        return True
    writes = counted(plan.summary.writes, "write")
    appliances = counted(sum(1 for a in plan.appliances if a.changes), "appliance")
    if _ask(f"Apply these {writes} to {appliances}?"):
        return True
    errors.print("Apply cancelled: nothing was written.", markup=False)
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
    return plan.model_copy(
        update={
            "appliances": tuple(a for a in plan.appliances if a.name in chosen),
            "violations": tuple(v for v in plan.violations if v.appliance in chosen),
        }
    )


def _saved_plan(
    path: Path, spec_paths: Sequence[Path], chosen: Sequence[str], errors: Console
) -> tuple[Plan, SpecSet, list[str]]:
    """A saved plan (only the ``chosen`` appliances, when any) with the specs (for the
    inventory) at ``spec_paths``, or else at the paths it recorded (relative ones resolve
    from the current directory)."""
    try:
        plan = _narrowed(load_plan(path), chosen, path)
    except PlanFileError as error:
        raise CommandError(str(error), kind="plan-file") from None
    recorded = tuple(Path(p) for p in plan.spec_paths)
    try:
        spec_set = _load(tuple(spec_paths) or recorded, errors)
    except CommandError:
        if spec_paths:
            raise
        raise CommandError(
            f"the spec paths {path} recorded ({', '.join(map(str, recorded))}) cannot be used "
            "(see above); nothing was read or written; run from the directory the plan was "
            f"made in, or name the specs after the plan file: lmctl apply {path} PATH ..."
        ) from None
    moved = moved_appliances(plan, _inventory_urls(spec_set))
    if moved:
        for problem in moved:
            errors.print(f"moved: {problem}", markup=False)
        raise CommandError(
            f"{path} was planned against other appliances than the inventory names now (see "
            "above); nothing was read or written; make a new plan"
        )
    if spec_set.digest != plan.specs_digest:
        errors.print(
            f"warning: the specs changed since {path} was made; applying the plan as saved",
            markup=False,
        )
    return plan, spec_set, _names(spec_set, [a.name for a in plan.appliances])


async def _check_saved_plan(
    plan: Plan, source: Path, clients: Mapping[str, LoadMaster], errors: Console
) -> bool:
    """False when the appliances already hold what the plan makes; raises when it is stale."""
    observed = await read_appliances(clients)
    stale = stale_objects(plan, observed)
    if not stale:
        return True
    if already_applied(plan, observed):
        return False
    for drift in stale:
        errors.print(f"drifted: {drift}", markup=False)
    raise CommandError(
        f"{source} is stale: the objects above changed since it was planned; "
        "nothing was written; make a new plan"
    )


def _gate(plan: Plan, request: ApplyRequest, console: Console, errors: Console) -> ExitCode | None:
    """Show the plan; the exit code when apply stops here, None to go on writing."""
    _print_plan(plan, "text", console, force=request.force)
    verdict = _plan_verdict(plan, force=request.force, detailed=False, errors=errors)
    if verdict is not ExitCode.OK:
        return verdict
    if not plan.has_changes:
        console.print("Nothing to apply.", markup=False)
        return ExitCode.OK
    return None if _confirmed(plan, request, errors) else ExitCode.ERROR


@dataclass
class ApplyStage:
    """How far ``apply`` got: after ``writing`` is set, Ctrl-C may have left writes made."""

    writing: bool = False


async def _apply(
    source: Path | None, target: Target, request: ApplyRequest, stage: ApplyStage
) -> ExitCode:
    console, errors = make_console(), make_console(stderr=True)
    if source is not None:
        spec_paths = tuple(p for p in target.paths if p != source)
        plan, spec_set, names = _saved_plan(source, spec_paths, target.appliances, errors)
    else:
        spec_set = _load(target.paths, errors)
        scope = _scope(target, spec_set)
        names = _names(spec_set, target.appliances, scope)
    async with open_appliances(
        spec_set, names, state_dir=target.state_dir, timeout=target.request_timeout
    ) as clients:
        if source is None:
            plan = await _make_plan(spec_set, clients, target, scope)
        elif not await _check_saved_plan(plan, source, clients, errors):
            console.print(
                f"{source}: plan already applied: nothing to do (the appliances already hold "
                "what it makes)",
                markup=False,
            )
            return ExitCode.OK
        stop = _gate(plan, request, console, errors)
        if stop is not None:
            return stop
        options = ApplyOptions(
            state_dir=target.state_dir, backup=request.backup, parallel=request.parallel
        )
        stage.writing = True
        with progress_sink(console) as sink:
            results = await apply_plan(plan, clients, options, sink, appliances=names)
    console.print(render_report(results))
    return _apply_verdict(results)


def _plan_file(paths: Sequence[Path]) -> Path | None:
    """The saved plan among the paths, by content (wherever it is given), or None."""
    plans = [path for path in paths if looks_like_plan(path)]
    if len(plans) > 1:
        raise CommandError(
            f"more than one saved plan given ({', '.join(map(str, plans))}); apply one at a time"
        )
    return plans[0] if plans else None


def run_apply(target: Target, request: ApplyRequest) -> ExitCode:
    """``lmctl apply [PATH ...]`` or ``lmctl apply PLANFILE [PATH ...]``."""
    errors = make_console(stderr=True)
    if not request.auto_approve and not can_ask():
        errors.print(
            "error: refusing to apply without confirmation: there is no terminal to ask on; "
            "review the plan (lmctl plan) and pass --auto-approve in pipelines",
            markup=False,
        )
        return ExitCode.ERROR
    stage = ApplyStage()
    try:
        # ``apply PLANFILE [SPEC PATH ...]``: the spec paths only locate the inventory.
        source = _plan_file(target.paths)
        return asyncio.run(_apply(source, target, request, stage))
    except (CommandError, ApplianceUnavailableError, ReadError) as error:
        errors.print(f"error: {error}", markup=False)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        if not stage.writing:
            errors.print("apply interrupted: nothing was written", markup=False)
            return ExitCode.INTERRUPTED
        errors.print(
            "apply interrupted: the writes shown as ok were made; one in flight may or may not "
            "have been; the apply locks are released; run `lmctl plan` to see what is left, "
            "or `lmctl apply` again to converge",
            markup=False,
        )
        return ExitCode.INTERRUPTED
