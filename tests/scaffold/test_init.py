"""``lmctl init``: a spec repository of its own that works as written, outside lmctl's source.

The first test is the user's whole first session as a process in a fresh directory; the others
check what init writes, lists and refuses to write, through the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from lmctl import __version__
from lmctl_testkit import invoke, run_process

SCAFFOLD = (
    "arrays/appliances.yaml",
    "arrays/mail.yaml",
    ".gitignore",
    ".github/actionlint.yaml",
    "schema/array.schema.json",
    "schema/inventory.schema.json",
    ".github/workflows/lmctl.yml",
    ".gitlab-ci.yml",
)


def test_init_validate_apply_status_work_in_an_empty_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("LMCTL_STATE_DIR", "LMCTL_INVENTORY"):
        monkeypatch.delenv(variable, raising=False)
    environment = {"CI": "true"}

    init = run_process(tmp_path, environment, "init", "demo")
    assert init.exit_code == 0, init.output
    demo = tmp_path / "demo"
    for step in (("validate",), ("apply", "--auto-approve"), ("status",)):
        outcome = run_process(demo, environment, *step)
        assert outcome.exit_code == 0, f"lmctl {' '.join(step)}: {outcome.output}"
    assert "1 array(s): OK" in outcome.stdout
    again = run_process(demo, environment, "plan", "--detailed-exitcode")
    assert again.exit_code == 0, again.output  # applied: nothing left to do
    assert (demo / ".lmctl").is_dir()


def test_init_lists_every_file_it_wrote_and_what_to_do_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outcome = invoke("init", "demo")

    assert outcome.exit_code == 0, outcome.output
    wrote = [line.removeprefix("wrote ") for line in outcome.stdout.splitlines() if line]
    assert wrote[: len(SCAFFOLD)] == [str(Path("demo", name)) for name in SCAFFOLD]
    assert {p.relative_to("demo").as_posix() for p in Path("demo").rglob("*") if p.is_file()} == (
        set(SCAFFOLD)
    )
    assert "Next: cd demo && lmctl validate && lmctl apply --auto-approve && lmctl status" in (
        outcome.stdout
    )
    assert f"lmctl-{__version__}-py3-none-any.whl" in outcome.stdout


def test_init_prints_a_directory_with_a_newline_escaped_and_no_cd_hint_to_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the raw newline split every "wrote" line, and the cd hint held it too."""
    monkeypatch.chdir(tmp_path)
    outcome = invoke("init", "dir\nforged")

    assert outcome.exit_code == 0, outcome.output
    lines = outcome.stdout.splitlines()
    assert "forged" not in [line.strip() for line in lines]
    assert f"wrote dir\\nforged{os.sep}arrays{os.sep}appliances.yaml" in lines
    assert "Next: lmctl validate && lmctl apply --auto-approve && lmctl status" in lines
    assert "cd " not in outcome.stdout


def test_init_quotes_a_directory_with_a_space_in_the_cd_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outcome = invoke("init", "my specs")
    assert "Next: cd 'my specs' && lmctl validate" in outcome.stdout


def test_init_without_a_directory_writes_into_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outcome = invoke("init")
    assert outcome.exit_code == 0, outcome.output
    assert all((tmp_path / name).is_file() for name in SCAFFOLD)
    assert "Next: lmctl validate" in outcome.stdout


def refusal(*args: str) -> str:
    """What ``lmctl init ARGS`` says when it refuses (exit 1)."""
    outcome = invoke("init", *args)
    assert outcome.exit_code == 1, outcome.output
    return outcome.stderr


def test_init_refuses_to_write_over_a_file_and_writes_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "arrays" / "mail.yaml"
    mine.parent.mkdir()
    mine.write_text("my own\n")
    (tmp_path / ".gitignore").write_text("*.pyc\n")

    message = refusal(str(tmp_path))
    assert f"error: {mine} already exists: nothing was written (give --overwrite" in message
    assert mine.read_text() == "my own\n"
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitignore", "arrays"]


def test_init_appends_what_an_existing_gitignore_misses(tmp_path: Path) -> None:
    mine = tmp_path / ".gitignore"
    mine.write_text("*.pyc\n.venv/\nplan.md")

    outcome = invoke("init", str(tmp_path))

    assert outcome.exit_code == 0, outcome.output
    lines = mine.read_text().splitlines()
    assert lines[:4] == ["*.pyc", ".venv/", "plan.md", "# Added by lmctl init."]
    assert lines[4:] == [
        ".lmctl/", "validate.md", "plan.json", "plan-errors.txt", "comment.md"
    ]  # fmt: skip
    assert (
        f"appended to {mine}: .lmctl/ validate.md plan.json plan-errors.txt comment.md"
        in outcome.stdout.splitlines()
    )
    assert f"wrote {mine}" not in outcome.stdout
    assert (tmp_path / "arrays" / "mail.yaml").is_file()
    again = invoke("init", str(tmp_path / "again"))
    assert again.exit_code == 0, again.output


def test_init_overwrite_replaces_the_files(tmp_path: Path) -> None:
    mine = tmp_path / "arrays" / "mail.yaml"
    mine.parent.mkdir()
    mine.write_text("name: mine\n")
    outcome = invoke("init", str(tmp_path), "--overwrite")
    assert outcome.exit_code == 0, outcome.output
    assert yaml.safe_load(mine.read_text())["name"] == "mail"


def test_init_replaces_a_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not lmctl's\n")
    repository = tmp_path / "repo"
    repository.mkdir()
    (repository / ".gitignore").symlink_to(outside)

    assert "already exists" in refusal(str(repository))

    outcome = invoke("init", str(repository), "--overwrite")
    assert outcome.exit_code == 0, outcome.output
    assert outside.read_text() == "not lmctl's\n"
    assert not (repository / ".gitignore").is_symlink()
    assert ".lmctl/" in (repository / ".gitignore").read_text().splitlines()


def test_init_does_not_write_through_a_linked_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repository = tmp_path / "repo"
    repository.mkdir()
    (repository / "arrays").symlink_to(elsewhere, target_is_directory=True)

    message = refusal(str(repository), "--overwrite")

    assert f"{repository / 'arrays'} is a symbolic link; lmctl init does not write" in message
    assert list(elsewhere.iterdir()) == []
    assert sorted(p.name for p in repository.iterdir()) == ["arrays"]


def test_init_refuses_a_directory_where_a_file_goes(tmp_path: Path) -> None:
    (tmp_path / ".gitlab-ci.yml").mkdir()
    message = refusal(str(tmp_path), "--overwrite")
    assert "is no file lmctl init may replace: nothing was written" in message
    assert not (tmp_path / "arrays").exists()


def test_init_into_a_file_is_an_error(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    target.write_text("")
    assert f"error: {target} is a regular file, not a directory" in refusal(str(target))
