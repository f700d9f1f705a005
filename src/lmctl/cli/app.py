"""The typer application every command module registers itself on, and the one error boundary.

A command calls the library and raises ``LmctlError`` for anything its user must act on; the
boundary (``LmctlCommands.invoke``, which both ``main()`` and the tests' ``CliRunner`` go
through) catches it once, prints ``error: <message>`` on stderr, one line and no traceback, and
exits with the error's ``exit_code``. ``CommandError`` is the command line's own error: a
problem with what a command was given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click.core import Context  # the Context TyperGroup.invoke takes (typer vendors click)
from typer.core import TyperGroup

from lmctl.cli.options import make_console, readable_help
from lmctl.errors import ExitCode, LmctlError, error_text
from lmctl.text import one_line

if TYPE_CHECKING:
    from lmctl.plan.document import FailureKind

# A mistyped option or argument must not exit 2: for plan, status and drain 2 already means
# "changes pending", "degraded" or "timed out", and a pipeline would take the typo for that.
# 64 is EX_USAGE from sysexits.h.
EXIT_USAGE = int(ExitCode.USAGE)


class CommandError(LmctlError):
    """What a command was given cannot be used, as one message (exit ``exit_code``, 1 unless
    told); ``kind`` says what failed and ``details`` carries the lines behind it (each spec
    error) for plan's failure document."""

    def __init__(
        self,
        message: str,
        kind: FailureKind = "usage",
        details: Sequence[str] = (),
        exit_code: ExitCode = ExitCode.ERROR,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.details = tuple(details)
        self.exit_code = exit_code


# ``lmctl --help`` lists the commands in the order of a day's work (typer lists them in the
# order they were made, which is the import order of the command modules).
WORKFLOW_ORDER = (
    "init",
    "validate",
    "show",
    "plan",
    "apply",
    "status",
    "drain",
    "undrain",
    "ls",
    "import",
    "backups",
    "restore",
    "history",
    "exchange",
    "schema",
    "mock",
)


class LmctlCommands(TyperGroup):
    """lmctl's commands behind the one error boundary, with help a person reads
    (``readable_help``), printed with exit 0 when the group is given nothing to do."""

    def list_commands(self, ctx: Context) -> list[str]:
        names = super().list_commands(ctx)
        rank = {name: i for i, name in enumerate(WORKFLOW_ORDER)}
        return sorted(names, key=lambda name: rank.get(name, len(rank)))

    def get_params(self, ctx: Context) -> Any:
        params = super().get_params(ctx)
        readable_help(params)
        return params

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        # typer shows this help as a usage error (exit 64 here); asking for nothing is no error.
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help(), color=ctx.color)
            ctx.exit()
        _refuse_a_completion_shell(args)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Context, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            readable_help(command.get_params(ctx))
        return name, command, rest

    def invoke(self, ctx: Context) -> Any:
        """Run the command; an ``LmctlError`` ends it with its message and exit code."""
        try:
            return super().invoke(ctx)
        except typer.BadParameter as error:
            # A bad choice is the user's: pydantic's "Value error, " prefix is not for them.
            error.message = error.message.removeprefix("Value error, ")
            raise
        except LmctlError as error:
            # One line whatever the message quotes (a file name, an appliance's reply).
            make_console(stderr=True).print(f"error: {one_line(error_text(error))}")
            raise typer.Exit(int(error.exit_code)) from None


def _refuse_a_completion_shell(args: list[str]) -> None:
    """typer's ``--show-completion`` and ``--install-completion`` take no shell name: they act
    for the shell lmctl runs under (shellingham detects it from the parent processes), and a
    name after them (``--show-completion zsh``) was silently ignored."""
    for flag in ("--show-completion", "--install-completion"):
        if flag in args and args.index(flag) + 1 < len(args):
            shell = args[args.index(flag) + 1]
            raise typer.BadParameter(
                f"{flag} takes no shell name ({shell!r}): it acts for the shell lmctl runs "
                f"under; run it from that shell, e.g. {shell} -c 'lmctl {flag}'",
                param_hint=f"'{flag}'",
            )


def _use_distinct_usage_exit_code() -> None:
    """Make every usage error (unknown option, bad value, missing argument) exit ``EXIT_USAGE``."""
    # Typer re-exports no UsageError of its own; BadParameter derives from it.
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "UsageError":
            cls.exit_code = EXIT_USAGE  # type: ignore[attr-defined]


_use_distinct_usage_exit_code()

app = typer.Typer(
    cls=LmctlCommands,
    name="lmctl",
    help="Exchange client access on Kemp LoadMaster, as code: validate, plan, apply, status.",
    no_args_is_help=True,
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
            help="Log to stderr: -v one line per API call (appliance, command, object, HTTP "
            "status, milliseconds), -vv also each request and reply, -vvv also the HTTP "
            "libraries' debug lines. Secrets are always redacted.",
            show_default=False,
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
        _log_to_stderr(verbose)


def _log_to_stderr(verbose: int) -> None:
    """lmctl's own log lines at INFO (-v) or DEBUG (-vv); other libraries' (httpx, httpcore,
    asyncio) only when they warn, and at DEBUG from -vvv. Every line passes the redaction
    filter on its way out, whichever logger made it."""
    import logging

    from lmctl.loadmaster.redact import RedactingFilter

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logging.basicConfig(
        level=logging.DEBUG if verbose >= 3 else logging.WARNING, handlers=[handler], force=True
    )
    logging.getLogger("lmctl").setLevel(logging.INFO if verbose == 1 else logging.DEBUG)


def main() -> None:
    """Console-script entry point (``lmctl``, ``python -m lmctl``)."""
    # Named, so that ``python -m lmctl`` shows and completes as ``lmctl`` (its completion
    # script would otherwise bind "python -m lmctl" and read _PYTHON _M LMCTL_COMPLETE).
    app(prog_name="lmctl")
