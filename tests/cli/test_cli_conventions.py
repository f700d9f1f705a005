"""One argument convention, usage errors, help and completion, as a user meets them.

Every command that works on arrays takes the spec paths the same way (``PATH ...``, default
``arrays/``) and names arrays with ``--array NAME`` or as its own argument (``show ARRAY``,
``drain MEMBER``); usage errors exit 64 with the allowed values; nothing to do prints help and
exits 0; help shows metavars a person reads; the shell completes array and member names from
the specs the command line names, and never fails or prints on broken specs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli.app import app
from lmctl_testkit import PROCESS_TIMEOUT, Outcome, invoke, run_process
from mock_site import example_site

LMCTL = Path(sys.executable).with_name("lmctl")


def words(text: str) -> str:
    """Output with rich's error box and line wrapping removed."""
    return " ".join(text.replace("│", " ").split())


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example arrays (built-in mock:// appliances) applied, in the working directory."""
    example_site(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LMCTL_STATE_DIR", raising=False)
    applied = invoke("apply", "--auto-approve", "arrays/")
    assert applied.exit_code == 0, applied.output
    return tmp_path


# -- one argument convention -----------------------------------------------------------------


def test_status_takes_the_spec_directory_as_an_argument(site: Path) -> None:
    checked = invoke("status", "arrays/")

    assert checked.exit_code == 0, checked.output
    assert {"hq-cas", "branch-cas", "mail-2016"} <= set(checked.stdout.split())


def test_status_narrows_to_the_arrays_named_with_array(site: Path) -> None:
    checked = invoke("status", "arrays/", "--array", "hq-cas", "--format", "json")

    assert checked.exit_code == 0, checked.output
    assert '"array": "hq-cas"' in checked.stdout
    assert "branch-cas" not in checked.stdout


def test_show_takes_the_array_then_the_spec_paths(site: Path) -> None:
    shown = invoke("show", "hq-cas", "arrays/")

    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("hq-cas: Exchange 2010")


def test_drain_and_undrain_take_the_member_then_the_spec_paths(site: Path) -> None:
    drained = invoke("drain", "HQ-CAS02", "arrays/", "--timeout", "5", "--poll-interval", "0.05")
    undrained = invoke(
        "undrain", "HQ-CAS02", "arrays/", "--timeout", "5", "--poll-interval", "0.05"
    )

    assert (drained.exit_code, undrained.exit_code) == (0, 0), drained.output + undrained.output


@pytest.mark.parametrize(
    ("command", "how"),
    [
        (["status"], "write --array hq-cas"),
        (["drain", "HQ-CAS02"], "write --array hq-cas"),
        (["show", "arrays/"], "show takes it first: lmctl show hq-cas PATH ..."),
    ],
)
def test_an_array_name_where_a_path_goes_says_what_to_write(
    site: Path, command: list[str], how: str
) -> None:
    refused = invoke(*command, "hq-cas")

    assert refused.exit_code == 64
    assert "error: hq-cas is an array, not a spec file or directory" in refused.stderr
    assert how in refused.stderr


@pytest.mark.parametrize("command", [["status"], ["drain", "HQ-CAS02"], ["show", "hq-cas"]])
def test_the_specs_option_is_gone(command: list[str]) -> None:
    refused = invoke(*command, "--specs", "arrays")

    assert refused.exit_code == 64
    assert "No such option: --specs" in words(refused.output)


# -- usage errors exit 64 ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (
            ["schema", "--kind", "foo"],
            "'foo' is not one of 'array', 'inventory', 'plan', 'ls', 'import'",
        ),
        (["status", "--format", "xml"], "'xml' is not one of 'text', 'json'"),
        (["validate", "--format", "xml"], "'xml' is not one of 'text', 'json', 'markdown'"),
        (["plan", "-f", "yaml"], "'yaml' is not one of 'text', 'json', 'markdown'"),
        (["show"], "Missing argument 'ARRAY'"),
        (["drain"], "Missing argument 'MEMBER'"),
        (["status", "--request-timeout", "soon"], "--request-timeout"),
    ],
)
def test_usage_errors_exit_64_and_say_what_is_allowed(args: list[str], complaint: str) -> None:
    refused = invoke(*args)

    assert refused.exit_code == 64, refused.output
    assert complaint in words(refused.output)
    assert "Value error" not in refused.output  # pydantic's words are not the user's


