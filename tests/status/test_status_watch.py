"""``lmctl status --watch``: the options, and a watch in a pipe ended by Ctrl-C."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli import status as command
from lmctl.cli.app import app
from lmctl.cli.status import DEFAULT_WATCH_SECONDS, StatusRequest
from lmctl.errors import ExitCode
from lmctl.mock.control import MockControl
from lmctl_testkit import lmctl_process
from status_testkit import MEMBERS, prepare_arrays


@pytest.mark.parametrize(
    ("arguments", "names", "interval"),
    [
        (["--array", "hq"], ["hq"], None),  # checked once
        (["--watch", "--array", "hq"], ["hq"], DEFAULT_WATCH_SECONDS),
        (["--array", "hq", "--watch", "--interval", "15"], ["hq"], 15.0),
        (["-w", "-n", "2.5", "--array", "hq", "--array", "dr"], ["hq", "dr"], 2.5),
        (["--interval", "30"], [], 30.0),  # an interval alone implies --watch
        (["--watch", "--array", "10"], ["10"], DEFAULT_WATCH_SECONDS),  # a number is a name
    ],
)
def test_watch_and_interval_options_set_the_interval_and_leave_the_array_names(
    arguments: list[str],
    names: list[str],
    interval: float | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[list[Path], list[str], StatusRequest]] = []

    def run_status(paths: list[Path], arrays: list[str], request: StatusRequest) -> ExitCode:
        seen.append((paths, arrays, request))
        return ExitCode.DEGRADED

    monkeypatch.setattr(command, "run_status", run_status)

    result = CliRunner().invoke(app, ["status", *arguments, "specs"])

    assert result.exit_code == 2, result.output
    assert seen == [([Path("specs")], names, StatusRequest("text", interval))]


def test_an_interval_below_half_a_second_is_refused() -> None:
    result = CliRunner().invoke(app, ["status", "--watch", "--interval", "0.1"])

    words = " ".join(result.stderr.replace("│", " ").split())  # unwrap the error box
    assert result.exit_code == 64  # a usage error, not "degraded"
    assert (
        "Invalid value for '--interval' / '-n': Input should be greater than or equal to 0.5"
        in words
    )


def test_watch_in_a_pipe_prints_one_json_document_per_check_until_interrupted(
    request: pytest.FixtureRequest, mock_control: MockControl
) -> None:
    prepare_arrays(request, "v2")
    arguments = ("status", "--watch", "--interval", "0.5", "-f", "json", "arrays")
    with lmctl_process(*arguments) as watch:
        assert watch.stdout is not None
        first = json.loads(watch.stdout.readline())
        mock_control.mark(MEMBERS["CAS-A2"], "Down")
        later = json.loads(watch.stdout.readline())
        while later["exit_code"] == 0:  # the check that was under way may predate the mark
            later = json.loads(watch.stdout.readline())
        watch.send_signal(signal.SIGINT)
        code = watch.wait(timeout=10)

    assert (first["format"], first["exit_code"]) == ("lmctl.status/v1", 0)
    assert later["exit_code"] == 2
    assert code == 2  # the exit code of the last check before Ctrl-C


def test_ctrl_c_before_the_first_check_finishes_exits_130_and_says_so(
    request: pytest.FixtureRequest, mock_control: MockControl
) -> None:
    prepare_arrays(request, "v2")
    mock_control.add_fault("stall", command="listvs", stall_seconds=20)
    with lmctl_process("status", "arrays") as status:
        while mock_control.pending_faults():  # until lmctl's listvs is the stalled one
            time.sleep(0.05)
        status.send_signal(signal.SIGINT)
        stdout, stderr = status.communicate(timeout=10)

    assert status.returncode == 130
    assert "error: interrupted before the first check finished" in stderr
    assert "Traceback" not in stderr
    assert stdout == ""
