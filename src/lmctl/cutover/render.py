"""``lmctl exchange check`` shown: a table per array (the names and their DNS, members by
check), the details of every check that did not pass, and the JSON document
(``lmctl.exchange-check/v1``).

What the network answered is untrusted text, and so are the spec's names: each is made
``one_line`` (controls shown as escapes) before rich sees it, which would drop some silently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lmctl.cutover.preflight import ProbeResult, Verdict, array_verdict
from lmctl.errors import ExitCode
from lmctl.specs.array import ArraySpec
from lmctl.text import one_line

FORMAT_VERSION = "lmctl.exchange-check/v1"
_SHOWN: dict[Verdict, tuple[str, str]] = {
    "pass": ("ok", "green"),
    "warn": ("WARN", "yellow"),
    "fail": ("FAIL", "bold red"),
}
_HEADLINE: dict[Verdict, str] = {"pass": "PASS", "warn": "WARNINGS", "fail": "FAILING"}


def _cell(verdict: Verdict) -> Text:
    word, style = _SHOWN[verdict]
    return Text(word, style=style)


def _table(*headers: str) -> Table:
    table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0))
    for header in headers:
        table.add_column(header, no_wrap=True)
    return table


def render_array(spec: ArraySpec, results: Sequence[ProbeResult]) -> RenderableType:
    """One array: its headline, the DNS table, the member table, the details."""
    verdict = array_verdict(results)
    headline = Text(one_line(f"{spec.name} ({spec.fqdn} -> {spec.vip}): "))
    headline.append(_HEADLINE[verdict], style=_SHOWN[verdict][1])
    parts: list[RenderableType] = [headline]
    by_name = [r for r in results if r.probe.kind in ("dns", "public-dns")]
    if by_name:
        parts.append(_grid(by_name, "name"))
    by_member = [r for r in results if r.probe.kind not in ("dns", "public-dns")]
    if by_member:
        parts.append(_grid(by_member, "member", "address"))
    for result in results:
        if result.verdict != "pass":
            word, style = _SHOWN[result.verdict]
            line = Text(f"  {word}", style=style)
            detail = f"{result.probe.target} {result.probe.check}: {result.detail}"
            line.append(f" {one_line(detail)}")
            parts.append(line)
    return Group(*parts, Text(""))


def _grid(results: Sequence[ProbeResult], *headers: str) -> Table:
    """One row per target (with its address when ``headers`` has two), one column per check;
    ``-`` where a check does not apply to the target."""
    checks = list(dict.fromkeys(r.probe.check for r in results))
    table = _table(*(f"  {headers[0]}", *headers[1:]), *checks)
    for target in dict.fromkeys(r.probe.target for r in results):
        found = {r.probe.check: r for r in results if r.probe.target == target}
        address = next(iter(found.values())).probe.address
        cells: list[Text | str] = [
            _cell(found[check].verdict) if check in found else "-" for check in checks
        ]
        shown = [one_line(address)] if len(headers) > 1 else []
        table.add_row(f"  {one_line(target)}", *shown, *cells)
    return table


def render_check(arrays: Sequence[ArraySpec], results: Sequence[ProbeResult]) -> RenderableType:
    """Every array checked, then one line for them all."""
    parts = [
        render_array(spec, [r for r in results if r.probe.array == spec.name]) for spec in arrays
    ]
    verdict = array_verdict(results)
    summary = Text(f"{len(arrays)} array(s): ")
    summary.append(_HEADLINE[verdict], style=_SHOWN[verdict][1])
    return Group(*parts, summary)


def check_document(
    arrays: Sequence[ArraySpec], results: Sequence[ProbeResult], exit_code: ExitCode
) -> dict[str, Any]:
    """The JSON document of a check: every probe with its verdict and detail, per array."""
    return {
        "version": FORMAT_VERSION,
        "verdict": array_verdict(results),
        "exit_code": int(exit_code),
        "arrays": [
            {
                "name": spec.name,
                "fqdn": spec.fqdn,
                "vip": spec.vip,
                "verdict": array_verdict(r for r in results if r.probe.array == spec.name),
                "checks": [
                    {
                        "kind": r.probe.kind,
                        "check": r.probe.check,
                        "target": r.probe.target,
                        "address": r.probe.address or None,
                        "port": r.probe.port or None,
                        "verdict": r.verdict,
                        "detail": r.detail,
                    }
                    for r in results
                    if r.probe.array == spec.name
                ],
            }
            for spec in arrays
        ],
    }
