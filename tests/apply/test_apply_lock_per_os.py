"""The apply lock per OS: ``lmctl plan`` needs no lock module at all, and on Windows the lock
is ``msvcrt.locking`` (checked here with a stand-in ``msvcrt`` that keeps Windows' rules)."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from lmctl.statedir import WINDOWS_LOCK_OFFSET, ApplianceBusyError, appliance_lock, lock_path
from mock_site import example_site

# Run lmctl as Windows would see it: no ``fcntl`` module.
WITHOUT_FCNTL = (
    "import runpy, sys; sys.modules['fcntl'] = None; "
    "sys.argv = ['lmctl', *sys.argv[1:]]; runpy.run_module('lmctl', run_name='__main__')"
)


def test_plan_runs_without_fcntl(tmp_path: Path) -> None:
    example_site(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_FCNTL, "plan", "arrays", "--detailed-exitcode"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 2, done.stderr
    assert "Plan: " in done.stdout
    assert "Traceback" not in done.stderr


class FakeMsvcrt(types.ModuleType):
    """``msvcrt.locking`` as Windows does it: a byte range at the file position, held per file,
    ``LK_NBLCK`` failing with OSError when another handle holds it."""

    LK_UNLCK = 0
    LK_NBLCK = 2

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.held: set[tuple[int, int]] = set()
        self.calls: list[tuple[int, int, int]] = []

    def locking(self, descriptor: int, mode: int, length: int) -> None:
        region = (os.fstat(descriptor).st_ino, os.lseek(descriptor, 0, os.SEEK_CUR))
        self.calls.append((region[1], mode, length))
        if mode == self.LK_UNLCK:
            self.held.discard(region)
        elif region in self.held:
            raise OSError(36, "Resource deadlock avoided")
        else:
            self.held.add(region)


def test_windows_lock_refuses_a_second_holder_and_names_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    msvcrt = FakeMsvcrt()
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setitem(sys.modules, "msvcrt", msvcrt)
    monkeypatch.setitem(sys.modules, "fcntl", None)  # Windows has none
    with appliance_lock(tmp_path, "lm-hq") as held:
        assert held == lock_path(tmp_path, "lm-hq")
        with pytest.raises(ApplianceBusyError) as busy, appliance_lock(tmp_path, "lm-hq"):
            pass
        assert f"pid {os.getpid()} on " in str(busy.value)
    assert msvcrt.held == set()
    assert held.read_text() == ""
    assert msvcrt.calls == [
        (WINDOWS_LOCK_OFFSET, FakeMsvcrt.LK_NBLCK, 1),
        (WINDOWS_LOCK_OFFSET, FakeMsvcrt.LK_NBLCK, 1),
        (WINDOWS_LOCK_OFFSET, FakeMsvcrt.LK_UNLCK, 1),
    ]
    with appliance_lock(tmp_path, "lm-hq"):
        pass  # free again
