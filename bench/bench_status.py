"""Bench: ``lmctl status`` of 500 arrays on 10 appliances, each a served mock with 20 ms latency.

Generates the 500 array specs of ``bench_validate`` (2010 CAS arrays and 2016 namespaces, three
members each, 50 arrays per appliance), starts 10 HTTPS mock LoadMasters with 20 ms injected
latency per request, creates every desired virtual service and real server on them in-process
(no latency, not timed), then measures:

* status in-process: ``check_arrays`` through ``open_appliances`` over HTTPS (TLS handshakes
  included), first run and best of 5, with the API calls the mocks received;
* the CLI: ``lmctl status DIR --format json`` as a new process (start-up, loading and
  validating 500 specs included).

Run: ``python bench/bench_status.py [--arrays 500] [--latency-ms 20]``.
Targets: 2 API calls per appliance (20 for 10 appliances); the whole status under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from bench_validate import APPLIANCES, generate
from lmctl.appliance.base import open_appliances
from lmctl.exchange import DesiredVirtualService, expand_all
from lmctl.loadmaster.models import settings_params
from lmctl.mock.server import MockServerHandle, serve_in_thread
from lmctl.specs import SpecSet, load_specs
from lmctl.status.check import check_arrays, select_arrays
from lmctl.status.model import overall_exit

# The environment variable the generated inventory names for the mocks' (made-up) password.
LOGIN_VARIABLE = "LMCTL_BENCH_LOGIN"
TARGET_SECONDS = 2.0


def write_inventory(directory: Path, mocks: Sequence[MockServerHandle]) -> None:
    """Point the generated specs' appliances ``lm-0``..``lm-9`` at the served mocks."""
    entries = "".join(
        f"  lm-{n}:\n    url: {mock.url}\n    dialect: v2\n"
        f"    auth: {{username: {mock.username}, password: {{env: {LOGIN_VARIABLE}}}}}\n"
        f'    tls: {{fingerprint: "{mock.fingerprint_sha256}"}}\n'
        for n, mock in enumerate(mocks)
    )
    (directory / "appliances.yaml").write_text("appliances:\n" + entries)


def create(mock: MockServerHandle, services: Sequence[DesiredVirtualService]) -> None:
    """Create the desired services and members in the mock's memory (as an apply would)."""
    for service in services:
        where = service.key.params()
        mock.appliance.execute("addvs", {**where, **settings_params(service.settings)})
        for member in service.real_servers:
            mock.appliance.execute(
                "addrs",
                {
                    **where,
                    "rs": member.address,
                    "rsport": str(member.port),
                    "weight": str(member.weight),
                    "forward": member.forward,
                    "enable": "Y",
                    "non_local": "1",
                },
            )


async def status_once(
    spec_set: SpecSet, desired: dict[str, tuple[DesiredVirtualService, ...]]
) -> int:
    """One status check of every array; returns its exit code."""
    selected = select_arrays(desired, [])
    async with open_appliances(spec_set, list(selected), strict=True) as appliances:
        arrays = await check_arrays(appliances, desired, selected)
    return int(overall_exit(arrays))


def calls_received(mocks: Sequence[MockServerHandle]) -> int:
    """API calls the mocks received since their logs were last cleared; clears them."""
    total = sum(len(mock.calls.records()) for mock in mocks)
    for mock in mocks:
        mock.calls.clear()
    return total


def timed_status(
    spec_set: SpecSet,
    desired: dict[str, tuple[DesiredVirtualService, ...]],
    mocks: Sequence[MockServerHandle],
) -> tuple[float, int, int]:
    """Wall time, API calls and exit code of one in-process status check."""
    started = time.perf_counter()
    code = asyncio.run(status_once(spec_set, desired))
    return time.perf_counter() - started, calls_received(mocks), code


def timed_cli(directory: Path, mocks: Sequence[MockServerHandle]) -> tuple[float, int, int]:
    """Wall time, API calls and exit code of ``lmctl status`` as a new process."""
    script = Path(sys.executable).with_name("lmctl")
    started = time.perf_counter()
    finished = subprocess.run(
        [str(script), "status", str(directory), "--format", "json"],
        stdout=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - started, calls_received(mocks), finished.returncode


def main() -> None:
    """Serve the mocks, create the arrays, time status, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrays", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    options = parser.parse_args()
    login = secrets.token_urlsafe(12)
    os.environ[LOGIN_VARIABLE] = login
    with tempfile.TemporaryDirectory() as temporary, ExitStack() as stack:
        directory = Path(temporary)
        mocks = [
            stack.enter_context(serve_in_thread(latency_ms=options.latency_ms, password=login))
            for _ in range(APPLIANCES)
        ]
        generate(directory, options.arrays)
        write_inventory(directory, mocks)
        spec_set = load_specs([directory])
        desired = {name: tuple(found) for name, found in expand_all(spec_set).items()}
        for n, mock in enumerate(mocks):
            create(mock, desired.get(f"lm-{n}", ()))
        calls_received(mocks)
        first = timed_status(spec_set, desired, mocks)
        runs = [timed_status(spec_set, desired, mocks) for _ in range(5)]
        best = min(runs)
        cli = timed_cli(directory, mocks)
    services = sum(len(found) for found in desired.values())
    print(
        f"{len(spec_set.arrays)} arrays, {services} virtual services, {len(mocks)} appliances, "
        f"{options.latency_ms:g} ms latency per request"
    )
    print(f"{'step':<38} {'seconds':>8} {'API calls':>10} {'exit':>5} {'target':>8}  result")
    for name, (seconds, calls, code) in (
        ("status in-process, first run", first),
        ("status in-process, best of 5", best),
        ("lmctl status --format json (process)", cli),
    ):
        verdict = "ok" if seconds < TARGET_SECONDS and calls == 2 * len(mocks) else "MISSED"
        print(
            f"{name:<38} {seconds:>8.3f} {calls:>10} {code:>5} {'< ' + str(TARGET_SECONDS):>8}"
            f"  {verdict}"
        )


if __name__ == "__main__":
    main()
