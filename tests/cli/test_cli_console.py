"""The shared console: plain text in a pipe, and values printed as they are."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.text import Text

from lmctl.cli.options import make_console
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import invoke
from mock_site import Array, Site


def test_a_fingerprint_is_printed_as_written_not_as_emoji(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fingerprint = "AB:AB:CD:EF:00:11"
    make_console().print(f"pin tls.fingerprint: {fingerprint}")
    assert capsys.readouterr().out == f"pin tls.fingerprint: {fingerprint}\n"


def test_output_in_a_pipe_has_no_colour_codes(capsys: pytest.CaptureFixture[str]) -> None:
    make_console().print(Text("NOT SERVING", style="bold red"))
    out = capsys.readouterr().out
    assert out == "NOT SERVING\n"
    assert "\x1b[" not in out


def test_a_string_is_printed_as_written_never_read_as_markup(
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_console().print("Up[link=https://evil.example]x[/link][/]")
    assert capsys.readouterr().out == "Up[link=https://evil.example]x[/link][/]\n"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("no_color", "coloured"), [("1", False), ("", True)])
def test_no_color_is_honoured_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, no_color: str, coloured: bool
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setenv("TERM", "xterm-256color")
    make_console().print(Text("True", style="green"))
    assert ("\x1b[32m" in terminal.getvalue()) is coloured


def test_show_ls_and_status_print_plain_text_in_a_pipe(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs: in a pipeline lmctl prints plain text: no box drawing, no trailing spaces."""
    site = Site.open(tmp_path, mock_server, monkeypatch, Array("hq", "10.0.10.50", ["10.0.20.11"]))
    assert site.apply().exit_code == 0
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("NO_COLOR", "1")

    shown = invoke("show", "hq", str(site.arrays_dir))
    listed = site.lmctl("ls", str(site.arrays_dir))
    checked = site.lmctl("status", str(site.arrays_dir))
    for printed in (shown.stdout, listed.stdout, checked.stdout):
        assert "10.0.10.50:443/tcp" in printed, printed
        assert not set(printed) & set("─━│┃╭╮╰╯┌┐└┘┼"), printed
        assert [line for line in printed.splitlines() if line != line.rstrip()] == []
