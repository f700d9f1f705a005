"""The typer application every command module registers itself on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="lmctl",
    help="Exchange client access on Kemp LoadMaster, as code: validate, plan, apply, status.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
