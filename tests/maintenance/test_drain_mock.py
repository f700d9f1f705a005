"""``lmctl drain`` / ``lmctl undrain`` over real HTTPS against the served mock."""

from __future__ import annotations

import asyncio
import re
import shlex
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.faults import CallRecord
from lmctl.statedir import ApplianceBusyError, appliance_lock
from lmctl_testkit import lmctl_process
from status_testkit import ARRAY_FOUR, MEMBERS, RunLmctl, prepare_arrays, table_rows

FAST = ("--poll-interval", "0.05")


@pytest.fixture
def run_lmctl(request: pytest.FixtureRequest) -> RunLmctl:
    """lmctl against arrays ``two`` and ``three``, created on the served mock over APIv1."""
    return prepare_arrays(request, "v1")


def after_call(
    mock_control: MockControl, seen: Callable[[list[CallRecord]], bool], action: Callable[[], None]
) -> threading.Thread:
    """A thread that runs ``action`` once the mock's call log shows what ``seen`` looks for:
    tests follow the command's progress, not the clock (a busy machine starts late)."""

    def watch() -> None:
        deadline = time.monotonic() + 30
        while not seen(mock_control.calls()) and time.monotonic() < deadline:
            time.sleep(0.02)
        action()

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def read_after_a_write(calls: list[CallRecord]) -> bool:
    """A read answered after the first write: the command polls what it wrote."""
    writes = [call.seq for call in calls if call.write]
    return bool(writes) and any(not call.write and call.seq > writes[0] for call in calls)


def enabled_flags(mock_control: MockControl, member: str) -> list[bool]:
    """The member's enable flag in every VS that has it, as the mock holds them."""
    return [rs.enable for rs in mock_control.connections() if rs.address == MEMBERS[member]]


