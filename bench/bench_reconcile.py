"""Bench: ``lmctl plan`` and ``apply`` against served mocks with injected latency.

Arrays of 6 services (rpc, https, imap4, imap4s, pop3s, smtp) with 4 members each, on mock
appliances served over HTTPS (APIv2, certificate pinned) that answer every call after
``--latency-ms`` (default 20 ms). Measured through the real client, as ``lmctl`` runs them:

* plan: read (one ``listvs``) + diff, from an empty appliance and from an applied one;
* apply from empty: the writes (``addvs`` + one ``addrs`` per member) compared with the plan's
  minimal count, plus the calls apply adds (drift re-read, backup, read after applying);
* 10 appliances applied concurrently vs one after another;
* 500 arrays dealt over 10 appliances (``--spread 500x10``): planned, applied over the API all
  at once (15,000 writes), planned again.

On one appliance, sizes above ``--apply-max`` are seeded in-process (no latency) rather than
applied: 15,000 serialised writes to one appliance take over 6 minutes at 20 ms. Run:
``python bench/bench_reconcile.py [--sizes 1,10,100,500] [--apply-max 100] [--spread 500x10]``.
Targets: plan = 1 call per appliance; plan of 500 arrays < 1.5 s; apply writes = minimal;
concurrent ≥ 5x faster than sequential.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from pathlib import Path

from pydantic import SecretStr

from lmctl.appliance.base import observe_all
from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.appliance.state import Owner
from lmctl.apply.execute import ApplianceResult, ApplyOptions, apply_plan
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection, BasicCredentials, TlsPolicy
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings, settings_params
from lmctl.mock.server import MockServerHandle, serve_in_thread
from lmctl.plan.document import Plan, make_plan

SERVICES: dict[str, tuple[int, dict[str, object]]] = {
    "rpc": (135, {"persist": "src", "persist_timeout": 7200, "idle_time": 7200}),
    "https": (443, {"persist": "src", "persist_timeout": 2700, "idle_time": 1800}),
    "imap4": (143, {}),
    "imap4s": (993, {}),
    "pop3s": (995, {}),
    "smtp": (25, {"check_type": "smtp"}),
}
MEMBERS = 4


def array_services(appliance: str, n: int) -> list[DesiredVirtualService]:
    """The 6 desired services of array number ``n``, with 4 members each."""
    vip = f"10.{100 + n // 250}.{n % 250}.50"
    members = [f"10.{100 + n // 250}.{n % 250}.{11 + m}" for m in range(MEMBERS)]
    services = []
    for service, (port, settings) in SERVICES.items():
        marker = Owner(f"array-{n}", service).marker()
        services.append(
            DesiredVirtualService(
                appliance=appliance,
                array=f"array-{n}",
                service=service,
                key=VirtualServiceKey(address=vip, port=str(port)),
                settings=VirtualServiceSettings.model_validate({"nickname": marker, **settings}),
                real_servers=tuple(
                    DesiredRealServer(member=f"cas{m}", address=address, port=port)
                    for m, address in enumerate(members)
                ),
            )
        )
    return services


def seed(handle: MockServerHandle, desired: Sequence[DesiredVirtualService]) -> None:
    """Put the desired state on the mock in-process (no latency, no HTTP)."""
    for vs in desired:
        handle.appliance.execute("addvs", {**vs.key.params(), **settings_params(vs.settings)})
        for rs in vs.real_servers:
            handle.appliance.execute(
                "addrs",
                {**vs.key.params(), "rs": rs.address, "rsport": str(rs.port), "weight": "1000"},
            )


def connection(name: str, handle: MockServerHandle) -> ApplianceConnection:
    """APIv2 over HTTPS, the mock's certificate pinned."""
    return ApplianceConnection(
        name=name,
        url=handle.url,
        dialect="v2",
        credentials=BasicCredentials(username=handle.username, password=SecretStr(handle.password)),
        tls=TlsPolicy(fingerprint_sha256=handle.fingerprint_sha256),
    )


Appliances = dict[str, LoadMasterAppliance]


def calls(appliances: Appliances) -> int:
    """API calls made so far through the appliances' clients."""
    return sum(appliance.client.calls for appliance in appliances.values())


async def timed_plan(
    appliances: Appliances, desired: dict[str, list[DesiredVirtualService]]
) -> tuple[Plan, float, int]:
    """Read every appliance concurrently and plan: (plan, seconds, API calls)."""
    before = calls(appliances)
    start = time.perf_counter()
    observed = await observe_all(appliances)
    plan = make_plan(desired, observed, specs_digest="bench")
    return plan, time.perf_counter() - start, calls(appliances) - before


async def timed_apply(
    plan: Plan, appliances: Appliances, parallel: int, state_dir: Path
) -> tuple[list[ApplianceResult], float, int]:
    """Apply (no backup): (results, seconds, API calls)."""
    before = calls(appliances)
    start = time.perf_counter()
    options = ApplyOptions(state_dir=state_dir, backup=False, parallel=parallel)
    results = await apply_plan(plan, appliances, options, lambda event: None)
    return results, time.perf_counter() - start, calls(appliances) - before


def row(*cells: object) -> None:
    """One table row."""
    print(" | ".join(f"{cell!s:>12}" for cell in cells))


