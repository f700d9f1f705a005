"""What apply did, per appliance: done, failed, not attempted, backup, differences left."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from lmctl.reconcile.execute import ApplianceResult
from lmctl.reconcile.progress import write_label


def _failure(result: ApplianceResult, text: Text) -> None:
    if result.refused is not None:
        text.append(f"  refused: {result.refused}\n", style="red")
        for drift in result.drift:
            text.append(f"    drifted: {drift}\n", style="red")
    if result.failed is not None:
        text.append(f"  failed: {write_label(result.failed)}: {result.error}\n", style="red")
    skipped = result.not_attempted
    if skipped and (result.failed is not None or result.refused is not None):
        text.append(f"  not attempted ({len(skipped)}):\n", style="yellow")
        for change in skipped:
            text.append(f"    {write_label(change)}\n", style="yellow")


def render_report(results: Sequence[ApplianceResult]) -> Text:
    """The apply report: one block per appliance that had something to do, then a verdict."""
    text = Text()
    for result in results:
        if not result.planned:
            continue
        style = "green" if result.ok else "bold red"
        text.append(
            f"{result.appliance}: {len(result.done)} of {len(result.planned)} writes done\n",
            style=style,
        )
        if result.backup is not None:
            text.append(f"  backup: {result.backup}\n")
        _failure(result, text)
        if result.error is not None and result.failed is None:
            text.append(f"  {result.error}\n", style="red")
        # After a failure the not-attempted list already says what is left.
        for drift in result.remaining if result.failed is None else ():
            text.append(f"  left different after applying: {drift}\n", style="red")
    done = sum(len(r.done) for r in results)
    if all(r.ok for r in results):
        text.append(f"Apply complete: {done} writes made.", style="bold green")
    else:
        text.append(
            f"Apply incomplete: {done} writes made; run `lmctl apply` again to converge "
            "(it plans afresh from what the appliances now hold).",
            style="bold red",
        )
    return text