def test_drain_disables_per_virtual_service_and_waits_for_connections_to_reach_0(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.set_connections(MEMBERS["CAS-A2"], 40)
    mock_control.set_drain_seconds(0.6)

    outcome = run_lmctl("drain", "cas-a2", "--timeout", "10", *FAST)

    assert outcome.exit_code == 0, outcome.stderr
    assert "disable 10.30.0.12:135 in rpc (10.30.0.10:135/tcp)" in outcome.stdout
    assert "disable 10.30.0.12:443 in https (10.30.0.10:443/tcp)" in outcome.stdout
    # 40 in each of rpc and https, falling while the mock drains them over 0.6 s.
    counts = [int(n) for n in re.findall(r"CAS-A2: (\d+) active connections", outcome.stdout)]
    assert 0 < counts[0] <= 80 and counts[-1] == 0 and counts == sorted(counts, reverse=True)
    assert "CAS-A2 is drained: disabled in array two, 0 connections" in outcome.stdout
    writes = [call for call in mock_control.calls() if call.write]
    assert [(call.command, call.params.get("enable")) for call in writes] == [
        ("modrs", "N"),
        ("modrs", "N"),
    ]
    assert enabled_flags(mock_control, "CAS-A2") == [False, False]
    assert enabled_flags(mock_control, "CAS-A1") == [True, True]


def test_drained_member_shows_in_status_and_a_second_drain_writes_nothing(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    assert run_lmctl("drain", "CAS-A2", *FAST).exit_code == 0
    mock_control.clear_log()

    again = run_lmctl("drain", "CAS-A2", *FAST)
    status = run_lmctl("status", "--array", "two")

    assert again.exit_code == 0
    assert "CAS-A2 is already disabled in every service of two" in again.stdout
    assert not [call for call in mock_control.calls() if call.write]
    assert status.exit_code == 2
    assert "MembersDrained" in status.stdout
    assert "CAS-A2 is drained in rpc, https" in status.stdout


def test_drain_that_times_out_says_how_many_connections_are_left(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    mock_control.set_connections(MEMBERS["EX-B1"], 500)
    mock_control.set_drain_seconds(3600)

    outcome = run_lmctl("drain", "EX-B1", "--timeout", "0.2", *FAST)

    assert outcome.exit_code == 2
    assert "timed out: EX-B1 is disabled in array three but still has" in outcome.stdout
    # The command to repeat names the same specs.
    again = f"lmctl drain EX-B1 {tmp_path / 'arrays'}"
    assert f"run `{again}` again to keep waiting" in " ".join(outcome.stdout.split())
    assert enabled_flags(mock_control, "EX-B1") == [False]


def test_drain_of_the_last_enabled_member_is_refused_without_writing(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    assert run_lmctl("drain", "CAS-A1", *FAST).exit_code == 0
    mock_control.clear_log()

    outcome = run_lmctl("drain", "CAS-A2", *FAST)

    assert outcome.exit_code == 3
    assert (
        "refusing to drain CAS-A2: rpc: no other member is enabled and Up (CAS-A1 drained); "
        "https: no other member is enabled and Up (CAS-A1 drained)"
    ) in outcome.stderr
    assert "--force" in outcome.stderr
    assert not [call for call in mock_control.calls() if call.write]
    assert enabled_flags(mock_control, "CAS-A2") == [True, True]


def test_drain_refused_when_the_other_member_is_down_unless_forced(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.mark(MEMBERS["CAS-A1"], "Down", port=443)

    refused = run_lmctl("drain", "CAS-A2", *FAST)
    forced = run_lmctl("drain", "CAS-A2", "--force", *FAST)
    status = run_lmctl("status", "--array", "two")

    assert refused.exit_code == 3
    assert "https: no other member is enabled and Up (CAS-A1 down)" in refused.stderr
    assert forced.exit_code == 0
    assert "--force: draining although https: no other member" in forced.stdout
    assert status.exit_code == 3


def test_unknown_member_exits_1_listing_the_members(run_lmctl: RunLmctl) -> None:
    outcome = run_lmctl("drain", "CAS-Z9")

    assert outcome.exit_code == 1
    assert "no array in the specs has a member named 'CAS-Z9'" in outcome.stderr
    assert "CAS-A1 (two)" in outcome.stderr


def test_undrain_reenables_and_waits_until_the_member_is_up(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    assert run_lmctl("drain", "EX-B2", *FAST).exit_code == 0
    mock_control.mark(MEMBERS["EX-B2"], "Down")  # e.g. still rebooting after its patches
    mock_control.clear_log()
    # Up once undrain has enabled it and read it Down at least once.
    back_up = after_call(
        mock_control, read_after_a_write, lambda: mock_control.mark(MEMBERS["EX-B2"], "Up")
    )

    outcome = run_lmctl("undrain", "EX-B2", "--timeout", "10", *FAST)
    back_up.join()

    assert outcome.exit_code == 0, outcome.stderr
    assert "enable 10.30.1.12:443 in https (10.30.1.10:443/tcp)" in outcome.stdout
    assert "EX-B2: not Up yet in https" in outcome.stdout
    assert "EX-B2 is enabled and Up in every service of array three" in outcome.stdout
    assert enabled_flags(mock_control, "EX-B2") == [True]
    assert run_lmctl("status", "--array", "three").exit_code == 0


def test_undrain_of_a_member_that_stays_down_times_out_with_exit_2(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    assert run_lmctl("drain", "CAS-A1", *FAST).exit_code == 0
    # The rpc health check probes the static RPC Client Access port, not the endpoint mapper.
    mock_control.mark(MEMBERS["CAS-A1"], "Down", port=60000)

    outcome = run_lmctl("undrain", "CAS-A1", "--timeout", "0.2", *FAST)

    assert outcome.exit_code == 2
    assert "timed out: CAS-A1 is enabled but not Up in rpc" in outcome.stdout
    assert enabled_flags(mock_control, "CAS-A1") == [True, True]


def test_a_timed_out_undrain_suggests_the_same_spec_paths_and_state_dir(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    state = tmp_path / "lmctl state"
    assert run_lmctl("drain", "CAS-A1", "--state-dir", str(state), *FAST).exit_code == 0
    mock_control.mark(MEMBERS["CAS-A1"], "Down", port=60000)

    outcome = run_lmctl("undrain", "CAS-A1", "--state-dir", str(state), "--timeout", "0.2", *FAST)

    assert outcome.exit_code == 2
    again = f"lmctl undrain CAS-A1 --state-dir {shlex.quote(str(state))} {tmp_path / 'arrays'}"
    assert f"run `{again}` again to keep waiting" in " ".join(outcome.stdout.split())


def test_drained_member_survives_apply_and_shows_in_plan(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    assert run_lmctl("plan").exit_code == 0
    assert run_lmctl("drain", "CAS-A2", *FAST).exit_code == 0

    plan = run_lmctl("plan", "--detailed-exitcode")
    applied = run_lmctl("apply", "--auto-approve", "--no-backup")

    assert plan.exit_code == 0, plan.stdout + plan.stderr
    assert "drained: CAS-A2 10.30.0.12:135 is disabled on the appliance" in plan.stdout
    assert "drained: CAS-A2 10.30.0.12:443 is disabled on the appliance" in plan.stdout
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert enabled_flags(mock_control, "CAS-A2") == [False, False]
    assert "CAS-A2 is drained in rpc, https" in run_lmctl("status", "--array", "two").stdout


@pytest.mark.parametrize("fault", ["reset_after_write", "http500", "drop"])
def test_a_fault_on_a_drain_write_is_settled_and_a_rerun_writes_nothing(
    run_lmctl: RunLmctl, mock_control: MockControl, fault: str
) -> None:
    mock_control.add_fault(fault, command="modrs", nth=2)  # type: ignore[arg-type]

    first = run_lmctl("drain", "CAS-A2", *FAST)
    faulted = [call for call in mock_control.calls() if call.fault]
    mock_control.clear_log()
    again = run_lmctl("drain", "CAS-A2", *FAST)

    # The client reads the real server back after a failed write and settles what happened.
    assert first.exit_code == 0, first.stdout + first.stderr
    assert [call.command for call in faulted] == ["modrs"]
    assert again.exit_code == 0
    assert not [call for call in mock_control.calls() if call.write]
    assert enabled_flags(mock_control, "CAS-A2") == [False, False]


def test_ctrl_c_while_waiting_exits_130_and_says_how_to_finish(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.set_connections(MEMBERS["CAS-A2"], 100)
    mock_control.set_drain_seconds(3600)
    with lmctl_process("drain", "CAS-A2", "--poll-interval", "0.1", "arrays") as drain:
        assert drain.stdout is not None
        while "active connections" not in drain.stdout.readline():
            pass
        drain.send_signal(signal.SIGINT)
        _, stderr = drain.communicate(timeout=10)

    assert drain.returncode == 130
    assert (
        "interrupted: the drain of CAS-A2 (array two) may be unfinished; "
        "run `lmctl drain CAS-A2` again to finish it"
    ) in stderr
    assert "Traceback" not in stderr
    assert enabled_flags(mock_control, "CAS-A2") == [False, False]


def test_member_disabled_by_the_spec_is_not_undrained_and_counts_as_healthy(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    spec = tmp_path / "arrays" / "three.yaml"
    spec.write_text(
        spec.read_text().replace(
            "{name: EX-B3, address: 10.30.1.13}",
            "{name: EX-B3, address: 10.30.1.13, enabled: false}",
        )
    )
    assert run_lmctl("apply", "--auto-approve", "--no-backup").exit_code == 0

    undrain = run_lmctl("undrain", "EX-B3", *FAST)
    status = run_lmctl("status", "--array", "three")

    assert undrain.exit_code == 3
    assert "refusing to undrain EX-B3: the spec disables it (enabled: false)" in undrain.stderr
    assert enabled_flags(mock_control, "EX-B3") == [False]
    assert status.exit_code == 0, status.stdout
    assert ["EX-B3", "10.30.1.13:443", "disabled", "0 conn"] in table_rows(status.stdout)


def test_drain_warns_when_the_spec_would_reenable_the_member(
    run_lmctl: RunLmctl, tmp_path: Path
) -> None:
    spec = tmp_path / "arrays" / "three.yaml"
    spec.write_text(
        spec.read_text().replace(
            "{name: EX-B1, address: 10.30.1.11}",
            "{name: EX-B1, address: 10.30.1.11, enabled: true}",
        )
    )

    outcome = run_lmctl("drain", "EX-B1", *FAST)

    assert outcome.exit_code == 0
    assert "the spec sets enabled: true for EX-B1, so the next `lmctl apply` re-enables it" in (
        outcome.stdout
    )


def test_an_appliance_error_while_waiting_exits_1_and_says_how_to_finish(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    mock_control.set_connections(MEMBERS["CAS-A2"], 100)
    mock_control.set_drain_seconds(3600)
    api_off = threading.Timer(0.5, mock_control.set_api_enabled, args=(False,))
    api_off.start()

    outcome = run_lmctl("drain", "CAS-A2", "--timeout", "20", *FAST)
    api_off.join()

    assert outcome.exit_code == 1
    assert "API" in outcome.stderr
    specs = tmp_path / "arrays"
    assert (
        f"the drain of CAS-A2 (array two) may be unfinished; run `lmctl drain CAS-A2 {specs}` "
        f"again to finish it (safe to repeat), or `lmctl undrain CAS-A2 {specs}` to go back"
    ) in " ".join(outcome.stderr.split())
    assert "Traceback" not in outcome.stderr


def test_member_missing_from_one_service_is_skipped_there_and_drained_elsewhere(
    run_lmctl: RunLmctl, mock_control: MockControl, connection_v1: ApplianceConnection
) -> None:
    async def remove_from_rpc() -> None:
        async with LoadMaster(connection_v1) as client:
            rpc = VirtualServiceKey(address="10.30.0.10", port="135")
            await client.delete_real_server(rpc, MEMBERS["CAS-A2"], 135)

    asyncio.run(remove_from_rpc())
    mock_control.clear_log()

    outcome = run_lmctl("drain", "CAS-A2", *FAST)

    assert outcome.exit_code == 0, outcome.stderr
    assert (
        "rpc: CAS-A2 is not on lm-test (virtual service or real server missing; run "
        "`lmctl apply`), skipped"
    ) in outcome.stdout
    writes = [(call.command, call.params.get("enable")) for call in mock_control.calls()]
    assert [write for write in writes if write[0] == "modrs"] == [("modrs", "N")]
    assert enabled_flags(mock_control, "CAS-A2") == [False]


def test_drain_of_a_member_of_an_array_not_applied_yet_exits_1(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    (tmp_path / "arrays" / "four.yaml").write_text(ARRAY_FOUR)

    outcome = run_lmctl("drain", "EX-D1", *FAST)

    assert outcome.exit_code == 1
    assert (
        "error: EX-D1 is in no virtual service of array four on lm-test; "
        "run `lmctl plan` / `lmctl apply` first"
    ) in outcome.stderr
    assert not [call for call in mock_control.calls() if call.write]


@pytest.mark.parametrize("action", ["drain", "undrain"])
def test_drain_and_undrain_are_refused_while_another_lmctl_holds_the_apply_lock(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path, action: str
) -> None:

    state_dir = tmp_path / "state"
    with appliance_lock(state_dir, "lm-test"):
        outcome = run_lmctl(action, "EX-B2", "--state-dir", str(state_dir), *FAST)

    assert outcome.exit_code == 1
    assert "lm-test: another lmctl apply is writing to it" in outcome.stderr
    assert f"lock {state_dir / 'locks' / 'lm-test.lock'}" in outcome.stderr
    assert not [call for call in mock_control.calls() if call.write]
    assert enabled_flags(mock_control, "EX-B2") == [True]


def test_drain_releases_the_apply_lock_before_waiting_for_connections(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:

    state_dir = tmp_path / "state"
    mock_control.set_connections(MEMBERS["EX-B1"], 500)
    mock_control.set_drain_seconds(3600)
    taken_while_waiting: list[bool] = []
    drain_ended = threading.Event()

    def take_lock() -> None:
        while not drain_ended.is_set():
            try:
                with appliance_lock(state_dir, "lm-test"):
                    taken_while_waiting.append(not drain_ended.is_set())
                    return
            except ApplianceBusyError:
                time.sleep(0.02)

    # The drain waits 2 s for connections after its write; the lock must be free during that
    # wait: tried from the write on, until the drain ends.
    mock_control.clear_log()
    probe = after_call(mock_control, lambda calls: any(c.write for c in calls), take_lock)
    outcome = run_lmctl("drain", "EX-B1", "--timeout", "2", "--state-dir", str(state_dir), *FAST)
    drain_ended.set()
    probe.join()

    assert outcome.exit_code == 2
    assert taken_while_waiting == [True]
    assert enabled_flags(mock_control, "EX-B1") == [False]


def test_drain_that_leaves_one_serving_member_warns_the_array_loses_failover(
    run_lmctl: RunLmctl, mock_control: MockControl
) -> None:
    first = run_lmctl("drain", "EX-B2", *FAST)
    second = run_lmctl("drain", "EX-B1", *FAST)
    status = run_lmctl("status", "--array", "three")

    assert first.exit_code == 0
    assert "WARNING" not in first.stdout + first.stderr
    assert second.exit_code == 0, second.stderr
    warning = (
        "WARNING: after this drain, https has one serving member (EX-B3): "
        "the array is no longer FailoverReady"
    )
    # Said before the write, and again as the command's last words.
    assert second.stdout.count(warning) == 2
    assert second.stdout.rstrip().endswith(warning)
    assert enabled_flags(mock_control, "EX-B1") == [False]
    assert status.exit_code == 2
    assert "SingleMemberUp" in status.stdout


def test_drain_of_a_member_of_a_renamed_array_switches_it_in_the_vss_plan_re_marks(
    run_lmctl: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    # Renamed in its spec, not applied yet: its VSs still carry "three"'s marker, and are its own.
    spec = tmp_path / "arrays" / "three.yaml"
    spec.write_text(spec.read_text().replace("name: three", "name: drei"))

    outcome = run_lmctl("drain", "EX-B2", *FAST)

    assert outcome.exit_code == 0, outcome.stdout + outcome.stderr
    assert "disable 10.30.1.12:443 in https (10.30.1.10:443/tcp)" in outcome.stdout
    assert "EX-B2 is drained: disabled in array drei, 0 connections" in outcome.stdout
    writes = [(call.command, call.params.get("vs")) for call in mock_control.calls() if call.write]
    assert writes == [("modrs", "10.30.1.10")]
    assert enabled_flags(mock_control, "EX-B2") == [False]
