"""Progress of the commands that write and wait: live on a terminal, one plain line per step in a
pipe or a log (where a live display would only leave control characters).

- apply: per appliance, its writes (``apply_progress``: a bar per appliance, or a line per write);
- drain/undrain: each step, then the wait for connections or health (``progress_for``: a spinner
  line with the time left, or a line each time the waiting state changes).

Rich's columns and spinner read a ``str`` as markup whatever the console says: names and an
appliance's messages reach them as ``Text`` or through a column with ``markup=False``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.status import Status
from rich.text import Text

from lmctl.appliance.changes import counted, write_label
from lmctl.text import one_line

if TYPE_CHECKING:
    from lmctl.apply.execute import ApplyEvent, EventSink


class Lines:
    """Progress as plain lines: every step on its own line."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def note(self, message: str) -> None:
        """Print one step."""
        self.console.print(message, highlight=False)


class ApplyLines(Lines):
    """Apply's progress in a pipe: a line when an appliance starts, per backup and per write."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self._done: dict[str, int] = {}
        self._total: dict[str, int] = {}

    def __call__(self, event: ApplyEvent) -> None:
        name = event.appliance
        if event.kind == "start":
            self._done[name], self._total[name] = 0, event.total
            self.note(f"{name}: applying {counted(event.total, 'write')}")
        elif event.kind == "backup":
            self.note(f"{name}: backup saved to {one_line(event.detail)}")
        elif event.kind == "write" and event.change is not None:
            self._done[name] += 1
            done = f"[{self._done[name]}/{self._total[name]}]"
            self.note(f"{name}: {done} {write_label(event.change)}: ok")
        elif event.kind == "failed" and event.change is not None:
            self.note(f"{name}: {write_label(event.change)}: FAILED: {one_line(event.detail)}")


class ApplyBars:
    """Apply's progress on a terminal: a bar per appliance, with the write in flight."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: ApplyEvent) -> None:
        name = event.appliance
        if event.kind == "start":
            self._tasks[name] = self._progress.add_task(name, total=event.total, current="")
        elif event.kind == "backup":
            self._progress.console.print(f"{name}: backup saved to {one_line(event.detail)}")
        elif event.kind == "write" and event.change is not None:
            self._progress.update(self._tasks[name], advance=1, current=write_label(event.change))
        elif event.kind == "failed" and event.change is not None:
            self._progress.update(self._tasks[name], current=f"FAILED: {write_label(event.change)}")


@contextmanager
def apply_progress(console: Console) -> Iterator[EventSink]:
    """The apply progress that suits ``console``: bars on a terminal, lines otherwise."""
    if not console.is_terminal:
        yield ApplyLines(console)
        return
    columns = (
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[current]}", markup=False),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        yield ApplyBars(progress)


class WaitLines(Lines):
    """Drain/undrain progress in a pipe: every step, and the waiting state when it changes."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self._last: str | None = None

    def progress(self, message: str, remaining: float) -> None:
        """Print the waiting state when it differs from the last one printed."""
        if message != self._last:
            self._last = message
            self.note(f"{message} ({remaining:.0f} s left)")


class WaitSpinner(WaitLines):
    """Drain/undrain progress on a terminal: steps scroll above a spinner line that shows the
    waiting state and the time left."""

    def __init__(self, console: Console, status: Status) -> None:
        super().__init__(console)
        self._status = status

    def progress(self, message: str, remaining: float) -> None:
        """Replace the spinner line with the current state and the time left."""
        self._status.update(Text(f"{message} ({remaining:.0f} s left)"))


@contextmanager
def progress_for(console: Console, title: str) -> Iterator[WaitLines]:
    """The drain/undrain progress that suits ``console``: a spinner on a terminal (stopped on
    leaving), lines otherwise."""
    if not console.is_terminal:
        yield WaitLines(console)
        return
    with Status(Text(title), console=console) as status:
        yield WaitSpinner(console, status)
