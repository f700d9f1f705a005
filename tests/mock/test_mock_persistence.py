"""The state file across restarts, the embedded ``mock://`` appliance, and ``lmctl mock serve``."""

from __future__ import annotations

import json
import re
import signal
import ssl
import time
from pathlib import Path

import httpx
import pytest
from mock_wire_helpers import RawApi, json_reply, read_banner, serve_fails, serve_process

from lmctl.cli.app import EXIT_USAGE
from lmctl.mock.embedded import start_embedded, state_file_for
from lmctl.mock.persistence import StateFileError
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
