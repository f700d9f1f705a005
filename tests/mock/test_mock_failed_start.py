"""A mock that cannot start leaves nothing behind: its private key is removed with it."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest

from lmctl.mock.server import serve_in_thread


def test_a_start_on_a_taken_port_removes_its_certificate_directory(
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
