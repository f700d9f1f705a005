"""The typer application every command module registers itself on."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    name="lmctl",
    help="Exchange client access on Kemp LoadMaster, as code: validate, plan, apply, status.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def global_options(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="Log to stderr: -v the API calls made, -vv every request and reply "
            "(secrets are always redacted).",
        ),
    ] = 0,
) -> None:
    """Exchange client access on Kemp LoadMaster, as code: validate, plan, apply, status."""
    if verbose:
        import logging

        level = logging.INFO if verbose == 1 else logging.DEBUG
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
        )
