"""``lmctl validate``, ``show`` and ``schema`` on the example arrays and on generated specs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console
from spec_files import HQ_2010, run_lmctl, without_notices
from typer.testing import CliRunner

import lmctl.cli.specs  # (importing lmctl.cli registers every command on the app)
from lmctl.cli.app import app
from lmctl.exchange import expand
from lmctl.specs import load_specs
from lmctl.specs.source import read_document

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "arrays"
SCHEMA_FILES = REPO / "docs" / "schema"


def invoke(*args: str) -> tuple[int, str]:
    """Run lmctl in-process; (exit code, output)."""
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_examples_validate_by_default_from_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)

    code, output = invoke("validate")

    assert code == 0, output
    assert without_notices(output).strip() == (
        "valid: 4 arrays, 2 appliances in 5 files (0 errors, 0 warnings)"
    )
    # Exchange 2010, 2016 and 2019 are past Microsoft's end of support: one notice each, no
    # failure.
    assert output.count(": notice: exchange: Exchange ") == 3


@pytest.mark.parametrize("command", [["validate"], ["show", "hq-cas"]])
def test_without_arrays_directory_says_what_is_read_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    code, output = invoke(*command)

    assert code == 1
    assert output.splitlines()[0] == (
        "arrays: error: no arrays/ directory here; lmctl reads arrays/ in the current "
        "directory unless you name spec files or directories"
    )


def test_examples_cover_two_2010_sites_a_2016_namespace_and_a_per_protocol_2019_one() -> None:
    spec_set = load_specs([EXAMPLES])

    versions = {(a.site, str(a.exchange)) for a in spec_set.arrays}
    assert versions == {
        ("HQ", "2010 SP3"),
        ("Branch-MUC", "2010 SP2"),
        ("HQ", "2016 CU23"),
        ("HQ", "2019 CU15"),
    }
    per_protocol = [(a.name, a.certificate) for a in spec_set.arrays if a.layout == "per-protocol"]
    assert per_protocol == [("mail-2019", "mail-2019")]
    assert all(a.rpc_ports is not None for a in spec_set.arrays if a.exchange.major == 2010)
    assert all(2 <= len(a.members) <= 4 for a in spec_set.arrays)
    assert all(spec_set.appliance_of(a).is_mock for a in spec_set.arrays)


def run_lmctl_process(directory: Path, *, terminal: bool) -> tuple[int, str]:
    """``python -m lmctl validate DIR`` as a new process, its stdout a pipe or a terminal."""
    env = {**os.environ, "COLUMNS": "200", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "lmctl", "validate", str(directory)]
    if not terminal:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        return done.returncode, done.stdout
    import pty

    main_fd, child_fd = pty.openpty()
    with subprocess.Popen(command, stdout=child_fd, stderr=child_fd, env=env) as process:
        os.close(child_fd)
        chunks = []
        while True:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=60)
    os.close(main_fd)
    return code, b"".join(chunks).decode("utf-8")


def test_validate_in_a_pipe_is_plain_and_coloured_on_a_terminal(tmp_path: Path) -> None:
    broken = HQ_2010.replace("vip: 10.10.1.50", "vip: 10.10.1.500")
    run_lmctl(tmp_path, {"hq.yaml": broken})  # writes the files

    piped_code, piped = run_lmctl_process(tmp_path, terminal=False)
    tty_code, on_terminal = run_lmctl_process(tmp_path, terminal=True)

    line = f"{tmp_path / 'hq.yaml'}:5: error: vip: '10.10.1.500' is not an IP address"
    assert (piped_code, tty_code) == (1, 1)
    assert piped.splitlines()[0].startswith(line)
    assert "\x1b[" not in piped
    assert "\x1b[" in on_terminal
    assert "is not an IP address" in on_terminal


def test_validate_json_for_valid_specs() -> None:
    code, output = invoke("validate", str(EXAMPLES), "--format", "json")

    report = json.loads(output)
    assert code == 0
    assert report["valid"] is True
    assert (report["errors"], report["warnings"], report["notices"]) == (0, 0, 3)
    assert {d["severity"] for d in report["diagnostics"]} == {"notice"}
    assert report["arrays"] == ["branch-cas", "hq-cas", "mail-2016", "mail-2019"]
    assert report["appliances"] == ["lm-hq", "lm-branch"]
    assert len(report["digest"]) == 64


def test_validate_json_for_broken_specs(tmp_path: Path) -> None:
    broken = HQ_2010.replace("vip: 10.10.1.50", "vip: 10.10.1.500")

    outcome = run_lmctl(
        tmp_path / "arrays", {"hq.yaml": broken}, "validate", str(tmp_path / "arrays"), "-f", "json"
    )

    report = json.loads(outcome.output)
    assert outcome.exit_code == 1
    assert report["valid"] is False
    assert report["diagnostics"] == [
        {
            "severity": "error",
            "file": str(tmp_path / "arrays" / "hq.yaml"),
            "line": 5,
            "field": "vip",
            "message": "'10.10.1.500' is not an IP address (e.g. 10.10.1.50)",
        }
    ]


def test_validate_markdown_lists_diagnostics_as_a_table(tmp_path: Path) -> None:
    broken = HQ_2010.replace("vip: 10.10.1.50", "vip: 10.10.1.500")

    outcome = run_lmctl(
        tmp_path / "arrays",
        {"hq.yaml": broken},
        "validate",
        str(tmp_path / "arrays"),
        "-f",
        "markdown",
    )

    assert outcome.exit_code == 1
    assert "| severity | file | line | field | message |" in outcome.output
    # Each cell in code: a value or a file name renders nothing on the forge.
    assert (
        f"| `error` | `{tmp_path / 'arrays' / 'hq.yaml'}` | `5` | `vip` | `'10.10.1.500' is not"
        in (outcome.output)
    )


def test_validate_single_file_finds_the_neighbouring_inventory() -> None:
    code, output = invoke("validate", str(EXAMPLES / "hq-cas.yaml"))

    assert code == 0, output
    assert "valid: 1 array, 2 appliances in 2 files" in output


def test_digest_changes_with_the_specs(tmp_path: Path) -> None:
    (tmp_path / "appliances.yaml").write_text((EXAMPLES / "appliances.yaml").read_text())
    (tmp_path / "hq.yaml").write_text((EXAMPLES / "hq-cas.yaml").read_text())
    before = load_specs([tmp_path]).digest

    (tmp_path / "hq.yaml").write_text(
        (EXAMPLES / "hq-cas.yaml").read_text().replace("scheduling: rr", "scheduling: wrr")
    )

    assert load_specs([tmp_path]).digest != before
    assert load_specs([tmp_path]).digest == load_specs([tmp_path]).digest


def test_show_prints_the_expansion_table() -> None:
    code, output = invoke("show", "hq-cas", str(EXAMPLES))

    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].startswith("hq-cas: Exchange 2010 SP3, site HQ, outlook-hq.corp.example.com")
    rpc_row = next(line for line in lines if line.strip().startswith("rpc "))
    for cell in ("10.10.1.50:135/tcp", "gen", "src 3600s", "3600s", "tcp :60000", "60000,60001"):
        assert cell in rpc_row
    assert "HQ-CAS01 10.10.1.11:135 w1000" in rpc_row
    # One real server per line below the service's row.
    following = lines[lines.index(rpc_row) + 1 : lines.index(rpc_row) + 3]
    assert [line.split()[-2:] for line in following] == [
        ["10.10.1.12:135", "w1000"],
        ["10.10.1.13:135", "w1000"],
    ]
    redirect_row = next(line for line in lines if line.strip().startswith("http-redirect "))
    assert "answers 302 → https://%h%s" in redirect_row
    assert "(none)" in redirect_row


def test_show_json_carries_wire_names_and_markers() -> None:
    code, output = invoke("show", "mail-2016", str(EXAMPLES), "--format", "json")

    document = json.loads(output)
    assert code == 0
    assert document["array"]["exchange"] == "2016 CU23"
    https = document["virtual_services"][0]
    assert https["marker"] == "lmctl.mail-2016.https"
    assert https["key"] == {"address": "10.10.2.50", "port": "443", "protocol": "tcp"}
    assert https["settings"]["CheckUrl"] == "/owa/healthcheck.htm"
    assert https["settings"]["Persist"] is None
    assert https["settings"]["Schedule"] == "wrr"
    assert [rs["weight"] for rs in https["real_servers"]] == [1000, 1000, 1000, 500]


def test_show_unknown_array_lists_the_known_ones() -> None:
    code, output = invoke("show", "nope", str(EXAMPLES))

    assert code == 1
    assert output.strip() == (
        "error: no array named 'nope' in the specs; arrays: branch-cas, hq-cas, mail-2016, "
        "mail-2019"
    )


def test_show_unknown_array_names_the_default_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)

    code, output = invoke("show", "hq-ca")

    assert code == 1
    assert output.strip() == (
        "error: no array named 'hq-ca' in the specs (did you mean 'hq-cas'?); arrays: "
        "branch-cas, hq-cas, mail-2016, mail-2019"
    )


def show_on_terminal(monkeypatch: pytest.MonkeyPatch, width: int, *args: str) -> str:
    """``lmctl show ARGS`` as a rich terminal of ``width`` columns renders it."""
    screen = io.StringIO()
    terminal = Console(file=screen, width=width, force_terminal=True, color_system=None)
    monkeypatch.setattr(lmctl.cli.specs, "make_console", lambda **_: terminal)
    code, _ = invoke("show", *args)
    assert code == 0
    return screen.getvalue()


@pytest.mark.parametrize("array", ["hq-cas", "branch-cas", "mail-2016"])
def test_show_on_an_80_column_terminal_splits_no_name_or_address(
    monkeypatch: pytest.MonkeyPatch, array: str
) -> None:
    output = show_on_terminal(monkeypatch, 80, array, str(EXAMPLES))

    lines = output.splitlines()
    assert max(len(line) for line in lines) <= 80, output
    spec = load_specs([EXAMPLES]).array(array)
    assert spec is not None
    for vs in expand(spec):
        assert any(str(vs.key) in line for line in lines), (str(vs.key), output)
        for rs in vs.real_servers:
            # One real server per line, whole: name, address and port together.
            assert any(f"{rs.member} {rs.address}:{rs.port}" in line for line in lines), output
    for word in ("persistence", "src 3600s", "60000,60001", "/owa/auth/logon.aspx"):
        if array == "hq-cas":
            assert any(word in line for line in lines), (word, output)


def test_show_on_a_wide_terminal_keeps_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    output = show_on_terminal(monkeypatch, 200, "hq-cas", str(EXAMPLES))

    header = next(line for line in output.splitlines() if "virtual service" in line)
    assert header.split() == [
        "service",
        "virtual",
        "service",
        "type,",
        "layer",
        "persistence",
        "idle",
        "check",
        "extra",
        "ports",
        "real",
        "servers",
    ]


def test_show_with_invalid_specs_prints_the_errors(tmp_path: Path) -> None:
    broken = HQ_2010.replace("site: HQ", "site: [HQ]")

    outcome = run_lmctl(
        tmp_path / "arrays",
        {"hq.yaml": broken},
        "show",
        "hq-cas",
        str(tmp_path / "arrays"),
    )

    assert outcome.exit_code == 1
    assert "hq.yaml:2: error: site: expected text, got a list" in outcome.output
    assert outcome.output.rstrip().endswith("invalid: 1 error, 0 warnings")


def schema_of(kind: str) -> dict[str, Any]:
    """``lmctl schema --kind KIND`` as parsed JSON."""
    code, output = invoke("schema", "--kind", kind)
    assert code == 0
    document: dict[str, Any] = json.loads(output)
    return document


@pytest.mark.parametrize("kind", ["array", "inventory"])
def test_committed_schema_files_equal_lmctl_schema(kind: str) -> None:
    committed = json.loads((SCHEMA_FILES / f"{kind}.schema.json").read_text())

    assert committed == schema_of(kind), f"regenerate: lmctl schema --kind {kind}"


def test_schema_without_kind_holds_both() -> None:
    code, output = invoke("schema")

    assert code == 0
    assert json.loads(output) == {"array": schema_of("array"), "inventory": schema_of("inventory")}


def test_schema_with_unknown_kind() -> None:
    code, output = invoke("schema", "--kind", "arrays")

    assert code == 64  # a usage error: 2 means "changes pending" to plan
    words = " ".join(output.replace("│", " ").split())
    assert "'arrays' is not one of 'array', 'inventory', 'plan', 'ls', 'import'" in words


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_validates_against_lmctl_schema(path: Path) -> None:
    document = read_document(path, path.name)
    assert isinstance(document.content, dict)
    kind = "inventory" if "appliances" in document.content else "array"
    first_line = path.read_text().splitlines()[0]

    jsonschema.validate(document.content, schema_of(kind))
    assert first_line == f"# yaml-language-server: $schema=../docs/schema/{kind}.schema.json"


def test_schema_rejects_what_validate_rejects() -> None:
    document = read_document(EXAMPLES / "hq-cas.yaml", "hq-cas.yaml")
    assert isinstance(document.content, dict)
    typo = {**document.content, "schedulng": "rr"}

    with pytest.raises(jsonschema.ValidationError, match="schedulng"):
        jsonschema.validate(typo, schema_of("array"))


def test_help_lists_the_spec_commands() -> None:
    code, output = invoke("--help")

    assert code == 0
    for command in ("validate", "show", "schema"):
        assert command in output
