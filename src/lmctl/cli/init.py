"""``lmctl init [DIR]``: scaffold a spec repository of its own."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from lmctl.cli.app import app
from lmctl.cli.options import make_console


@app.command(
    "init",
    help="Write a new spec repository into DIR (default: the current directory): an inventory "
    "with a mock:// appliance, an example array, the JSON Schemas the files' editor hints "
    "reach, a .gitignore for the state directory, and CI files for GitHub Actions and GitLab "
    "CI that install this lmctl's version. Existing files are left alone (nothing is written) "
    "unless --overwrite is given; an existing .gitignore (a file, not a link) gets the lines "
    "it misses appended (each is listed).\n\n"
    "Exit codes: 0 written; 1 error (a file that exists, without --overwrite, or that cannot "
    "be written); 64 usage error. See docs/ci-pipelines.md.",
)
def init_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Where the repository goes (made if missing).", show_default=False
        ),
    ] = Path("."),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace files that are already there.")
    ] = False,
) -> None:
    """``lmctl init [DIR] [--overwrite]``."""
    from lmctl import __version__
    from lmctl.scaffold import repository_files, write_repository
    from lmctl.text import one_line

    written = write_repository(directory, repository_files(__version__), overwrite=overwrite)
    console = make_console()
    for path in written.paths:
        console.print(f"wrote {one_line(str(path))}")
    for path, lines in written.appended.items():
        console.print(f"appended to {one_line(str(path))}: {one_line(' '.join(lines))}")
    wheel = f"lmctl-{__version__}-py3-none-any.whl"
    # The hint is meant to be copied: a name that only prints escaped would not cd there.
    name = str(directory)
    plain = directory != Path(".") and one_line(name) == name
    enter = f"cd {shlex.quote(name)} && " if plain else ""
    console.print(
        f"\nNext: {enter}lmctl validate && lmctl apply --auto-approve && lmctl status\n"
        f"For CI: put lmctl's wheel ({wheel}, from python -m build in lmctl's source) into "
        "/opt/lmctl/wheels on each runner (plan and apply: two machines), set the appliances' "
        "secrets, and read lmctl's docs/ci-pipelines.md."
    )
