"""A plan for people and machines: text (coloured by rich on a terminal), JSON, Markdown, and the
failure document printed instead when no plan could be made.

Text and Markdown share one outline: appliance → array → service, each change on one line with
its sign (``+`` added, ``~`` changed, ``-`` removed, ``!`` attention: drained member, conflict)
and its details below it (one line per field, old → new). Every change words itself
(``headline``, ``details``), so a new kind of change needs nothing here.

Markdown goes into a merge-request comment: what lmctl did not write (names, an appliance's
messages) is held in code there (``lmctl.text``: code spans and a fence no line can close), so
it renders no heading, link, image or mention; every line of the outline is ``one_line``.

A renderer is any callable taking a ``Plan`` (and ``force`` and ``allow``: the waivers given,
``--force`` and each ``--allow RULE``, so blocked rules are described truthfully) and returning
what the console prints (a rich ``Text`` or a string). Register more in ``RENDERERS``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from rich.text import Text

from lmctl.appliance.changes import Change, Sign, counted
from lmctl.plan.document import AppliancePlan, Plan, PlanFailure
from lmctl.plan.match import Conflict, DrainedMember, scope_line
from lmctl.plan.safety import SafetyViolation, blocking
from lmctl.text import code_block, code_span, one_line

_STYLE: dict[Sign, str] = {"+": "green", "~": "yellow", "-": "red", "!": "bold magenta", " ": ""}

# The first character of a line in a ``diff`` block, as the forges' highlighters read it:
# GitHub's TextMate diff grammar colours ``+`` inserted, ``-`` deleted and ``!`` changed; GitLab's
# Rouge diff lexer ``+`` inserted, ``-`` deleted and ``!`` strong; neither knows ``~``. A change
# and an item for attention (conflict, drained member) both become ``!``: their words tell them
# apart.
_DIFF_SIGN: dict[Sign, str] = {"+": "+", "~": "!", "-": "-", "!": "!", " ": " "}


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the outline: its depth, its sign and its text."""

    depth: int
    sign: Sign
    text: str


Item = Change | Conflict | DrainedMember


def _drained_line(item: DrainedMember, depth: int, sub_services: Sequence[str] = ()) -> Line:
    where = f" in SubVS {', '.join(sub_services)}" if sub_services else ""
    return Line(
        depth,
        "!",
        f"drained: {item.member} {item.address}:{item.port} is disabled on the appliance"
        f"{where} and stays disabled (the spec does not set enable)",
    )


def _item_lines(item: Item, depth: int) -> list[Line]:
    match item:
        case Conflict():
            return [Line(depth, "!", f"conflict: {item.message}")]
        case DrainedMember():
            return [_drained_line(item, depth)]
        case _:
            sign, text = item.headline
            return [Line(depth, sign, text)] + [
                Line(depth + 2, detail_sign, detail) for detail_sign, detail in item.details
            ]


def _sub_service(item: Item) -> str | None:
    """The SubVS an item acts in (its marker), None for the VS itself."""
    match item:
        case Conflict() | DrainedMember():
            return None
        case _:
            return item.in_sub_service


def _nested(items: list[Item], depth: int) -> Iterator[Line]:
    """The service's own items, then each SubVS's under a line of its own (the per-protocol
    layout's parent shows its SubVSs nested)."""
    subs: dict[str, list[Item]] = {}
    # A member drained in SubVSs is drained in each: one line for it, naming them.
    drained: dict[tuple[str, str, int], list[DrainedMember]] = {}
    for item in items:
        if isinstance(item, DrainedMember) and item.sub_service is not None:
            drained.setdefault((item.member, item.address, item.port), []).append(item)
            continue
        sub = _sub_service(item)
        if sub is None:
            yield from _item_lines(item, depth)
        else:
            subs.setdefault(sub, []).append(item)
    for rows in drained.values():
        yield _drained_line(rows[0], depth, [row.sub_service or "" for row in rows])
    for sub, inside in subs.items():
        yield Line(depth, " ", f"SubVS {sub}")
        for item in inside:
            yield from _item_lines(item, depth + 1)


def _services(plan: AppliancePlan) -> dict[tuple[str, str], list[Item]]:
    """Every item by service, the services in the specs' order."""
    grouped: dict[tuple[str, str], list[Item]] = {}
    items: list[Item] = [*plan.conflicts, *plan.changes, *plan.drained]
    for item in items:
        grouped.setdefault((item.array, item.service), []).append(item)
    order = plan.spec_order()
    return dict(sorted(grouped.items(), key=lambda group: order.service(*group[0])))


def _service_key(items: list[Item]) -> str:
    """Where the service is once the plan has run (a move ends at its new key)."""
    changes = [item for item in items if not isinstance(item, Conflict | DrainedMember)]
    return str(changes[0].final_key if changes else items[0].key)


def appliance_lines(plan: AppliancePlan) -> Iterator[Line]:
    """The outline of one appliance's plan (nothing when it needs nothing)."""
    array = None
    for (array_name, service), items in _services(plan).items():
        if array_name != array:
            array = array_name
            yield Line(1, " ", f"array {array_name}")
        yield Line(2, " ", f"service {service} ({_service_key(items)})")
        yield from _nested(items, 3)


def blocks_heading(plan: Plan, force: bool, allow: Collection[str] = ()) -> str:
    """The heading over the safety rules a plan breaks, true to the waivers given."""
    if not blocking(plan.violations, force=force, allow=allow):
        return f"Safety rules broken (allowed by {'--force' if force else '--allow'})"
    return "Blocked by safety rules (apply needs --allow RULE for each rule below, or --force)"


