"""Shared helpers of the spec tests: valid baseline specs, writing spec files, running lmctl
through typer's CliRunner and finding a diagnostic in its output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli.app import app

INVENTORY = """\
appliances:
  lm-hq:
    url: mock://lm-hq
  lm-branch:
    url: mock://lm-branch
"""

# A valid Exchange 2010 array; line numbers matter to the tests that edit it.
HQ_2010 = """\
name: hq-cas
site: HQ
exchange: 2010 SP3
fqdn: outlook-hq.corp.example.com
vip: 10.10.1.50
appliance: lm-hq
rpc_ports: {client_access: 60000, address_book: 60001}
members:
  - {name: HQ-CAS01, address: 10.10.1.11}
  - {name: HQ-CAS02, address: 10.10.1.12}
"""

# A valid Exchange 2016 namespace in another site.
BRANCH_2016 = """\
name: branch-2016
site: Branch
exchange: 2016 CU23
fqdn: mail-branch.corp.example.com
vip: 10.20.1.50
appliance: lm-branch
members:
  - {name: BR-EX01, address: 10.20.1.11}
  - {name: BR-EX02, address: 10.20.1.12}
"""


@dataclass(frozen=True)
class Outcome:
    """What ``lmctl`` printed and its exit code."""

    exit_code: int
    output: str
    directory: Path


SpecFiles = Mapping[str, str | bytes | None]


def write_files(directory: Path, files: SpecFiles) -> None:
    """Write ``files`` (text or bytes) into ``directory``; the inventory unless given as None."""
    directory.mkdir(parents=True, exist_ok=True)
    merged: dict[str, str | bytes | None] = {"appliances.yaml": INVENTORY, **files}
    for name, content in merged.items():
        if content is None:
            continue
        target = directory / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def run_lmctl(directory: Path, files: SpecFiles, *args: str) -> Outcome:
    """Write ``files`` into ``directory`` and run ``lmctl <args>`` (default: validate DIR)."""
    write_files(directory, files)
    command = list(args) if args else ["validate", str(directory)]
    result = CliRunner().invoke(app, command)
    return Outcome(result.exit_code, result.output, directory)


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
