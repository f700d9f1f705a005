"""Usage errors exit 64, never 2, which plan, status and drain use for a real outcome."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl import __version__
from lmctl.cli.app import EXIT_USAGE, app


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["plan", "--fromat", "markdown", "--detailed-exitcode"], "No such option: --fromat"),
        (["status", "--format", "yaml"], "'yaml' is not one of"),
        (["drain"], "Missing argument"),
        (["apply", "--auto-aprove"], "No such option: --auto-aprove"),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_exit_64_with_the_reason(args: list[str], complaint: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == EXIT_USAGE == 64
    assert complaint in " ".join(result.output.split())


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"lmctl {__version__}"
