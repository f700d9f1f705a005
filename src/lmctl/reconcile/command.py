"""``lmctl plan`` and ``lmctl apply`` end to end: specs → appliances → plan → output → apply.

Returns exit codes (``ExitCode``); prints through ``make_console`` (rich on a terminal, plain in
a pipe). Every user-facing failure is a message, never a traceback.
"""

from __future__ import annotations

import asyncio
import enum
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from lmctl.appliances import ApplianceUnavailableError, open_appliances
from lmctl.cli.console import make_console
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.models import VirtualService
from lmctl.reconcile.drift import Drift, compare
from lmctl.reconcile.execute import ApplianceResult, ApplyOptions, apply_plan
from lmctl.reconcile.plan import UNWAIVABLE_RULES, Plan
from lmctl.reconcile.planfile import PlanFileError, load_plan, looks_like_plan, save_plan
from lmctl.reconcile.planning import make_plan
from lmctl.reconcile.progress import progress_sink
from lmctl.reconcile.read import ReadError, read_appliances
from lmctl.reconcile.render import RENDERERS
from lmctl.reconcile.render.report import render_report
from lmctl.reconcile.state import appliance_state
from lmctl.specs import SpecError, SpecSet, load_specs

DEFAULT_SPECS = Path("arrays")


class ExitCode(enum.IntEnum):
    """What ``lmctl plan``/``apply`` exit with (documented in ``--help`` and docs)."""

    OK = 0
    ERROR = 1
    CHANGES = 2
    BLOCKED = 3
    PARTIAL = 4
    INTERRUPTED = 130


class CommandError(Exception):
    """A problem to report to the user as one message, exit 1."""


@dataclass(frozen=True)
class Target:
    """Where to work: spec paths, the appliances to consider, state directory, client timeout."""

    paths: tuple[Path, ...]
    appliances: tuple[str, ...] = ()
    state_dir: Path = Path(".lmctl")
    timeout: float = 10.0


def _load(paths: Sequence[Path], errors: Console) -> SpecSet:
    try:
        spec_set = load_specs(paths or [DEFAULT_SPECS])
    except SpecError as error:
        for diagnostic in error.diagnostics:
            errors.print(str(diagnostic), markup=False)
        raise CommandError(
            "the specs have errors (see above); nothing was read or written"
        ) from None
    for diagnostic in spec_set.diagnostics:
        errors.print(str(diagnostic), markup=False)
    return spec_set


def _names(spec_set: SpecSet, chosen: Sequence[str]) -> list[str]:
    known = list(spec_set.inventory.appliances)
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise CommandError(
            f"no appliance named {', '.join(unknown)} in the inventory (known: {', '.join(known)})"
        )
    return list(chosen) or known


async def _make_plan(
    spec_set: SpecSet, clients: Mapping[str, LoadMaster], paths: Sequence[Path]
) -> Plan:
    from lmctl.exchange import expand_all

    observed = await read_appliances(clients)
    return make_plan(
        expand_all(spec_set),
        observed,
        specs_digest=spec_set.digest,
        spec_paths=[str(p) for p in paths or [DEFAULT_SPECS]],
    )


def _plan_verdict(plan: Plan, *, force: bool, detailed: bool, errors: Console) -> ExitCode:
    if plan.conflicts:
        errors.print(
            f"error: {len(plan.conflicts)} conflict(s): a VS lmctl does not own holds an address "
            "the specs want (see the plan); lmctl never takes one over",
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
            f"error: blocked by {len(plan.violations)} safety rule(s) (see the plan); "
            "review it, then re-run with --force to allow it",
            markup=False,
        )
        return ExitCode.BLOCKED
    return ExitCode.CHANGES if plan.has_changes and detailed else ExitCode.OK


def _print_plan(plan: Plan, output: str, console: Console) -> None:
    rendered = RENDERERS[output](plan)
    if isinstance(rendered, str):
        console.out(rendered, highlight=False)
    else:
        console.print(rendered)


def run_plan(
    target: Target, *, output: str, out: Path | None, detailed: bool, force: bool
) -> ExitCode:
    """``lmctl plan``: print (and optionally save) the plan; the exit code says what it holds."""
    errors = make_console(stderr=True)

    async def plan_now() -> Plan:
        spec_set = _load(target.paths, errors)
        names = _names(spec_set, target.appliances)
        async with open_appliances(
            spec_set, names, state_dir=target.state_dir, timeout=target.timeout
        ) as clients:
            return await _make_plan(spec_set, clients, target.paths)

    try:
        plan = asyncio.run(plan_now())
    except (CommandError, ApplianceUnavailableError, ReadError) as error:
        errors.print(f"error: {error}", markup=False)
        return ExitCode.ERROR
    _print_plan(plan, output, make_console())
    if out is not None:
        save_plan(plan, out)
        errors.print(f"Plan saved to {out}", markup=False)
    return _plan_verdict(plan, force=force, detailed=detailed, errors=errors)


