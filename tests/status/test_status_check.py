"""Checking arrays: choosing them, and reading appliances (two calls each, all at once)."""

from __future__ import annotations

import asyncio

import pytest

from lmctl.appliance.base import Appliance
from lmctl.appliance.changes import Change
from lmctl.appliance.state import ApplianceState, Connections
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.errors import TransportError
from lmctl.status.check import UnknownArrayError, check_arrays, select_arrays
from status_testkit import desired_service, observed_service, reading, two_member_array


def test_no_names_selects_every_array_and_named_ones_drop_idle_appliances() -> None:
    hq = two_member_array()
    dr = [desired_service("https", 443, ["cas03"], array="dr")]
    desired = {"lm-hq": tuple(hq), "lm-dr": tuple(dr)}

    assert select_arrays(desired, []) == {"lm-hq": ("hq",), "lm-dr": ("dr",)}
    assert select_arrays(desired, ["dr"]) == {"lm-dr": ("dr",)}


def test_unknown_array_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownArrayError) as raised:
        select_arrays({"lm-hq": tuple(two_member_array())}, ["hq", "branch"])

    assert str(raised.value) == "no array named 'branch' in the specs; arrays: hq"


class FakeAppliance:
    """An appliance whose state is only observed once every appliance has been asked."""

    def __init__(self, name: str, desired: DesiredVirtualService, asked: asyncio.Barrier) -> None:
        self.name = name
        self.state, _ = reading([observed_service(desired, 1)])
        self.asked = asked
        self.calls: list[str] = []

    async def observe(self) -> ApplianceState:
        self.calls.append("observe")
        # Sequential reads would never get past this point (the test times out instead).
        await asyncio.wait_for(self.asked.wait(), timeout=5)
        return self.state

    async def connections(self) -> Connections:
        self.calls.append("connections")
        return {}

    async def certificates(self) -> frozenset[str]:
        raise AssertionError("status reads no certificate")

    async def install_certificate(self, name: str, pem: bytes, *, replace: bool = False) -> None:
        raise AssertionError("status installs no certificate")

    async def apply(self, change: Change) -> None:
        raise AssertionError("status never writes")

    async def backup(self) -> bytes:
        raise AssertionError("status takes no backup")

    async def restore(self, archive: bytes) -> None:
        raise AssertionError("status never restores")


class Unreachable(FakeAppliance):
    """An appliance whose first read fails as an unreachable appliance does."""

    async def observe(self) -> ApplianceState:
        raise TransportError(self.name, "connection refused")

    async def connections(self) -> Connections:
        raise AssertionError("not read after a failed observe")


def test_every_appliance_is_read_at_once_with_two_calls_each() -> None:
    hq = desired_service("https", 443, ["cas01", "cas02"], array="hq")
    dr = desired_service("https", 443, ["cas03"], array="dr")
    lost = desired_service("https", 443, ["cas01"], array="lost")

    async def check() -> tuple[list[str], list[FakeAppliance]]:
        asked = asyncio.Barrier(2)
        read = [FakeAppliance("lm-a", hq, asked), FakeAppliance("lm-b", dr, asked)]
        appliances: dict[str, Appliance] = {
            "lm-a": read[0],
            "lm-b": read[1],
            "lm-c": Unreachable("lm-c", lost, asked),
        }
        desired = {"lm-a": [hq], "lm-b": [dr], "lm-c": [lost], "lm-d": [lost]}
        arrays = await check_arrays(
            appliances,
            desired,
            select_arrays(desired, []),
            unavailable={"lm-d": "no secret LM_D_PASSWORD"},
        )
        return [f"{a.array} {int(a.exit_code)} {a.error}" for a in arrays], read

    outcome, appliances = asyncio.run(check())

    assert outcome == [
        "hq 0 None",
        "dr 2 None",  # one member: not failover-ready
        "lost 1 connection refused",
        "lost 1 no secret LM_D_PASSWORD",
    ]
    assert [appliance.calls for appliance in appliances] == [["observe", "connections"]] * 2
