"""What every command shares: its arguments and options, so one flag means one thing, and the
console it prints to (rich on a terminal, plain text in a pipe).

``SpecPaths`` (``PATH ...``: the spec files or directories, last on every command that works on
arrays), ``ArrayArgument`` (``show ARRAY``), ``ArrayOption`` (``--array NAME``),
``MemberArgument`` (``drain MEMBER``), the last three completed by the shell from the specs
(``complete_array``, ``complete_member``), ``FormatOption`` (``--format``), ``StateDirOption``
(``--state-dir``) and ``RequestTimeoutOption`` (``--request-timeout``: seconds per API request;
``--timeout`` is reserved for a command's total wait, as drain/undrain use it); and
``readable_help``, which makes help show those metavars rather than Python types.
Only typer and rich's console (with its segments and text) are imported here, so ``lmctl --help``
stays fast.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text
from typer.core import TyperArgument, TyperOption

from lmctl.statedir import DEFAULT_STATE_DIR as DEFAULT_STATE_DIR
from lmctl.text import escaped, needs_escaping


class OutputFormat(enum.StrEnum):
    """The ``--format`` choices a command may offer."""

    text = "text"
    json = "json"
    markdown = "markdown"


SPEC_PATHS_HELP = "Spec files or directories (searched for *.yaml/*.yml). Default: arrays/."


def _paths_given(ctx: typer.Context) -> list[Path]:
    """The spec paths already on the command line being completed (none: the default).

    While an option's value is completed (``--array <TAB>``) the option lacks it, so the
    command's parse stopped before the paths; they are read again from the words after the
    command (its group's ``args``), without that last option name."""
    given = ctx.params.get("paths")
    if not given and ctx.parent is not None:
        words = list(ctx.parent.args)
        if words and words[-1].startswith("-"):
            words.pop()
        with ctx.command.make_context(
            ctx.info_name, words, parent=ctx.parent, resilient_parsing=True
        ) as again:
            given = again.params.get("paths")
    return [Path(p) for p in given] if isinstance(given, list | tuple) else []


def _names(ctx: typer.Context, kind: Literal["arrays", "members", "appliances"]) -> list[str]:
    """``spec_names`` of the paths given; none when anything fails: a completion never fails."""
    from lmctl.cli.specload import spec_names

    try:
        return spec_names(_paths_given(ctx), kind)
    except Exception:  # a command line the parser cannot read: no completion
        return []


def complete_array(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    """Shell completion: the arrays of the specs in the command's paths (default ``arrays/``)."""
    return [name for name in _names(ctx, "arrays") if name.startswith(incomplete)]


def complete_member(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    """Shell completion: the member (CAS) names of the specs, as drain and undrain take them."""
    return [name for name in _names(ctx, "members") if name.lower().startswith(incomplete.lower())]


def complete_appliance(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    """Shell completion: the appliances of the inventory in the command's paths (default
    ``arrays/``)."""
    return [name for name in _names(ctx, "appliances") if name.startswith(incomplete)]


def complete_rule(ctx: typer.Context, args: list[str], incomplete: str) -> list[str]:
    """Shell completion: the safety rules ``--allow`` takes."""
    from lmctl.plan.safety import WAIVABLE_RULES

    return [rule for rule in WAIVABLE_RULES if rule.startswith(incomplete)]


SpecPaths = Annotated[
    list[Path] | None,
    typer.Argument(metavar="PATH", help=SPEC_PATHS_HELP, show_default=False),
]


def appliance_name_option(help_text: str) -> typer.models.OptionInfo:
    """``--appliance NAME`` (``-a``) naming the one inventory appliance a command acts on,
    completed by the shell, with the command's own help."""
    option: typer.models.OptionInfo = typer.Option(
        "--appliance", "-a", metavar="NAME", autocompletion=complete_appliance, help=help_text
    )
    return option


def spec_paths_argument(help_text: str) -> typer.models.ArgumentInfo:
    """The spec-paths argument with a command's own help (e.g. apply also takes a plan file)."""
    argument: typer.models.ArgumentInfo = typer.Argument(
        metavar="PATH", help=help_text, show_default=False
    )
    return argument


ArrayArgument = Annotated[
    str,
    typer.Argument(
        metavar="ARRAY", help="Name of the array, e.g. hq-cas.", autocompletion=complete_array
    ),
]
ArrayOption = Annotated[
    list[str] | None,
    typer.Option(
        "--array",
        metavar="NAME",
        help="Only this array (repeat for several). Default: every array.",
        show_default=False,
        autocompletion=complete_array,
    ),
]
MemberArgument = Annotated[
    str,
    typer.Argument(
        metavar="MEMBER",
        help="Member name as in the spec (e.g. HQ-CAS02, any case) or its IPv4/IPv6 address "
        "(any spelling: 2001:DB8:0::11 is 2001:db8::11).",
        autocompletion=complete_member,
    ),
]

FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="Output: text, json or markdown.")
]
StateDirOption = Annotated[
    Path,
    typer.Option(
        "--state-dir",
        metavar="DIR",
        envvar="LMCTL_STATE_DIR",
        help="Where backups, locks and the mock:// appliances' state are kept.",
    ),
]
InventoryOption = Annotated[
    Path | None,
    typer.Option(
        "--inventory",
        metavar="FILE",
        help="The inventory that names the appliance. Default: the file LMCTL_INVENTORY "
        "names, else arrays/appliances.yaml.",
        show_default=False,
    ),
]
RequestTimeoutOption = Annotated[
    float,
    typer.Option(
        "--request-timeout",
        metavar="SECONDS",
        min=0.1,
        help="Seconds each API request may take before it is given up.",
    ),
]


class _ReadableOption(TyperOption):
    """An option whose help shows its metavar (``SECONDS``, ``DIR``), its choices or, when it
    has neither, its name in capitals; nothing after a flag."""

    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        descriptor = getattr(self, "type_descriptor", None)
        if self.metavar is None and not getattr(descriptor, "is_choice", False):
            return (self.name or "value").upper()
        return super().display_type_rich(ctx)


class _ReadableArgument(TyperArgument):
    """An argument whose help shows only its metavar (``PATH``, ``ARRAY``), not a Python type."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        # typer writes a required argument as ``{ARRAY}``, which reads as a set of choices;
        # the usage line convention (POSIX utility syntax, click) is the bare name.
        name = self.metavar or (self.name or "").upper()
        if not self.required:
            name = f"[{name}]"
        return f"{name}..." if self.nargs != 1 else name


def readable_help(params: Iterable[object]) -> None:
    """Make the help of ``params`` show what a person reads: typer shows each parameter's
    Python type (``<list[Path]>``, ``<bool>`` after a flag) and has no setting to say
    otherwise, so each typer parameter becomes the subclass above, which shows the metavar
    instead (same object, same parsing)."""
    for param in params:
        if type(param) is TyperOption:
            param.__class__ = _ReadableOption
        elif type(param) is TyperArgument:
            param.__class__ = _ReadableArgument


class TerminalSafeConsole(Console):
    """A console that escapes what it prints, wherever the text came from (a spec, an appliance's
    reply, an error): only rich's own control segments (cursor moves of a live display) pass.

    Strings are escaped when they become text (``render_str``), before tables measure them;
    ``render`` is where every renderable (``print``, ``out``, live displays, nested tables) turns
    into segments, so escaping there too leaves no path around it (text lmctl built itself)."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(escaped(text), **options)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and needs_escaping(segment.text):
                yield Segment(escaped(segment.text), segment.style)
            else:
                yield segment


def print_table(console: Console, table: Any) -> None:
    """A table (or a group of them) as is on a terminal; elsewhere (a pipe, a CI log) as plain
    text: no box lines (a ``rich.table.Table`` loses its box) and no trailing padding."""
    if console.is_terminal:
        console.print(table)
        return
    for plain in getattr(table, "renderables", [table]):
        if hasattr(plain, "box"):
            plain.box = None
    with console.capture() as captured:
        console.print(table)
    lines = (line.rstrip() for line in captured.get().splitlines())
    console.out("\n".join(lines), highlight=False)


def make_console(*, stderr: bool = False) -> Console:
    """A console that colours only on a terminal, and there not when ``NO_COLOR`` is set (rich
    reads it: https://no-color.org); in a pipe it writes plain, unwrapped text; either way control
    characters are printed escaped (``TerminalSafeConsole``) and a string is printed as written,
    never read as rich markup: ``[link=...]`` or ``[/]`` in an appliance's reply or a file name
    would print a live link or end the command in a ``MarkupError``. Styles come from ``Text``."""
    stream = sys.stderr if stderr else sys.stdout
    interactive = stream.isatty()
    return TerminalSafeConsole(
        file=stream,
        force_terminal=None if interactive else False,
        no_color=None if interactive else True,
        highlight=False,
        markup=False,
        emoji=False,  # a fingerprint such as AB:AB:... must not turn into an emoji
        soft_wrap=not interactive,
        width=None if interactive else 10_000,
    )
