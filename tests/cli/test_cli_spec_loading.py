"""Every command that reads specs reports a missing ``arrays/``, a missing path and invalid
specs with the same words and exit 1 (one loader: ``lmctl.cli.specload``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli.app import app
from lmctl.cli.specload import INVALID_SPECS

EXAMPLES = Path(__file__).resolve().parents[2] / "arrays"
NO_ARRAYS = (
    "arrays: error: no arrays/ directory here; lmctl reads arrays/ in the current "
    "directory unless you name spec files or directories"
)
# validate (and show, which shares its output) end with the count of errors and warnings.
SPEC_CHECKERS = {"validate", "show"}

# Each command with the arguments before its spec paths (every command takes them as PATH ...).
COMMANDS = {
    "validate": [],
    "show": ["hq-cas"],
    "plan": [],
    "apply": ["--auto-approve"],
    "status": [],
    "drain": ["HQ-CAS01"],
    "undrain": ["HQ-CAS01"],
}


def invoke(command: str, *args: str) -> tuple[int, list[str]]:
    """Run ``lmctl command args`` in-process; (exit code, output lines)."""
    result = CliRunner().invoke(app, [command, *args])
    return result.exit_code, result.output.splitlines()


def with_specs(command: str, *paths: str) -> list[str]:
    """The arguments of ``command`` naming ``paths`` the way it takes spec paths."""
    return [*COMMANDS[command], *paths]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_empty_directory_says_arrays_is_missing_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)

    code, lines = invoke(command, *with_specs(command))

    assert code == 1
    assert lines[0] == NO_ARRAYS
    assert lines[1] == (
        "invalid: 1 error, 0 warnings" if command in SPEC_CHECKERS else f"error: {INVALID_SPECS}"
    )


@pytest.mark.parametrize("command", list(COMMANDS))
def test_missing_spec_path_is_named_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)

    code, lines = invoke(command, *with_specs(command, "no-such.yaml"))

    assert code == 1
    assert lines[0] == "no-such.yaml: error: no such file or directory"


# A word where a spec path goes (``lmctl plan hq-cas``): the error says what to give instead.
NOT_ARRAY_NAMES = "no such file or directory; spec paths are files or directories, not array names"


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "ls"])
def test_an_array_name_where_a_spec_path_goes_names_its_spec_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "arrays")
    monkeypatch.chdir(tmp_path)
    state = ["--state-dir", str(tmp_path / "state")] if command in {"plan", "apply"} else []

    code, lines = invoke(command, *COMMANDS.get(command, []), "hq-cas", *state)

    assert code == 1
    assert lines[0] == f"hq-cas: error: {NOT_ARRAY_NAMES}: array hq-cas is in arrays/hq-cas.yaml"


@pytest.mark.parametrize(
    ("word", "hint"),
    [
        ("hq-cs", " (did you mean array hq-cas, in arrays/hq-cas.yaml?)"),
        ("nothing", ": to work on one array, give its spec file (such as arrays/NAME.yaml)"),
    ],
)
def test_a_word_that_is_no_array_gets_the_closest_array_or_the_general_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, word: str, hint: str
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "arrays")
    monkeypatch.chdir(tmp_path)

    code, lines = invoke("plan", word, "arrays/appliances.yaml")

    assert code == 1
    assert lines[0] == f"{word}: error: {NOT_ARRAY_NAMES}{hint}"


def test_the_array_name_hint_looks_in_the_directories_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "specs")
    monkeypatch.chdir(tmp_path)

    code, lines = invoke("validate", "mail-2019", "specs")

    assert code == 1
    assert (
        lines[0]
        == f"mail-2019: error: {NOT_ARRAY_NAMES}: array mail-2019 is in specs/mail-2019.yaml"
    )


def test_the_array_name_hint_without_any_specs_and_never_for_a_file_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    _, word = invoke("plan", "hq-cas")
    _, file = invoke("plan", "hq-cas.yaml")
    _, nested = invoke("plan", "arrays/hq-cas")

    assert word[0] == (
        f"hq-cas: error: {NOT_ARRAY_NAMES}: to work on one array, give its spec file (such as "
        "arrays/NAME.yaml)"
    )
    assert file[0] == "hq-cas.yaml: error: no such file or directory"
    assert nested[0] == "arrays/hq-cas: error: no such file or directory"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_invalid_spec_is_reported_by_file_and_line_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")

    code, lines = invoke(command, *with_specs(command, "broken.yaml"))

    assert code == 1
    assert lines[0] == (
        "broken.yaml:1: error: malformed YAML: did not find expected ',' or ']'; while "
        "parsing a flow sequence; the parser noticed it only on line 2"
    )


def test_plan_json_failure_document_carries_the_missing_arrays_diagnostic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, ["plan", "--format", "json"])

    assert result.exit_code == 1
    document = json.loads(result.stdout[result.stdout.index("{") :])
    assert document["kind"] == "lmctl-plan-failure"
    assert document["error"]["kind"] == "specs"
    assert document["error"]["details"] == [NO_ARRAYS]
    assert document["exit_code"] == 1


@pytest.mark.parametrize(
    "command", [["validate"], ["plan"], ["status"], ["drain", "MUC-CAS01", "--timeout", "0"]]
)
def test_spec_warnings_are_printed_the_same_way_by_every_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "arrays")
    spec = tmp_path / "arrays" / "branch-cas.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("client_access: 60100", "client_access: 2000"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    state = [] if command == ["validate"] else ["--state-dir", str(tmp_path / "state")]

    _, printed = invoke(command[0], *command[1:], *state)

    # validate alone also prints the notices (releases past their end of support).
    lines = [line for line in printed if ": notice: " not in line]
    assert lines[0] == (
        "arrays/branch-cas.yaml:9: warning: rpc_ports.client_access: port 2000 is outside "
        "59531-60554, the range usually chosen for static RPC ports (it may clash with "
        "Windows' dynamic ports)"
    )


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_a_spec_error_is_printed_without_the_notices_validate_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # docs/specs.md: validate prints the notices (releases past their end of support), plan and
    # apply do not, also when they refuse for an error.
    shutil.copytree(EXAMPLES, tmp_path / "arrays")
    spec = tmp_path / "arrays" / "mail-2019.yaml"
    spec.write_text(spec.read_text(encoding="utf-8") + "directories: []\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    code, printed = invoke(command, *COMMANDS[command], "--state-dir", str(tmp_path / "state"))

    assert code == 1
    assert printed[0].startswith("arrays/mail-2019.yaml:27: error: directories: the list is empty")
    assert printed[1:] == [f"error: {INVALID_SPECS}"]
