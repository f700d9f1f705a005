"""Ctrl-C at apply's confirmation prompt: "nothing was written", exit 130, at the first Ctrl-C.

The prompt needs a terminal, so lmctl runs as a process on a pseudo-terminal against the
example's built-in mock appliances (served over HTTPS on loopback).
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from lmctl.cli import plan as command
from mock_site import example_site, lmctl

PROMPT = b"Apply these"


def read_until(descriptor: int, wanted: bytes, seconds: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        try:
            chunk = os.read(descriptor, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        seen += chunk
    return seen


def test_first_ctrl_c_at_the_prompt_says_nothing_was_written(tmp_path: Path) -> None:
    example_site(tmp_path)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "lmctl", "apply", "arrays", "--state-dir", ".lmctl"],
        cwd=tmp_path,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env={**os.environ, "NO_COLOR": "1"},
    )
    os.close(terminal)
    try:
        before = read_until(controller, PROMPT)
        assert PROMPT in before, before.decode(errors="replace")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
        after = read_until(controller, b"written", 5)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(controller)
    assert b"apply interrupted: nothing was written" in after, after.decode(errors="replace")
    assert b"the writes shown as ok were made" not in after
    plan = lmctl(tmp_path, "plan", str(tmp_path / "arrays"), "--detailed-exitcode")
    assert plan.exit_code == 2  # nothing was applied


def test_abort_from_the_prompt_is_an_interruption_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = example_site(tmp_path)

    def ctrl_c(question: str, default: bool = False) -> bool:
        raise typer.Abort

    monkeypatch.setattr(command, "can_ask", lambda: True)
    monkeypatch.setattr(typer, "confirm", ctrl_c)
    result = lmctl(tmp_path, "apply", str(arrays))
    assert result.exit_code == 130
    assert "apply interrupted: nothing was written" in result.stderr
    monkeypatch.undo()
    assert lmctl(tmp_path, "plan", str(arrays), "--detailed-exitcode").exit_code == 2