def stale_objects(plan: Plan, observed: Mapping[str, Sequence[VirtualService]]) -> list[Drift]:
    """Every touched object that is no longer as the saved plan read it."""
    drift: list[Drift] = []
    for appliance in plan.appliances:
        found = appliance_state(observed[appliance.name])
        keys = [t.key for t in appliance.observed]
        drift += compare(appliance.name, keys, appliance.observed_state(), found)
    return drift


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


def _confirmed(plan: Plan, request: ApplyRequest, errors: Console) -> bool:
    if request.auto_approve:
        return True
    writes, appliances = plan.summary.writes, sum(1 for a in plan.appliances if a.changes)
    if typer.confirm(f"Apply these {writes} writes to {appliances} appliance(s)?", default=False):
        return True
    errors.print("Apply cancelled: nothing was written.", markup=False)
    return False


def _apply_verdict(results: Sequence[ApplianceResult]) -> ExitCode:
    """0 all applied; 4 a write failed or only part was done; 1 refused before any write."""
    if all(result.ok for result in results):
        return ExitCode.OK
    if any(result.done or result.failed is not None for result in results):
        return ExitCode.PARTIAL
    return ExitCode.ERROR


def _saved_plan(
    path: Path, spec_paths: Sequence[Path], errors: Console
) -> tuple[Plan, SpecSet, list[str]]:
    """A saved plan with the specs (for the inventory) at ``spec_paths``, or else at the paths
    it recorded (relative ones resolve from the current directory)."""
    try:
        plan = load_plan(path)
    except PlanFileError as error:
        raise CommandError(str(error)) from None
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
    if spec_set.digest != plan.specs_digest:
        errors.print(
            f"warning: the specs changed since {path} was made; applying the plan as saved",
            markup=False,
        )
    return plan, spec_set, _names(spec_set, [a.name for a in plan.appliances])


async def _refuse_if_stale(
    plan: Plan, source: Path, clients: Mapping[str, LoadMaster], errors: Console
) -> None:
    stale = stale_objects(plan, await read_appliances(clients))
    for drift in stale:
        errors.print(f"drifted: {drift}", markup=False)
    if stale:
        raise CommandError(
            f"{source} is stale: the objects above changed since it was planned; "
            "nothing was written; make a new plan"
        )


def _gate(plan: Plan, request: ApplyRequest, console: Console, errors: Console) -> ExitCode | None:
    """Show the plan; the exit code when apply stops here, None to go on writing."""
    _print_plan(plan, "text", console)
    verdict = _plan_verdict(plan, force=request.force, detailed=False, errors=errors)
    if verdict is not ExitCode.OK:
        return verdict
    if not plan.has_changes:
        console.print("Nothing to apply.", markup=False)
        return ExitCode.OK
    return None if _confirmed(plan, request, errors) else ExitCode.ERROR


async def _apply(source: Path | None, target: Target, request: ApplyRequest) -> ExitCode:
    console, errors = make_console(), make_console(stderr=True)
    if source is not None:
        plan, spec_set, names = _saved_plan(source, target.paths[1:], errors)
    else:
        spec_set = _load(target.paths, errors)
        names = _names(spec_set, target.appliances)
    async with open_appliances(
        spec_set, names, state_dir=target.state_dir, timeout=target.timeout
    ) as clients:
        if source is not None:
            await _refuse_if_stale(plan, source, clients, errors)
        else:
            plan = await _make_plan(spec_set, clients, target.paths)
        stop = _gate(plan, request, console, errors)
        if stop is not None:
            return stop
        options = ApplyOptions(
            state_dir=target.state_dir, backup=request.backup, parallel=request.parallel
        )
        with progress_sink(console) as sink:
            results = await apply_plan(plan, clients, options, sink)
    console.print(render_report(results))
    return _apply_verdict(results)


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
    # ``apply PLANFILE [SPEC PATH ...]``: the spec paths only locate the inventory.
    source = target.paths[0] if target.paths and looks_like_plan(target.paths[0]) else None
    try:
        return asyncio.run(_apply(source, target, request))
    except (CommandError, ApplianceUnavailableError, ReadError) as error:
        errors.print(f"error: {error}", markup=False)
        return ExitCode.ERROR
    except KeyboardInterrupt:
        errors.print(
            "apply interrupted: the writes shown as ok were made; one in flight may or may not "
            "have been; the apply locks are released; run `lmctl plan` to see what is left, "
            "or `lmctl apply` again to converge",
            markup=False,
        )
        return ExitCode.INTERRUPTED
