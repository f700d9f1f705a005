"""``lmctl exchange script`` and ``lmctl exchange check``: the Exchange half of a cutover.

Neither needs an appliance: ``script`` reads the specs and prints PowerShell, ``check`` reads the
specs and probes the network (DNS, TCP ports, health URLs, certificates), read-only. The library
(``lmctl.cutover``) is imported inside the commands so that ``lmctl --help`` stays fast.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import ssl
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lmctl.cli.app import CommandError, LmctlCommands, app
from lmctl.cli.options import ArrayArgument, ArrayOption, SpecPaths, make_console
from lmctl.cli.specload import SPEC_ERRORS, load_reporting, refuse_array_as_path
from lmctl.errors import ExitCode
from lmctl.text import no_array_named, one_line

if TYPE_CHECKING:
    from rich.console import RenderableType

    from lmctl.cutover.preflight import Network
    from lmctl.specs import ArraySpec, SpecSet

exchange_app = typer.Typer(
    cls=LmctlCommands,
    help="The Exchange side of a cutover: the Exchange Management Shell script of an array, "
    "and a read-only pre-flight check from your workstation (no appliance needed).",
    no_args_is_help=True,
)
app.add_typer(exchange_app, name="exchange")

_CHECK_EXIT_CODES = (
    "Exit codes: 0 every check passed; 2 warnings only (e.g. a name that also resolves "
    "elsewhere, a certificate close to expiry); 3 a member or a name failed a check; 1 error "
    "(bad specs, unknown array, unusable --ca-file); 64 usage error (a bad option)."
)
_SCRIPT_EXIT_CODES = (
    "Exit codes: 0 the script was printed or written; 1 error (bad specs, unknown array, an "
    "--output file that exists or cannot be written); 64 usage error (a bad option)."
)


class CheckFormat(enum.StrEnum):
    """The ``--format`` choices of ``lmctl exchange check``."""

    text = "text"
    json = "json"


def _array(spec_set: SpecSet, name: str) -> ArraySpec:
    found = spec_set.array(name)
    if found is None:
        raise CommandError(no_array_named([name], (a.name for a in spec_set.arrays)))
    return found


@exchange_app.command(
    "script",
    help="Print the PowerShell that makes clients use ARRAY, for the Exchange Management "
    "Shell of its release.\n\n"
    "2010: the CAS array object, RpcClientAccessServer of the site's databases, the static "
    "RPC ports in every member's registry (and a restart of MSExchangeRPC and MSExchangeAB), "
    "TCP KeepAliveTime. 2013 and later: the internal and external URLs of every virtual "
    "directory, Outlook Anywhere and Autodiscover on every member, TCP KeepAliveTime; a "
    "per-protocol array's settings of the directories it does not publish are left unchanged "
    "(named on stderr and in the script). "
    "Idempotent; run it with -WhatIf first. It ends with a verification table and a checklist "
    "of what it does not do (DNS, certificate, firewalls). See docs/operations.md.\n\n"
    + _SCRIPT_EXIT_CODES,
)
def script_command(
    array: ArrayArgument,
    paths: SpecPaths = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the script to this file instead of printing it (- prints it). An "
            "existing file or link there is refused unless --overwrite is given.",
            show_default=False,
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace the --output file if it exists."),
    ] = False,
) -> None:
    """Run ``lmctl exchange script``."""
    from lmctl.cutover import exchange_script
    from lmctl.cutover.script import left_unchanged_note
    from lmctl.files import existing_refusal, replace_file

    refuse_array_as_path(paths, array_first="exchange script")
    spec_set = load_reporting(
        paths or [],
        make_console(stderr=True),
        arrays=[array],
        refusal=f"{SPEC_ERRORS}; no script was generated",
    )
    spec = _array(spec_set, array)
    text = exchange_script(spec)
    note = left_unchanged_note(spec)
    if note:
        make_console(stderr=True).print("\n".join(note))
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    refusal = existing_refusal(output, overwrite=overwrite)
    if refusal:
        raise CommandError(f"{refusal}; nothing was written")
    try:
        # CRLF, as Windows tools expect; the script is ASCII, so no byte order mark is needed.
        replace_file(output, text.replace("\n", "\r\n").encode("ascii"))
    except OSError as error:
        raise CommandError(
            f"cannot write {output}: {error.strerror or error}; nothing was written"
        ) from None
    make_console(stderr=True).print(f"wrote {output}")


@exchange_app.command(
    "check",
    help="Read-only pre-flight check from this workstation: DNS, ports, health URLs, "
    "certificates.\n\n"
    "DNS (the FQDN and each client host name resolve to the VIP), every member on every "
    "service port, every "
    "member's health URL over HTTPS with the namespace as Host (200 expected; per-protocol: "
    "each published directory's /<directory>/healthcheck.htm), every "
    "member's certificate (trusted, valid, naming the client host names). Probes run "
    "concurrently, each bounded by --timeout.\n\n" + _CHECK_EXIT_CODES,
)
def check_command(
    paths: SpecPaths = None,
    arrays: ArrayOption = None,
    output_format: Annotated[
        CheckFormat, typer.Option("--format", "-f", help="text (a table per array) or json.")
    ] = CheckFormat.text,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", min=0.05, help="Seconds each probe may take."),
    ] = 3.0,
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", min=1, help="Probes in flight at most.")
    ] = 64,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            metavar="FILE",
            help="PEM file of the CAs that issued the members' certificates (default: the "
            "system's trusted CAs).",
            show_default=False,
        ),
    ] = None,
    public_resolver: Annotated[
        str | None,
        typer.Option(
            "--public-resolver",
            metavar="ADDRESS",
            help="A public DNS server's IP address (e.g. one outside your network): a 2010 "
            "CAS array FQDN must not resolve there (it warns when it does).",
            show_default=False,
            callback=_ip_address,
        ),
    ] = None,
) -> None:
    """Run ``lmctl exchange check``."""
    options = CheckOptions(output_format, timeout, concurrency, ca_file, public_resolver)
    refuse_array_as_path(paths)
    raise typer.Exit(int(run_check(paths or [], arrays or [], options)))


def _ip_address(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise typer.BadParameter(f"{one_line(value)!r} is not an IP address") from None


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """How to check: the output, the time each probe may take, how many run at once, the CAs
    trusted for the members' certificates, the public resolver to ask."""

    output_format: CheckFormat = CheckFormat.text
    timeout: float = 3.0
    concurrency: int = 64
    ca_file: Path | None = None
    public_resolver: str | None = None


