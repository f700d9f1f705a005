"""``lmctl validate``, ``lmctl show`` and ``lmctl schema``: the specs, before any appliance.

Heavy modules (pydantic models, yaml) are imported inside the commands so ``lmctl --help``
stays fast.
"""

from __future__ import annotations

import enum
import json
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, assert_never

import typer

from lmctl.cli.app import app
from lmctl.cli.options import (
    ArrayArgument,
    FormatOption,
    OutputFormat,
    SpecPaths,
    make_console,
    print_table,
)
from lmctl.cli.specload import load_spec_set, refuse_array_as_path
from lmctl.text import no_array_named, one_line

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from lmctl.exchange import DesiredRealServer, DesiredVirtualService
    from lmctl.specs import ArraySpec, Diagnostic, SpecSet
    from lmctl.specs.source import Severity

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "notice": "cyan"}
_EXPANSION_COLUMNS = (
    "service",
    "virtual service",
    "type, layer",
    "persistence",
    "idle",
    "check",
    "extra ports",
    "real servers",
)


@app.command(
    help="Check array specs and the inventory (no network).\n\n"
    "Exit codes: 0 valid (warnings and notices allowed); 1 an error in a spec or the "
    "inventory; 64 usage error. See docs/specs.md."
)
def validate(paths: SpecPaths = None, output: FormatOption = OutputFormat.text) -> None:
    """Check array specs and the inventory (no network); exit 1 when there is an error."""
    from lmctl.specs import SpecError

    try:
        spec_set = load_spec_set(paths)
    except SpecError as error:
        _print_diagnostics(error.diagnostics, None, output)
        raise typer.Exit(1) from None
    _print_diagnostics(spec_set.diagnostics, spec_set, output)


@app.command(
    help="Print the virtual services and real servers that one array expands to.\n\n"
    "Exit codes: 0 printed; 1 error (bad specs, no array of that name); 64 usage error. "
    "See docs/specs.md."
)
def show(
    array: ArrayArgument,
    paths: SpecPaths = None,
    output: FormatOption = OutputFormat.text,
) -> None:
    """Print the virtual services and real servers that one array expands to."""
    from lmctl.exchange import expand
    from lmctl.specs import SpecError

    refuse_array_as_path(paths, array_first="show")
    try:
        spec_set = load_spec_set(paths)
    except SpecError as error:
        _print_diagnostics(error.diagnostics, None, OutputFormat.text, stderr=True)
        raise typer.Exit(1) from None
    spec = spec_set.array(array)
    if spec is None:
        known = (a.name for a in spec_set.arrays)
        make_console(stderr=True).print(f"error: {one_line(no_array_named([array], known))}")
        raise typer.Exit(1)
    services = expand(spec)
    if output is OutputFormat.json:
        print(json.dumps(_expansion_json(spec, services), indent=2))
        return
    _print_expansion(spec, services, output)


class SchemaKind(enum.StrEnum):
    """The documents ``lmctl schema --kind`` describes."""

    array = "array"
    inventory = "inventory"
    plan = "plan"
    ls = "ls"
    import_ = "import"


