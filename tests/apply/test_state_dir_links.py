"""The state directory (``.lmctl``) sits in the spec repository, which can ship symbolic links:
lmctl never writes through one, and what it creates there is private.

A linked state directory, backups or locks directory, or apply lock is refused with one error
line naming it (exit 1), before any write to an appliance, and the link's target is left as it
was. A corrupt mock state is one line with its path, never a traceback.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from lmctl_testkit import run_process
from mock_site import example_site, lmctl

posix_only = pytest.mark.skipif(os.name != "posix", reason="links and modes are POSIX's here")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@posix_only
def test_what_lmctl_creates_in_the_state_directory_is_private(tmp_path: Path) -> None:
    example_site(tmp_path)
    applied = lmctl(tmp_path, "apply", str(tmp_path / "arrays"), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    state = tmp_path / ".lmctl"

    directories = [state, state / "backups", state / "locks"]
    assert [mode(d) for d in directories] == [0o700] * 3
    files = [p for d in directories for p in d.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {".gitignore", "mock-lm-hq.json", "lm-hq.lock"}
    assert any(p.suffix == ".bak" for p in files)
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


@posix_only
@pytest.mark.parametrize("linked", [".lmctl", ".lmctl/backups", ".lmctl/locks"])
def test_a_linked_state_directory_is_refused_naming_it_and_nothing_is_written_there(
    tmp_path: Path, linked: str
) -> None:
    """A repository shipping .lmctl/backups -> /somewhere sent the appliances' private keys
    there; .lmctl -> elsewhere put locks, backups and state there."""
    # The certificate goes into the state directory, which must not exist when it is the link.
    example_site(tmp_path, certificate=linked != ".lmctl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / linked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / linked).symlink_to(elsewhere)

    outcome = run_process(tmp_path, {}, "apply", "arrays", "--auto-approve")

    assert outcome.exit_code == 1, outcome.output
    assert "Traceback" not in outcome.output
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, outcome.output
    assert f"{linked} is a symbolic link; lmctl does not write through links" in errors[0]
    assert list(elsewhere.iterdir()) == []
    assert "Apply complete" not in outcome.output


@posix_only
def test_a_backups_directory_others_may_write_is_refused_before_any_write(
    tmp_path: Path,
) -> None:
    """A repository shipping .lmctl/backups at mode 0777 let other users take the backups."""
    example_site(tmp_path)
    backups = tmp_path / ".lmctl" / "backups"
    backups.mkdir(parents=True)
    backups.chmod(0o777)

    outcome = lmctl(tmp_path, "apply", str(tmp_path / "arrays"), "--auto-approve")

    assert outcome.exit_code == 1, outcome.output
    assert "is not private to you (mode 0777)" in outcome.output
    assert f"chmod 700 {backups}" in outcome.output
    assert list(backups.iterdir()) == []
    assert lmctl(tmp_path, "plan", str(tmp_path / "arrays"), "--detailed-exitcode").exit_code == 2


@posix_only
@pytest.mark.parametrize("committed", ["", "!*.bak\n", "# nothing\n"])
def test_git_ignores_the_backups_whatever_gitignore_came_with_the_repository(
    tmp_path: Path, committed: str
) -> None:
    example_site(tmp_path)
    backups = tmp_path / ".lmctl" / "backups"
    backups.mkdir(parents=True, mode=0o700)
    (backups / ".gitignore").write_text(committed)
    (tmp_path / ".lmctl" / ".gitignore").write_text("")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=30)

    applied = lmctl(tmp_path, "apply", str(tmp_path / "arrays"), "--auto-approve")
    assert applied.exit_code == 0, applied.output

    assert any(p.suffix == ".bak" for p in backups.iterdir())
    untracked = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    assert ".bak" not in untracked, untracked


@posix_only
def test_a_linked_apply_lock_is_refused_and_its_target_not_truncated(tmp_path: Path) -> None:
    example_site(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (tmp_path / ".lmctl" / "locks").mkdir(parents=True)
    (tmp_path / ".lmctl" / "locks" / "lm-hq.lock").symlink_to(victim)

    outcome = run_process(tmp_path, {}, "apply", "arrays", "--auto-approve")

    assert outcome.exit_code != 0, outcome.output
    assert "Traceback" not in outcome.output
    assert (
        "lm-hq: the apply lock .lmctl/locks/lm-hq.lock is a symbolic link; lmctl does not "
        "write through links: remove it; nothing was written"
    ) in outcome.output
    assert victim.read_text() == "keep me\n"


HUGE = "9" * 60
CORRUPT_STATES = {
    "empty": (b"", "Expecting value: line 1 column 1 (char 0)"),
    "truncated": (b'{"format": 1, "services": [{"index": 1, "addr', "Unterminated string"),
    "wrong shape": (b"[1, 2, 3]", "not an lmctl mock state (missing or unknown 'format')"),
    "huge index": (
        json.dumps({"format": 1, "services": [], "next_index": 2**40, "next_rs_index": 1}).encode(),
        f"next_index must be at most 2147483647, not {2**40}",
    ),
    "huge number": (
        b'{"format": 1, "services": [], "next_index": 1, "next_rs_index": 1, "last_change": '
        + b"9" * 5000
        + b"}",
        "a number of 5000 digits, far too large",
    ),
}


@pytest.mark.parametrize("kind", sorted(CORRUPT_STATES))
def test_a_corrupt_mock_state_is_one_line_with_its_path_in_lmctl_and_mock_serve(
    tmp_path: Path, kind: str
) -> None:
    content, problem = CORRUPT_STATES[kind]
    example_site(tmp_path, certificate=False)
    (tmp_path / ".lmctl").mkdir()
    state_file = tmp_path / ".lmctl" / "mock-lm-hq.json"
    state_file.write_bytes(content)

    planned = run_process(tmp_path, {}, "plan", "arrays")
    served = run_process(tmp_path, {}, "mock", "serve", "--port", "0", "--state", str(state_file))

    assert planned.exit_code == 1, planned.output
    [line] = planned.stderr.splitlines()
    assert line.startswith(
        "error: lm-hq: mock state file .lmctl/mock-lm-hq.json is not a valid lmctl mock state ("
    ), line
    assert problem in line, line
    assert served.exit_code == 1, served.output
    [line] = served.stderr.splitlines()
    assert line.startswith(f"error: mock state file {state_file} is not a valid"), line
    assert problem in line, line
    assert state_file.read_bytes() == content
