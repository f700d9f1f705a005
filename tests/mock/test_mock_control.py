"""The control API over HTTPS: health, connections and drain, faults, call log, reset."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from mock_wire_helpers import RawApi, json_reply, leaf_texts, xml_data

import lmctl.mock
from lmctl.mock import control, faults
from lmctl.mock.control import FaultKind, MockControl, MockControlError
from lmctl.mock.server import MockServerHandle

MOCK_SOURCES = Path(lmctl.mock.__file__).resolve().parent

VS = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}
RS1 = {"rs": "10.0.20.11", "rsport": "443"}
RS2 = {"rs": "10.0.20.12", "rsport": "443"}


def _pool(api: RawApi) -> None:
    assert api.v2("addvs", VS).status_code == 200
    assert api.v2("addrs", {**VS, **RS1}).status_code == 200
    assert api.v2("addrs", {**VS, **RS2}).status_code == 200


def _vs(api: RawApi) -> dict[str, Any]:
    return json_reply(api.v2("showvs", VS))


def _statuses(api: RawApi) -> tuple[str, list[str]]:
    shown = _vs(api)
    return shown["Status"], [row["Status"] for row in shown["Rs"]]


def _stats(api: RawApi) -> dict[str, Any]:
    return json_reply(api.v2("stats"))


def test_new_real_servers_are_up_and_vs_follows_health(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    with RawApi(mock_server) as api:
        _pool(api)
        assert _statuses(api) == ("Up", ["Up", "Up"])
        mock_control.mark("10.0.20.11", "Down")
        assert _statuses(api) == ("Up", ["Down", "Up"])
        mock_control.mark("10.0.20.12", "Down", port=443)
        assert _statuses(api) == ("Down", ["Down", "Down"])
        mock_control.mark("10.0.20.12", "Up", port=443)
        assert _statuses(api) == ("Up", ["Down", "Up"])
        # A disabled real server does not keep its VS up, even when healthy.
        api.v2("modrs", {**VS, **RS2, "enable": "N"})
        assert _statuses(api) == ("Down", ["Down", "Up"])
    assert mock_control.health_marks() == {"10.0.20.11": "Down", "10.0.20.12:443": "Up"}


def test_port_mark_overrides_address_mark(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    with RawApi(mock_server) as api:
        _pool(api)
        api.v2("addrs", {**VS, "rs": "10.0.20.11", "rsport": "8443"})
        mock_control.mark("10.0.20.11", "Down")
        mock_control.mark("10.0.20.11", "Up", port=8443)
        assert _statuses(api) == ("Up", ["Down", "Up", "Up"])


def test_health_follows_the_port_the_check_probes(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    """An Exchange 2010 rpc VS listens on 135 and checks the static RPC Client Access port: the
    endpoint mapper answering says nothing of the RPC service behind it."""
    with RawApi(mock_server) as api:
        _pool(api)
        api.v2("modvs", {**VS, "CheckPort": "60000"})
        mock_control.mark("10.0.20.11", "Down", port=443)
        assert _statuses(api) == ("Up", ["Up", "Up"])
        mock_control.mark("10.0.20.11", "Down", port=60000)
        assert _statuses(api) == ("Up", ["Down", "Up"])
        api.v2("modvs", {**VS, "CheckPort": "0"})  # 0: the real server's own port again
        assert _statuses(api) == ("Up", ["Down", "Up"])
        mock_control.mark("10.0.20.11", "Up", port=443)
        assert _statuses(api) == ("Up", ["Up", "Up"])


def test_a_mark_takes_any_port_a_check_may_probe(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    """A VS's CheckPort is 1-65535, wider than a real server's own 3-65530: a mark on the
    port it probes is taken, a port that is none is refused."""
    with RawApi(mock_server) as api:
        _pool(api)
        api.v2("modvs", {**VS, "CheckPort": "65535"})
        mock_control.mark("10.0.20.11", "Down", port=65535)
        assert _statuses(api) == ("Up", ["Down", "Up"])
    for port in (0, 65536):
        with pytest.raises(MockControlError, match=rf"Invalid value for port: {port}"):
            mock_control.mark("10.0.20.11", "Down", port=port)
    assert mock_control.health_marks() == {"10.0.20.11:65535": "Down"}


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_redirect_disabled_and_fixed_error_services_report_their_own_status(
    mock_server: MockServerHandle, mock_control: MockControl, dialect: str
) -> None:
    redirect = {"vs": "10.0.10.20", "port": "80", "prot": "tcp"}
    fixed_error = {"vs": "10.0.10.21", "port": "80", "prot": "tcp"}

    def status(params: dict[str, str]) -> str:
        reply = api.call(dialect, "showvs", params)
        if dialect == "v1":
            return leaf_texts(xml_data(reply.content))["Status"]
        return str(json_reply(reply)["Status"])

    with RawApi(mock_server) as api:
        api.call(dialect, "addvs", {**redirect, "ErrorCode": "302", "ErrorUrl": "https://%h%s"})
        api.call(dialect, "addvs", {**fixed_error, "ErrorCode": "503"})
        _pool(api)
        seen = {"redirect": status(redirect), "fixed error": status(fixed_error)}
        mock_control.mark("10.0.20.11", "Down")
        mock_control.mark("10.0.20.12", "Down")
        seen["pool down"] = status(VS)
        api.call(dialect, "modvs", {**VS, "Enable": "N"})
        api.call(dialect, "modvs", {**redirect, "Enable": "N"})
        seen |= {"disabled": status(VS), "disabled redirect": status(redirect)}
        api.call(dialect, "modvs", {**VS, "Enable": "Y"})
        mock_control.mark("10.0.20.12", "Up")
        seen["enabled again"] = status(VS)
        listed = json_reply(api.v2("listvs"))["VS"]
    assert seen == {
        "redirect": "Redirect",
        "fixed error": "ErrMsg",
        "pool down": "Down",
        "disabled": "Disabled",
        "disabled redirect": "Disabled",
        "enabled again": "Up",
    }
    assert [vs["Status"] for vs in listed] == ["Disabled", "ErrMsg", "Up"]


def test_connections_drain_after_disable_and_stats_report_them(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    mock_control.set_drain_seconds(60)
    with RawApi(mock_server) as api:
        _pool(api)
        assert mock_control.set_connections("10.0.20.11", 40) == 1
        mock_control.set_connections("10.0.20.12", 7, port=443)
        before = _stats(api)
        api.v1("modrs", {**VS, **RS1, "enable": "N"})
        draining = _stats(api)
        # Past the drain time (here: a drain time of 0) a disabled server has no connections left.
        mock_control.set_drain_seconds(0)
        drained = _stats(api)
    assert [row["ActivConns"] for row in before["Rs"]] == [40, 7]
    assert before["Vs"][0]["ActiveConns"] == 47
    assert 0 < draining["Rs"][0]["ActivConns"] <= 40
    assert draining["Rs"][0]["Enable"] == 0
    assert [row["ActivConns"] for row in drained["Rs"]] == [0, 7]
    assert drained["Vs"][0]["ActiveConns"] == 7
    rows = {row.address: row for row in mock_control.connections()}
    assert (rows["10.0.20.11"].active, rows["10.0.20.11"].enable) == (0, False)
    assert rows["10.0.20.12"].active == 7


def test_disablers_is_global_and_enablers_stops_the_drain(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    other = {"vs": "10.0.10.21", "port": "443", "prot": "tcp"}
    mock_control.set_drain_seconds(3600)
    with RawApi(mock_server) as api:
        _pool(api)
        api.v2("addvs", other)
        api.v2("addrs", {**other, **RS1})
        mock_control.set_connections("10.0.20.11", 100)
        assert api.v1("disablers", {"rs": "10.0.20.11"}).status_code == 200
        disabled = [row["Enable"] for row in _stats(api)["Rs"]]
        assert api.v2("enablers", {"rs": "10.0.20.11", "port": "443"}).status_code == 200
        enabled = _stats(api)["Rs"]
    assert disabled == [0, 1, 0]
    assert [row["Enable"] for row in enabled] == [1, 1, 1]
    # A one-hour drain barely started: the count is frozen where it was, not reset.
    assert [row["ActivConns"] for row in enabled if row["Addr"] == "10.0.20.11"] == [100, 100]


def _listed(api: RawApi) -> list[str]:
    return [vs["VSAddress"] for vs in json_reply(api.v2("listvs"))["VS"]]


@pytest.mark.parametrize(
    ("kind", "applied"),
    [("drop", False), ("http500", False), ("reset_after_write", True)],
)
def test_fault_kinds_and_whether_the_write_lands(
    mock_server: MockServerHandle, mock_control: MockControl, kind: FaultKind, applied: bool
) -> None:
    mock_control.add_fault(kind, command="addvs")
    with RawApi(mock_server) as api:
        if kind == "http500":
            assert api.v2("addvs", VS).status_code == 500
        else:
            # drop: closed without a reply; reset_after_write: reset after the write.
            with pytest.raises(httpx.TransportError):
                api.v1("addvs", VS)
        assert _listed(api) == (["10.0.10.20"] if applied else [])
    first = mock_control.calls()[0]
    assert (first.command, first.fault) == ("addvs", kind)
    assert first.status == {"drop": 0, "http500": 500, "reset_after_write": 200}[kind]
    assert mock_control.write_count() == (1 if applied else 0)


def test_fault_stall_outlasts_the_client_timeout(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    mock_control.add_fault("stall", command="addvs", stall_seconds=1.0)
    read_timeout = httpx.Timeout(5.0, read=0.3)
    with RawApi(mock_server, timeout=read_timeout) as api, pytest.raises(httpx.ReadTimeout):
        api.v1("addvs", VS)
    with RawApi(mock_server) as api:
        assert _listed(api) == []
        deadline = time.monotonic() + 3
        while not _listed(api) and time.monotonic() < deadline:
            time.sleep(0.05)
        # A stalled appliance is slow, not dead: the write lands after the stall.
        assert _listed(api) == ["10.0.10.20"]


def test_reset_abandons_a_stalled_call_instead_of_applying_it_later(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    mock_control.add_fault("stall", command="addvs", stall_seconds=30)
    outcome: list[BaseException] = []

    def stalled_call() -> None:
        with RawApi(mock_server, timeout=10) as api:
            try:
                api.v1("addvs", VS)
            except httpx.TransportError as error:
                outcome.append(error)

    caller = threading.Thread(target=stalled_call)
    caller.start()
    deadline = time.monotonic() + 5
    while mock_control.pending_faults() and time.monotonic() < deadline:
        time.sleep(0.02)
    mock_control.reset()
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.RemoteProtocolError)
    with RawApi(mock_server) as api:
        assert _listed(api) == []
    # The abandoned call is not logged after the reset: only the check's own listvs is.
    assert [c.command for c in mock_control.calls()] == ["listvs"]


def test_fault_fires_on_the_nth_matching_call_only(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    mock_control.add_fault("http500", command="addrs", nth=2)
    mock_control.add_fault("http500", nth=6)
    with RawApi(mock_server) as api:
        statuses = [
            api.v2("addvs", VS).status_code,  # any: 1
            api.v2("listvs").status_code,  # any: 2
            api.v2("addrs", {**VS, **RS1}).status_code,  # addrs: 1, any: 3
            api.v2("addrs", {**VS, **RS2}).status_code,  # addrs: 2 -> 500, any: 4
            api.v2("addrs", {**VS, **RS2}).status_code,  # any: 5
            api.v2("listvs").status_code,  # any: 6 -> 500
            api.v2("listvs").status_code,
        ]
    assert statuses == [200, 200, 200, 500, 200, 500, 200]
    assert mock_control.pending_faults() == []


def test_pending_faults_are_listed_and_cleared(mock_control: MockControl) -> None:
    fault_id = mock_control.add_fault("drop", command="delvs", nth=3)
    pending = mock_control.pending_faults()
    assert [(f["id"], f["kind"], f["command"], f["remaining"]) for f in pending] == [
        (fault_id, "drop", "delvs", 3)
    ]
    assert mock_control.clear_faults() == 1
    assert mock_control.pending_faults() == []


def test_log_redacts_secrets_in_both_dialects(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    with RawApi(mock_server) as api:
        api.client.get("/access/addvs", params={**VS, "apikey": mock_server.api_key})
        api.v2("showvs", VS)  # apiuser/apipass
        api.client.post("/accessv2", json={"cmd": "listvs", "apikey": mock_server.api_key})
        raw_log = api.client.get(
            "/_mock/log", auth=(mock_server.username, mock_server.password)
        ).text
    calls = mock_control.calls()
    assert [(c.dialect, c.command) for c in calls] == [
        ("v1", "addvs"),
        ("v2", "showvs"),
        ("v2", "listvs"),
    ]
    assert calls[0].params == {**VS, "apikey": "***"}
    assert calls[1].params == {**VS, "apiuser": mock_server.username, "apipass": "***"}
    assert calls[2].params == {"apikey": "***"}
    assert mock_server.api_key not in raw_log
    assert mock_server.password not in raw_log
    assert [c.applied_write for c in calls] == [True, False, False]


def test_log_redacts_secrets_of_commands_the_mock_does_not_implement(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    # python-kemptech-api models.py change_bal_password: usersetsyspassword?currpassword=&password=
    with RawApi(mock_server) as api:
        reply = api.v1("usersetsyspassword", {"currpassword": "old-Secret1", "password": "new-2"})
        raw_log = api.client.get(
            "/_mock/log", auth=(mock_server.username, mock_server.password)
        ).text
    assert reply.status_code == 405
    assert mock_control.calls()[0].params == {"currpassword": "***", "password": "***"}
    assert "old-Secret1" not in raw_log and "new-2" not in raw_log


def test_reset_clears_state_marks_faults_and_log(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    with RawApi(mock_server) as api:
        _pool(api)
        api.v1("set", {"param": "enableapi", "value": "no"})
        mock_control.mark("10.0.20.11", "Down")
        mock_control.add_fault("drop")
        mock_control.reset()
        assert json_reply(api.v2("listvs")) == {"code": 200, "VS": [], "status": "ok"}
        assert json_reply(api.v2("addvs", VS))["Index"] == 1
    assert mock_control.health_marks() == {}
    assert mock_control.pending_faults() == []
    assert [c.command for c in mock_control.calls()] == ["listvs", "addvs"]
    assert mock_control.state()["parameters"]["enableapi"] == "yes"


def test_control_requires_the_same_credentials(mock_server: MockServerHandle) -> None:
    assert mock_server.ca_file is not None
    wrong = MockControl(mock_server.url, mock_server.username, "wrong", ca_file=mock_server.ca_file)
    with wrong, pytest.raises(MockControlError, match=r"failed \(401\)"):
        wrong.health_marks()
    with RawApi(mock_server) as api:
        by_key = api.client.get("/_mock/health", params={"apikey": mock_server.api_key})
    assert by_key.json() == {"marks": {}}


def test_control_rejects_bad_requests_with_a_reason(mock_control: MockControl) -> None:
    with pytest.raises(MockControlError, match="Invalid health status 'Sideways'"):
        mock_control.mark("10.0.20.11", "Sideways")  # type: ignore[arg-type]
    with pytest.raises(MockControlError, match=r"No real server 10\.0\.20\.99"):
        mock_control.set_connections("10.0.20.99", 5)
    with pytest.raises(MockControlError, match="unknown fault kind 'explode'"):
        mock_control.add_fault("explode")  # type: ignore[arg-type]


def test_a_drain_time_that_is_not_a_finite_number_is_refused(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    """Python's JSON reads NaN, Infinity and 1e400 (as infinity); a NaN drain time was kept, saved,
    and then refused by the next start from that state file."""
    auth = (mock_server.username, mock_server.password)
    with RawApi(mock_server) as api:
        for seconds in ("NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400):
            body = f'{{"seconds": {seconds}}}'.encode()
            reply = api.client.post("/_mock/drain", content=body, auth=auth)
            assert reply.status_code == 400, seconds
            assert reply.json() == {"error": "'seconds' must be a finite number"}
    assert mock_control.state()["drain_seconds"] == 30.0


def test_unknown_control_route_is_404(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        reply = api.client.get("/_mock/nothing", auth=(mock_server.username, mock_server.password))
    assert reply.status_code == 404
    assert "no control route GET /_mock/nothing" in reply.json()["error"]


def test_pinned_control_client_refuses_another_certificate(mock_server: MockServerHandle) -> None:
    with pytest.raises(MockControlError, match="does not present the pinned certificate"):
        MockControl(mock_server.url, "bal", "x", fingerprint_sha256="ab" * 32)
    pinned = MockControl(
        mock_server.url,
        mock_server.username,
        mock_server.password,
        fingerprint_sha256=mock_server.fingerprint_sha256,
    )
    with pinned:
        assert pinned.health_marks() == {}


# The fault kinds exist once: the control client takes exactly the kinds the mock serves.


def _modules_defining(name: str) -> list[str]:
    """The mock modules that assign ``name`` at top level (an import is not a definition)."""
    found = []
    for path in sorted(MOCK_SOURCES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                found.append(path.name)
    return found


def test_fault_kind_is_defined_once_in_the_fault_module() -> None:
    assert _modules_defining("FaultKind") == ["faults.py"]
    assert control.FaultKind is faults.FaultKind
    assert get_args(control.FaultKind) == faults.FAULT_KINDS
    assert faults.FAULT_KINDS == ("drop", "http500", "stall", "reset_after_write")


def _lmctl_imports(path: Path) -> set[str]:
    """The lmctl modules ``path`` imports (at any depth), other than the mock's own."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {
        name
        for name in names
        if (name == "lmctl" or name.startswith("lmctl.")) and not name.startswith("lmctl.mock")
    }


def test_the_mock_imports_nothing_of_lmctl_but_its_errors_and_file_opening() -> None:
    # Its tables are its own: a wrong value in the client must not be accepted by the mock too.
    # lmctl.files says how to open a file lmctl did not make, nothing of the appliance.
    imported = {name for path in MOCK_SOURCES.glob("*.py") for name in _lmctl_imports(path)}
    assert imported == {"lmctl.errors", "lmctl.files"}