@app.command(
    help="Print the JSON Schema of array specs, of the inventory, of the plan, ls or import "
    "document.\n\nExit codes: 0 printed; 64 usage error (an unknown --kind)."
)
def schema(
    kind: Annotated[
        SchemaKind | None,
        typer.Option(
            "--kind",
            "-k",
            help="array, inventory, plan (the --format json plan document), ls or import (the "
            "documents of ls and import --format json); array and inventory (in one object) "
            "when omitted.",
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of array specs, of the inventory, of the plan, ls or import
    document."""
    from lmctl.specs import json_schema

    match kind:
        case SchemaKind.plan:
            from lmctl.plan.planfile import plan_json_schema

            document: dict[str, Any] = plan_json_schema()
        case SchemaKind.ls:
            from lmctl.plan.listing import listing_json_schema

            document = listing_json_schema()
        case SchemaKind.import_:
            from lmctl.importing import import_json_schema

            document = import_json_schema()
        case None:
            document = {"array": json_schema("array"), "inventory": json_schema("inventory")}
        case SchemaKind.array:
            document = json_schema("array")
        case SchemaKind.inventory:
            document = json_schema("inventory")
        case unknown:
            assert_never(unknown)
    print(json.dumps(document, indent=2))


def _print_diagnostics(
    diagnostics: tuple[Diagnostic, ...],
    spec_set: SpecSet | None,
    output: OutputFormat,
    *,
    stderr: bool = False,
) -> None:
    counts = Counter(d.severity for d in diagnostics)
    if output is OutputFormat.json:
        print(json.dumps(_validation_json(diagnostics, spec_set, counts), indent=2))
        return
    console = make_console(stderr=stderr)
    if output is OutputFormat.markdown:
        _print_markdown_diagnostics(console, diagnostics)
    else:
        for diagnostic in diagnostics:
            _print_diagnostic(console, diagnostic)
    console.print(_summary(spec_set, counts))


def _print_diagnostic(console: Console, diagnostic: Diagnostic) -> None:
    from rich.text import Text

    line = Text(f"{diagnostic.location}: ")
    line.append(diagnostic.severity, style=_SEVERITY_STYLE[diagnostic.severity])
    line.append(": ")
    if diagnostic.field:
        line.append(diagnostic.field, style="bold")
        line.append(": ")
    line.append(diagnostic.message)
    console.print(line)


def _print_markdown_diagnostics(console: Console, diagnostics: tuple[Diagnostic, ...]) -> None:
    rows = [(d.severity, d.file, str(d.line or ""), d.field, d.message) for d in diagnostics]
    if rows:
        _print_markdown_table(console, ("severity", "file", "line", "field", "message"), rows)


def _print_markdown_table(
    console: Console, headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]
) -> None:
    """A table for a merge request: each cell in code (``table_cell``), so that a spec value, a
    file name or a message renders no link, image, HTML or mention and ends no row."""
    from lmctl.text import table_cell

    console.print("| " + " | ".join(headers) + " |")
    console.print("|" + "---|" * len(headers))
    for row in rows:
        console.print("| " + " | ".join(table_cell(cell) for cell in row) + " |")
    console.print("")


def _summary(spec_set: SpecSet | None, counts: Counter[Severity]) -> str:
    from lmctl.appliance.changes import counted

    severities: tuple[Severity, ...] = ("error", "warning", "notice")
    words = [
        counted(counts[severity], severity)
        for severity in severities
        # A notice count only when there are notices: the usual line stays as it was.
        if severity != "notice" or counts[severity]
    ]
    listed = ", ".join(words)
    if spec_set is None:
        return f"invalid: {listed}"
    return (
        f"valid: {counted(len(spec_set.arrays), 'array')}, "
        f"{counted(len(spec_set.inventory.appliances), 'appliance')} "
        f"in {counted(len(spec_set.files), 'file')} ({listed})"
    )


def _validation_json(
    diagnostics: tuple[Diagnostic, ...], spec_set: SpecSet | None, counts: Counter[Severity]
) -> dict[str, Any]:
    return {
        "valid": spec_set is not None,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "notices": counts["notice"],
        "arrays": [a.name for a in spec_set.arrays] if spec_set else [],
        "appliances": list(spec_set.inventory.appliances) if spec_set else [],
        "digest": spec_set.digest if spec_set else None,
        "diagnostics": [d.as_json() for d in diagnostics],
    }


def _expansion_json(spec: ArraySpec, services: tuple[DesiredVirtualService, ...]) -> dict[str, Any]:
    return {
        "array": spec.model_dump(mode="json", exclude_none=True),
        "virtual_services": [
            {"marker": vs.owner.marker(), **vs.model_dump(mode="json", by_alias=True)}
            for vs in services
        ],
    }


def _print_expansion(
    spec: ArraySpec, services: tuple[DesiredVirtualService, ...], output: OutputFormat
) -> None:
    from rich import box
    from rich.measure import Measurement
    from rich.table import Table

    from lmctl.text import code_span, one_line

    console = make_console()
    markdown = output is OutputFormat.markdown
    shown = code_span if markdown else one_line
    console.print(
        f"{shown(spec.name)}: Exchange {spec.exchange}, site {shown(spec.site)}, "
        f"{shown(spec.fqdn)} → {shown(str(spec.vip))} on appliance {shown(spec.appliance)} "
        f"({spec.scheduling})"
    )
    if markdown:
        rows = [row for vs in services for row in _expansion_rows(vs, ", ")]
        _print_markdown_table(console, _EXPANSION_COLUMNS, rows)
        return
    # One real server per line and no cell ever wrapped (an address or a server name cut in
    # two is unreadable): the table when it fits, else one block of "label value" per service.
    rows = [row for vs in services for row in _expansion_rows(vs, "\n")]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for column in _EXPANSION_COLUMNS:
        table.add_column(column, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    natural = Measurement.get(console, console.options.update_width(100_000), table).maximum
    if natural <= console.width:
        print_table(console, table)
        return
    for row in rows:
        console.print()
        console.print(_expansion_block(row))


def _expansion_block(row: tuple[str, ...]) -> Table:
    """One service as "label  value" lines, for a terminal too narrow for the table."""
    from rich.table import Table

    block = Table.grid(padding=(0, 2))
    block.add_column(no_wrap=True, style="bold")
    block.add_column(no_wrap=True)
    for label, value in zip(_EXPANSION_COLUMNS, row, strict=True):
        if value:
            block.add_row(label, value)
    return block


def _expansion_rows(vs: DesiredVirtualService, server_separator: str) -> list[tuple[str, ...]]:
    """A service's row, then one per SubVS (the per-protocol layout): ``https/ews``, reached
    by its content rule's path, with its own check and members."""
    rows = [_expansion_row(vs, server_separator)]
    for sub in vs.sub_services:
        s = sub.settings
        servers = server_separator.join(_real_server_text(rs) for rs in sub.real_servers)
        rows.append(
            (
                f"{vs.service}/{sub.directory}",
                f"SubVS, path /{sub.directory}",
                f"{s.vs_type}, L{s.layer}",
                "none",
                f"{s.idle_time}s" if s.idle_time else "default",
                f"{s.check_type} {s.check_url} Host {s.check_host}",
                "",
                servers or "(none)",
            )
        )
    return rows


def _expansion_row(vs: DesiredVirtualService, server_separator: str) -> tuple[str, ...]:
    s = vs.settings
    persistence = f"{s.persist} {s.persist_timeout}s" if s.persist else "none"
    check = " ".join(str(p) for p in (s.check_type, s.check_url) if p)
    if s.check_port:
        check += f" :{s.check_port}"
    if s.error_code:
        check += f" (answers {s.error_code} → {s.error_url})"
    servers = server_separator.join(_real_server_text(rs) for rs in vs.real_servers)
    if vs.sub_services:
        servers = f"{len(vs.sub_services)} SubVSs"
    tls = f", TLS {s.cert_file}" if s.ssl_acceleration else ""
    tls += " re-encrypted" if s.ssl_acceleration and s.ssl_reencrypt else ""
    return (
        vs.service,
        str(vs.key),
        f"{s.vs_type}, L{s.layer}{tls}",
        persistence,
        f"{s.idle_time}s" if s.idle_time else "default",
        check,
        s.extra_ports or "",
        servers or "(none)",
    )


def _real_server_text(rs: DesiredRealServer) -> str:
    """``HQ-CAS01 10.10.1.11:443 w1000`` (``[2001:db8::11]:443`` for IPv6), `` on``/`` off``."""
    from lmctl.loadmaster.models import host_port

    enable = "" if rs.enable is None else (" on" if rs.enable else " off")
    where = " non-local" if rs.non_local else ""
    return f"{rs.member} {host_port(rs.address, rs.port)} w{rs.weight}{enable}{where}"
