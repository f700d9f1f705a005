"""Terminal output shared by every command: rich on a terminal, plain text in a pipe."""

from __future__ import annotations

import enum
import sys

from rich.console import Console


class OutputFormat(enum.StrEnum):
    """The ``--format`` choices a command may offer."""

    text = "text"
    json = "json"
    markdown = "markdown"


def make_console(*, stderr: bool = False) -> Console:
    """A console that colours only on a terminal; in a pipe it writes plain, unwrapped text."""
    stream = sys.stderr if stderr else sys.stdout
    interactive = stream.isatty()
    return Console(
        file=stream,
        force_terminal=None if interactive else False,
        no_color=not interactive,
        highlight=False,
        emoji=False,  # a fingerprint such as AB:AB:... must not turn into an emoji
        soft_wrap=not interactive,
        width=None if interactive else 10_000,
    )
