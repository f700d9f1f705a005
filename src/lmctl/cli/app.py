"""The typer application every command module registers itself on."""

from __future__ import annotations

from typing import Annotated

import typer

# A mistyped option or argument must not exit 2: for plan, status and drain 2 already means
# "changes pending", "degraded" or "timed out", and a pipeline would take the typo for that.
# 64 is EX_USAGE from sysexits.h.
EXIT_USAGE = 64


def _use_distinct_usage_exit_code() -> None:
    """Make every usage error (unknown option, bad value, missing argument) exit ``EXIT_USAGE``."""
    # Typer re-exports no UsageError of its own; BadParameter derives from it.
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "UsageError":
            cls.exit_code = EXIT_USAGE  # type: ignore[attr-defined]


_use_distinct_usage_exit_code()

app = typer.Typer(
    name="lmctl",
    help="Exchange client access on Kemp LoadMaster, as code: validate, plan, apply, status.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(requested: bool) -> None:
    if requested:
        from lmctl import __version__

        typer.echo(f"lmctl {__version__}")
        raise typer.Exit()


def _show_insecure_tls_once() -> None:
    """The client logs insecure TLS loudly; its Python warning would say it a second time."""
    import warnings

    from lmctl.loadmaster.connection import InsecureTlsWarning

    warnings.simplefilter("ignore", InsecureTlsWarning)


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
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print lmctl's version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """Exchange client access on Kemp LoadMaster, as code: validate, plan, apply, status.

    Exit codes common to every command: 0 success, 1 error, 64 usage error (unknown option,
    bad value); each command's --help lists the codes it adds.
    """
    _show_insecure_tls_once()
    if verbose:
        import logging

        level = logging.INFO if verbose == 1 else logging.DEBUG
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
        )
