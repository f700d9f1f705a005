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
- what it is: a document that does not load (nested too deeply, a field a change cannot write,
  one written twice, an appliance listed twice) is one clean error (``load_plan``);
- whose objects it writes: every change is checked against what the appliance holds when it
  is applied, not against the plan's own record (``lmctl.plan.ownership``);
- its safety verdict is this lmctl's, made again when it is loaded (``load_plan``) and under
  the inventory's thresholds when it is applied; a plan records no waiver: ``--allow RULE``
  and ``--force`` are given again to ``apply FILE``, and so is ``--adopt ARRAY`` for each
  array it adopts for (``lmctl.plan.ownership.unconsented``).
The document's JSON Schema (``plan_json_schema``) is published by ``lmctl schema --kind plan``
and committed as ``docs/schema/plan.schema.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, assert_never, get_type_hints
from urllib.parse import urlsplit, urlunsplit

from pydantic import TypeAdapter, ValidationError

from lmctl.appliance.changes import (
    AddRealServer,
    AdoptVirtualService,
    AssignContentRule,
    Change,
    CreateContentRule,
    CreateSubService,
    CreateVirtualService,
    DeleteContentRule,
    DeleteSubService,
    DeleteVirtualService,
    FieldValue,
    RemoveRealServer,
    UnassignContentRule,
    UpdateContentRule,
    UpdateRealServer,
    UpdateSubService,
    UpdateVirtualService,
    write_label,
)
from lmctl.appliance.loadmaster import REAL_SERVER_PARAMS
from lmctl.appliance.state import (
    ApplianceState,
    Drift,
    RealServerState,
    compare,
)
from lmctl.errors import LmctlError
from lmctl.loadmaster.models import MANAGED_VS_FIELDS, VirtualServiceSettings
from lmctl.plan.document import PLAN_FAILURE_KIND, PLAN_FORMAT_VERSION, PLAN_KIND, Plan, PlanFailure
from lmctl.plan.simulate import SimulationError, simulate
from lmctl.specs.loader import SCHEMA_DIALECT
from lmctl.text import excerpt, one_line, quoted_name

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
            # A Windows editor may have saved it with a UTF-8 byte order mark.
            head = stream.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    except OSError:
        return False
    return head.startswith(b"{") and PLAN_KIND.encode() in head


