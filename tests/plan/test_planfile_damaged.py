"""A saved plan that is damaged or edited into something lmctl cannot write is one clean error
when it is loaded (``load_plan``), before anything is read or written: never a traceback, nor a
write that fails after the lock and the backup were taken."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from plan_builders import key

from lmctl.appliance.changes import AddRealServer, UpdateRealServer, UpdateVirtualService
from lmctl.appliance.state import RealServerState, VirtualServiceState
from lmctl.loadmaster.models import VirtualServiceSettings
from lmctl.mock.control import MockControl
from lmctl.plan import planfile
from lmctl.plan.document import AppliancePlan, Plan, TouchedObject
from lmctl.plan.planfile import PlanFileError, load_plan, save_plan
from mock_site import APPLIANCE, Array, Site

HQ = key("10.0.1.10")
MARKER = "lmctl.hq.https"
DAMAGED = "it was edited or damaged; nothing was read or written; make a new plan"


def document(tmp_path: Path) -> dict[str, Any]:
    """A plan that loads: hq's VS at HQ gets a longer idle time and its member a lower weight."""
    state = VirtualServiceState(
        HQ, VirtualServiceSettings(NickName=MARKER), (RealServerState("10.0.1.21", 443),)
    )
    scope = {"array": "hq", "service": "https", "key": HQ}
    changes = (
        UpdateVirtualService(**scope, fields=({"field": "idle_time", "old": 0, "new": 1800},)),
        UpdateRealServer(
            **scope,
            address="10.0.1.21",
            port=443,
            fields=({"field": "weight", "old": 1000, "new": 500},),
        ),
    )
    plan = Plan(
        lmctl_version="test",
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
        specs_digest="sha256:x",
        appliances=(
            AppliancePlan(
                name="lm-hq", changes=changes, observed=(TouchedObject(key=HQ, state=state),)
            ),
        ),
    )
    path = tmp_path / "plan.json"
    save_plan(plan, path)
    assert load_plan(path).has_changes
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def refused(tmp_path: Path, content: dict[str, Any] | str) -> str:
    path = tmp_path / "edited.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(PlanFileError) as raised:
        load_plan(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def fields_of(content: dict[str, Any], action: str) -> list[dict[str, Any]]:
    (change,) = [c for c in content["appliances"][0]["changes"] if c["action"] == action]
    found: list[dict[str, Any]] = change["fields"]
    return found


def test_a_document_nested_too_deeply_is_a_clean_error(tmp_path: Path) -> None:
    depth = 200_000
    nested = '{"kind": "lmctl-plan", "format_version": 1, "x": ' + "[" * depth + "]" * depth + "}"
    assert refused(tmp_path, nested) == f"not a usable plan (nested too deeply): {DAMAGED}"


@pytest.mark.parametrize(
    ("action", "field", "expected"),
    [
        (
            "update_rs",
            {"field": "bogus", "old": 1, "new": 2},
            "lm-hq: modrs 10.0.1.21:443 in 10.0.1.10:443/tcp (hq/https): no field 'bogus' for "
            "update_rs (it writes weight, forward, enable, port)",
        ),
        (
            "update_vs",
            {"field": "NickName\x1b[2J", "old": None, "new": "x"},
            "lm-hq: modvs 10.0.1.10:443/tcp (hq/https): no field 'NickName\\x1b[2J' for "
            "update_vs (it writes nickname, ",
        ),
        (
            "update_vs",
            {"field": "idle_time", "old": 0, "new": "soon"},
            "lm-hq: modvs 10.0.1.10:443/tcp (hq/https): idle_time: Value error, ",
        ),
        (
            "update_rs",
            {"field": "enable", "old": True, "new": "maybe"},
            "lm-hq: modrs 10.0.1.21:443 in 10.0.1.10:443/tcp (hq/https): enable: Input should be a "
            "valid boolean",
        ),
    ],
    ids=["real server", "virtual service, escaped", "vs value", "rs value"],
)
def test_a_field_its_change_cannot_write_is_refused_at_load(
    tmp_path: Path, action: str, field: dict[str, Any], expected: str
) -> None:
    content = document(tmp_path)
    fields = fields_of(content, action)
    fields[:] = [f for f in fields if f["field"] != field["field"]] + [field]
    message = refused(tmp_path, content)
    assert message.startswith(expected)
    assert message.endswith(DAMAGED)


def test_a_field_listed_twice_in_one_change_is_refused_at_load(tmp_path: Path) -> None:
    # The ownership check would read the first NickName, the write send the last.
    content = document(tmp_path)
    fields = fields_of(content, "update_vs")
    fields[:] = [
        {"field": "nickname", "old": MARKER, "new": MARKER},
        {"field": "nickname", "old": MARKER, "new": "admin-app"},
    ]
    assert refused(tmp_path, content) == (
        f"lm-hq: modvs {HQ} (hq/https): the field nickname is listed 2 times: {DAMAGED}"
    )


@pytest.mark.parametrize(
    ("action", "field", "expected"),
    [
        ("update_vs", "idle_time", f"{HQ}: idle_time is 0, the change says it was 700"),
        ("update_rs", "weight", "weight is 1000, the change says it was 700"),
    ],
)
def test_an_old_value_the_recorded_state_does_not_hold_is_refused_at_load(
    tmp_path: Path, action: str, field: str, expected: str
) -> None:
    # What apply shows before it asks ("idle_time: 700 → 1800") is the file's own claim: it
    # must be what the state it recorded (checked against the appliance before any write) has.
    content = document(tmp_path)
    (edited,) = [f for f in fields_of(content, action) if f["field"] == field]
    edited["old"] = 700
    message = refused(tmp_path, content)
    assert expected in message and message.endswith(DAMAGED)


def test_an_appliance_listed_twice_is_refused_at_load(tmp_path: Path) -> None:
    content = document(tmp_path)
    content["appliances"].append(content["appliances"][0])
    assert refused(tmp_path, content) == f"the appliance 'lm-hq' is listed twice: {DAMAGED}"


def test_any_other_failure_while_loading_is_the_same_clean_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = document(tmp_path)

    def broken(*_: object) -> None:
        raise TypeError("unexpected 'x'")

    monkeypatch.setattr(planfile, "simulate", broken)
    assert refused(tmp_path, content) == (f"not a usable plan (unexpected 'x'): {DAMAGED}")


def test_a_saved_update_with_an_unknown_field_takes_no_lock_and_writes_nothing(
    tmp_path: Path, mock_server: Any, mock_control: MockControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site.open(tmp_path, mock_server, monkeypatch, Array("a1", "10.1.1.50", ["10.1.1.11"]))
    assert site.apply().exit_code == 0
    site.write(Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"]))
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    content = json.loads(saved.read_text())
    changes = content["appliances"][0]["changes"]
    added = next(c for c in changes if c["action"] == "add_rs")
    assert AddRealServer.model_validate(added).address == "10.1.1.12"
    changes.append(
        {
            "action": "update_vs",
            "array": "a1",
            "service": added["service"],
            "key": added["key"],
            "fields": [{"field": "bogus", "old": None, "new": "x"}],
        }
    )
    saved.write_text(json.dumps(content))
    backups = sorted((site.root / ".lmctl").rglob("*"))
    mock_control.clear_log()

    applied = site.lmctl("apply", str(saved), "--auto-approve")

    assert applied.exit_code == 1, applied.output
    assert re.fullmatch(
        rf"error: {re.escape(str(saved))}: {APPLIANCE}: modvs \S+ \(a1/\w+\): no field 'bogus' "
        rf"for update_vs \(it writes [^)]*\): {re.escape(DAMAGED)}\n",
        applied.stderr,
    ), applied.stderr
    assert "unexpected error" not in applied.output
    assert mock_control.calls() == []
    assert sorted((site.root / ".lmctl").rglob("*")) == backups