def default_network(ca_file: Path | None, concurrency: int) -> Network:
    """The network ``check`` probes: the system resolver and real connections, at most
    ``concurrency`` name lookups at once (tests replace this function to route probes to local
    servers)."""
    from lmctl.cutover.preflight import SystemNetwork

    return SystemNetwork(ca_file=ca_file, concurrency=concurrency)


def run_check(paths: list[Path], names: list[str], options: CheckOptions) -> ExitCode:
    """``lmctl exchange check``: probe, print, return the exit code."""
    import asyncio

    from lmctl.cutover.preflight import TlsContexts, check_arrays, overall_exit, plan_probes
    from lmctl.cutover.render import check_document, render_check

    spec_set = load_reporting(
        paths,
        make_console(stderr=True),
        arrays=names,
        refusal=f"{SPEC_ERRORS}; nothing was checked",
    )
    selected = [_array(spec_set, name) for name in dict.fromkeys(names)] or list(spec_set.arrays)
    probes = [p for array in selected for p in plan_probes(array, options.public_resolver)]
    network = default_network(options.ca_file, options.concurrency)
    try:
        contexts = TlsContexts.of(network)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or error
        raise CommandError(f"cannot use --ca-file {options.ca_file}: {reason}") from None
    try:
        results = asyncio.run(
            check_arrays(
                probes,
                network,
                timeout=options.timeout,
                limit=options.concurrency,
                contexts=contexts,
            )
        )
    finally:
        network.close()
    code = overall_exit(results)
    if options.output_format == CheckFormat.json:
        document = check_document(selected, results, code)
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        _print(render_check(selected, results))
    return code


def _print(renderable: RenderableType) -> None:
    console = make_console()
    if console.is_terminal:
        console.print(renderable)
        return
    # Plain text for pipes and logs: the table columns without their trailing padding.
    with console.capture() as captured:
        console.print(renderable)
    console.out("\n".join(line.rstrip() for line in captured.get().splitlines()), highlight=False)
