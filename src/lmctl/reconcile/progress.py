"""Apply progress: a live display per appliance on a terminal, one line per write in a pipe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from lmctl.reconcile.changes import (
    AddRealServer,
    Change,
    RemoveRealServer,
    UpdateRealServer,
    UpdateVirtualService,
)
from lmctl.reconcile.execute import ApplyEvent, EventSink
from lmctl.reconcile.words import counted
from lmctl.reconcile.writes import COMMANDS


def write_label(change: Change) -> str:
    """``addrs 10.0.1.21:443 in 10.0.1.10:443/tcp (hq-cas/https)``: what one write does."""
    command = COMMANDS[change.action]
    scope = f"({change.array}/{change.service})"
    if isinstance(change, AddRealServer | UpdateRealServer | RemoveRealServer):
        return f"{command} {change.address}:{change.port} in {change.key} {scope}"
    if isinstance(change, UpdateVirtualService) and change.new_key is not None:
        return f"{command} {change.key} → {change.new_key} {scope}"
    return f"{command} {change.key} {scope}"


class LineProgress:
    """One plain line per event, for pipelines and logs."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._done: dict[str, int] = {}
        self._total: dict[str, int] = {}

    def __call__(self, event: ApplyEvent) -> None:
        name = event.appliance
        if event.kind == "start":
            self._done[name], self._total[name] = 0, event.total
            self._print(f"{name}: applying {counted(event.total, 'write')}")
        elif event.kind == "backup":
            self._print(f"{name}: backup saved to {event.detail}")
        elif event.kind == "write" and event.change is not None:
            self._done[name] += 1
            self._print(
                f"{name}: [{self._done[name]}/{self._total[name]}] {write_label(event.change)}: ok"
            )
        elif event.kind == "failed" and event.change is not None:
            self._print(f"{name}: {write_label(event.change)}: FAILED: {event.detail}")

    def _print(self, line: str) -> None:
        self._console.print(line, markup=False, highlight=False)


class LiveProgress:
    """A rich progress bar per appliance, with the write in flight."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: ApplyEvent) -> None:
        name = event.appliance
        if event.kind == "start":
            self._tasks[name] = self._progress.add_task(name, total=event.total, current="")
        elif event.kind == "backup":
            self._progress.console.print(f"{name}: backup saved to {event.detail}", markup=False)
        elif event.kind == "write" and event.change is not None:
            self._progress.update(self._tasks[name], advance=1, current=write_label(event.change))
        elif event.kind == "failed" and event.change is not None:
            self._progress.update(self._tasks[name], current=f"FAILED: {write_label(event.change)}")


@contextmanager
def progress_sink(console: Console) -> Iterator[EventSink]:
    """The progress display that suits ``console``: live on a terminal, lines otherwise."""
    if not console.is_terminal:
        yield LineProgress(console)
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[current]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        yield LiveProgress(progress)
