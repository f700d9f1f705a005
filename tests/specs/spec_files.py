"""Shared helpers of the spec tests: valid baseline specs, writing spec files, running lmctl
through typer's CliRunner and finding a diagnostic in its output."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lmctl_testkit import Outcome, SpecFiles, array_spec, invoke, write_spec_files

INVENTORY = """\
appliances:
  lm-hq:
    url: mock://lm-hq
  lm-branch:
    url: mock://lm-branch
"""

# A valid Exchange 2010 array; line numbers matter to the tests that edit it.
HQ_2010 = array_spec(
    "hq-cas",
    "HQ",
    "2010 SP3",
    "10.10.1.50",
    "lm-hq",
    {"HQ-CAS01": "10.10.1.11", "HQ-CAS02": "10.10.1.12"},
    fqdn="outlook-hq.corp.example.com",
    rpc_ports=(60000, 60001),
)

# A valid Exchange 2016 namespace in another site.
BRANCH_2016 = array_spec(
    "branch-2016",
    "Branch",
    "2016 CU23",
    "10.20.1.50",
    "lm-branch",
    {"BR-EX01": "10.20.1.11", "BR-EX02": "10.20.1.12"},
    fqdn="mail-branch.corp.example.com",
)


@dataclass(frozen=True)
class SpecOutcome(Outcome):
    """What ``lmctl`` printed and its exit code, and the directory of the specs it read."""

    directory: Path


def write_files(directory: Path, files: SpecFiles) -> None:
    """Write ``files`` (text or bytes) into ``directory``; the inventory unless given as None."""
    write_spec_files(directory, {"appliances.yaml": INVENTORY, **files})


def run_lmctl(directory: Path, files: SpecFiles, *args: str) -> SpecOutcome:
    """Write ``files`` into ``directory`` and run ``lmctl <args>`` (default: validate DIR)."""
    write_files(directory, files)
    outcome = invoke(*(args or ("validate", str(directory))))
    return SpecOutcome(outcome.exit_code, outcome.stdout, outcome.stderr, outcome.output, directory)


def without_notices(output: str) -> str:
    """``output`` without the notices (a release past its end of support) and their count: what
    a test of errors and warnings compares."""
    lines = [line for line in output.splitlines() if ": notice: " not in line]
    return "".join(re.sub(r", \d+ notices?", "", line) + "\n" for line in lines)


def reported(
    outcome: Outcome,
    file: str,
    line: int | None,
    field: str,
    fragment: str,
    severity: str = "error",
) -> bool:
    """True when one output line names ``file:line``, the severity, ``field`` and ``fragment``."""
    where = f"{file}:{line}" if line is not None else file
    prefix = f"{where}: {severity}: " + (f"{field}: " if field else "")
    return any(
        f"/{prefix}" in text and fragment in text.split(prefix, 1)[1]
        for text in outcome.output.splitlines()
    )
