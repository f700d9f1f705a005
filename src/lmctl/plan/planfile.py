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
- whose objects it writes: the plan's own record of what it read (``observed``) is no proof, as
  a hand-edited plan can record a foreign VS as lmctl's; every change is checked against what
  the appliance holds when it is applied (``not_owned``): a VS, SubVS or content rule it writes
  must carry the marker of the change's own array and service, a VS it creates (or moves to)
  needs its key free, and an adoption an unmarked VS at a key the specs want for that service,
  never deleted nor moved away by the same plan; no change touches a VS that holds or shares
  what lmctl does not own exactly (``clashes``), nor a content rule assigned elsewhere;
- its safety verdict is this lmctl's, made again when it is loaded (``load_plan``) and under
  the inventory's thresholds when it is applied; a plan records no waiver: ``--allow RULE``
  and ``--force`` are given again to ``apply FILE``, and so is ``--adopt ARRAY`` for each
  array it adopts for (``unconsented``): an adoption takes over what lmctl does not own.
The document's JSON Schema (``plan_json_schema``) is published by ``lmctl schema --kind plan``
and committed as ``docs/schema/plan.schema.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
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
    FieldChange,
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
    ContentRuleState,
    Drift,
    Owner,
    RealServerState,
    VirtualServiceState,
    compare,
    sub_service_owner,
)
from lmctl.errors import LmctlError
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import MANAGED_VS_FIELDS, VirtualServiceKey, VirtualServiceSettings
from lmctl.plan.document import PLAN_FAILURE_KIND, PLAN_FORMAT_VERSION, PLAN_KIND, Plan, PlanFailure
from lmctl.plan.simulate import SimulationError, apply_change, simulate
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


@dataclass(frozen=True, slots=True)
class NotOwned:
    """One change of a saved plan that the appliance, as read now, does not allow: which
    appliance, which write (its key and the array/service it names), what was found there."""

    appliance: str
    write: str
    found: str

    def __str__(self) -> str:
        return f"{self.appliance}: {self.write}: {self.found}"


def not_owned(
    plan: Plan,
    found: Mapping[str, ApplianceState],
    wanted: Mapping[str, Iterable[DesiredVirtualService]],
) -> list[NotOwned]:
    """Every change of ``plan`` that would write to what its array and service do not own on
    the appliances as ``found`` now (empty: every write is to the change's own objects).

    A saved plan's ``observed`` is its own claim, and can be edited to pass for what the
    appliance holds, so it is not consulted: the changes run, in order, on the state read now,
    each checked against what the changes before it leave (a VS the plan creates or adopts is
    its array's for the writes after; one it re-marks, a renamed array's, for every write of
    the plan). ``wanted``: per appliance, the services the specs want now, the only keys an
    adoption may take (what cannot be told from a plan file: whether its array was adopting
    when it was planned; an edited plan may adopt no other VS than the one ``plan --adopt``
    would, and ``apply FILE`` asks for ``--adopt`` again: ``unconsented``). A VS the plan
    adopts is never deleted nor moved away by it; a VS that holds or shares what lmctl does
    not own exactly (``clashes``: a plan makes it a conflict and writes nothing to it), and a
    content rule assigned elsewhere, take no write at all."""
    problems: list[NotOwned] = []
    for appliance in plan.appliances:
        here = _Walk.of(found[appliance.name], appliance.changes, wanted.get(appliance.name, ()))
        for change in appliance.changes:
            problem = _ownership(change, here) or _clash(change, here)
            if problem is None:
                try:
                    apply_change(here.state, change)
                except SimulationError as error:
                    problem = f"cannot run on what the appliance holds now ({error})"
                else:
                    here.read[change.final_key] = here.read.pop(change.key, None)
                    if isinstance(change, AdoptVirtualService):
                        here.adopted.add(change.key)
                    continue
            problems.append(NotOwned(appliance.name, _write(change), problem))
    return problems


def unconsented(plan: Plan, adopt: Collection[str]) -> list[tuple[str, AdoptVirtualService]]:
    """Each adoption of ``plan`` whose array is not among ``adopt`` (``apply FILE --adopt
    ARRAY``), with its appliance's name: an adoption takes over a VS lmctl does not own, a
    waiver that a plan file does not carry."""
    return [
        (appliance.name, change)
        for appliance in plan.appliances
        for change in appliance.changes
        if isinstance(change, AdoptVirtualService) and change.array not in adopt
    ]


def _write(change: Change) -> str:
    """The write as apply names it, with the VS it acts on (a content rule's parent too)."""
    if isinstance(change, CreateContentRule | UpdateContentRule | DeleteContentRule):
        return f"{change.command} {change.rule} of {change.key} ({change.owner_label})"
    return write_label(change)


