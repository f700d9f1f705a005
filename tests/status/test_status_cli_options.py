"""``lmctl status``/``drain``/``undrain`` take the options plan and apply take, meaning the same.

The spec paths (``PATH ...``), ``--state-dir`` and ``--request-timeout`` (seconds per API
request) are the shared arguments of ``lmctl.cli.options``; ``--timeout`` is drain/undrain's
total wait, and no option of ``lmctl status``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli import status as command
from lmctl.cli.app import app
from lmctl.cli.status import MaintenanceRequest, StatusRequest
from lmctl.errors import ExitCode


def _words(text: str) -> str:
    """Output with rich's error box and line wrapping removed."""
    return " ".join(text.replace("│", " ").split())


def test_status_takes_request_timeout_and_state_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[list[Path], list[str], StatusRequest]] = []

    def run_status(paths: list[Path], arrays: list[str], request: StatusRequest) -> ExitCode:
        seen.append((paths, arrays, request))
        return ExitCode.OK

    monkeypatch.setattr(command, "run_status", run_status)
    arguments = ["status", "--array", "hq", "specs", "--request-timeout", "2.5"]

    result = CliRunner().invoke(app, [*arguments, "--state-dir", "state", "-f", "json"])

    assert result.exit_code == 0, result.output
    assert seen == [([Path("specs")], ["hq"], StatusRequest("json", None, Path("state"), 2.5))]


def test_status_timeout_is_a_usage_error_naming_the_option() -> None:
    result = CliRunner().invoke(app, ["status", "--timeout", "5"])

    assert result.exit_code == 64  # lmctl's usage-error code, not "degraded" (2)
    assert "No such option: --timeout" in _words(result.output)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["drain", "cas01"], MaintenanceRequest("drain", False, 600.0, 2.0, Path(".lmctl"), 10.0)),
        (
            ["undrain", "cas01"],
            MaintenanceRequest("undrain", False, 300.0, 2.0, Path(".lmctl"), 10.0),
        ),
        (
            ["drain", "cas01", "--force", "--timeout", "30", "--request-timeout", "3"],
            MaintenanceRequest("drain", True, 30.0, 2.0, Path(".lmctl"), 3.0),
        ),
        (
            ["undrain", "cas01", "--timeout", "0", "--poll-interval", "0.5", "--state-dir", "s"],
            MaintenanceRequest("undrain", False, 0.0, 0.5, Path("s"), 10.0),
        ),
    ],
)
def test_drain_timeout_is_the_total_wait_and_request_timeout_bounds_each_request(
    arguments: list[str], expected: MaintenanceRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[Path], str, MaintenanceRequest]] = []

    def run_maintenance(paths: list[Path], member: str, request: MaintenanceRequest) -> ExitCode:
        seen.append((paths, member, request))
        return ExitCode.DEGRADED

    monkeypatch.setattr(command, "run_maintenance", run_maintenance)
    monkeypatch.delenv("LMCTL_STATE_DIR", raising=False)

    result = CliRunner().invoke(app, [*arguments, "specs"])

    assert result.exit_code == 2, result.output
    assert seen == [([Path("specs")], "cas01", expected)]


@pytest.mark.parametrize("command_name", ["status", "drain", "undrain"])
def test_help_describes_the_shared_options_as_plan_does(command_name: str) -> None:
    def help_of(name: str) -> str:
        result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "2000"})
        assert result.exit_code == 0, result.output
        return _words(result.output)

    plan, own = help_of("plan"), help_of(command_name)
    for shared in (
        "--request-timeout SECONDS [x>=0.1] Seconds each API request may take before it "
        "is given up. [default: 10.0]",
        "--state-dir DIR Where backups, locks and the mock:// appliances' state are kept. "
        "[env var: LMCTL_STATE_DIR] [default: .lmctl]",
    ):
        assert shared in plan
        assert shared in own
    specs = "PATH Spec files or directories (searched for *.yaml/*.yml). Default: arrays/."
    assert specs in plan
    assert specs in own
