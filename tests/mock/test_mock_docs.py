"""The Python example and the ``lmctl mock health`` walk-through of docs/mock.md run and print
what the page says they print."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import pytest

from lmctl_testkit import invoke

DOC = Path(__file__).resolve().parents[2] / "docs" / "mock.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_python_example_prints_the_documented_output() -> None:
    example = _blocks("python")[0]
    documented = _blocks("text")[0]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example, str(DOC), "exec"), {})  # noqa: S102 (our own documentation)
    assert printed.getvalue() == documented


def test_every_control_route_is_documented() -> None:
    from lmctl.mock.control import ROUTES

    text = DOC.read_text()
    for method, route in ROUTES:
        assert f"`{method} /_mock/{route}`" in text


def _console_block(heading: str) -> list[str]:
    """The lines of the first ``console`` block after ``heading``."""
    section = DOC.read_text().split(heading, 1)[1]
    block = re.search(r"```console\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    return block.group(1).splitlines()


def test_the_mock_health_walk_through_prints_what_the_page_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the example arrays, applied as the README's quickstart does: each command of the block
    prints the lines shown (``...`` stands for lines left out) and exits as ``echo $?`` says."""
    shutil.copytree(DOC.parents[1] / "arrays", tmp_path / "arrays")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LMCTL_STATE_DIR", raising=False)
    monkeypatch.delenv("LMCTL_INVENTORY", raising=False)
    for setup in (
        [
            "mock",
            "addcert",
            "mail-2019",
            "-a",
            "lm-hq",
            "--self-signed",
            "mail2019.corp.example.com",
        ],
        ["apply", "--auto-approve"],
    ):
        assert invoke(*setup).exit_code == 0
    lines = _console_block("#### Marking a server down: `lmctl mock health`")
    commands = [i for i, line in enumerate(lines) if line.startswith("$ ")]
    exit_code = None
    for start, end in zip(commands, [*commands[1:], len(lines)], strict=True):
        command, shown = lines[start].removeprefix("$ "), lines[start + 1 : end]
        if command == "echo $?":
            assert shown == [str(exit_code)]
            continue
        outcome = invoke(*shlex.split(command)[1:])
        exit_code = outcome.exit_code
        printed = outcome.stdout.splitlines()
        if "  ..." in shown:
            assert [line for line in shown if line != "  ..."] == [
                line for line in printed if line in shown
            ], command
        else:
            assert printed == shown, command
            assert exit_code == 0, command