@dataclass(frozen=True, slots=True)
class _Walk:
    """One appliance as a saved plan's changes leave it, and what the plan may claim there."""

    # The state read now, as the changes checked so far leave it.
    state: ApplianceState
    # Whose marker each VS carried when read (its SubVSs and rules are that owner's), by key as
    # the changes move it: a renamed array's parent is re-marked, then its old SubVSs go.
    read: dict[VirtualServiceKey, Owner | None]
    # The VSs the plan re-marks as another array's (a rename), by key: a re-mark runs after
    # the members are added (``Phase``), and they are the new array's writes.
    remarked: dict[VirtualServiceKey, Owner]
    # (array, service, key) of each service the specs want now: what may be adopted.
    wants: frozenset[tuple[str, str, VirtualServiceKey]]
    # The keys the plan re-marks (a rename keeps its VS where the specs want it) and those the
    # changes checked so far adopted: no change deletes or moves them.
    adopted: set[VirtualServiceKey]

    @classmethod
    def of(
        cls,
        found: ApplianceState,
        changes: Iterable[Change],
        wanted: Iterable[DesiredVirtualService],
    ) -> _Walk:
        wanted = list(wanted)
        wants = frozenset((d.array, d.service, d.key) for d in wanted)
        arrays = {d.array for d in wanted}
        # A re-mark is a rename only as plan makes one: the specs want the new array's service
        # at that key, and the VS's array as read has left them (else an edited plan could
        # re-mark another array's VS as an invented array's, then delete it).
        remarked = {
            change.key: Owner(change.array, change.service)
            for change in changes
            if isinstance(change, UpdateVirtualService)
            and _written(change.fields) == Owner(change.array, change.service).marker()
            and (change.array, change.service, change.key) in wants
            and _read_array(found, change.key) not in arrays
        }
        return cls(
            state=dict(found),
            read={key: vs.owner for key, vs in found.items()},
            remarked=remarked,
            wants=wants,
            adopted=set(remarked),
        )


def _read_array(found: ApplianceState, key: VirtualServiceKey) -> str | None:
    vs = found.get(key)
    return None if vs is None or vs.owner is None else vs.owner.array


def _ownership(change: Change, here: _Walk) -> str | None:
    """Why ``change`` may not run where ``here`` stands (None: it may)."""
    owner = Owner(change.array, change.service)
    marker = owner.marker()
    held = _held(here, change.key, owner)
    # A SubVS or a rule of the parent's owner as read (a rename re-marks the parent).
    read = here.read.get(change.key)
    owners = {owner} if read is None else {owner, read}
    match change:
        case CreateVirtualService():
            return _taken(here, change.key) or _marks(marker, change.settings.nickname)
        case AdoptVirtualService():
            return _adoptable(here, change) or _marks(marker, _written(change.fields))
        case UpdateVirtualService():
            marks = _marks(marker, _written(change.fields)) if change.remarks else None
            if change.new_key is None:
                return held or marks
            return held or marks or _kept(here, change.key, "moves") or _taken(here, change.new_key)
        case DeleteVirtualService():
            return held or _kept(here, change.key, "deletes")
        case AddRealServer() | UpdateRealServer() | RemoveRealServer():
            if held is None and change.sub_service is not None:
                return _carries(change.sub_service, owners, "SubVS")
            return held
        case CreateSubService():
            return (
                held
                or _carries(change.sub_service, {owner}, "SubVS")
                or _marks(change.sub_service, change.settings.nickname)
            )
        case UpdateSubService():
            return (
                held
                or _carries(change.sub_service, owners, "SubVS")
                or _marks(change.sub_service, _written(change.fields, change.sub_service))
            )
        case DeleteSubService():
            return held or _carries(change.sub_service, owners, "SubVS")
        case CreateContentRule() | UpdateContentRule() | DeleteContentRule():
            return held or _carries(change.rule, owners, "content rule")
        case AssignContentRule():
            return (
                held
                or _carries(change.sub_service, owners, "SubVS")
                or _carries(change.rule, owners, "content rule")
            )
        case UnassignContentRule():
            # The write is to the SubVS's row, which is lmctl's: any rule comes off it (plan
            # takes an admin's rule off too); the rule itself is not touched.
            return held or _carries(change.sub_service, owners, "SubVS")
        case _:
            assert_never(change)


def _held(here: _Walk, key: VirtualServiceKey, owner: Owner) -> str | None:
    """Why the VS at ``key`` is not ``owner``'s (None: it is): it carries ``owner``'s marker,
    or another of lmctl's that the plan re-marks as ``owner``'s."""
    vs = here.state.get(key)
    if vs is None:
        return f"no virtual service at {key}"
    if vs.is_ambiguous:
        indexes = ", ".join(map(str, vs.duplicate_indexes))
        return f"{key} is listed {len(vs.duplicate_indexes)} times (Index {indexes}): nobody's"
    if vs.owner == owner or (vs.owner is not None and here.remarked.get(key) == owner):
        return None
    return f"found {vs.describe()}, not the marker {quoted_name(owner.marker())}"


