"""What apply did, per appliance: done, failed, not attempted, backup, differences left; then a
verdict that says what to do about what was not done.

A message may quote the appliance: each is shown ``one_line`` (no forged report line).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from lmctl.appliance.changes import AddRealServer, UpdateRealServer, counted, write_label
from lmctl.apply.execute import ApplianceResult
from lmctl.text import one_line


def _failure(result: ApplianceResult, text: Text) -> None:
    if result.refused is not None:
        text.append(f"  refused: {one_line(result.refused)}\n", style="red")
        for drift in result.drift:
            text.append(f"    drifted: {one_line(str(drift))}\n", style="red")
    if result.failed is not None:
        why = one_line(result.error or "")
        text.append(f"  failed: {write_label(result.failed)}: {why}\n", style="red")
        failed = result.failed
        if isinstance(failed, AddRealServer | UpdateRealServer) and not _non_local(failed):
            # The appliance refuses a real server outside its own subnets unless non_local=1.
            text.append(
                "  if that server is on a subnet the appliance has no interface on, list the "
                "appliance's subnets as local_subnets: in the inventory (or set non_local: true "
                "on the member) and apply again\n",
                style="yellow",
            )
    if result.unexpected is not None:
        text.append(f"  {one_line(result.unexpected)}\n", style="red")
    skipped = result.not_attempted
    if skipped and result.stopped:
        text.append(f"  not attempted ({len(skipped)}):\n", style="yellow")
        for change in skipped:
            text.append(f"    {write_label(change)}\n", style="yellow")


def _non_local(change: AddRealServer | UpdateRealServer) -> bool:
    return isinstance(change, AddRealServer) and change.non_local


def render_report(results: Sequence[ApplianceResult]) -> Text:
    """The apply report: one block per appliance that had something to do, then a verdict."""
    text = Text()
    for result in results:
        if not result.planned:
            continue
        style = "green" if result.ok else "bold red"
        text.append(
            f"{result.appliance}: {len(result.done)} of "
            f"{counted(len(result.planned), 'write')} done\n",
            style=style,
        )
        if result.backup is not None:
            text.append(f"  backup: {one_line(str(result.backup))}\n")
        if result.pruned:
            names = ", ".join(one_line(path.name) for path in result.pruned)
            text.append(f"  pruned (keep_backups): {names}\n")
        _failure(result, text)
        if result.error is not None and result.failed is None:
            text.append(f"  {one_line(result.error)}\n", style="red")
        if result.unverified is not None:
            text.append(f"  {one_line(result.unverified)}\n", style="red")
        if result.journal_problem is not None:
            text.append(f"  {one_line(result.journal_problem)}\n", style="yellow")
        # After a failure the not-attempted list already says what is left.
        for drift in result.remaining if result.failed is None else ():
            text.append(f"  left different after applying: {one_line(str(drift))}\n", style="red")
    text.append(verdict(results), style="bold green" if all(r.ok for r in results) else "bold red")
    return text


def verdict(results: Sequence[ApplianceResult]) -> str:
    """The last line of the report: what was made, and what to do about what was not."""
    made = counted(sum(len(r.done) for r in results), "write")
    if all(r.ok for r in results):
        return f"Apply complete: {made} made."
    busy = [r for r in results if r.busy_lock is not None]
    steps = [
        f"another lmctl is applying to {r.appliance} (lock {r.busy_lock}): wait for it to "
        "finish, then run `lmctl apply` again"
        for r in busy
    ]
    if any(r.failed is not None for r in results):
        steps.append(
            "fix what the appliance refused or what failed (above), then run `lmctl apply` "
            "again: it plans afresh from what the appliances now hold"
        )
    elif any(not r.ok and r.busy_lock is None for r in results):
        steps.append(
            "run `lmctl apply` again to converge (it plans afresh from what the appliances "
            "now hold)"
        )
    return f"Apply incomplete: {made} made; " + "; ".join(steps) + "."
