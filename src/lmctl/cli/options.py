"""Typer argument and option annotations shared by the commands, so one flag means one thing.

``SpecPaths`` (the positional spec files or directories), ``FormatOption`` (``--format``),
``StateDirOption`` (``--state-dir``) and ``RequestTimeoutOption`` (``--request-timeout``: seconds
per API request; ``--timeout`` is reserved for a command's total wait, as drain/undrain use it).
Only typer and the light ``OutputFormat`` enum are imported here, so ``lmctl --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmctl.cli.console import OutputFormat
from lmctl.statedir import DEFAULT_STATE_DIR as DEFAULT_STATE_DIR

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
