"""The examples in docs/specs.md: the YAML validates, the Python and shell examples run against
the repository as shipped."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from spec_files import write_files
from typer.testing import CliRunner

from lmctl.cli.app import app
from lmctl.exchange import expand_all
from lmctl.specs import load_specs

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs" / "specs.md"
YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)


def test_the_documented_array_and_inventory_validate_together(tmp_path: Path) -> None:
    blocks = YAML_BLOCK.findall(DOCS.read_text(encoding="utf-8"))
    array = next(
        b for b in blocks if b.lstrip("#").strip().startswith("yaml-language") and "name:" in b
    )
    inventory = next(b for b in blocks if "appliances:" in b)
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "corp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    write_files(tmp_path, {"appliances.yaml": inventory, "hq-cas.yaml": array})

    spec_set = load_specs([tmp_path])

    assert [a.name for a in spec_set.arrays] == ["hq-cas"]
    assert list(spec_set.inventory.appliances) == ["lm-hq", "lm-dc1", "lm-dc2"]
    assert [str(vs.key) for vs in expand_all(spec_set)["lm-hq"]] == [
        "10.10.1.50:135/tcp",
        "10.10.1.50:443/tcp",
        "10.10.1.50:80/tcp",
        "10.10.1.50:993/tcp",
    ]


PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def test_the_python_examples_run_against_the_repository(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    blocks = PYTHON_BLOCK.findall(DOCS.read_text(encoding="utf-8"))
    assert blocks

    for block in blocks:
        exec(compile(block, str(DOCS), "exec"), {})  # noqa: S102 (the docs' own examples)

    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("4 ['lm-hq', 'lm-branch'] ")
    assert printed[1] == "lmctl.hq-cas.rpc 10.10.1.50:135/tcp ['HQ-CAS01', 'HQ-CAS02', 'HQ-CAS03']"
    assert printed[-1] == "no-such.yaml: error: no such file or directory"


def test_the_shell_examples_succeed_in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    commands = [
        shlex.split(line, comments=True)
        for block in SHELL_BLOCK.findall(DOCS.read_text(encoding="utf-8"))
        for line in block.splitlines()
        if line.startswith("lmctl ")
    ]
    assert len(commands) >= 5

    for command in commands:
        result = CliRunner().invoke(app, command[1:])
        assert result.exit_code == 0, (command, result.output)


def test_the_layout_row_says_which_commands_handle_per_protocol() -> None:
    # Once shown by lmctl show alone, the layout is planned, applied, reported and drained.
    [row] = [r for r in DOCS.read_text(encoding="utf-8").splitlines() if r.startswith("| `layout`")]
    assert "refuse" not in row
    for command in ("`lmctl show`", "`plan`", "`apply`", "`status`", "`drain`/`undrain`"):
        assert command in row