def rule_note(violation: SafetyViolation, force: bool, allow: Collection[str]) -> str:
    """The rule's id, and whether the waivers given allow it."""
    waived = not blocking([violation], force=force, allow=allow)
    return f"{violation.rule}, allowed" if waived else violation.rule


def conflicts_note(plan: Plan) -> str:
    """Why a plan with conflicts cannot be applied, whatever the flags."""
    count = counted(len(plan.conflicts), "conflict")
    return (
        f"{count}: nothing can be applied until each is resolved "
        "(a conflict is never overridden, not even by --force)"
    )


def render_text(plan: Plan, *, force: bool = False, allow: Collection[str] = ()) -> Text:
    """appliance → array → service → changes, old → new per field, then the summary line."""
    text = Text()
    scope = scope_line(plan.scope)
    if scope is not None:
        text.append(scope + "\n", style="bold")
    for appliance in plan.appliances:
        lines = list(appliance_lines(appliance))
        if not lines:
            continue
        text.append(f"Appliance {appliance.name}", style="bold")
        text.append(f"  ({appliance.summary.line()})\n")
        for line in lines:
            text.append("  " * line.depth + (f"{line.sign} " if line.sign != " " else ""))
            text.append(one_line(line.text) + "\n", style=_STYLE[line.sign])
    if plan.violations:
        text.append(blocks_heading(plan, force, allow) + ":\n", style="bold red")
        for v in plan.violations:
            text.append(f"  - {one_line(v.message)} [{rule_note(v, force, allow)}]\n", style="red")
    if plan.conflicts:
        text.append(conflicts_note(plan) + "\n", style="bold red")
    if not plan.has_changes and not plan.conflicts:
        text.append("No changes: the appliances match the specs.\n", style="bold green")
    text.append(plan.summary.line(), style="bold")
    return text


def render_json(plan: Plan, *, force: bool = False, allow: Collection[str] = ()) -> str:
    """The plan as JSON: exactly what ``--out`` saves (``format_version`` 1)."""
    return plan.model_dump_json(indent=2)


def render_markdown(plan: Plan, *, force: bool = False, allow: Collection[str] = ()) -> str:
    """Markdown for a merge request (GitHub/GitLab): a summary, then a ``diff`` block per
    appliance, whose added, removed and changed lines the forge colours (``_DIFF_SIGN``)."""
    out = [
        "## lmctl plan",
        "",
        f"**{plan.summary.line()}**",
        "",
        f"Specs `{plan.specs_digest}`, planned {plan.created_at:%Y-%m-%d %H:%M:%S} UTC "
        f"by lmctl {plan.lmctl_version}.",
        "",
    ]
    scope = scope_line(plan.scope)
    if scope is not None:
        out += [f"_{scope}_", ""]
    if plan.violations:
        heading = re.sub(
            r"--(force|allow RULE|allow)", r"`\g<0>`", blocks_heading(plan, force, allow)
        )
        out += [f"### :no_entry: {heading}", ""]
        out += [
            f"- {code_span(v.message)} (`{rule_note(v, force, allow)}`)" for v in plan.violations
        ]
        out.append("")
    if plan.conflicts:
        out += [f"**{conflicts_note(plan)}**", ""]
    for appliance in plan.appliances:
        lines = list(appliance_lines(appliance))
        if not lines:
            continue
        out += [f"### {code_span(appliance.name)}", "", appliance.summary.line(), ""]
        diff = [f"{_DIFF_SIGN[line.sign]} {'  ' * (line.depth - 1)}{line.text}" for line in lines]
        out += [*code_block(diff, "diff"), ""]
    if not plan.has_changes and not plan.conflicts:
        out += ["No changes: the appliances match the specs.", ""]
    return "\n".join(out)


class PlanRenderer(Protocol):
    """Renders a plan for the console."""

    def __call__(
        self, plan: Plan, *, force: bool = False, allow: Collection[str] = ()
    ) -> Text | str: ...


RENDERERS: dict[str, PlanRenderer] = {
    "text": render_text,
    "json": render_json,
    "markdown": render_markdown,
}

# A failed ``lmctl plan`` for machines and merge requests: a CI job that posts ``plan.md`` or
# parses ``plan.json`` must get something it can show (the message also goes to stderr).
_WHAT_FAILED: dict[str, str] = {
    "specs": "the specs have errors",
    "usage": "the command line cannot be used as given",
    "appliance": (
        "an appliance cannot be opened (credentials, its API's TLS certificate, inventory)"
    ),
    "read": "an appliance cannot be read",
    "certificate": "a TLS certificate a virtual service needs is not installed on its appliance",
    "plan-file": "the plan file cannot be used",
}


def render_failure_json(failure: PlanFailure) -> str:
    """The failure document (``kind`` ``lmctl-plan-failure``, schema in ``docs/schema``)."""
    return failure.model_dump_json(indent=2)


def render_failure_markdown(failure: PlanFailure) -> str:
    """A short Markdown section: what failed, the message (and details), the exit code."""
    error = failure.error
    out = [
        "## lmctl plan: failed",
        "",
        f"**No plan was made: {_WHAT_FAILED[error.kind]}.** Nothing was written.",
        "",
        *code_block([*error.details, f"error: {error.message}"], "text"),
        "",
        f"Exit code {failure.exit_code} (lmctl {failure.lmctl_version}).",
        "",
    ]
    return "\n".join(out)


FAILURE_RENDERERS = {"json": render_failure_json, "markdown": render_failure_markdown}
