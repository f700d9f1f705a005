"""Bench: ``lmctl exchange check``'s probes of 20 members x 4 ports with a 1 s probe timeout.

The probes run concurrently, each bounded by the timeout, so the whole check takes about one
timeout, not the sum of them (80 s if they ran one after another). Three runs over real TCP
on loopback:

* every port open (listeners on 127.0.0.1): the check takes milliseconds;
* every port filtered (a connection that never completes, as behind a firewall that drops
  SYNs): each probe waits its whole timeout, all at once;
* half open, half filtered, with at most 16 probes in flight (``--concurrency 16``): five
  rounds of the timeout.

Run: ``python bench/bench_exchange_check.py [--members 20] [--ports 4] [--timeout 1]``.
Target: the filtered run within 1.5 x the timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import ssl
import time
from contextlib import ExitStack

from lmctl.cutover.preflight import Probe, ProbeResult, check_arrays

TARGET_FACTOR = 1.5


class BenchNetwork:
    """Routes member ports to loopback listeners; a port without one never connects."""

    def __init__(self, open_ports: dict[tuple[str, int], int]) -> None:
        self.open_ports = open_ports

    async def resolve(self, name: str) -> tuple[str, ...]:
        return ()

    async def resolve_at(self, server: str, name: str) -> tuple[str, ...]:
        return ()

    async def connect(
        self, address: str, port: int, tls: ssl.SSLContext | None, server_hostname: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        local = self.open_ports.get((address, port))
        if local is None:
            await asyncio.Event().wait()  # a dropped SYN: only the probe timeout ends it
        return await asyncio.open_connection("127.0.0.1", local)

    def tls_context(self, *, verify: bool) -> ssl.SSLContext:
        return ssl.create_default_context()

    def close(self) -> None:
        pass


def probes(members: int, ports: int) -> list[Probe]:
    return [
        Probe("bench", "tcp", f"CAS{m:02}", f"10.0.{m // 250}.{m % 250 + 1}", 60000 + p)
        for m in range(members)
        for p in range(ports)
    ]


async def run(
    planned: list[Probe], network: BenchNetwork, timeout: float, limit: int
) -> tuple[float, list[ProbeResult]]:
    started = time.perf_counter()
    results = await check_arrays(planned, network, timeout=timeout, limit=limit)
    return time.perf_counter() - started, results


def main() -> None:
    """Run the three scenarios and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--ports", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1.0)
    arguments = parser.parse_args()
    planned = probes(arguments.members, arguments.ports)
    with ExitStack() as stack:
        listeners: dict[tuple[str, int], int] = {}
        for probe in planned:
            listener = stack.enter_context(socket.create_server(("127.0.0.1", 0), backlog=64))
            listeners[probe.address, probe.port] = listener.getsockname()[1]
        half = dict(list(listeners.items())[::2])
        scenarios = [
            ("every port open", BenchNetwork(listeners), 1000),
            ("every port filtered", BenchNetwork({}), 1000),
            ("half filtered, --concurrency 16", BenchNetwork(half), 16),
        ]
        count, timeout = len(planned), arguments.timeout
        print(
            f"{arguments.members} members x {arguments.ports} ports = {count} probes, "
            f"{timeout:g} s probe timeout (one after another: up to {count * timeout:g} s)"
        )
        print(
            f"{'scenario':<34} {'in flight':>9} {'seconds':>8} {'bound':>7} {'pass':>5} {'fail':>5}"
        )
        for name, network, limit in scenarios:
            elapsed, results = asyncio.run(run(planned, network, timeout, limit))
            filtered = sum(1 for p in planned if (p.address, p.port) not in network.open_ports)
            rounds = math.ceil(filtered / limit) if filtered else 0
            bound = rounds * timeout
            passed = sum(1 for r in results if r.verdict == "pass")
            print(
                f"{name:<34} {min(limit, count):>9} {elapsed:>8.3f} {bound:>7.1f} "
                f"{passed:>5} {count - passed:>5}"
            )
        print(f"target: the filtered run within {TARGET_FACTOR:g} x the timeout")


if __name__ == "__main__":
    main()
