"""``lmctl status`` over real HTTPS against the served mock, driven by its health controls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmctl.mock.control import MockControl
from lmctl_testkit import PASSWORD_VARIABLE
from status_testkit import MEMBERS, RunLmctl, prepare_arrays, table_rows


@pytest.fixture
def run_lmctl(request: pytest.FixtureRequest) -> RunLmctl:
    """lmctl against arrays ``two`` and ``three`` created on the served mock (APIv2)."""
    return prepare_arrays(request, "v2")


def conditions(document: dict[str, Any], array: str) -> dict[str, tuple[str, str, str]]:
    """type → (status, reason, message) of one array in a status JSON document."""
    (found,) = [entry for entry in document["arrays"] if entry["array"] == array]
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in found["conditions"]}


def test_all_members_up_exits_0_with_every_condition_true_in_two_calls(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    outcome = run_lmctl("status", "--format", "json")

    assert outcome.exit_code == 0, outcome.stderr
    document = json.loads(outcome.stdout)
    assert (document["format"], document["exit_code"]) == ("lmctl.status/v1", 0)
    for array in ("two", "three"):
        assert {t: s for t, (s, _r, _m) in conditions(document, array).items()} == {
            "Serving": "True",
            "FailoverReady": "True",
            "Healthy": "True",
            "InSync": "True",
        }
    assert [call.command for call in mock_control.calls()] == ["listvs", "stats"]


def test_one_member_down_exits_2_naming_it_and_failover_breaks_only_with_two_members(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.mark(MEMBERS["CAS-A2"], "Down")
    mock_control.mark(MEMBERS["EX-B3"], "Down")

    outcome = run_lmctl("status", "--format", "json")

    assert outcome.exit_code == 2
    document = json.loads(outcome.stdout)
    two, three = conditions(document, "two"), conditions(document, "three")
    assert two["Healthy"] == ("False", "MembersDown", "CAS-A2 is Down in rpc, https")
    assert three["Healthy"] == ("False", "MembersDown", "EX-B3 is Down in https")
    assert two["FailoverReady"][:2] == ("False", "SingleMemberUp")
    assert "rpc: only CAS-A1 is enabled and Up" in two["FailoverReady"][2]
    assert three["FailoverReady"][0] == "True"
    assert two["Serving"][0] == three["Serving"][0] == "True"


def test_every_member_of_a_service_down_exits_3(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    for member in ("CAS-A1", "CAS-A2"):
        mock_control.mark(MEMBERS[member], "Down", port=443)

    outcome = run_lmctl("status", "--array", "two")

    assert outcome.exit_code == 3
    assert "two on lm-test: NOT SERVING" in outcome.stdout
    assert "NoMemberUp" in outcome.stdout
    assert "https: no member is enabled and Up (CAS-A1 down, CAS-A2 down)" in outcome.stdout
    assert "three on lm-test" not in outcome.stdout


def test_status_text_in_a_pipe_is_plain_and_names_member_states(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.set_connections(MEMBERS["EX-B2"], 17)

    outcome = run_lmctl("status", "--array", "three")

    assert outcome.exit_code == 0
    assert "three on lm-test: OK" in outcome.stdout
    rows = table_rows(outcome.stdout)
    assert ["https", "10.30.1.10:443/tcp", "Up", "yes"] in rows
    assert ["EX-B1", "10.30.1.11:443", "up", "0 conn"] in rows
    assert ["EX-B2", "10.30.1.12:443", "up", "17 conn"] in rows
    assert "\x1b[" not in outcome.stdout
    assert outcome.stdout.rstrip().endswith("1 array(s): OK")


def test_unknown_array_exits_1_naming_the_known_ones(run_lmctl: RunLmctl) -> None:
    outcome = run_lmctl("status", "--array", "nope")

    assert outcome.exit_code == 1
    assert "error: no array named 'nope' in the specs; arrays: three, two" in outcome.stderr
    mistyped = run_lmctl("status", "--array", "thre")
    assert mistyped.exit_code == 1
    assert mistyped.stderr == (
        "error: no array named 'thre' in the specs (did you mean 'three'?); arrays: three, two\n"
    )


def test_appliance_with_api_off_exits_1_with_unknown_conditions(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.set_api_enabled(False)

    outcome = run_lmctl("status", "--format", "json")

    assert outcome.exit_code == 1
    document = json.loads(outcome.stdout)
    serving = conditions(document, "two")["Serving"]
    assert serving[:2] == ("Unknown", "ApplianceUnreadable")
    assert "lm-test" in serving[2] and "API" in serving[2]


def test_missing_secret_makes_the_appliance_unknown_and_names_the_variable(
    run_lmctl: RunLmctl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_VARIABLE)

    outcome = run_lmctl("status", "--format", "json")

    assert outcome.exit_code == 1
    serving = conditions(json.loads(outcome.stdout), "three")["Serving"]
    assert serving[:2] == ("Unknown", "ApplianceUnreadable")
    assert PASSWORD_VARIABLE in serving[2]


def test_spec_errors_exit_1_naming_file_line_and_field(run_lmctl: RunLmctl, tmp_path: Path) -> None:
    spec = tmp_path / "arrays" / "two.yaml"
    spec.write_text(spec.read_text().replace("vip: 10.30.0.10", "vip: 10.30.0.300"))

    for command in (("status",), ("drain", "CAS-A1"), ("undrain", "CAS-A1")):
        outcome = run_lmctl(*command)

        assert outcome.exit_code == 1, command
        assert "two.yaml:5: error: vip: '10.30.0.300' is not an IP address" in outcome.stderr
        assert outcome.stdout == ""
