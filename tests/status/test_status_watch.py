"""``lmctl status --watch``: the interval argument, and a watch in a pipe ended by Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from status_mock_specs import MEMBERS, prepare_arrays

from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.status.command import DEFAULT_WATCH_SECONDS, split_watch_interval


@pytest.mark.parametrize(
    ("arguments", "watch", "expected"),
    [
        (["hq"], False, (["hq"], None)),
        (["hq"], True, (["hq"], DEFAULT_WATCH_SECONDS)),
        (["10", "hq"], True, (["hq"], 10.0)),
        (["hq", "2.5"], True, (["hq"], 2.5)),
        (["0"], True, ([], 0.5)),  # never a busy loop
        (["10"], False, (["10"], None)),  # without --watch a number is an array name
    ],
)
def test_watch_interval_is_the_number_among_the_arguments(
    arguments: list[str], watch: bool, expected: tuple[list[str], float | None]
) -> None:
    assert split_watch_interval(arguments, watch=watch) == expected


def test_watch_in_a_pipe_prints_one_json_document_per_check_until_interrupted(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    connection_v2: ApplianceConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepare_arrays(tmp_path, mock_server, mock_control, connection_v2, monkeypatch)
    lmctl = Path(sys.executable).with_name("lmctl")
    watch = subprocess.Popen(
        [str(lmctl), "status", "--watch", "0.5", "--format", "json", "--path", "arrays"],
        stdout=subprocess.PIPE,
        text=True,
    )
    guard = threading.Timer(30, watch.kill)  # a hung watch fails the test instead of the suite
    guard.start()
    try:
        assert watch.stdout is not None
        first = json.loads(watch.stdout.readline())
        mock_control.mark(MEMBERS["CAS-A2"], "Down")
        later = json.loads(watch.stdout.readline())
        while later["exit_code"] == 0:  # the check that was under way may predate the mark
            later = json.loads(watch.stdout.readline())
        watch.send_signal(signal.SIGINT)
        code = watch.wait(timeout=10)
    finally:
        guard.cancel()

    assert (first["format"], first["exit_code"]) == ("lmctl.status/v1", 0)
    assert later["exit_code"] == 2
    assert code == 2  # the exit code of the last check before Ctrl-C
