"""``lmctl import``: one array spec per VIP that serves Exchange on an appliance, written from
one ``listvs`` (``lmctl.importing``); nothing is written to the appliance.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lmctl.cli.app import CommandError, app
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    FormatOption,
    InventoryOption,
    OutputFormat,
    RequestTimeoutOption,
    StateDirOption,
    appliance_name_option,
    make_console,
)
from lmctl.cli.specload import DEFAULT_INVENTORY, DEFAULT_SPECS, load_inventory_reporting
from lmctl.text import one_line

if TYPE_CHECKING:
    from lmctl.appliance.state import ApplianceState
    from lmctl.importing import ImportOptions, ImportResult
    from lmctl.specs import SpecSet


def _checked_options(options: ImportOptions) -> None:
    """Refuse a release or a VIP that is no such thing, before anything is read."""
    import ipaddress

    from lmctl.releases import parse_exchange_version

    if options.exchange is not None:
        try:
            parse_exchange_version(options.exchange)
        except ValueError as error:
            raise CommandError(f"--exchange: {error}; nothing was read or written") from None
    for vip in options.vips:
        try:
            ipaddress.ip_address(vip.strip())
        except ValueError:
            raise CommandError(
                f"--vip {vip!r} is not an IP address (e.g. 10.10.1.50); nothing was read or written"
            ) from None


async def _import(
    spec_set: SpecSet, options: ImportOptions, state_dir: Path, timeout: float
) -> ImportResult:
    """The arrays of one ``listvs``, decided while the appliance is open: its secrets are
    registered for scrubbing only then (``lmctl.importing.redact``)."""
    from lmctl.appliance.base import observe_all, open_appliances
    from lmctl.importing import import_state, redacted

    name = options.appliance
    async with open_appliances(spec_set, [name], state_dir=state_dir, timeout=timeout) as opened:
        state = (await observe_all(opened))[name]
        _check_vips_found(options, state)
        return redacted(import_state(state, options))


def _check_vips_found(options: ImportOptions, state: ApplianceState) -> None:
    """Refuse a --vip that no VS of the appliance has (a typo would otherwise write nothing
    and succeed)."""
    from lmctl.loadmaster.models import normalised_address

    held = {key.address for key in state}
    missing = [vip for vip in options.vips if normalised_address(vip) not in held]
    if missing:
        raise CommandError(
            f"--vip {', '.join(missing)}: no virtual service on appliance {options.appliance} "
            "has this address; nothing was written"
        )


@app.command(
    "import",
    help="Write array specs from what an appliance already holds.\n\n"
    "Reads the appliance once (one listvs) and writes one array spec per VIP that shows "
    "Exchange (an Exchange health check, RPC, or 443 beside a mail port or the redirect of "
    "80; another VIP only when named with --vip) into --out (default arrays/): services "
    "recognised by port and settings, the release family from the health checks, members from"
    " the real servers, every setting that differs from lmctl's defaults as an override, so "
    "that `lmctl plan --adopt NAME` then holds only adoptions. What lmctl cannot know (AD "
    "site, exact release, FQDN) comes from --site, --exchange, --fqdn or is written as 'FILL "
    "IN: ...', which validate refuses until it is filled in. Every other VS is listed as "
    "skipped, with the reason. Never overwrites a file unless --overwrite; writes nothing to "
    "the appliance. --format json prints what was written and skipped as a versioned "
    "document (schema: `lmctl schema --kind import`).\n\n"
    "Exit codes: 0 specs written (or no VIP serving Exchange found: nothing written); 1 error "
    "(a bad --exchange or --vip, an appliance not in the inventory or unreadable, a target "
    "file that exists or cannot be written); 64 usage error. See docs/adoption.md.",
)
def import_command(
    appliance: Annotated[str, appliance_name_option("The appliance to read (its inventory name).")],
    inventory: InventoryOption = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Where to write the array specs.")
    ] = DEFAULT_SPECS,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace spec files that already exist.")
    ] = False,
    vip: Annotated[
        list[str] | None,
        typer.Option(
            "--vip", metavar="ADDRESS", help="Only this VIP (repeatable). Default: every VIP."
        ),
    ] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="The AD site to write into every spec.")
    ] = None,
    exchange: Annotated[
        str | None,
        typer.Option(
            "--exchange",
            metavar="RELEASE",
            help="The Exchange release, e.g. '2010 SP3' or '2016 CU23'.",
        ),
    ] = None,
    fqdn: Annotated[str | None, typer.Option("--fqdn", help="The array's FQDN.")] = None,
    output: FormatOption = OutputFormat.text,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """``lmctl import --appliance NAME [--out DIR] [--overwrite] [--vip ADDRESS] ...``."""
    import asyncio

    from lmctl.appliance.changes import counted
    from lmctl.importing import ImportFileError, ImportOptions, import_report, write_specs

    if output is OutputFormat.markdown:
        raise CommandError(
            "lmctl import prints text or json (--format text|json), not markdown; nothing was "
            "read or written"
        )
    options = ImportOptions(
        appliance=appliance, vips=tuple(vip or ()), site=site, exchange=exchange, fqdn=fqdn
    )
    _checked_options(options)
    console, errors = make_console(), make_console(stderr=True)
    spec_set = load_inventory_reporting(inventory, errors)
    if spec_set.inventory.appliance(appliance) is None:
        known = ", ".join(spec_set.inventory.appliances) or "none"
        raise CommandError(
            f"no appliance named {appliance} in the inventory (known: {known}); nothing was read"
        )
    result = asyncio.run(_import(spec_set, options, state_dir, request_timeout))
    try:
        written = write_specs(result.arrays, out, appliance, overwrite=overwrite)
    except ImportFileError as error:
        raise CommandError(str(error)) from None
    next_commands = _next_commands(out, written, inventory, [a.name for a in result.arrays])
    for warning in result.warnings:
        errors.print(f"warning: {one_line(warning)}", highlight=False)
    if output is OutputFormat.json:
        report = import_report(appliance, result, written, next_commands)
        console.out(report.model_dump_json(indent=2), highlight=False)
        return
    for array, path in zip(result.arrays, written, strict=True):
        services = ", ".join(array.document["services"])
        members = counted(len(array.document["members"]), "member")
        console.print(f"wrote {path}: array {array.name} ({services}; {members})")
    for skipped in result.skipped:
        console.print(f"skipped {skipped}")
    if not result.arrays:
        console.print("No VIP serving Exchange found: no spec written.")
        return
    console.print("Next: fill in and review the specs, then:")
    for command in next_commands:
        console.print(f"  {command}")


def _next_commands(
    out: Path, written: list[Path], inventory: Path | None, arrays: list[str]
) -> list[str]:
    """``lmctl validate`` and ``lmctl plan --adopt`` of the specs written (none: nothing)."""
    if not written:
        return []
    scope = _plan_scope(out, written, inventory)
    names = [part for name in arrays for part in ("--adopt", name)]
    return [_command("validate", *scope), _command("plan", *scope, *names)]


def _plan_scope(out: Path, written: list[Path], inventory: Path | None) -> list[str]:
    """The spec paths the next commands read: ``out`` when it is the directory of the inventory
    (it holds every array of the appliances: the whole truth), else the inventory and the files
    written, so that the plan holds only the arrays imported (a directory of new files alone
    has no inventory, and beside ``LMCTL_INVENTORY`` it would delete every other array)."""
    from lmctl.cli.specload import trusted_inventory

    if trusted_inventory() is not None:
        return [str(path) for path in written]  # the trusted inventory is read by every command
    used = inventory or DEFAULT_INVENTORY
    if used.resolve().parent == out.resolve():
        return [str(out)]
    return [str(used), *map(str, written)]


def _command(name: str, *arguments: str) -> str:
    return shlex.join(["lmctl", name, *arguments])
