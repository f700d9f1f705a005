"""What a spec directory may hold, and what an error may quote of it.

A ``*.yaml`` name in the specs directory is read only when it is a regular file (or a link to one
inside the specs directory or the repository); anything else is an error naming it, never a
silent skip (a skipped array would be planned for deletion) and never a wait on a FIFO. An error
quotes at most a short escaped excerpt of text lmctl did not understand: a link to a password
file must not print the file.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from spec_files import BRANCH_2016, HQ_2010, INVENTORY, run_lmctl

from lmctl_testkit import Outcome, invoke, run_process, write_spec_files

# The most of one unknown text an error may show (lmctl.text.EXCERPT_LENGTH).
EXCERPT_LENGTH = 40
posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and links are POSIX's")

SECRET_LINES = (
    "root:$6$Vh3ZqK8u$e1c1c0ffeeSecretHashThatMustNeverBePrinted:19700:0:99999:7:::\n"
    "svc-exchange:$6$AnotherSecretHashNeverToBeShownAnywhereAtAll:19700:0:99999:7:::\n"
)


def repository(root: Path) -> Path:
    """A spec repository (``root/repo``, a git work tree) with valid specs in ``arrays/``."""
    repo = root / "repo"
    write_spec_files(
        repo / "arrays",
        {"appliances.yaml": INVENTORY, "hq-cas.yaml": HQ_2010, "branch-2016.yaml": BRANCH_2016},
    )
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    return repo


def assert_no_secret(outcome: Outcome) -> None:
    for line in SECRET_LINES.splitlines():
        for part in line.split(":"):
            if len(part) > 8:
                assert part not in outcome.output, outcome.output


def test_an_unknown_key_is_quoted_as_a_short_escaped_excerpt(tmp_path: Path) -> None:
    key = "\\e]0;owned\\a\\e[2J" + "x" * 200
    outcome = run_lmctl(tmp_path / "arrays", {"hq-cas.yaml": HQ_2010 + f'"{key}": 1\n'})

    assert outcome.exit_code == 1
    assert "\x1b" not in outcome.output and "\x07" not in outcome.output
    assert "x" * (EXCERPT_LENGTH + 1) not in outcome.output
    [line] = [line for line in outcome.output.splitlines() if "unknown key" in line]
    assert "hq-cas.yaml:11: error: " in line
    assert "unknown key '\\x1b]0;owned\\x07\\x1b[2Jxxx" in line
    assert "…'" in line


@posix_only
@pytest.mark.parametrize(
    "command", [("validate", "arrays"), ("plan", "arrays", "--format", "markdown")]
)
def test_a_link_out_of_the_repository_is_an_error_naming_it_and_its_target_is_never_printed(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """zz.yaml linked to the system's password-hash file printed every hash as an unknown key."""
    repo = repository(tmp_path)
    secrets_file = tmp_path / "shadow"
    secrets_file.write_text(SECRET_LINES)
    (repo / "arrays" / "zz.yaml").symlink_to(secrets_file)

    outcome = run_process(repo, {}, *command)

    assert outcome.exit_code == 1, outcome.output
    assert_no_secret(outcome)
    assert "shadow" not in outcome.output  # nor where it leads
    assert (
        "arrays/zz.yaml: error: a symbolic link out of the specs directory and the repository"
        in outcome.output
    )


@posix_only
@pytest.mark.parametrize("linked", ["arrays", "sub"])
def test_a_specs_directory_linked_out_of_the_repository_is_an_error_and_never_read(
    tmp_path: Path, linked: str
) -> None:
    """A merge request shipping ``arrays`` (or a directory above it) as a link to elsewhere had
    lmctl read and quote every *.yaml there."""
    repo = repository(tmp_path)
    outside = tmp_path / "outside"
    write_spec_files(outside / "arrays", {"creds.yaml": SECRET_LINES})
    if linked == "arrays":
        shutil.rmtree(repo / "arrays")
        (repo / "arrays").symlink_to(outside / "arrays")
        given = "arrays"
    else:
        (repo / "sub").symlink_to(outside)
        given = "sub/arrays"

    for command in (("validate", given), ("plan", given, "--format", "markdown")):
        outcome = run_process(repo, {}, *command)
        assert outcome.exit_code == 1, outcome.output
        assert_no_secret(outcome)
        assert "outside" not in outcome.output
        assert f"{given}: error: a symbolic link takes this directory out of its repository" in (
            outcome.output
        )