def _kept(here: _Walk, key: VirtualServiceKey, does: str) -> str | None:
    """Why the VS at ``key`` may not be deleted or moved away (None: it may): the plan adopted
    it, and an adoption is of a VS at a key the specs want, to keep it there."""
    if key not in here.adopted:
        return None
    how, what = ("re-marks", "a re-marked") if key in here.remarked else ("adopts", "an adopted")
    return f"the plan {how} {key} and then {does} it: {what} VS stays where the specs want it"


def _clash(change: Change, here: _Walk) -> str | None:
    """Why ``change`` may not touch what it does (None: it may): the VS it acts on holds or
    shares what lmctl does not own exactly (a plan makes that a conflict and writes nothing to
    the VS, its deletion included), or the content rule it makes, changes or deletes is
    assigned elsewhere."""
    match change:
        case CreateVirtualService():
            return None  # its key is free (``_taken``)
        case CreateContentRule() | UpdateContentRule() | DeleteContentRule():
            return _clashing(here.state.get(change.key)) or _shared(here, change.rule)
        case (
            AdoptVirtualService()
            | UpdateVirtualService()
            | DeleteVirtualService()
            | AddRealServer()
            | UpdateRealServer()
            | RemoveRealServer()
            | CreateSubService()
            | UpdateSubService()
            | DeleteSubService()
            | AssignContentRule()
            | UnassignContentRule()
        ):
            return _clashing(here.state.get(change.key))
        case _:
            assert_never(change)


def _clashing(vs: VirtualServiceState | None) -> str | None:
    """The clashes of ``vs``, in their own words (None: none, or no VS)."""
    clashes = () if vs is None else vs.clashes()
    if not clashes:
        return None
    assert vs is not None
    details = "; ".join(clash.detail for clash in clashes)
    return f"{vs.describe()} holds or shares what lmctl does not own exactly: {details}"


def _shared(here: _Walk, name: str) -> str | None:
    """Why the content rule ``name`` may not be written (None: it may): wherever it is read, it
    is assigned elsewhere too (``delrule`` or ``modrule`` would change it there)."""
    for vs in here.state.values():
        rule = vs.content_rule(name)
        if rule is not None and rule.assigned_elsewhere:
            return _clashing(_with_rule_only(vs, rule))
    return None


def _with_rule_only(vs: VirtualServiceState, rule: ContentRuleState) -> VirtualServiceState:
    """``vs`` holding ``rule`` and nothing else lmctl could clash over (its clash, alone)."""
    return replace(vs, sub_vs=(), foreign_sub_vs=(), content_rules=(rule,))


def _taken(here: _Walk, key: VirtualServiceKey) -> str | None:
    """Why a VS cannot be made at ``key`` (None: the key is free)."""
    vs = here.state.get(key)
    return None if vs is None else f"the key is taken: found {vs.describe()}"


def _adoptable(here: _Walk, change: AdoptVirtualService) -> str | None:
    """Why the VS at the adoption's key may not be adopted (None: it may): as ``plan`` adopts,
    only an unmarked VS without SubVSs, listed once, at a key the specs want for the service."""
    vs = here.state.get(change.key)
    if vs is None:
        return f"no virtual service at {change.key}"
    if vs.is_ambiguous:
        return _held(here, change.key, Owner(change.array, change.service))
    if vs.owner is not None:
        return f"found {vs.describe()}: already lmctl's"
    if vs.sub_services:
        return f"found {vs.describe()}, which holds SubVSs: never adopted"
    if (change.array, change.service, change.key) not in here.wants:
        return (
            f"found {vs.describe()}; the specs now want no {change.owner_label} there, and "
            "lmctl adopts only what they want"
        )
    return None


def _written(fields: Iterable[FieldChange], default: str | None = None) -> str | None:
    """The NickName ``fields`` write (``default`` when they write none)."""
    new = next((f.new for f in fields if f.field == "nickname"), default)
    return None if new is None else str(new)


def _marks(marker: str, nickname: str | None) -> str | None:
    """Why a VS or SubVS given ``nickname`` would not carry ``marker`` (None: it would)."""
    if nickname == marker:
        return None
    shown = "no NickName" if nickname is None else f"NickName {quoted_name(nickname)}"
    return f"it would write {shown}, not the marker {quoted_name(marker)}"


def _carries(name: str, owners: Collection[Owner], what: str) -> str | None:
    """Why the SubVS or content rule ``name`` is not one of ``owners``' (None: it is)."""
    if sub_service_owner(name) in owners:
        return None
    mine = " or ".join(sorted(f"{o.array}/{o.service}" for o in owners)) or "an array"
    return f"{what} {quoted_name(name)} carries no SubVS marker of {mine}"
