"""Showing drain/undrain progress: a live spinner line on a terminal, plain lines in a pipe."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.status import Status


class LineProgress:
    """Progress for a pipe or a log: every step on its own line, a wait line when it changes."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._last: str | None = None

    def note(self, message: str) -> None:
        """Print one step."""
        self.console.print(message)

    def progress(self, message: str, remaining: float) -> None:
        """Print the waiting state when it differs from the last one printed."""
        if message != self._last:
            self._last = message
            self.console.print(f"{message} ({remaining:.0f} s left)")

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        return None


class LiveProgress(LineProgress):
    """Progress on a terminal: steps scroll above a spinner line that shows the waiting state."""

    def __init__(self, console: Console, title: str) -> None:
        super().__init__(console)
        self._status = Status(title, console=console)

    def progress(self, message: str, remaining: float) -> None:
        """Replace the spinner line with the current state and the time left."""
        self._status.update(f"{message} [dim]({remaining:.0f} s left)[/dim]")

    def __enter__(self) -> LiveProgress:
        self._status.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._status.stop()


def progress_for(console: Console, title: str) -> LineProgress:
    """A live display on a terminal, plain lines otherwise."""
    return LiveProgress(console, title) if console.is_terminal else LineProgress(console)