@posix_only
def test_a_specs_directory_outside_any_repository_is_read_as_given(tmp_path: Path) -> None:
    write_spec_files(tmp_path / "elsewhere", {"appliances.yaml": INVENTORY, "hq-cas.yaml": HQ_2010})
    (tmp_path / "arrays").symlink_to(tmp_path / "elsewhere")

    outcome = invoke("validate", str(tmp_path / "arrays"))

    assert outcome.exit_code == 0, outcome.output


@posix_only
def test_a_fifo_in_the_specs_directory_is_an_error_not_a_wait_nor_a_skip(tmp_path: Path) -> None:
    """A skipped hq-cas.yaml would have its array planned for deletion."""
    repo = repository(tmp_path)
    os.mkfifo(repo / "arrays" / "x.yaml")

    for command in (("validate", "arrays"), ("plan", "arrays")):
        outcome = run_process(repo, {}, *command)  # a wait is killed, and fails the test
        assert outcome.exit_code == 1, outcome.output
        assert "arrays/x.yaml: error: a FIFO, not a regular file" in outcome.output


@posix_only
def test_whatever_else_is_named_like_a_spec_is_reported_by_name_and_kind(tmp_path: Path) -> None:
    arrays = repository(tmp_path) / "arrays"
    (arrays / "dir.yaml").mkdir()
    (arrays / "zero.yaml").symlink_to("/dev/null")
    (arrays / "gone.yml").symlink_to(arrays / "nowhere.yaml")
    (arrays / "self.yaml").symlink_to(arrays / "self.yaml")
    listener = socket.socket(socket.AF_UNIX)
    try:
        listener.bind(str(arrays / "sock.yaml"))
    except OSError:  # a path too long for AF_UNIX
        pytest.skip("cannot bind a socket here")
    finally:
        listener.close()

    outcome = invoke("validate", str(arrays))

    assert outcome.exit_code == 1, outcome.output
    lines = outcome.output.splitlines()
    for name, says in [
        ("dir.yaml", "a directory, not a regular file"),
        ("zero.yaml", "a symbolic link out of the specs directory"),
        ("gone.yml", "a symbolic link to nothing"),
        ("self.yaml", "cannot be read"),
        ("sock.yaml", "a socket, not a regular file"),
    ]:
        assert any(line.startswith(f"{arrays / name}: error: {says}") for line in lines), name
    assert "Traceback" not in outcome.output


@posix_only
def test_a_link_to_a_device_inside_the_repository_is_refused_by_what_it_leads_to(
    tmp_path: Path,
) -> None:
    repo = repository(tmp_path)
    os.mkfifo(repo / "queue")
    (repo / "arrays" / "queue.yaml").symlink_to(repo / "queue")

    outcome = run_process(repo, {}, "validate", "arrays")

    assert outcome.exit_code == 1, outcome.output
    assert "arrays/queue.yaml: error: a symbolic link to a FIFO, not to a regular file" in (
        outcome.output
    )


@posix_only
@pytest.mark.parametrize("where", ["specs directory", "repository"])
def test_a_link_inside_the_specs_directory_or_the_repository_is_read(
    tmp_path: Path, where: str
) -> None:
    repo = repository(tmp_path)
    arrays = repo / "arrays"
    target = arrays / "branch.yaml.txt" if where == "specs directory" else repo / "shared.txt"
    (arrays / "branch-2016.yaml").rename(target)
    (arrays / "branch-2016.yaml").symlink_to(os.path.relpath(target, arrays))

    outcome = run_process(repo, {}, "show", "branch-2016", "arrays")

    assert outcome.exit_code == 0, outcome.output
    assert "10.20.1.50" in outcome.stdout


@pytest.mark.parametrize(
    ("key", "line"),
    [("exchange", 3), ("fqdn", 4), ("vip", 5)],
)
def test_a_value_a_rule_refuses_is_quoted_escaped(tmp_path: Path, key: str, line: int) -> None:
    """YAML's "\\e" is ESC: an error quoting the value raw would drive the terminal."""
    value = '"\\e]0;owned\\a\\e[2J' + "y" * 60 + '"'
    spec = "".join(
        f"{key}: {value}\n" if text.startswith(f"{key}:") else text
        for text in HQ_2010.splitlines(keepends=True)
    )
    outcome = run_lmctl(tmp_path / "arrays", {"hq-cas.yaml": spec})

    assert outcome.exit_code == 1, outcome.output
    assert "\x1b" not in outcome.output and "\x07" not in outcome.output
    assert "y" * (EXCERPT_LENGTH + 1) not in outcome.output
    assert f"hq-cas.yaml:{line}: error: {key}: '\\x1b]0;owned" in outcome.output
    assert "'\\x1b]0;owned\\x07\\x1b[2Jyyy" in outcome.output