def test_lmctl_without_arguments_prints_help_and_exits_0(tmp_path: Path) -> None:
    ran = run_process(tmp_path, {})

    assert ran.exit_code == 0, ran.output
    assert "Usage: " in ran.stdout
    assert "status" in ran.stdout and "drain" in ran.stdout


def test_a_group_without_a_command_prints_its_help_and_exits_0() -> None:
    shown = invoke("mock")

    assert shown.exit_code == 0, shown.output
    assert "serve" in shown.stdout


# -- help a person reads -------------------------------------------------------------------


def every_command() -> list[list[str]]:
    """``[]`` (lmctl itself) and each command's words, the groups' commands included."""
    root = typer.main.get_command(app)
    found: list[list[str]] = [[]]
    for name, command in getattr(root, "commands", {}).items():
        found.append([name])
        found += [[name, sub] for sub in getattr(command, "commands", {})]
    return found


@pytest.mark.parametrize("command", every_command(), ids=lambda c: " ".join(c) or "lmctl")
def test_help_shows_no_python_type(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "2000"})

    assert result.exit_code == 0, result.output
    for python_type in ("<bool>", "<list[", "<str>", "<int", "<float", "<path>", "<Path>"):
        assert python_type not in result.output


def leaf_commands() -> list[list[str]]:
    """Every command that does something (not lmctl itself, not a group)."""
    root = typer.main.get_command(app)
    commands = getattr(root, "commands", {})
    groups = {name for name, command in commands.items() if hasattr(command, "commands")}
    return [c for c in every_command() if c and not (len(c) == 1 and c[0] in groups)]