def load_plan(path: Path) -> Plan:
    """Read a saved plan, refusing another format version with a clear message, and one whose
    changes do not run on the state it recorded or cannot be written as they stand (edited or
    damaged); its safety verdict is made again. Whatever is wrong with the document is a
    ``PlanFileError``, never another exception."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise PlanFileError(f"{path}: not a readable plan file ({error})") from error
    try:
        return _loaded(path, text)
    except PlanFileError:
        raise
    except RecursionError:
        problem = "nested too deeply"
    except (TypeError, ValueError, KeyError, AttributeError) as error:
        problem = excerpt(str(error) or type(error).__name__)
    raise PlanFileError(
        f"{path}: not a usable plan ({problem}): it was edited or damaged; nothing was read or "
        "written; make a new plan"
    )


def _loaded(path: Path, text: str) -> Plan:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanFileError(f"{path}: not a readable plan file ({error})") from error
    if isinstance(document, dict) and document.get("kind") == PLAN_FAILURE_KIND:
        message = (document.get("error") or {}).get("message", "no message")
        raise PlanFileError(
            f"{path} is the output of a failed lmctl plan ({one_line(str(message))}): it holds "
            "no plan to apply; fix that, then plan again"
        )
    if not isinstance(document, dict) or document.get("kind") != PLAN_KIND:
        raise PlanFileError(f'{path}: not an lmctl plan (no "kind": "{PLAN_KIND}")')
    version = document.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"{path}: plan format_version {one_line(repr(version))}; this lmctl reads version "
            f"{PLAN_FORMAT_VERSION}: make the plan again with this lmctl"
        )
    try:
        plan = Plan.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = one_line(".".join(str(part) for part in first["loc"]))
        raise PlanFileError(f"{path}: invalid plan at {where}: {one_line(first['msg'])}") from None
    problem = _malformed(plan)
    if problem is not None:
        raise PlanFileError(
            f"{path}: {problem}: it was edited or damaged; nothing was read or written; make a "
            "new plan"
        )
    for appliance in plan.appliances:
        try:
            simulate(appliance.observed_state(), appliance.changes)
        except SimulationError as error:
            raise PlanFileError(
                f"{path}: its changes for {appliance.name} do not run on the state it recorded "
                f"({error}): it was edited or damaged; nothing was read or written; make a new plan"
            ) from None
    return plan.checked()


# The fields each kind of change writes, as the appliance layer turns them into parameters:
# a VS's or SubVS's managed settings (``modvs``), a member's (``modrs``); a content rule's are
# shown only (``modrule`` sends the rule's whole definition), each the change's own value.
_RULE_FIELDS = {"pattern": "pattern", "matchtype": "match_type", "nocase": "nocase"}
_SETTINGS = TypeAdapter(VirtualServiceSettings)
_MEMBER_TYPES = {
    name: TypeAdapter(kind)
    for name, kind in get_type_hints(RealServerState).items()
    if name in REAL_SERVER_PARAMS
}


def _malformed(plan: Plan) -> str | None:
    """What makes ``plan`` unfit to apply as it stands, though its schema holds (None:
    nothing): an appliance listed twice, or a change whose fields it cannot write as listed."""
    seen: set[str] = set()
    for appliance in plan.appliances:
        if appliance.name in seen:
            return f"the appliance {quoted_name(appliance.name)} is listed twice"
        seen.add(appliance.name)
        for change in appliance.changes:
            problem = _unwritable(change)
            if problem is not None:
                return f"{appliance.name}: {write_label(change)}: {problem}"
    return None


def _unwritable(change: Change) -> str | None:
    """Why the fields of ``change`` cannot be written as listed (None: they can): a field its
    kind does not write, one listed twice (the check would read one value, the write send
    another), or a value the field does not take."""
    match change:
        case UpdateVirtualService() | AdoptVirtualService() | UpdateSubService():
            fields, known = change.fields, MANAGED_VS_FIELDS
        case UpdateRealServer():
            fields, known = change.fields, tuple(REAL_SERVER_PARAMS)
        case UpdateContentRule():
            fields, known = change.fields, tuple(_RULE_FIELDS)
        case (
            CreateVirtualService()
            | DeleteVirtualService()
            | AddRealServer()
            | RemoveRealServer()
            | CreateSubService()
            | DeleteSubService()
            | CreateContentRule()
            | DeleteContentRule()
            | AssignContentRule()
            | UnassignContentRule()
        ):
            return None
        case _:
            assert_never(change)
    names = [f.field for f in fields]
    unknown = [name for name in names if name not in known]
    if unknown:
        return (
            f"no field {quoted_name(unknown[0])} for {change.action} (it writes {', '.join(known)})"
        )
    repeated = next((name for name in names if names.count(name) > 1), None)
    if repeated is not None:
        return f"the field {repeated} is listed {names.count(repeated)} times"
    return _invalid_values(change, {f.field: f.new for f in fields})


def _invalid_values(change: Change, new: dict[str, FieldValue]) -> str | None:
    """Why the values ``change`` writes are not what its fields take (None: they are)."""
    match change:
        case UpdateVirtualService() | AdoptVirtualService() | UpdateSubService():
            return _invalid(_SETTINGS, new)
        case UpdateRealServer():
            # Of the type a member holds, exactly (a flag is no number, a port no text).
            for name, value in new.items():
                problem = _invalid(_MEMBER_TYPES[name], value, strict=True)
                if problem is not None:
                    return f"{name}: {problem}"
            return None
        case UpdateContentRule():
            for name, value in new.items():
                if value != getattr(change, _RULE_FIELDS[name]):
                    return f"its {name} is not the rule's own ({excerpt(repr(value))})"
            return None
        case _:
            return None


def _invalid(adapter: TypeAdapter[Any], value: object, *, strict: bool = False) -> str | None:
    """Why ``adapter`` refuses ``value``, in one line (None: it takes it)."""
    try:
        adapter.validate_python(value, strict=strict)
    except ValidationError as error:
        first = error.errors()[0]
        where = "".join(f"{part}: " for part in first["loc"])
        return excerpt(f"{where}{first['msg']}")
    return None


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
