"""Saved plans (``lmctl plan --out FILE``, ``lmctl apply FILE``): JSON, versioned, no secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import ValidationError

from lmctl.errors import LmctlError
from lmctl.reconcile.plan import PLAN_FAILURE_KIND, PLAN_FORMAT_VERSION, PLAN_KIND, Plan
from lmctl.reconcile.safety import check_safety


class PlanFileError(LmctlError, ValueError):
    """A file given as a saved plan that cannot be used as one."""


def save_plan(plan: Plan, path: Path) -> None:
    """Write the plan atomically (a crash never leaves half a plan behind); ``PlanFileError``
    when it cannot be written (no partial file is left)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(plan.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise PlanFileError(f"cannot save the plan to {path}: {error.strerror or error}") from error


def looks_like_plan(path: Path) -> bool:
    """True for a JSON file whose ``kind`` says it is a saved lmctl plan (not a spec)."""
    if not path.is_file() or path.suffix.lower() in {".yaml", ".yml"}:
        return False
    try:
        with path.open("rb") as stream:
            head = stream.read(4096).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and PLAN_KIND.encode() in head


def load_plan(path: Path) -> Plan:
    """Read a saved plan, refusing another format version with a clear message."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PlanFileError(f"{path}: not a readable plan file ({error})") from error
    if isinstance(document, dict) and document.get("kind") == PLAN_FAILURE_KIND:
        message = (document.get("error") or {}).get("message", "no message")
        raise PlanFileError(
            f"{path} is the output of a failed lmctl plan ({message}): it holds no plan to "
            "apply; fix that, then plan again"
        )
    if not isinstance(document, dict) or document.get("kind") != PLAN_KIND:
        raise PlanFileError(f'{path}: not an lmctl plan (no "kind": "{PLAN_KIND}")')
    version = document.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path}: plan format_version {version!r}; this lmctl reads version "
            f"{PLAN_FORMAT_VERSION}: make the plan again with this lmctl"
        )
    try:
        plan = Plan.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise PlanFileError(f"{path}: invalid plan at {where}: {first['msg']}") from error
    # The verdict is this lmctl's, not the file's: an old or hand-edited plan skips no rule.
    violations = tuple(v for a in plan.appliances for v in check_safety(a))
    return plan.model_copy(update={"violations": violations})
