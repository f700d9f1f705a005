"""Bench: how long the client takes to read a large ``listvs`` reply, in both dialects.

Builds a ``listvs`` reply with 1,000 virtual services and 4,000 real servers from the real
7.2.5x captures (XML for APIv1, JSON for APIv2), then measures

* parse: reply bytes → ``list[VirtualService]`` (envelope, fields, models), the best of 5;
* client: ``LoadMaster.list_virtual_services()`` end to end over an in-memory transport,
  with the number of API calls it made (always 1);
* and the same read over pinned HTTPS against the served mock filled with as many VS and RS,
  with the calls the client counted and the calls the mock logged (both 1).

Run: ``python bench/bench_client.py [--services 1000] [--servers-per-service 4]``.
Target: parse under 0.2 s for 1,000 VS / 4,000 RS.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from lmctl.loadmaster import wire
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApiKey, ApplianceConnection, Dialect, TlsPolicy
from lmctl.loadmaster.wire import parse_json_reply, parse_xml_reply
from lmctl.mock.server import MockServerHandle, serve_in_thread

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "loadmaster"
TARGET_SECONDS = 0.2


def _address(n: int) -> str:
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def _rs_xml(template: str, vs_index: int, rs_index: int, address: str) -> str:
    row = template.replace("<VSIndex>1</VSIndex>", f"<VSIndex>{vs_index}</VSIndex>")
    row = row.replace("<RsIndex>1</RsIndex>", f"<RsIndex>{rs_index}</RsIndex>")
    return row.replace("<Addr>10.10.10.10</Addr>", f"<Addr>{address}</Addr>")


def listvs_xml(services: int, servers_per_service: int) -> bytes:
    """A v1 ``listvs`` reply: the captured VS repeated with distinct indexes, addresses and RSs."""
    listvs = (FIXTURES / "fw7.2.5x-listvs.xml").read_text(encoding="iso-8859-1")
    showrs = (FIXTURES / "fw7.2.5x-showrs.xml").read_text(encoding="iso-8859-1")
    vs_row = listvs[listvs.index("<VS>") : listvs.index("</VS>")]
    rs_row = showrs[showrs.index("<Rs>") : showrs.index("</Rs>") + len("</Rs>")]
    rows = []
    for n in range(1, services + 1):
        row = vs_row.replace("<Index>1</Index>", f"<Index>{n}</Index>")
        row = row.replace("192.168.1.222", _address(n))
        row = row.replace("<NumberOfRSs>0<", f"<NumberOfRSs>{servers_per_service}<")
        real_servers = "".join(
            _rs_xml(rs_row, n, n * 10 + k, _address(100000 + n * 10 + k))
            for k in range(servers_per_service)
        )
        rows.append(f"{row}{real_servers}</VS>\n")
    head = listvs[: listvs.index("<VS>")]
    tail = listvs[listvs.index("</VS>") + len("</VS>") :]
    return (head + "".join(rows) + tail).encode("iso-8859-1")


def listvs_json(services: int, servers_per_service: int) -> bytes:
    """A v2 ``listvs`` reply built the same way from the JSON captures."""
    vs_template = json.loads((FIXTURES / "fw7.2.5x-listvs.json").read_bytes())["VS"][0]
    rs_template = json.loads((FIXTURES / "fw7.2.5x-showrs.json").read_bytes())["Rs"][0]
    rows: list[dict[str, Any]] = []
    for n in range(1, services + 1):
        row = copy.deepcopy(vs_template)
        row.update(Index=n, VSAddress=_address(n), NumberOfRSs=servers_per_service)
        row["Rs"] = [
            {
                **rs_template,
                "VSIndex": n,
                "RsIndex": n * 10 + k,
                "Addr": _address(100000 + n * 10 + k),
            }
            for k in range(servers_per_service)
        ]
        rows.append(row)
    return json.dumps({"code": 200, "VS": rows, "status": "ok"}).encode()


def best_of(runs: int, action: Callable[[], object]) -> float:
    """The shortest wall time of ``runs`` runs of ``action``."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return min(timings)


