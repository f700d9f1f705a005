"""``lmctl ls``: every virtual service on the appliances, as lmctl's, adoptable, conflicting or
foreign (``lmctl.plan.listing``), as text or as the versioned JSON document.

One ``listvs`` per appliance, all read at once; nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lmctl.cli.app import CommandError, app
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    FormatOption,
    OutputFormat,
    RequestTimeoutOption,
    SpecPaths,
    StateDirOption,
    make_console,
    print_table,
)
from lmctl.cli.plan import ApplianceOption, Target, adopting, appliance_names
from lmctl.cli.specload import load_reporting
from lmctl.text import quoted_name

if TYPE_CHECKING:
    from rich.table import Table

    from lmctl.plan.listing import ApplianceListing, Listing

_CATEGORY_STYLE = {
    "lmctl": "green",
    "adoptable": "yellow",
    "conflicting": "bold magenta",
    "foreign": "dim",
}


async def _listing(target: Target) -> Listing:
    from lmctl.appliance.base import observe_all, open_appliances
    from lmctl.exchange import expand_all
    from lmctl.plan.listing import LeftOutSpec, make_listing
    from lmctl.plan.match import plan_scope

    errors = make_console(stderr=True)
    # ls writes nothing: a spec still being filled in (lmctl import) does not hide the appliance.
    spec_set = load_reporting(target.paths, errors, leave_out=True)
    left_out = tuple(LeftOutSpec(file=d.file, error=str(d)) for d in spec_set.left_out)
    for spec in left_out:
        errors.print(
            f"left out {spec.file} (its VSs are listed as if it were not in the specs; lmctl "
            f"validate lists every error): {spec.error}",
        )
    scope = plan_scope(target.spec_paths, (a.name for a in spec_set.arrays))
    names = appliance_names(spec_set, target.appliances, scope)
    async with open_appliances(
        spec_set, names, state_dir=target.state_dir, timeout=target.request_timeout
    ) as appliances:
        observed = await observe_all(appliances)
    listing = make_listing(expand_all(spec_set), observed, scope, adopting(spec_set, ()))
    return listing.model_copy(update={"left_out": left_out})


def _table(appliance: ApplianceListing) -> Table:
    from rich import box
    from rich.table import Table

    counts = ", ".join(f"{count} {name}" for name, count in appliance.counts.items())
    table = Table(
        title=f"Appliance {appliance.name} ({counts})",
        title_justify="left",
        box=box.SIMPLE,
    )
    # The key is how the admin names a VS to lmctl: never cut, the other columns fold instead.
    table.add_column("virtual service", no_wrap=True)
    for column in ("Index", "NickName", "category", "array/service", "note"):
        table.add_column(column, overflow="fold")
    for vs in appliance.virtual_services:
        owner = f"{vs.array}/{vs.service}" if vs.array is not None else ""
        table.add_row(
            str(vs.key),
            "" if vs.index is None else str(vs.index),
            "(none)" if vs.nickname is None else quoted_name(vs.nickname),
            vs.category,
            owner,
            vs.note,
            style=_CATEGORY_STYLE[vs.category],
        )
    return table


@app.command(
    "ls",
    help="List every virtual service on the appliances and whose it is.\n\n"
    "Each VS is lmctl's (it carries lmctl's marker: array/service), adoptable (no marker, on "
    "exactly the address, port and protocol a spec wants: a conflict until the array adopts "
    "it), conflicting (another array's marked VS on a key a spec wants) or foreign (lmctl never "
    "touches it). The categories are the ones plan acts on. One listvs per appliance; nothing "
    "is written. An array spec file with errors (a spec still being filled in) is left out, "
    "with a line saying so. --format json prints the versioned document (schema: `lmctl schema "
    "--kind ls`).\n\n"
    "Exit codes: 0 listed (array files with errors left out or not); 1 error (a bad "
    "inventory or path, an unknown or unreadable appliance); 64 usage error. "
    "See docs/adoption.md.",
)
def ls_command(
    paths: SpecPaths = None,
    output: FormatOption = OutputFormat.text,
    appliance: ApplianceOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """``lmctl ls [PATH ...] [--appliance NAME] [--format json]``."""
    import asyncio

    if output is OutputFormat.markdown:
        raise CommandError(
            "lmctl ls prints text or json (--format text|json), not markdown; nothing was read"
        )
    target = Target(tuple(paths or ()), tuple(appliance or ()), state_dir, request_timeout)
    listing = asyncio.run(_listing(target))
    console = make_console()
    if output is OutputFormat.json:
        console.out(listing.model_dump_json(indent=2), highlight=False)
        return
    for appliance_listing in listing.appliances:
        if appliance_listing.virtual_services:
            print_table(console, _table(appliance_listing))
        else:
            console.print(f"Appliance {appliance_listing.name}: no virtual services")
