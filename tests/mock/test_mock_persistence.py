"""The state file across restarts, the embedded ``mock://`` appliance, and ``lmctl mock serve``."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import ssl
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from mock_wire_helpers import RawApi, json_reply, read_banner, serve_fails, serve_process

from lmctl.cli.app import EXIT_USAGE
from lmctl.mock.appliance import MockAppliance
from lmctl.mock.embedded import start_embedded, state_file_for
from lmctl.mock.persistence import StateFileError, StateStore, state_from_json, state_to_json
from lmctl.mock.server import serve_in_thread

VS = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}
RS = {"rs": "10.0.20.11", "rsport": "443"}


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "lm1.json"
    with serve_in_thread(state_file=state_file) as first, RawApi(first) as api:
        api.v2("addvs", {**VS, "NickName": "lmctl.hq.owa"})
        api.v2("addrs", {**VS, **RS})
        api.v1("modrs", {**VS, **RS, "enable": "N"})
        with first.control() as control:
            control.mark("10.0.20.11", "Down")
    assert [p.name for p in tmp_path.iterdir()] == ["lm1.json"]  # no temporary file left
    with serve_in_thread(state_file=state_file) as second, RawApi(second) as api:
        shown = json_reply(api.v2("showvs", VS))
        added = json_reply(api.v2("addvs", {"vs": "10.0.10.21", "port": "443", "prot": "tcp"}))
    assert shown["NickName"] == "lmctl.hq.owa"
    assert [(rs["Addr"], rs["Enable"], rs["Status"]) for rs in shown["Rs"]] == [
        ("10.0.20.11", False, "Down")
    ]
    assert added["Index"] == 2  # indices continue where the first run stopped
    saved = json.loads(state_file.read_text())
    assert [service["address"] for service in saved["services"]] == ["10.0.10.20", "10.0.10.21"]


def test_a_broken_state_file_is_reported_not_overwritten(tmp_path: Path) -> None:
    state_file = tmp_path / "lm1.json"
    state_file.write_text("{not json")
    with pytest.raises(StateFileError, match=r"lm1\.json is not a valid lmctl mock state"):
        serve_in_thread(state_file=state_file)
    assert state_file.read_text() == "{not json"


def _rich_state() -> dict[str, Any]:
    """The state (as the state file holds it) of an appliance that used every kind of value:
    settings of each JSON kind and unset ones, a SubVS with its row settings, a draining real
    server, non-local members, health marks, subnets, a changed drain time."""
    clock = iter(float(second) for second in range(1_000, 2_000))
    appliance = MockAppliance(clock=lambda: next(clock), local_subnets=["10.0.0.0/8", "fd00::/8"])
    owa = {**VS, "NickName": "owa", "Persist": "src", "ExtraPorts": "8443,9000-9001"}
    for command, params in [
        ("addvs", owa),
        ("addvs", {"vs": "10.0.10.21", "port": "80", "prot": "tcp", "ErrorCode": "302"}),
        ("modvs", {"vs": "10.0.10.21", "port": "80", "prot": "tcp", "ErrorUrl": "https://x/"}),
        ("addvs", {"vs": "fd00::21", "port": "*", "prot": "udp", "Enable": "N"}),
        ("modvs", {**VS, "createsubvs": "1"}),
        ("modrs", {**VS, "rs": "!1", "weight": "7", "critical": "Y"}),
        ("modvs", {"vs": "4", "NickName": "sub", "SSLAcceleration": "Y"}),
        ("addrs", {**VS, **RS}),
        ("addrs", {**VS, "rs": "192.0.2.9", "rsport": "8443", "non_local": "1", "weight": "9"}),
    ]:
        appliance.execute(command, params)
    appliance.set_connections("10.0.20.11", 443, 40)
    appliance.execute("modrs", {**VS, **RS, "enable": "N"})
    appliance.mark_health("192.0.2.9", None, "Down")
    appliance.mark_health("10.0.20.11", 443, "Up")
    appliance.set_drain_seconds(12.5)
    saved: dict[str, Any] = json.loads(json.dumps(appliance.snapshot()))
    return saved


def test_every_value_the_mock_saves_reads_back_as_it_was() -> None:
    saved = _rich_state()
    assert [service["index"] for service in saved["services"]] == [1, 2, 3, 4]
    assert saved["services"][0]["real_servers"][0]["connections"]["drain_started"] is not None
    assert state_to_json(state_from_json(saved)) == saved


def _broken(path: str, value: Any) -> dict[str, Any]:
    """The rich state with the value at ``path`` (dotted, list positions as numbers) replaced;
    ``DELETE`` removes the key."""
    document = _rich_state()
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    container: Any = document
    for part in parents:
        container = container[part]
    if value is DELETE:
        del container[last]
    else:
        container[last] = value
    return document


DELETE = object()
SERVICE = "services.0"
RS_0 = f"{SERVICE}.real_servers.0"


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("parameters", [1], "parameters must be an object, not a list"),
        ("parameters.hostname", 7, "parameters.hostname must be text, not a number"),
        ("services", {}, "services must be a list, not an object"),
        ("services", [1], "services[0] must be an object, not a number"),
        ("services", DELETE, "services is missing"),
        (f"{SERVICE}.index", "1", "services[0].index must be a whole number, not text"),
        (f"{SERVICE}.index", 0, "services[0].index must be 1 or more, not 0"),
        (f"{SERVICE}.index", 1.0, "services[0].index must be a whole number, not a number"),
        (f"{SERVICE}.index", True, "services[0].index must be a whole number, not true/false"),
        ("services.1.index", 1, "services[1].index 1 is used twice"),
        (f"{SERVICE}.address", "10.0.10", "services[0].address must be an IPv4 or IPv6 address"),
        (f"{SERVICE}.address", DELETE, "services[0].address is missing"),
        (f"{SERVICE}.port", 443, "services[0].port must be text, not a number"),
        (f"{SERVICE}.port", "70000", "services[0].port must be a port 0-65535 or *, as text"),
        (f"{SERVICE}.protocol", "sctp", "services[0].protocol must be one of tcp, udp"),
        (f"{SERVICE}.settings", None, "services[0].settings must be an object, not null"),
        (f"{SERVICE}.settings.Enable", "Y", "services[0].settings.Enable must be true or false"),
        (f"{SERVICE}.settings.Enable", None, "services[0].settings.Enable must be true or false"),
        (f"{SERVICE}.settings.Idletime", 1.5, "settings.Idletime must be a whole number"),
        (f"{SERVICE}.settings.Idletime", -1, "settings.Idletime must be 0 or more, not -1"),
        (f"{SERVICE}.settings.NickName", 7, "services[0].settings.NickName must be text"),
        (f"{SERVICE}.settings.ErrorCode", "abc", "settings.ErrorCode must be an HTTP status"),
        (f"{SERVICE}.settings.InterceptOpts", "x", "settings.InterceptOpts must be a list"),
        (f"{SERVICE}.settings.InterceptOpts", [1], "settings.InterceptOpts[0] must be text"),
        (f"{SERVICE}.master_index", None, "services[0].master_index must be a whole number"),
        (f"{SERVICE}.row_options", [], "services[0].row_options must be an object, not a list"),
        ("services.3.row_options.weight", [7], "row_options.weight must be a whole number"),
        (f"{SERVICE}.sub_services", [4.0], "services[0].sub_services[0] must be a whole number"),
        (f"{SERVICE}.real_servers", {}, "services[0].real_servers must be a list, not an object"),
        (f"{RS_0}.address", None, "services[0].real_servers[0].address must be text, not null"),
        (f"{RS_0}.port", 70000, "real_servers[0].port must be a port 1-65535, not 70000"),
        (f"{RS_0}.rs_index", DELETE, "services[0].real_servers[0].rs_index is missing"),
        (f"{RS_0}.forward", "tunnel", "real_servers[0].forward must be one of nat, route"),
        (f"{RS_0}.weight", "1000", "real_servers[0].weight must be a whole number, not text"),
        (f"{RS_0}.enable", "yes", "real_servers[0].enable must be true or false, not text"),
        (f"{RS_0}.connections", [], "real_servers[0].connections must be an object, not a list"),
        (f"{RS_0}.connections.active", -3, "connections.active must be 0 or more, not -3"),
        (f"{RS_0}.connections.drain_started", math.nan, "drain_started must be a finite number"),
        ("next_index", DELETE, "next_index is missing"),
        ("next_rs_index", 0, "next_rs_index must be 1 or more, not 0"),
        ("last_change", "now", "last_change must be a whole number, not text"),
        ("health", [], "health must be an object, not a list"),
        ("health", {"192.0.2.9": "Sideways"}, "health.192.0.2.9 must be one of Up, Down"),
        ("drain_seconds", math.inf, "drain_seconds must be a finite number of seconds"),
        ("drain_seconds", -math.inf, "drain_seconds must be a finite number of seconds"),
        ("drain_seconds", math.nan, "drain_seconds must be a finite number of seconds"),
        ("drain_seconds", 10**400, "drain_seconds must be a finite number of seconds"),
        ("drain_seconds", -1, "drain_seconds must be a finite number of seconds, 0 or more"),
        ("drain_seconds", "30", "drain_seconds must be a number of seconds, not text"),
        ("local_subnets", "10.0.0.0/8", "local_subnets must be a list, not text"),
        ("local_subnets", [8], "local_subnets[0] must be text, not a number"),
        ("local_subnets", ["10.0.0.0/33"], "not a subnet: '10.0.0.0/33'"),
    ],
)
def test_a_state_file_of_the_wrong_shape_is_refused_naming_the_value(
    tmp_path: Path, path: str, value: Any, problem: str
) -> None:
    """Each used to end the command in a TypeError or AttributeError, or later mid-request."""
    state_file = tmp_path / "lm1.json"
    text = json.dumps(_broken(path, value))  # NaN and Infinity as Python's json writes them
    state_file.write_text(text)
    with pytest.raises(StateFileError) as refused:
        StateStore(state_file).load()
    message = str(refused.value)
    assert message.startswith(f"mock state file {state_file} is not a valid lmctl mock state (")
    assert problem in message
    assert message.endswith("); delete it to start from an empty appliance")
    assert state_file.read_text() == text


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"\xff", "not UTF-8 text"), (b"[" * 100_000, "nested too deeply")],
    ids=["not-utf-8", "nested"],
)
def test_a_state_file_that_is_not_json_text_is_refused(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    state_file = tmp_path / "lm1.json"
    state_file.write_bytes(content)
    with pytest.raises(
        StateFileError, match=rf"lm1\.json is not a valid lmctl mock state \({problem}\)"
    ):
        StateStore(state_file).load()


@pytest.mark.skipif(os.name != "posix", reason="symbolic links are POSIX's")
@pytest.mark.parametrize("kind", ["a directory", "a symbolic link"])
def test_a_state_file_that_is_not_a_regular_file_is_refused(tmp_path: Path, kind: str) -> None:
    """A link is refused even to a good state: the mock writes only files it owns."""
    state_file = tmp_path / "lm1.json"
    if kind == "a directory":
        state_file.mkdir()
    else:
        good = tmp_path / "good.json"
        good.write_text(json.dumps(_rich_state()))
        state_file.symlink_to(good)
    with pytest.raises(StateFileError) as refused:
        StateStore(state_file).load()
    assert str(refused.value) == (
        f"mock state file {state_file} is {kind}, not a regular file; remove it to start from an "
        "empty appliance"
    )


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc")
def test_an_unwritable_state_file_is_reported_at_start() -> None:
    # Root can write almost anywhere; /proc refuses new directories even to root.
    with pytest.raises(StateFileError, match=r"cannot write mock state file /proc/lmctl-x/s\.json"):
        serve_in_thread(state_file=Path("/proc/lmctl-x/s.json"))


def test_embedded_mock_keeps_state_between_invocations(tmp_path: Path) -> None:
    first = start_embedded("lab", tmp_path)
    with first, RawApi(first.handle) as api:
        assert first.url == first.handle.url and first.url.startswith("https://127.0.0.1:")
        assert first.fingerprint_sha256 == first.handle.fingerprint_sha256
        assert (first.username, first.password) == (first.handle.username, first.handle.password)
        assert first.state_file == state_file_for("lab", tmp_path) == tmp_path / "mock-lab.json"
        api.v2("addvs", VS)
    again = start_embedded("lab", tmp_path)
    with again, RawApi(again.handle) as api:
        listed = json_reply(api.v2("listvs"))["VS"]
        assert again.password != first.password
    assert [vs["VSAddress"] for vs in listed] == ["10.0.10.20"]
    assert (tmp_path / "mock-lab.json").exists()


def test_lmctl_mock_serve_prints_what_a_client_needs_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "state.json"
    process = serve_process("--state", str(state_file), LMCTL_MOCK_API_KEY="k-123")
    try:
        banner = read_banner(process)
        url = banner["URL"]
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", url)
        assert url.endswith(f":{banner['Port']}") and banner["Port"] != "0"
        assert re.fullmatch(r"[0-9a-f]{64}", banner["Certificate SHA-256"])
        assert banner["User"] == "bal"
        assert banner["API key"] == "(as given)"
        context = ssl.create_default_context(cafile=banner["CA file"])
        reply = httpx.post(
            f"{url}/accessv2",
            json={"cmd": "addvs", **VS, "apiuser": "bal", "apipass": banner["Password"]},
            verify=context,
        )
        by_key = httpx.get(f"{url}/access/listvs", params={"apikey": "k-123"}, verify=context)
        assert reply.status_code == 200 and by_key.status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=10)
    assert process.returncode == 0, errors
    assert "mock LoadMaster stopped" in output
    assert "k-123" not in output
    assert json.loads(state_file.read_text())["services"][0]["address"] == "10.0.10.20"


def test_lmctl_mock_serve_reports_a_busy_port(tmp_path: Path) -> None:
    with serve_in_thread() as busy:
        result = serve_fails("--port", str(busy.port))
    assert result.returncode == 1
    assert f"error: cannot listen on 127.0.0.1:{busy.port}" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_lmctl_mock_serve_plain_http_with_given_credentials() -> None:
    process = serve_process("--no-tls", "--user", "ops", LMCTL_MOCK_PASSWORD="s3cret-pw")
    try:
        banner = read_banner(process)
        reply = httpx.get(
            f"{banner['URL']}/access/get", params={"param": "version"}, auth=("ops", "s3cret-pw")
        )
    finally:
        process.send_signal(signal.SIGTERM)
        output, errors = process.communicate(timeout=10)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", banner["URL"])
    assert "Certificate SHA-256" not in banner
    assert (banner["User"], banner["Password"]) == ("ops", "(as given)")
    assert reply.status_code == 200
    assert process.returncode == 0, errors
    assert "s3cret-pw" not in output + errors


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--state", "{broken}"], "is not a valid lmctl mock state"),
        (["--host", "192.0.2.1"], "Check --host: it must be an address of this machine"),
        (["--state", "{broken}/inside.json"], "cannot read mock state file"),
    ],
    ids=["broken-state-file", "foreign-host", "state-file-under-a-file"],
)
def test_lmctl_mock_serve_refuses_bad_input_in_one_message(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    broken = tmp_path / "state.json"
    broken.write_text("{not json")
    command = [argument.replace("{broken}", str(broken)) for argument in arguments]
    result = serve_fails("--port", "0", *command)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert broken.read_text() == "{not json"


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("not UTF-8", "is not a valid lmctl mock state (not UTF-8 text); delete it"),
        ("wrong shape", "is not a valid lmctl mock state (services must be a list, not text)"),
        ("FIFO", "is a FIFO, not a regular file; remove it"),
    ],
)
def test_lmctl_mock_serve_refuses_an_unusable_state_file_in_one_message(
    tmp_path: Path, kind: str, message: str
) -> None:
    """Each used to end in a traceback (or, for a FIFO, to wait for a writer forever)."""
    state_file = tmp_path / "state.json"
    if kind == "FIFO":
        if not hasattr(os, "mkfifo"):
            pytest.skip("FIFOs are POSIX's")
        os.mkfifo(state_file)
    else:
        wrong = {"format": 1, "services": "none", "next_index": 1, "next_rs_index": 1}
        state_file.write_bytes(b"\xff" if kind == "not UTF-8" else json.dumps(wrong).encode())
    result = serve_fails("--port", "0", "--state", str(state_file))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: mock state file {state_file} {message}"), line


def test_plain_http_and_latency_injection() -> None:
    with serve_in_thread(tls=False, latency_ms=150, api_key="k") as handle:
        assert handle.url.startswith("http://127.0.0.1:")
        assert (handle.fingerprint_sha256, handle.ca_file) == (None, None)
        started = time.monotonic()
        reply = httpx.get(f"{handle.url}/access/get", params={"param": "version", "apikey": "k"})
        elapsed = time.monotonic() - started
    assert reply.status_code == 200
    assert elapsed >= 0.15  # every API call waits the injected latency


def test_lmctl_mock_serve_local_subnets_refuse_other_members_and_are_saved(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "state.json"
    process = serve_process(
        "--state", str(state_file), "--local-subnet", "10.10.0.0/16", "--local-subnet", "fd00::/8"
    )
    try:
        banner = read_banner(process)
        context = ssl.create_default_context(cafile=banner["CA file"])
        with httpx.Client(
            base_url=banner["URL"], auth=("bal", banner["Password"]), verify=context
        ) as api:
            api.get("/access/addvs", params=VS)
            far = {**VS, "rs": "10.30.0.5", "rsport": "443"}
            refused = api.get("/access/addrs", params=far)
            allowed = api.get("/access/addrs", params={**far, "non_local": "1"})
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert banner["Local subnets"] == "10.10.0.0/16, fd00::/8 (others need non_local=1)"
    assert refused.status_code == 422
    assert "<Error>Non-local real server 10.30.0.5" in refused.text
    assert allowed.status_code == 200
    assert json.loads(state_file.read_text())["local_subnets"] == ["10.10.0.0/16", "fd00::/8"]


def test_lmctl_mock_serve_refuses_a_local_subnet_that_is_not_one() -> None:
    result = serve_fails("--port", "0", "--local-subnet", "10.10.0.0/33")
    assert result.returncode == EXIT_USAGE
    assert "--local-subnet" in result.stderr
    assert "10.10.0.0/33" in result.stderr
    assert "Traceback" not in result.stderr
