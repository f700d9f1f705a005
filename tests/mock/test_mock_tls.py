"""The served mock's certificate: temporary without a state file, kept beside it with one (so a
restarted mock keeps the fingerprint users pinned) until a new one is asked for."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from mock_wire_helpers import read_banner, serve_fails, serve_process

from lmctl.mock.control import MockControl, MockControlError
from lmctl.mock.server import serve_in_thread
from lmctl.mock.tls import CertificateError


def _serve(*arguments: str) -> tuple[dict[str, str], subprocess.Popen[str]]:
    """``lmctl mock serve --port 0 ARGUMENTS`` in a child process and its banner."""
    process = serve_process(*arguments)
    return read_banner(process), process


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)
    assert process.returncode == 0


def _pinned_state(banner: dict[str, str]) -> dict[str, object]:
    """What a user's pipeline sees through a client that pins the fingerprint it noted."""
    with MockControl(
        banner["URL"], "bal", banner["Password"], fingerprint_sha256=banner["Certificate SHA-256"]
    ) as control:
        return control.state()


def test_a_restarted_mock_keeps_the_certificate_users_pinned(tmp_path: Path) -> None:
    state_file = tmp_path / "lm-hq.json"
    first, process = _serve("--state", str(state_file))
    _stop(process)
    again, process = _serve("--state", str(state_file))
    try:
        # The pin noted at the first start still works (the port and password are new).
        pinned_first = {**again, "Certificate SHA-256": first["Certificate SHA-256"]}
        assert _pinned_state(pinned_first)["format"] == 1
    finally:
        _stop(process)
    assert again["Certificate SHA-256"] == first["Certificate SHA-256"]
    assert again["CA file"] == first["CA file"] == str(tmp_path / "lm-hq-ca.pem")
    kept = sorted(path.name for path in tmp_path.iterdir())
    assert kept == ["lm-hq-ca.pem", "lm-hq-cert.pem", "lm-hq-key.pem", "lm-hq.json"]
    for name in kept[:3]:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name


def test_new_certificate_replaces_the_kept_one_and_the_old_pin_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "lm-hq.json"
    first, process = _serve("--state", str(state_file))
    _stop(process)
    renewed, process = _serve("--state", str(state_file), "--new-certificate")
    try:
        with pytest.raises(MockControlError, match="does not present the pinned certificate"):
            _pinned_state({**renewed, "Certificate SHA-256": first["Certificate SHA-256"]})
        assert _pinned_state(renewed)["format"] == 1
    finally:
        _stop(process)
    again, process = _serve("--state", str(state_file))
    _stop(process)
    assert renewed["Certificate SHA-256"] != first["Certificate SHA-256"]
    assert again["Certificate SHA-256"] == renewed["Certificate SHA-256"]


def test_without_a_state_file_each_start_has_its_own_certificate_removed_at_stop() -> None:
    first, process = _serve()
    _stop(process)
    second, process = _serve()
    _stop(process)
    assert first["Certificate SHA-256"] != second["Certificate SHA-256"]
    assert not Path(first["CA file"]).exists()
    assert not Path(second["CA file"]).exists()


def test_a_damaged_kept_key_is_reported_with_what_to_do(tmp_path: Path) -> None:
    state_file = tmp_path / "lm-hq.json"
    _, process = _serve("--state", str(state_file))
    _stop(process)
    (tmp_path / "lm-hq-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n")
    result = serve_fails("--port", "0", "--state", str(state_file))
    assert result.returncode == 1
    assert f"the certificate kept beside {state_file} cannot be read" in result.stderr
    assert "--new-certificate" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_kept_certificate_for_another_host_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "lm.json"
    with serve_in_thread(state_file=state_file, keep_certificate=True, host="127.0.0.1"):
        pass
    with pytest.raises(CertificateError, match=r"does not name 127\.0\.0\.2; start with"):
        serve_in_thread(state_file=state_file, keep_certificate=True, host="127.0.0.2")
    with serve_in_thread(state_file=state_file, keep_certificate=True, host="::1") as v6:
        assert v6.ca_file == tmp_path / "lm-ca.pem"  # ::1 is always named


def test_keeping_a_certificate_needs_a_state_file() -> None:
    with pytest.raises(ValueError, match="needs a state_file"):
        serve_in_thread(keep_certificate=True)


def test_a_start_on_a_taken_port_removes_its_temporary_certificate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            serve_in_thread(port=port)
    assert list(tmp_path.glob("lmctl-mock-tls-*")) == []
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX's")
@pytest.mark.parametrize("kept", ["ca", "cert", "key"])
def test_a_fifo_in_place_of_a_kept_file_is_refused_not_waited_on(tmp_path: Path, kept: str) -> None:
    """Opening a FIFO waits for a writer: ``mock serve`` used to hang there for good."""
    state_file = tmp_path / "lm.json"
    with serve_in_thread(state_file=state_file, keep_certificate=True):
        pass
    fifo = tmp_path / f"lm-{kept}.pem"
    fifo.unlink()
    os.mkfifo(fifo)
    result = serve_fails("--port", "0", "--state", str(state_file))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: the certificate kept beside {state_file} cannot be read ({fifo} is a FIFO, not "
        "a regular file); start with --new-certificate to make a new one (clients must then pin "
        "its SHA-256)"
    ]
    # A new certificate takes the FIFO's place.
    with serve_in_thread(state_file=state_file, keep_certificate=True, new_certificate=True):
        assert fifo.is_file()


@pytest.mark.skipif(os.name != "posix", reason="file modes and symbolic links are POSIX's")
def test_a_kept_key_that_is_a_link_is_refused_and_its_target_left_as_it_is(
    tmp_path: Path,
) -> None:
    """The key is made private (0600) through the open file, never through a link to another."""
    state_file = tmp_path / "lm.json"
    with serve_in_thread(state_file=state_file, keep_certificate=True):
        pass
    key_file = tmp_path / "lm-key.pem"
    elsewhere = tmp_path / "shared-key.pem"
    key_file.rename(elsewhere)
    elsewhere.chmod(0o644)
    key_file.symlink_to(elsewhere)
    with pytest.raises(CertificateError, match=r"lm-key\.pem is a symbolic link, not a regular"):
        serve_in_thread(state_file=state_file, keep_certificate=True)
    assert elsewhere.stat().st_mode & 0o777 == 0o644


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX's")
def test_a_kept_key_copied_with_loose_rights_is_made_private(tmp_path: Path) -> None:
    state_file = tmp_path / "lm.json"
    with serve_in_thread(state_file=state_file, keep_certificate=True):
        pass
    key_file = tmp_path / "lm-key.pem"
    key_file.chmod(0o644)
    with serve_in_thread(state_file=state_file, keep_certificate=True):
        assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_directory_where_a_new_certificate_goes_is_reported(tmp_path: Path) -> None:
    state_file = tmp_path / "lm.json"
    (tmp_path / "lm-key.pem").mkdir()
    with pytest.raises(CertificateError, match=r"cannot keep a certificate beside .*lm\.json: "):
        serve_in_thread(state_file=state_file, keep_certificate=True, new_certificate=True)