@pytest.mark.parametrize("command", leaf_commands(), ids=" ".join)
def test_help_lists_the_exit_codes(command: list[str]) -> None:
    """README: each command's --help lists its own exit codes."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "2000"})

    assert result.exit_code == 0, result.output
    assert "Exit codes: 0 " in words(result.output)


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["status"], ["Usage: lmctl status [OPTIONS] [PATH]...", "--array NAME", "SECONDS"]),
        (["drain"], ["Usage: lmctl drain [OPTIONS] MEMBER [PATH]...", "--timeout SECONDS"]),
        (["undrain"], ["Usage: lmctl undrain [OPTIONS] MEMBER [PATH]...", "--array NAME"]),
        (["show"], ["Usage: lmctl show [OPTIONS] ARRAY [PATH]..."]),
        (["restore"], ["Usage: lmctl restore [OPTIONS] BACKUP"]),
        (["plan"], ["Usage: lmctl plan [OPTIONS] [PATH]...", "--appliance -a NAME"]),
        (["apply"], ["--parallel N", "--state-dir DIR", "--request-timeout SECONDS"]),
        ([], ["--verbose -v Log to stderr", "--install-completion", "--show-completion"]),
    ],
)
def test_help_names_arguments_in_words(command: list[str], shown: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "2000"})

    for expected in shown:
        assert expected in words(result.output)
    assert "{" not in result.output.split("Usage:")[1].splitlines()[0]  # {ARRAY} reads as a set


def test_lmctl_lists_its_commands_in_workflow_order() -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "2000"})

    listed = re.findall(r"^│ ([a-z]+) ", result.output, re.MULTILINE)
    assert listed == [
        "init", "validate", "show", "plan", "apply", "status", "drain", "undrain", "ls",
        "import", "backups", "restore", "history", "exchange", "schema", "mock",
    ]  # fmt: skip


# -- shell completion ------------------------------------------------------------------------


def complete(cwd: Path, line: str) -> Outcome:
    """What bash completion offers after ``line`` (typer's protocol: COMP_WORDS, COMP_CWORD)."""
    typed = line.split(" ")
    done = subprocess.run(
        [str(LMCTL)],
        cwd=cwd,
        env={
            **os.environ,
            "_LMCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(len(typed) - 1),
        },
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, done.stdout + done.stderr)


def test_completion_offers_the_array_names_of_the_default_specs(tmp_path: Path) -> None:
    example_site(tmp_path, certificate=False)

    offered = complete(tmp_path, "lmctl status --array ")

    assert offered.exit_code == 0, offered.output
    assert offered.stdout.split() == ["branch-cas", "hq-cas", "mail-2016", "mail-2019"]
    assert complete(tmp_path, "lmctl show h").stdout.split() == ["hq-cas"]
    assert complete(tmp_path, "lmctl plan --adopt b").stdout.split() == ["branch-cas"]


def test_completion_reads_the_spec_paths_on_the_command_line(tmp_path: Path) -> None:
    example_site(tmp_path / "elsewhere", certificate=False)
    (tmp_path / "elsewhere" / "arrays" / "hq-cas.yaml").unlink()

    offered = complete(tmp_path, "lmctl status elsewhere/arrays --array ")
    drained = complete(tmp_path, "lmctl drain HQ-CAS01 elsewhere/arrays --array m")

    assert offered.stdout.split() == ["branch-cas", "mail-2016", "mail-2019"]
    assert drained.stdout.split() == ["mail-2016", "mail-2019"]


def test_completion_offers_member_names_for_drain(tmp_path: Path) -> None:
    example_site(tmp_path)

    offered = complete(tmp_path, "lmctl undrain MUC")

    assert offered.stdout.split() == ["MUC-CAS01", "MUC-CAS02"]


@pytest.mark.parametrize(
    "files",
    [
        {"hq.yaml": "name: [unclosed\n"},  # not YAML
        {"appliances.yaml": "appliances: 7\n", "hq.yaml": "name: hq\n"},  # inventory broken
        {},  # no spec at all
    ],
    ids=["yaml", "inventory", "empty"],
)
def test_completion_on_broken_specs_offers_nothing_and_prints_nothing(
    tmp_path: Path, files: dict[str, str]
) -> None:
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    for name, text in files.items():
        (arrays / name).write_text(text)

    for line in ("lmctl status --array ", "lmctl drain ", "lmctl show "):
        offered = complete(tmp_path, line)
        assert (offered.exit_code, offered.stdout.strip(), offered.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("lmctl plan --allow fail", ["failover-lost"]),
        ("lmctl restore some.bak --allow app", ["appliance-move"]),
        ("lmctl apply --appliance lm-", ["lm-hq", "lm-branch"]),
        ("lmctl history --appliance lm-b", ["lm-branch"]),
        ("lmctl import --appliance lm-h", ["lm-hq"]),
    ],
)
def test_completion_offers_rules_and_appliances(
    tmp_path: Path, line: str, offered: list[str]
) -> None:
    example_site(tmp_path)

    assert complete(tmp_path, line).stdout.split() == offered


def test_show_completion_refuses_a_shell_name_it_would_ignore(tmp_path: Path) -> None:
    shown = run_process(tmp_path, {"SHELL": "/bin/bash"}, "--show-completion", "zsh")

    assert shown.exit_code == 64, shown.output
    assert "complete -o default" not in shown.stdout
    assert "takes no shell name" in shown.output


def test_show_completion_prints_the_bash_script(tmp_path: Path) -> None:
    # python -m lmctl: the script still binds and completes "lmctl".
    shown = run_process(tmp_path, {"SHELL": "/bin/bash"}, "--show-completion")

    assert shown.exit_code == 0, shown.output
    assert "complete -o default -F _lmctl_completion lmctl" in shown.stdout
    assert "_LMCTL_COMPLETE=complete_bash" in shown.stdout


# -- did you mean ----------------------------------------------------------------------------


def test_a_mistyped_service_name_gets_did_you_mean(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrays = example_site(tmp_path)
    spec = arrays / "branch-cas.yaml"
    spec.write_text(
        spec.read_text() + "services: [rpc, htps]\noverrides:\n  http-redirct: {idle_timeout: 60}\n"
    )
    monkeypatch.chdir(tmp_path)

    checked = invoke("validate")

    assert checked.exit_code == 1
    assert "services[1]: 'htps' is not allowed (did you mean 'https'?); allowed: 'rpc'" in (
        checked.stdout
    )
    assert (
        "overrides.http-redirct: 'http-redirct' is not allowed as a key here (did you mean "
        "'http-redirect'?)" in checked.stdout
    )
