"""What every command shares: its arguments and options, so one flag means one thing, and the
console it prints to (rich on a terminal, plain text in a pipe).

``SpecPaths`` (the positional spec files or directories), ``FormatOption`` (``--format``),
``StateDirOption`` (``--state-dir``) and ``RequestTimeoutOption`` (``--request-timeout``: seconds
per API request; ``--timeout`` is reserved for a command's total wait, as drain/undrain use it).
Only typer and rich's console are imported here, so ``lmctl --help`` stays fast.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from lmctl.statedir import DEFAULT_STATE_DIR as DEFAULT_STATE_DIR


class OutputFormat(enum.StrEnum):
    """The ``--format`` choices a command may offer."""

    text = "text"
    json = "json"
    markdown = "markdown"


SPEC_PATHS_HELP = "Spec files or directories (searched for *.yaml/*.yml). Default: arrays/."

SpecPaths = Annotated[
    list[Path] | None,
    typer.Argument(help=SPEC_PATHS_HELP, show_default=False),
]

SpecPathsOption = Annotated[
    list[Path] | None,
    typer.Option("--specs", "-s", help=SPEC_PATHS_HELP, show_default=False),
]


def spec_paths_argument(help_text: str) -> typer.models.ArgumentInfo:
    """The spec-paths argument with a command's own help (e.g. apply also takes a plan file)."""
    argument: typer.models.ArgumentInfo = typer.Argument(help=help_text, show_default=False)
    return argument


FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output: text, json or markdown.")
]
StateDirOption = Annotated[
    Path,
    typer.Option(
        "--state-dir",
        envvar="LMCTL_STATE_DIR",
        help="Where backups, locks and the mock:// appliances' state are kept.",
    ),
]
RequestTimeoutOption = Annotated[
    float,
    typer.Option(
        "--request-timeout",
        min=0.1,
        help="Seconds each API request may take before it is given up.",
    ),
]


def make_console(*, stderr: bool = False) -> Console:
    """A console that colours only on a terminal; in a pipe it writes plain, unwrapped text."""
    stream = sys.stderr if stderr else sys.stdout
    interactive = stream.isatty()
    return Console(
        file=stream,
        force_terminal=None if interactive else False,
        no_color=not interactive,
        highlight=False,
        emoji=False,  # a fingerprint such as AB:AB:... must not turn into an emoji
        soft_wrap=not interactive,
        width=None if interactive else 10_000,
    )