async def client_read(dialect: str, body: bytes) -> tuple[float, int, int]:
    """Seconds, API calls and services of one ``list_virtual_services`` over a mock transport."""

    def answer(request: httpx.Request) -> httpx.Response:
        kind = "text/xml" if dialect == "v1" else "application/json"
        return httpx.Response(200, content=body, headers={"Content-Type": kind})

    connection = ApplianceConnection(
        name="bench",
        url="https://lm.bench.invalid",
        dialect="v1" if dialect == "v1" else "v2",
        credentials=ApiKey(key=SecretStr("bench-key")),
        tls=TlsPolicy(),
    )
    async with LoadMaster(connection, transport=httpx.MockTransport(answer)) as lm:
        started = time.perf_counter()
        services = await lm.list_virtual_services()
        elapsed = time.perf_counter() - started
        return elapsed, lm.calls, len(services)


def seed(handle: MockServerHandle, services: int, servers_per_service: int) -> None:
    """Fill the served mock in-process (fast), so only the read goes over HTTPS."""
    for n in range(1, services + 1):
        vs = {"vs": _address(n), "port": "443", "prot": "tcp"}
        handle.appliance.execute("addvs", vs)
        for k in range(servers_per_service):
            rs = {"rs": _address(100000 + n * 10 + k), "rsport": "443"}
            handle.appliance.execute("addrs", {**vs, **rs})


async def served_read(handle: MockServerHandle, dialect: Dialect) -> tuple[float, int, int]:
    """Seconds, API calls and services of one ``list_virtual_services`` over pinned HTTPS."""
    connection = ApplianceConnection(
        name="bench-mock",
        url=handle.url,
        dialect=dialect,
        credentials=ApiKey(key=SecretStr(handle.api_key)),
        tls=TlsPolicy(fingerprint_sha256=handle.fingerprint_sha256),
    )
    async with LoadMaster(connection, timeout=60.0) as lm:
        started = time.perf_counter()
        services = await lm.list_virtual_services()
        return time.perf_counter() - started, lm.calls, len(services)


def served_rows(services: int, servers_per_service: int) -> list[tuple[object, ...]]:
    """One row per dialect: the full read against the served mock (its own writing included)."""
    rows: list[tuple[object, ...]] = []
    with serve_in_thread() as handle:
        seed(handle, services, servers_per_service)
        for dialect in ("v1", "v2"):
            handle.calls.clear()
            elapsed, calls, count = asyncio.run(served_read(handle, dialect))
            logged = len(handle.calls.records())
            rows.append((dialect, count, count * servers_per_service, elapsed, calls, logged))
    return rows


HEADER = (
    "dialect",
    "VS",
    "RS",
    "bytes",
    "envelope s",
    "parse s",
    "client s",
    "API calls",
    "target",
)


def measure(dialect: str, body: bytes, services: int, servers: int) -> tuple[object, ...]:
    """One table row: sizes, best envelope and full parse times, one client read."""
    parse = parse_xml_reply if dialect == "v1" else parse_json_reply
    parsed = wire.virtual_services(parse(body).fields)
    assert len(parsed) == services
    assert sum(len(vs.real_servers) for vs in parsed) == servers
    envelope = best_of(5, lambda: parse(body))
    full = best_of(5, lambda: wire.virtual_services(parse(body).fields))
    elapsed, calls, count = asyncio.run(client_read(dialect, body))
    verdict = "ok" if full < TARGET_SECONDS else "MISSED"
    return (dialect, count, servers, len(body), envelope, full, elapsed, calls, verdict)


def main() -> None:
    """Build the replies, time them and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--servers-per-service", type=int, default=4)
    options = parser.parse_args()
    services, servers = options.services, options.services * options.servers_per_service
    rows = [
        measure("v1", listvs_xml(services, options.servers_per_service), services, servers),
        measure("v2", listvs_json(services, options.servers_per_service), services, servers),
    ]
    print(f"listvs read: {services} VS, {servers} RS; target parse < {TARGET_SECONDS} s")
    print(" | ".join(f"{title:>10}" for title in HEADER))
    for row in rows:
        cells = (f"{cell:.3f}" if isinstance(cell, float) else str(cell) for cell in row)
        print(" | ".join(f"{cell:>10}" for cell in cells))
    print()
    print(
        "the same read over HTTPS (pinned) against the served mock, its XML/JSON writing included"
    )
    titles = ("dialect", "VS", "RS", "client s", "API calls", "mock log")
    print(" | ".join(f"{title:>10}" for title in titles))
    for row in served_rows(services, options.servers_per_service):
        cells = (f"{cell:.3f}" if isinstance(cell, float) else str(cell) for cell in row)
        print(" | ".join(f"{cell:>10}" for cell in cells))


if __name__ == "__main__":
    main()
