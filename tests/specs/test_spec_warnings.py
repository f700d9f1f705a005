"""The warnings of the validation table: printed, exit code 0, and carried by the SpecSet."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from spec_files import BRANCH_2016, HQ_2010, reported, run_lmctl, write_files

from lmctl.specs import load_specs


class Warned(NamedTuple):
    """A valid but questionable spec and the warning it must produce."""

    text: str
    line: int
    field: str
    fragment: str


WARNED: dict[str, Warned] = {
    "rpc port outside the usual range": Warned(
        HQ_2010.replace("client_access: 60000", "client_access: 6001"),
        7,
        "rpc_ports.client_access",
        "port 6001 is outside 59531-60554",
    ),
    "2010 array without static rpc ports": Warned(
        HQ_2010.replace("rpc_ports: {client_access: 60000, address_book: 60001}\n", ""),
        3,
        "exchange",
        "the rpc virtual service must take every port (*)",
    ),
    "one member": Warned(
        HQ_2010.replace("  - {name: HQ-CAS02, address: 10.10.1.12}\n", ""),
        8,
        "members",
        "the array has one member: no failover",
    ),
    "weight with round robin": Warned(
        HQ_2010.replace("address: 10.10.1.12}", "address: 10.10.1.12, weight: 500}"),
        10,
        "members[1].weight",
        "member HQ-CAS02 has weight 500, but scheduling rr ignores weights; use scheduling: wrr",
    ),
    # Microsoft: keep the load balancer's idle timeout above the servers' KeepAliveTime.
    "rpc idle timeout not above the keep-alive": Warned(
        HQ_2010 + "overrides:\n  rpc: {idle_timeout: 1800}\n",
        12,
        "overrides.rpc.idle_timeout",
        "idle timeout 1800 s on rpc is not above the members' TCP keep-alive (1800 s",
    ),
}


@pytest.mark.parametrize("case", WARNED.values(), ids=WARNED.keys())
def test_warning_is_printed_and_exit_code_is_0(tmp_path: Path, case: Warned) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": case.text})

    assert outcome.exit_code == 0, outcome.output
    assert reported(outcome, "hq.yaml", case.line, case.field, case.fragment, "warning")
    assert "(0 errors, 1 warning" in outcome.output


def test_warnings_are_kept_in_the_spec_set(tmp_path: Path) -> None:
    write_files(tmp_path, {"hq.yaml": WARNED["one member"].text, "branch.yaml": BRANCH_2016})

    spec_set = load_specs([tmp_path])

    assert [
        (d.severity, d.field, d.line) for d in spec_set.diagnostics if d.severity != "notice"
    ] == [("warning", "members", 8)]
    assert [a.name for a in spec_set.arrays] == ["branch-2016", "hq-cas"]


def test_errors_and_warnings_are_reported_together(tmp_path: Path) -> None:
    text = WARNED["one member"].text.replace("vip: 10.10.1.50", "vip: 10.10.1.11")

    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": text})

    assert outcome.exit_code == 1
    assert reported(outcome, "hq.yaml", 5, "vip", "is the address of server HQ-CAS01")
    assert reported(outcome, "hq.yaml", 8, "members", "no failover", "warning")
    assert "invalid: 1 error, 1 warning" in outcome.output
