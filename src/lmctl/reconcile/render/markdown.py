"""The plan as a merge-request comment: a summary, then a ``diff`` block per appliance."""

from __future__ import annotations

from lmctl.reconcile.plan import Plan
from lmctl.reconcile.render.outline import appliance_lines, blocks_heading, conflicts_note
from lmctl.reconcile.scope import scope_line


def render_markdown(plan: Plan, *, force: bool = False) -> str:
    """Markdown for GitHub/GitLab: the ``diff`` blocks colour added and removed lines."""
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
        out += [f"### :no_entry: {blocks_heading(force).replace('--force', '`--force`')}", ""]
        out += [f"- {v.message} (`{v.rule}`)" for v in plan.violations]
        out.append("")
    if plan.conflicts:
        out += [f"**{conflicts_note(plan)}**", ""]
    for appliance in plan.appliances:
        lines = list(appliance_lines(appliance))
        if not lines:
            continue
        out += [f"### {appliance.name}", "", appliance.summary.line(), "", "```diff"]
        out += [f"{line.sign} {'  ' * (line.depth - 1)}{line.text}" for line in lines]
        out += ["```", ""]
    if not plan.has_changes and not plan.conflicts:
        out += ["No changes: the appliances match the specs.", ""]
    return "\n".join(out)
