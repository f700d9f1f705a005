"""What lmctl prints is escaped wherever it came from (a spec value, a file name, an appliance's
reply: a control sequence would retitle or clear the admin's terminal), and a NickName that only
resembles lmctl's marker is foreign, shown as it is (issue 11, findings 1 and 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.table import Table

from lmctl.cli.options import make_console
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.text import escaped
from mock_site import Array, Site

HOSTILE = "/owa\x1b]0;owned\x07\x1b[2J\u202e"
RAW_CONTROLS = ("\x1b", "\x07", "\u202e", "\x00")


def raw_controls_in(text: str) -> list[str]:
    return [c for c in RAW_CONTROLS if c in text]


# --- the console ---------------------------------------------------------------------------


def test_the_console_prints_controls_escaped_and_text_as_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = make_console()
    console.print(f"[bold]url[/]: {HOSTILE} é 日本", markup=True)
    console.out("nul:\x00 tab:\t")
    table = Table("nickname")
    table.add_row("lmctl.hq-cas.https\x1b[8m")
    console.print(table)

    out = capsys.readouterr().out
    assert raw_controls_in(out) == []
    assert "url: /owa\\x1b]0;owned\\x07\\x1b[2J\\u202e é 日本" in out
    assert "nul:\\x00 tab:\\t" in out
    assert "lmctl.hq-cas.https\\x1b[8m" in out  # whole: escaped before the table measured it


def test_escaping_is_idempotent_and_leaves_newlines() -> None:
    once = escaped("a\x1b[2Jb\nc\u2066")
    assert once == "a\\x1b[2Jb\nc\\u2066"
    assert escaped(once) == once


# --- NickNames that resemble the marker ----------------------------------------------------

HQ = Array("hq-cas", "10.1.1.50", ["10.1.1.11", "10.1.1.12"], services=["https"])
HTTPS = VirtualServiceKey(address="10.1.1.50", port="443")


@pytest.mark.parametrize(
    "nickname",
    ["lmctl.hq-cas.https ", " lmctl.hq-cas.https", "lmctl:hq-cas/https\t", "lmctl.hq-cas.https\n"],
)
def test_a_look_alike_nickname_is_foreign_and_shown_as_it_is(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
    nickname: str,
) -> None:
    site = Site.open(tmp_path, mock_server, monkeypatch, HQ)
    assert site.apply().exit_code == 0
    site.rename(HTTPS, nickname)
    (before,) = site.read()

    planned = site.plan()
    assert planned.exit_code == 1, planned.output  # a conflict, which no flag overrides
    assert f"held by the VS named {nickname!r} (Index 1) that lmctl does not own" in planned.output

    mock_control.clear_log()
    applied = site.apply("--force")
    assert applied.exit_code == 1, applied.output
    assert [call for call in mock_control.calls() if call.applied_write] == []
    assert site.read() == [before]
