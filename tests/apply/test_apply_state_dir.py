"""The state directory lmctl creates in a spec repository is ignored by git: backups (the
appliance's private keys), locks and ``mock://`` state never get committed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mock_site import example_site, lmctl


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


def test_git_add_all_after_apply_picks_up_no_backup_lock_or_mock_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example_site(tmp_path)
    monkeypatch.chdir(tmp_path)
    git(tmp_path, "init", "-q")
    applied = lmctl(tmp_path, "apply", "arrays", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    state = tmp_path / ".lmctl"
    assert sorted(p.name for p in (state / "backups").glob("*.bak")) != []
    assert (state / "mock-lm-hq.json").is_file()
    assert (state / ".gitignore").read_text() == "*\n"
    git(tmp_path, "add", "-A")
    staged = git(tmp_path, "diff", "--cached", "--name-only").split()
    assert staged == [
        "arrays/appliances.yaml",
        "arrays/branch-cas.yaml",
        "arrays/hq-cas.yaml",
        "arrays/mail-2016.yaml",
        "arrays/mail-2019.yaml",
    ]


def test_an_existing_state_directory_keeps_its_files_and_backups_are_still_ignored(
    tmp_path: Path,
) -> None:
    state = tmp_path / ".lmctl"
    state.mkdir()
    (state / "notes.txt").write_text("mine\n")
    arrays = example_site(tmp_path)
    applied = lmctl(tmp_path, "apply", str(arrays), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert not (state / ".gitignore").exists()
    assert (state / "backups" / ".gitignore").read_text() == "*\n"
    assert (state / "locks" / ".gitignore").read_text() == "*\n"
