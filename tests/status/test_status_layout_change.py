"""``lmctl status`` and ``drain`` after an array's spec changed layout and before the move
(apply refuses to switch a VS in place: docs/layouts.md): the array is judged as it is
published, which is what clients get, and is only not in sync. Over HTTPS against the mock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    PER_PROTOCOL_DIRECTORIES,
    PER_PROTOCOL_MEMBERS,
    admin,
    admins_sub_service,
    applied_per_protocol,
    certificate_pem,
    install_certificate,
    per_protocol_spec,
    run_in,
    write_mock_inventory,
    write_spec_files,
)

SINGLE = "layout: single-service\n"


@pytest.fixture
def specs(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    return applied_per_protocol(tmp_path, mock_server)


def single_service_spec() -> str:
    """The same array with the single-service layout (certificate and directories gone)."""
    text = per_protocol_spec().replace("layout: per-protocol\n", SINGLE)
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not line.startswith(("certificate:", "directories:"))
    )


def status(directory: Path) -> tuple[int, dict[str, Any]]:
    outcome = run_in(directory, "status", "--format", "json")
    (array,) = json.loads(outcome.stdout)["arrays"]
    return outcome.exit_code, array


def conditions(array: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in array["conditions"]}


def test_a_per_protocol_array_respecified_single_service_is_judged_per_subvs(
    specs: Path, mock_control: MockControl
) -> None:
    write_spec_files(specs, {"mail.yaml": single_service_spec()})
    code, array = status(specs)
    # Serving as published: one row per live SubVS, every member Up; only InSync is False.
    assert code == 2, array
    found = conditions(array)
    assert found["Serving"] == ("True", "ServicesUp")
    assert found["FailoverReady"][0] == "True"
    assert found["InSync"] == ("False", "LayoutDiffers")
    https = [s for s in array["services"] if s["service"].startswith("https")]
    assert [s["service"] for s in https] == [f"https/{d}" for d in PER_PROTOCOL_DIRECTORIES]
    assert all(s["serving"] and not s["in_sync"] for s in https)
    assert (
        "is published per-protocol and the spec says single-service" in (https[0]["layout_differs"])
    )
    # drain switches the member where it serves: in every live SubVS.
    mock_control.clear_log()
    drained = run_in(specs, "drain", "EX19-02", "--poll-interval", "0.05", "--timeout", "5")
    assert drained.exit_code == 0, drained.output
    assert drained.output.count("disable 10.30.1.12:443 in https/") == len(PER_PROTOCOL_DIRECTORIES)


def test_a_single_service_array_respecified_per_protocol_keeps_serving(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    install_certificate(mock_server, "mail-2019", certificate_pem(tmp_path))
    specs = tmp_path / "specs"
    write_spec_files(specs, {"mail.yaml": single_service_spec()})
    write_mock_inventory(specs, mock_server, "lm-hq", "v2")
    assert run_in(specs, "apply", "--auto-approve", "--no-backup").exit_code == 0
    write_spec_files(specs, {"mail.yaml": per_protocol_spec()})
    code, array = status(specs)
    assert code == 2, array
    found = conditions(array)
    assert found["Serving"] == ("True", "ServicesUp")
    assert found["Healthy"] == ("True", "AllMembersUp")
    (https,) = [s for s in array["services"] if s["service"] == "https"]
    assert https["serving"] and not https["in_sync"]
    assert {m["member"]: m["state"] for m in https["members"]} == dict.fromkeys(
        PER_PROTOCOL_MEMBERS, "up"
    )
    assert "is published single-service and the spec says per-protocol" in found_message(array)
    # plan still refuses the switch in place.
    assert run_in(specs, "plan").exit_code == 1


def found_message(array: dict[str, Any]) -> str:
    (in_sync,) = [c for c in array["conditions"] if c["type"] == "InSync"]
    message: str = in_sync["message"]
    return message


def test_a_marked_subvs_under_a_single_service_vs_is_a_conflict_and_drain_refuses(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One SubVS carrying a directory's marker under a VS serving through its real servers:
    # neither layout is the VS's alone, so nothing is judged by that SubVS and nothing written.
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    specs = tmp_path / "specs"
    write_spec_files(specs, {"mail.yaml": single_service_spec()})
    write_mock_inventory(specs, mock_server, "lm-hq", "v2")
    assert run_in(specs, "apply", "--auto-approve", "--no-backup").exit_code == 0
    index = admins_sub_service(mock_server, mock_control, "lmctl.mail-2019.https.ews")
    admin(mock_server, "addrs", vs=str(index), rs=PER_PROTOCOL_MEMBERS["EX19-02"], rsport="443")
    mock_control.clear_log()
    plan = run_in(specs, "plan")
    assert plan.exit_code == 1, plan.output
    assert "beside lmctl's SubVSs" in plan.output
    drain = run_in(specs, "drain", "EX19-02", "--force", "--poll-interval", "0.05")
    assert drain.exit_code == 3, drain.output
    assert mock_control.write_count() == 0
    code, array = status(specs)
    assert code == 2, array
    assert conditions(array)["InSync"] == ("False", "NotOwnedExactly")
    assert conditions(array)["Serving"][0] == "True"


def test_a_directory_dropped_from_the_spec_is_reported_and_drained_until_applied(
    specs: Path, mock_control: MockControl
) -> None:
    # EWS leaves the spec but its SubVS, and its rule, still serve /ews/ until apply.
    kept = tuple(d for d in PER_PROTOCOL_DIRECTORIES if d != "ews")
    write_spec_files(specs, {"mail.yaml": per_protocol_spec(directories=kept)})
    code, array = status(specs)
    assert code == 2, array
    assert conditions(array)["InSync"] == ("False", "UnexpectedVirtualService")
    (ews,) = [s for s in array["services"] if s["service"] == "https/ews"]
    assert ews["serving"] and "the spec no longer lists" in ews["dropped_from_spec"]
    drained = run_in(specs, "drain", "EX19-02", "--poll-interval", "0.05", "--timeout", "5")
    assert drained.exit_code == 0, drained.output
    assert "disable 10.30.1.12:443 in https/ews" in drained.output
    flags = {
        vs["settings"].get("NickName"): [rs["enable"] for rs in vs["real_servers"]]
        for vs in mock_control.state()["services"]
        if vs["master_index"]
    }
    assert flags["lmctl.mail-2019.https.ews"] == [True, False]
