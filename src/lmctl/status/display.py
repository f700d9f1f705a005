"""Showing drain/undrain progress: a live spinner line on a terminal, plain lines in a pipe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.status import Status


class LineProgress:
    """Progress for a pipe or a log: every step on its own line, a wait line when it changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._last: str | None = None

    def note(self, message: str) -> None:
        """Print one step."""
        self.console.print(message, markup=False)

    def progress(self, message: str, remaining: float) -> None:
        """Print the waiting state when it differs from the last one printed."""
        if message != self._last:
            self._last = message
            self.console.print(f"{message} ({remaining:.0f} s left)", markup=False)


class LiveProgress(LineProgress):
    """Progress on a terminal: steps scroll above a spinner line that shows the waiting state."""

    def __init__(self, console: Console, status: Status) -> None:
        super().__init__(console)
        self._status = status

    def progress(self, message: str, remaining: float) -> None:
        """Replace the spinner line with the current state and the time left."""
        line = f"{message} ({remaining:.0f} s left)"
        self._status.update(line.replace("[", r"\["))


@contextmanager
def progress_for(console: Console, title: str) -> Iterator[LineProgress]:
    """A live display on a terminal (stopped on leaving), plain lines otherwise."""
    if not console.is_terminal:
        yield LineProgress(console)
        return
    with Status(title, console=console) as status:
        yield LiveProgress(console, status)
