"""Reading appliances for status: two calls each, every appliance at the same time."""

from __future__ import annotations

import asyncio

from status_builders import desired_service, observed_service

from lmctl.loadmaster.errors import TransportError
from lmctl.loadmaster.models import Statistics, VirtualService
from lmctl.status.read import StatusSource, read_status


class Appliance:
    """A status source that answers ``listvs`` only once every appliance has been asked."""

    def __init__(self, live: list[VirtualService], asked: asyncio.Barrier) -> None:
        self.live = live
        self.asked = asked
        self.calls: list[str] = []

    async def list_virtual_services(self) -> list[VirtualService]:
        self.calls.append("listvs")
        # Sequential reads would never get past this point (the test times out instead).
        await asyncio.wait_for(self.asked.wait(), timeout=5)
        return self.live

    async def statistics(self) -> Statistics:
        self.calls.append("stats")
        return Statistics()


class Unreachable:
    """A status source whose ``listvs`` fails as an unreachable appliance does."""

    async def list_virtual_services(self) -> list[VirtualService]:
        raise TransportError("lm-c", "connection refused")

    async def statistics(self) -> Statistics:
        raise AssertionError("not read after a failed listvs")


def test_every_appliance_is_read_at_once_with_two_calls_each() -> None:
    hq = desired_service("https", 443, ["cas01", "cas02"], array="hq")
    dr = desired_service("https", 443, ["cas03"], array="dr")
    lost = desired_service("https", 443, ["cas01"], array="lost")

    async def check() -> tuple[list[str], list[Appliance]]:
        asked = asyncio.Barrier(2)
        appliances = [Appliance([observed_service(hq, 1)], asked)]
        appliances.append(Appliance([observed_service(dr, 1)], asked))
        clients: dict[str, StatusSource] = {
            "lm-a": appliances[0],
            "lm-b": appliances[1],
            "lm-c": Unreachable(),
        }
        desired = {"lm-a": [hq], "lm-b": [dr], "lm-c": [lost], "lm-d": [lost]}
        arrays = await read_status(desired, clients, {"lm-d": "no secret LM_D_PASSWORD"})
        return [f"{a.array} {int(a.exit_code)} {a.error}" for a in arrays], appliances

    outcome, appliances = asyncio.run(check())

    assert outcome == [
        "hq 0 None",
        "dr 2 None",  # one member: not failover-ready
        "lost 1 connection refused",
        "lost 1 no secret LM_D_PASSWORD",
    ]
    assert [appliance.calls for appliance in appliances] == [["listvs", "stats"]] * 2
