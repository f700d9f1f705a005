"""Benchmark of the served mock LoadMaster (loopback HTTPS only).

1. ``listvs`` with 1,000 virtual services of 4 real servers each, in both dialects (target < 0.5 s).
2. Requests per second the mock sustains for a small read (``get version``), one client with
   keep-alive and four clients in parallel, each loop bounded in time and in calls.

Run: ``python bench/bench_mock.py`` (prints a table; no assertion, no network beyond 127.0.0.1).
"""

from __future__ import annotations

import ssl
import statistics
import threading
import time
from dataclasses import dataclass

import httpx

from lmctl.mock.server import MockServerHandle, serve_in_thread

VIRTUAL_SERVICES = 1000
REAL_SERVERS_PER_VS = 4
LISTVS_RUNS = 5
RATE_SECONDS = 2.0
RATE_MAX_CALLS = 20_000
PARALLEL_CLIENTS = 4


@dataclass(frozen=True)
class Row:
    """One line of the result table."""

    what: str
    seconds: float
    api_calls: int
    detail: str


def populate(handle: MockServerHandle) -> None:
    """1,000 VSs with 4 RSs each, created in-process (set-up is not what is measured)."""
    appliance = handle.appliance
    for number in range(VIRTUAL_SERVICES):
        vs = {"vs": f"10.{number // 250}.{number % 250}.10", "port": "443", "prot": "tcp"}
        appliance.execute("addvs", {**vs, "NickName": f"lmctl.bench.vs{number}"})
        for member in range(REAL_SERVERS_PER_VS):
            appliance.execute(
                "addrs", {**vs, "rs": f"172.16.{member}.{number % 250}", "rsport": "443"}
            )


def client_for(handle: MockServerHandle) -> httpx.Client:
    """A keep-alive client that verifies the mock's certificate."""
    assert handle.ca_file is not None
    context = ssl.create_default_context(cafile=str(handle.ca_file))
    return httpx.Client(
        base_url=handle.url, verify=context, auth=(handle.username, handle.password), timeout=30
    )


def time_listvs(handle: MockServerHandle, dialect: str) -> Row:
    """Median wall time of one complete ``listvs`` (request to last byte)."""
    durations: list[float] = []
    size = 0
    with client_for(handle) as client:
        for _ in range(LISTVS_RUNS):
            started = time.perf_counter()
            if dialect == "v1":
                reply = client.get("/access/listvs")
            else:
                reply = client.post(
                    "/accessv2",
                    json={"cmd": "listvs", "apiuser": handle.username, "apipass": handle.password},
                )
            durations.append(time.perf_counter() - started)
            reply.raise_for_status()
            size = len(reply.content)
    return Row(
        f"listvs {dialect}, {VIRTUAL_SERVICES} VS x {REAL_SERVERS_PER_VS} RS",
        statistics.median(durations),
        1,
        f"median of {LISTVS_RUNS}, min {min(durations):.3f} s, {size / 1e6:.1f} MB",
    )


def _read_loop(handle: MockServerHandle, deadline: float, limit: int, counts: list[int]) -> None:
    calls = 0
    with client_for(handle) as client:
        while calls < limit and time.perf_counter() < deadline:
            client.get("/access/get", params={"param": "version"}).raise_for_status()
            calls += 1
    counts.append(calls)


def requests_per_second(handle: MockServerHandle, clients: int) -> Row:
    """Small reads for at most ``RATE_SECONDS`` (and ``RATE_MAX_CALLS`` calls) from N clients."""
    counts: list[int] = []
    started = time.perf_counter()
    deadline = started + RATE_SECONDS
    threads = [
        threading.Thread(
            target=_read_loop, args=(handle, deadline, RATE_MAX_CALLS // clients, counts)
        )
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(counts)
    return Row(
        f"get version, {clients} client(s), keep-alive",
        elapsed,
        total,
        f"{total / elapsed:,.0f} requests/s",
    )


def print_table(rows: list[Row]) -> None:
    """A plain-text table: what, seconds, API calls, detail."""
    header = f"{'measurement':<44} {'seconds':>8} {'API calls':>9}  detail"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.what:<44} {row.seconds:>8.3f} {row.api_calls:>9}  {row.detail}")


def main() -> None:
    """Run every measurement against one freshly served mock."""
    with serve_in_thread() as handle:
        started = time.perf_counter()
        populate(handle)
        setup = Row(
            f"set-up: {VIRTUAL_SERVICES} addvs + {VIRTUAL_SERVICES * REAL_SERVERS_PER_VS} addrs",
            time.perf_counter() - started,
            0,
            "in-process, not over HTTP",
        )
        rows = [setup, time_listvs(handle, "v1"), time_listvs(handle, "v2")]
        handle.appliance.reset()
        rows.append(requests_per_second(handle, 1))
        rows.append(requests_per_second(handle, PARALLEL_CLIENTS))
    print_table(rows)


if __name__ == "__main__":
    main()
