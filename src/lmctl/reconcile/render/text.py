"""The plan for a terminal (coloured by rich) or a pipe (plain text, same words)."""

from __future__ import annotations

from rich.text import Text

from lmctl.reconcile.plan import Plan
from lmctl.reconcile.render.outline import Sign, appliance_lines, blocks_heading, conflicts_note
from lmctl.reconcile.scope import scope_line

_STYLE: dict[Sign, str] = {"+": "green", "~": "yellow", "-": "red", "!": "bold magenta", " ": ""}


def render_text(plan: Plan, *, force: bool = False) -> Text:
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
            text.append(line.text + "\n", style=_STYLE[line.sign])
    if plan.violations:
        text.append(blocks_heading(force) + ":\n", style="bold red")
        for violation in plan.violations:
            text.append(f"  - {violation.message} [{violation.rule}]\n", style="red")
    if plan.conflicts:
        text.append(conflicts_note(plan) + "\n", style="bold red")
    if not plan.has_changes and not plan.conflicts:
        text.append("No changes: the appliances match the specs.\n", style="bold green")
    text.append(plan.summary.line(), style="bold")
    return text
