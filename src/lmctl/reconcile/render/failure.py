"""A failed ``lmctl plan`` for machines and merge requests: the error on stdout, not silence.

A CI job that posts ``plan.md`` or parses ``plan.json`` must get something it can show; the
human message still goes to stderr.
"""

from __future__ import annotations

from lmctl.reconcile.plan import PlanFailure

_WHAT: dict[str, str] = {
    "specs": "the specs have errors",
    "usage": "the command line cannot be used as given",
    "appliance": "an appliance cannot be opened (credentials, certificate, inventory)",
    "read": "an appliance cannot be read",
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
        f"**No plan was made: {_WHAT[error.kind]}.** Nothing was written.",
        "",
        "```text",
        *error.details,
        f"error: {error.message}",
        "```",
        "",
        f"Exit code {failure.exit_code} (lmctl {failure.lmctl_version}).",
        "",
    ]
    return "\n".join(out)
