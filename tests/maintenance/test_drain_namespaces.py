"""``lmctl drain`` / ``lmctl undrain`` of a server listed in several specs, over real HTTPS
against served mocks: two 2016 namespaces over the same servers on one appliance and on two,
and a 2010 multi-role CAS/Hub server that is a CAS member of one array and an
``overrides.smtp.members`` entry of another."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle, serve_in_thread
from lmctl.statedir import appliance_lock
from lmctl_testkit import PASSWORD_VARIABLE, array_spec, mock_inventory
from status_testkit import ARRAY_TWO, RunLmctl, prepare_arrays

FAST = ("--poll-interval", "0.05")
N1, N2 = "10.40.0.11", "10.40.0.12"
SERVERS = {"EX-N1": N1, "EX-N2": N2}
DR_PASSWORD = "LMCTL_TEST_DR_MOCK_PASSWORD"


def namespace(name: str, vip: str, appliance: str, *services: str) -> str:
    """A 2016 namespace ``name`` on ``vip`` over EX-N1 and EX-N2."""
    return array_spec(
        name,
        "HQ",
        "2016 CU23",
        vip,
        appliance,
        SERVERS,
        fqdn=f"{name}.corp.example.com",
        services=services,
    )


MAIL = namespace("mail16", "10.40.0.50", "lm-test", "https", "smtp")
AUTOD = namespace("autod16", "10.40.0.51", "lm-test", "https")


def real_servers(mock_control: MockControl) -> dict[tuple[str, str, str, int], bool]:
    """The mock's raw state: (VS address, VS port, RS address, RS port) → enable."""
    return {
        (service["address"], service["port"], rs["address"], rs["port"]): rs["enable"]
        for service in mock_control.state()["services"]
        for rs in service["real_servers"]
    }


def enabled(mock_control: MockControl, address: str) -> dict[tuple[str, str], bool]:
    """The enable flag of ``address`` in every VS (address, port) that has it."""
    return {
        (vs, port): flag
        for (vs, port, rs, _rs_port), flag in real_servers(mock_control).items()
        if rs == address
    }


def modrs(mock_control: MockControl) -> list[tuple[str, str, str, str]]:
    """Every write in the log, as (command, VS address, RS address, enable)."""
    return [
        (call.command, call.params.get("vs", ""), call.params.get("rs", ""), call.params["enable"])
        for call in mock_control.calls()
        if call.write
    ]


@pytest.fixture
def one_appliance(request: pytest.FixtureRequest) -> RunLmctl:
    """mail16 (https, smtp) and autod16 (https) over EX-N1/EX-N2, both on lm-test."""
    return prepare_arrays(request, "v1", {"mail16.yaml": MAIL, "autod16.yaml": AUTOD})


