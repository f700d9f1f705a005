"""The shared console: plain text in a pipe, and values printed as they are."""

from __future__ import annotations

import pytest

from lmctl.cli.options import make_console


def test_a_fingerprint_is_printed_as_written_not_as_emoji(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fingerprint = "AB:AB:CD:EF:00:11"
    make_console().print(f"pin tls.fingerprint: {fingerprint}")
    assert capsys.readouterr().out == f"pin tls.fingerprint: {fingerprint}\n"


def test_output_in_a_pipe_has_no_colour_codes(capsys: pytest.CaptureFixture[str]) -> None:
    make_console().print("[bold red]NOT SERVING[/]")
    out = capsys.readouterr().out
    assert out == "NOT SERVING\n"
    assert "\x1b[" not in out
