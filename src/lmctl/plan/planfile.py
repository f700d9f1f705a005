"""Saved plans (``lmctl plan --out FILE``, ``lmctl apply FILE``): JSON, versioned, no secrets.

Between ``plan --out`` and ``apply FILE`` much can change, and a saved plan is applied only while
it still holds:
- where it is saved: never over an input, nor where specs are read (``out_conflict``), and only
  where it can be written (``out_unwritable``), both checked before any appliance is read;
- which box it was made for: each appliance's URL is recorded without credentials
  (``with_urls``); if the inventory now names another URL, the plan's writes (planned against
  the old box's state) must not go to the new one (``moved_appliances``);
- what it was planned against: every object it touches must still be as read (``stale_objects``)
  unless the appliances already hold what it makes (``already_applied``), and its changes must
  run on the state it recorded (``load_plan``);
- its safety verdict is this lmctl's, made again when it is loaded (``load_plan``) and under
  the inventory's thresholds when it is applied; a plan records no waiver: ``--allow RULE``
  and ``--force`` are given again to ``apply FILE``.
The document's JSON Schema (``plan_json_schema``) is published by ``lmctl schema --kind plan``
and committed as ``docs/schema/plan.schema.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import TypeAdapter, ValidationError

from lmctl.appliance.state import ApplianceState, Drift, compare
from lmctl.errors import LmctlError
from lmctl.plan.document import PLAN_FAILURE_KIND, PLAN_FORMAT_VERSION, PLAN_KIND, Plan, PlanFailure
from lmctl.plan.simulate import SimulationError, simulate
from lmctl.specs.loader import SCHEMA_DIALECT

SCHEMA_TITLE = "lmctl plan document (plan --format json, plan --out), format_version 1"

_SPEC_SUFFIXES = frozenset({".yaml", ".yml"})


class PlanFileError(LmctlError, ValueError):
    """A file given as a saved plan that cannot be used as one."""


def plan_json_schema() -> dict[str, Any]:
    """The schema of the plan document: a plan, or the failure printed instead of one."""
    schema = TypeAdapter(Plan | PlanFailure).json_schema(mode="serialization")
    return {"$schema": SCHEMA_DIALECT, **schema, "title": SCHEMA_TITLE}


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
    if not path.is_file() or path.suffix.lower() in _SPEC_SUFFIXES:
        return False
    try:
        with path.open("rb") as stream:
            head = stream.read(4096).lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and PLAN_KIND.encode() in head


def load_plan(path: Path) -> Plan:
    """Read a saved plan, refusing another format version with a clear message, and one whose
    changes do not run on the state it recorded (edited or damaged); its safety verdict is made
    again."""
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
    for appliance in plan.appliances:
        try:
            simulate(appliance.observed_state(), appliance.changes)
        except SimulationError as error:
            raise PlanFileError(
                f"{path}: its changes for {appliance.name} do not run on the state it recorded "
                f"({error}): it was edited or damaged; nothing was read or written; make a new plan"
            ) from None
    return plan.checked()


def out_conflict(out: Path, spec_files: Iterable[Path], spec_paths: Iterable[Path]) -> str | None:
    """Why ``out`` may not receive the plan (None when it may).

    Refused: any spec file or inventory that was loaded, any path inside a spec directory
    given (keep plans out of the specs), and a ``*.yaml``/``*.yml`` path next to a spec file
    given (a plan of that directory would read it as a spec).
    """
    target = out.resolve()
    for spec in spec_files:
        if spec.resolve() == target:
            return (
                f"--out {out} is one of the specs read ({spec}); saving the plan there would "
                "replace it: choose another file, e.g. --out plan.json"
            )
    spec_paths = list(spec_paths)
    for directory in spec_paths:
        if directory.is_dir() and target.is_relative_to(directory.resolve()):
            return (
                f"--out {out} is inside the spec directory {directory}; the next plan would "
                "read the plan file there as a spec: save it outside, e.g. --out plan.json"
            )
    for spec in spec_paths:
        beside = spec.is_file() and target.parent == spec.resolve().parent
        if beside and target.suffix.lower() in _SPEC_SUFFIXES:
            return (
                f"--out {out} is a YAML file next to the spec {spec}; a plan of that directory "
                "would read it as a spec: save the plan as JSON elsewhere, e.g. --out plan.json"
            )
    return None


def out_unwritable(out: Path) -> str | None:
    """Why the plan cannot be saved at ``out`` (None when it can): ``out`` is a directory, or
    its directory (or the nearest existing parent, the rest is created) is not a writable
    directory."""
    if out.is_dir():
        return f"--out {out} is a directory: name a file, e.g. --out {out / 'plan.json'}"
    existing = out.absolute().parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"--out {out}: {existing} is not a directory"
    denied = out if out.exists() else existing
    if not os.access(denied, os.W_OK | (os.X_OK if denied.is_dir() else 0)):
        return f"--out {out}: not writable (permission denied on {denied})"
    return None


def public_url(url: str) -> str:
    """``url`` without user name, password, query or fragment (nothing secret goes in a plan)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def with_urls(plan: Plan, urls: Mapping[str, str]) -> Plan:
    """The plan with each appliance's URL (as ``public_url``) recorded."""
    appliances = tuple(
        a.model_copy(update={"url": public_url(urls[a.name])}) if a.name in urls else a
        for a in plan.appliances
    )
    return plan.model_copy(update={"appliances": appliances})


def moved_appliances(plan: Plan, urls: Mapping[str, str]) -> list[str]:
    """Why each appliance of a saved plan may not be written through ``urls`` (the inventory's
    URLs now): its URL changed, or the plan recorded none."""
    problems = []
    for appliance in plan.appliances:
        now = public_url(urls[appliance.name]) if appliance.name in urls else None
        if appliance.url is None:
            problems.append(
                f"{appliance.name}: the plan records no URL for it (made by an older lmctl)"
            )
        elif now != appliance.url:
            problems.append(
                f"{appliance.name}: the plan was made for {appliance.url}, the inventory now "
                f"says {now or 'nothing'}"
            )
    return problems


def stale_objects(plan: Plan, observed: Mapping[str, ApplianceState]) -> list[Drift]:
    """Every touched object that is no longer as the saved plan read it."""
    drift: list[Drift] = []
    for appliance in plan.appliances:
        found = observed[appliance.name]
        drift += compare(appliance.name, appliance.touched, appliance.observed_state(), found)
    return drift


def already_applied(plan: Plan, observed: Mapping[str, ApplianceState]) -> bool:
    """True when the appliances already hold what applying ``plan`` would make (and it would
    change something): every touched object is as the plan's changes leave it."""
    if not plan.has_changes:
        return False
    for appliance in plan.appliances:
        expected = simulate(appliance.observed_state(), appliance.changes)
        if compare(appliance.name, appliance.touched, expected, observed[appliance.name]):
            return False
    return True