def test_drain_disables_the_server_in_both_namespaces_with_one_modrs_per_real_server(
    one_appliance: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.set_connections(N1, 30)
    mock_control.set_drain_seconds(0.5)

    outcome = one_appliance("drain", "ex-n1", "--timeout", "10", *FAST)

    assert outcome.exit_code == 0, outcome.output
    # The specs in reading order (file names): autod16, then mail16.
    assert modrs(mock_control) == [
        ("modrs", "10.40.0.51", N1, "N"),
        ("modrs", "10.40.0.50", N1, "N"),
        ("modrs", "10.40.0.50", N1, "N"),
    ]
    assert enabled(mock_control, N1) == {
        ("10.40.0.50", "443"): False,
        ("10.40.0.50", "25"): False,
        ("10.40.0.51", "443"): False,
    }
    assert set(enabled(mock_control, N2).values()) == {True}
    assert "disable 10.40.0.11:443 in mail16/https (10.40.0.50:443/tcp on lm-test)" in (
        outcome.stdout
    )
    assert "disable 10.40.0.11:25 in mail16/smtp (10.40.0.50:25/tcp on lm-test)" in outcome.stdout
    assert "disable 10.40.0.11:443 in autod16/https (10.40.0.51:443/tcp on lm-test)" in (
        outcome.stdout
    )
    assert "EX-N1 is drained: disabled in autod16 and mail16 on lm-test, 0 connections" in (
        outcome.stdout
    )


def test_undrain_reenables_the_server_in_both_namespaces(
    one_appliance: RunLmctl, mock_control: MockControl
) -> None:
    assert one_appliance("drain", "EX-N1", *FAST).exit_code == 0
    mock_control.clear_log()

    outcome = one_appliance("undrain", "EX-N1", *FAST)
    again = one_appliance("undrain", "EX-N1", *FAST)

    assert outcome.exit_code == 0, outcome.output
    assert [write[3] for write in modrs(mock_control)] == ["Y", "Y", "Y"]
    assert set(enabled(mock_control, N1).values()) == {True}
    assert "EX-N1 is enabled and Up in every service of autod16 and mail16 on lm-test" in (
        outcome.stdout
    )
    assert again.exit_code == 0
    assert "EX-N1 is already enabled in every service of mail16 on lm-test" in again.stdout
    assert "EX-N1 is already enabled in every service of autod16 on lm-test" in again.stdout
    assert len(modrs(mock_control)) == 3  # the second run wrote nothing


def test_a_refusal_in_one_namespace_writes_nothing_in_either(
    one_appliance: RunLmctl, mock_control: MockControl
) -> None:
    mock_control.mark(N2, "Down", port=25)  # EX-N2 is down in mail16's smtp only

    refused = one_appliance("drain", "EX-N1", *FAST)
    forced = one_appliance("drain", "EX-N1", "--force", *FAST)

    assert refused.exit_code == 3
    assert (
        "refusing to drain EX-N1: mail16/smtp: no other member is enabled and Up (EX-N2 down)"
    ) in refused.stderr
    assert forced.exit_code == 0, forced.output
    assert "--force: draining although mail16/smtp: no other member" in forced.stdout
    # Only the forced run wrote: one modrs per real server of EX-N1, in both namespaces.
    assert len(modrs(mock_control)) == 3
    assert set(enabled(mock_control, N1).values()) == {False}


def test_array_option_drains_the_server_in_the_named_namespace_only(
    one_appliance: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    mock_control.set_connections(N1, 50)
    mock_control.set_drain_seconds(3600)

    outcome = one_appliance("drain", "EX-N1", "--array", "autod16", "--timeout", "0.2", *FAST)

    assert outcome.exit_code == 2
    assert modrs(mock_control) == [("modrs", "10.40.0.51", N1, "N")]
    assert enabled(mock_control, N1)[("10.40.0.51", "443")] is False
    assert enabled(mock_control, N1)[("10.40.0.50", "443")] is True
    # The single-array wording, and the command to repeat keeps the restriction.
    assert "timed out: EX-N1 is disabled in array autod16 but still has" in outcome.stdout
    again = f"lmctl drain EX-N1 --array autod16 {tmp_path / 'arrays'}"
    assert f"run `{again}` again to keep waiting" in " ".join(outcome.stdout.split())


def test_undrain_is_refused_everywhere_when_one_spec_disables_the_server(
    one_appliance: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    assert one_appliance("drain", "EX-N1", *FAST).exit_code == 0
    spec = tmp_path / "arrays" / "autod16.yaml"
    spec.write_text(
        spec.read_text().replace(f"address: {N1}}}", f"address: {N1}, enabled: false}}")
    )
    mock_control.clear_log()

    outcome = one_appliance("undrain", "EX-N1", *FAST)

    assert outcome.exit_code == 3
    assert (
        "refusing to undrain EX-N1: the spec of autod16 disables it (enabled: false), so the "
        "next `lmctl apply` would disable it again. Set enabled: true (or remove the key) and "
        "run `lmctl apply` instead, or undrain it in mail16 only: "
        f"`lmctl undrain EX-N1 --array mail16 {tmp_path / 'arrays'}`."
    ) in " ".join(outcome.stderr.split())
    assert modrs(mock_control) == []
    assert set(enabled(mock_control, N1).values()) == {False}


def test_an_appliance_error_while_waiting_says_how_to_finish_in_every_namespace(
    one_appliance: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    mock_control.set_connections(N1, 100)
    mock_control.set_drain_seconds(3600)
    api_off = threading.Timer(0.5, mock_control.set_api_enabled, args=(False,))
    api_off.start()

    outcome = one_appliance("drain", "EX-N1", "--timeout", "20", *FAST)
    api_off.join()

    assert outcome.exit_code == 1
    specs = tmp_path / "arrays"
    assert (
        "the drain of EX-N1 (autod16 and mail16 on lm-test) may be unfinished; run "
        f"`lmctl drain EX-N1 {specs}` again to finish it (safe to repeat), or "
        f"`lmctl undrain EX-N1 {specs}` to go back"
    ) in " ".join(outcome.stderr.split())


# -- two appliances --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dr_mock() -> Iterator[tuple[MockServerHandle, MockControl]]:
    """A second served mock LoadMaster, ``lm-dr``."""
    with serve_in_thread() as handle, handle.control() as control:
        yield handle, control


@pytest.fixture
def two_appliances(
    request: pytest.FixtureRequest,
    mock_server: MockServerHandle,
    dr_mock: tuple[MockServerHandle, MockControl],
    monkeypatch: pytest.MonkeyPatch,
) -> RunLmctl:
    """mail16 on lm-test and autod16 on lm-dr, over EX-N1/EX-N2."""
    handle, control = dr_mock
    control.reset()
    monkeypatch.setenv(DR_PASSWORD, handle.password)
    dr = mock_inventory(handle, "lm-dr", "v2").replace(PASSWORD_VARIABLE, DR_PASSWORD)
    inventory = mock_inventory(mock_server, "lm-test", "v1") + dr.removeprefix("appliances:\n")
    files = {
        "appliances.yaml": inventory,
        "mail16.yaml": MAIL,
        "autod16.yaml": AUTOD.replace("appliance: lm-test", "appliance: lm-dr"),
    }
    run = prepare_arrays(request, "v1", files)
    control.clear_log()
    return run


def test_drain_and_undrain_act_on_both_appliances(
    two_appliances: RunLmctl,
    mock_control: MockControl,
    dr_mock: tuple[MockServerHandle, MockControl],
) -> None:
    dr = dr_mock[1]

    drained = two_appliances("drain", "EX-N1", *FAST)
    drained_writes = (modrs(mock_control), modrs(dr))
    undrained = two_appliances("undrain", "EX-N1", *FAST)

    assert drained.exit_code == 0, drained.output
    assert drained_writes == (
        [("modrs", "10.40.0.50", N1, "N"), ("modrs", "10.40.0.50", N1, "N")],
        [("modrs", "10.40.0.51", N1, "N")],
    )
    assert "disable 10.40.0.11:443 in autod16/https (10.40.0.51:443/tcp on lm-dr)" in (
        drained.stdout
    )
    # In the specs' order: autod16.yaml loads before mail16.yaml.
    assert "EX-N1 is drained: disabled in autod16 on lm-dr and mail16 on lm-test" in (
        drained.stdout
    )
    assert undrained.exit_code == 0, undrained.output
    assert "Up in every service of autod16 on lm-dr and mail16 on lm-test" in undrained.stdout
    assert set(enabled(mock_control, N1).values()) == {True}
    assert set(enabled(dr, N1).values()) == {True}
    assert [write[3] for write in modrs(mock_control) + modrs(dr)] == ["N", "N", "Y", "Y", "N", "Y"]


def test_a_refusal_on_one_appliance_writes_nothing_on_the_other(
    two_appliances: RunLmctl,
    mock_control: MockControl,
    dr_mock: tuple[MockServerHandle, MockControl],
) -> None:
    dr = dr_mock[1]
    dr.mark(N2, "Down")

    outcome = two_appliances("drain", "EX-N1", *FAST)

    assert outcome.exit_code == 3
    assert "autod16/https: no other member is enabled and Up (EX-N2 down)" in outcome.stderr
    assert modrs(mock_control) == [] and modrs(dr) == []
    assert set(enabled(mock_control, N1).values()) == {True}


def test_a_lock_held_on_one_appliance_writes_nothing_on_the_other(
    two_appliances: RunLmctl,
    mock_control: MockControl,
    dr_mock: tuple[MockServerHandle, MockControl],
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    with appliance_lock(state_dir, "lm-test"):
        outcome = two_appliances("drain", "EX-N1", "--state-dir", str(state_dir), *FAST)

    assert outcome.exit_code == 1
    assert "lm-test: another lmctl apply is writing to it" in outcome.stderr
    assert modrs(mock_control) == [] and modrs(dr_mock[1]) == []
    # lm-dr's lock (sorted order: taken first) was released with the refusal.
    with appliance_lock(state_dir, "lm-dr"):
        pass


# -- Exchange 2010: a CAS/Hub server in one array's CAS and another's smtp -------------------

HUB = (
    array_spec(
        "hub",
        "DR",
        "2010 SP3",
        "10.30.3.10",
        "lm-test",
        {"CAS-C1": "10.30.3.11", "CAS-C2": "10.30.3.12"},
        fqdn="outlook-dr.corp.example.com",
        rpc_ports=(60000, 60001),
        services=("https", "smtp"),
    )
    + "overrides:\n  smtp:\n    members:\n"
    + "      - {name: CAS-A1, address: 10.30.0.11}\n"
    + "      - {name: CAS-C1, address: 10.30.3.11}\n"
)


def test_a_2010_cas_that_is_another_arrays_smtp_member_is_drained_in_both(
    request: pytest.FixtureRequest, mock_control: MockControl
) -> None:
    run = prepare_arrays(request, "v1", {"two.yaml": ARRAY_TWO, "hub.yaml": HUB})

    outcome = run("drain", "CAS-A1", *FAST)

    assert outcome.exit_code == 0, outcome.output
    assert "disable 10.30.0.11:25 in hub/smtp (10.30.3.10:25/tcp on lm-test)" in outcome.stdout
    assert "CAS-A1 is drained: disabled in hub and two on lm-test, 0 connections" in (
        outcome.stdout
    )
    assert [(vs, flag) for _c, vs, _rs, flag in modrs(mock_control)] == [
        ("10.30.3.10", "N"),
        ("10.30.0.10", "N"),
        ("10.30.0.10", "N"),
    ]
    assert set(enabled(mock_control, "10.30.0.11").values()) == {False}
    assert set(enabled(mock_control, "10.30.3.11").values()) == {True}


def test_a_namespace_not_applied_yet_is_skipped_and_the_others_drained(
    one_appliance: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    later = namespace("owa16", "10.40.0.52", "lm-test", "https")
    (tmp_path / "arrays" / "owa16.yaml").write_text(later)

    outcome = one_appliance("drain", "EX-N1", *FAST)

    assert outcome.exit_code == 0, outcome.output
    assert (
        "owa16/https: EX-N1 is not on lm-test (virtual service or real server missing; run "
        "`lmctl apply`), skipped"
    ) in outcome.stdout
    assert len(modrs(mock_control)) == 3
    assert "EX-N1 is drained: disabled in autod16, mail16 and owa16 on lm-test" in outcome.stdout


def test_drain_notes_each_spec_that_would_reenable_the_server(
    one_appliance: RunLmctl, tmp_path: Path
) -> None:
    spec = tmp_path / "arrays" / "mail16.yaml"
    spec.write_text(spec.read_text().replace(f"address: {N1}}}", f"address: {N1}, enabled: true}}"))

    outcome = one_appliance("drain", "EX-N1", *FAST)

    assert outcome.exit_code == 0, outcome.output
    assert (
        "note: the spec of mail16 sets enabled: true for EX-N1, so the next `lmctl apply` "
        "re-enables it"
    ) in outcome.stdout
    assert "the spec of autod16" not in outcome.stdout


def test_array_option_naming_an_array_without_the_server_exits_1_touching_nothing(
    one_appliance: RunLmctl, mock_control: MockControl, tmp_path: Path
) -> None:
    other = array_spec(
        "dr16",
        "DR",
        "2016 CU23",
        "10.40.1.50",
        "lm-test",
        {"EX-D1": "10.40.1.11"},
        fqdn="dr16.corp.example.com",
        services=("https",),
    )
    (tmp_path / "arrays" / "dr16.yaml").write_text(other)

    outcome = one_appliance("undrain", "EX-N1", "--array", "dr16", "--array", "mail16")

    assert outcome.exit_code == 1
    assert (
        "error: --array: 'EX-N1' is not a member of dr16; it is a member of autod16 and mail16"
    ) in outcome.stderr
    assert mock_control.calls() == []