async def sizes(arrays: Sequence[int], apply_max: int, latency_ms: float, state_dir: Path) -> None:
    """Plan and apply for each number of arrays on one appliance."""
    row("arrays", "step", "seconds", "API calls", "writes", "minimal")
    for count in arrays:
        desired = [vs for n in range(count) for vs in array_services("lm", n)]
        with serve_in_thread(latency_ms=latency_ms) as handle:
            client = LoadMaster(connection("lm", handle), timeout=30)
            async with LoadMasterAppliance("lm", client) as appliance:
                clients = {"lm": appliance}
                plan, seconds, calls = await timed_plan(clients, {"lm": desired})
                minimal = plan.summary.writes
                row(count, "plan empty", f"{seconds:.3f}", calls, "-", minimal)
                if count <= apply_max:
                    results, seconds, calls = await timed_apply(plan, clients, 1, state_dir)
                    writes = sum(len(r.done) for r in results)
                    assert all(r.ok for r in results)
                    row(count, "apply", f"{seconds:.3f}", calls, writes, minimal)
                else:
                    seed(handle, desired)
                plan, seconds, calls = await timed_plan(clients, {"lm": desired})
                assert not plan.has_changes
                row(count, "plan applied", f"{seconds:.3f}", calls, 0, 0)


@asynccontextmanager
async def served(names: Sequence[str], latency_ms: float) -> AsyncIterator[Appliances]:
    """One served mock per name, each opened as an appliance (all closed afterwards)."""
    with ExitStack() as mocks:
        async with AsyncExitStack() as stack:
            appliances = {}
            for name in names:
                handle = mocks.enter_context(serve_in_thread(latency_ms=latency_ms))
                client = LoadMaster(connection(name, handle), timeout=30)
                opened = LoadMasterAppliance(name, client)
                appliances[name] = await stack.enter_async_context(opened)
            yield appliances


def spread_desired(arrays: int, names: Sequence[str]) -> dict[str, list[DesiredVirtualService]]:
    """``arrays`` arrays dealt round-robin over the appliances ``names``."""
    desired: dict[str, list[DesiredVirtualService]] = {name: [] for name in names}
    for n in range(arrays):
        name = names[n % len(names)]
        desired[name] += array_services(name, n)
    return desired


async def concurrency(appliances: int, arrays: int, latency_ms: float, state_dir: Path) -> None:
    """The same apply to ``appliances`` mocks, all at once and then one after another."""
    row("appliances", "parallel", "seconds", "API calls", "writes")
    names = [f"lm-{n}" for n in range(appliances)]
    timings: dict[int, float] = {}
    for parallel in (appliances, 1):
        async with served(names, latency_ms) as clients:
            plan, _, _ = await timed_plan(clients, spread_desired(arrays * appliances, names))
            results, seconds, calls = await timed_apply(plan, clients, parallel, state_dir)
            assert all(r.ok for r in results)
            timings[parallel] = seconds
            row(appliances, parallel, f"{seconds:.3f}", calls, sum(len(r.done) for r in results))
    print(f"concurrent apply is {timings[1] / timings[appliances]:.1f}x faster than sequential")


async def spread(arrays: int, appliances: int, latency_ms: float, state_dir: Path) -> None:
    """``arrays`` arrays over ``appliances`` mocks: plan, apply them all at once, plan again."""
    row("arrays", "appliances", "step", "seconds", "API calls", "writes", "minimal")
    names = [f"lm-{n}" for n in range(appliances)]
    desired = spread_desired(arrays, names)
    async with served(names, latency_ms) as clients:
        plan, seconds, calls = await timed_plan(clients, desired)
        minimal = plan.summary.writes
        row(arrays, appliances, "plan empty", f"{seconds:.3f}", calls, "-", minimal)
        results, seconds, calls = await timed_apply(plan, clients, appliances, state_dir)
        assert all(r.ok for r in results)
        writes = sum(len(r.done) for r in results)
        row(arrays, appliances, "apply", f"{seconds:.3f}", calls, writes, minimal)
        plan, seconds, calls = await timed_plan(clients, desired)
        assert not plan.has_changes
        row(arrays, appliances, "plan applied", f"{seconds:.3f}", calls, 0, 0)


def main() -> None:
    """Parse the options and run the benches."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1,10,100,500")
    parser.add_argument("--apply-max", type=int, default=100, help="Largest size also applied.")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--appliances", type=int, default=10)
    parser.add_argument("--arrays-per-appliance", type=int, default=4)
    parser.add_argument(
        "--spread",
        default="500x10",
        help="ARRAYSxAPPLIANCES applied all at once over the API ('' to skip).",
    )
    options = parser.parse_args()
    counts = [int(part) for part in options.sizes.split(",")]
    with tempfile.TemporaryDirectory() as state_dir:
        print(f"latency {options.latency_ms:g} ms per call; 6 services x 4 members per array\n")
        asyncio.run(sizes(counts, options.apply_max, options.latency_ms, Path(state_dir)))
        print()
        asyncio.run(
            concurrency(
                options.appliances,
                options.arrays_per_appliance,
                options.latency_ms,
                Path(state_dir),
            )
        )
        if options.spread:
            arrays, appliances = (int(part) for part in options.spread.split("x"))
            print()
            asyncio.run(spread(arrays, appliances, options.latency_ms, Path(state_dir)))


if __name__ == "__main__":
    main()
