"""``lmctl import`` of real appliance captures (served by a scripted appliance): each VS is
written into a spec or skipped with its reason; one listvs, no write. And the mock seeded with
each capture (``lmctl mock serve --seed-listvs``) reads back as the capture does."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from loadmaster_fakes import (
    ScriptedAppliance,
    capture,
    client,
    connection,
    dialect_of,
    reply_for,
)
from pydantic import SecretStr

from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.appliance.state import ApplianceState
from lmctl.importing import ImportOptions, ImportResult, import_state
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import BasicCredentials, TlsPolicy
from lmctl.mock.seed import state_from_listvs
from lmctl.mock.server import serve_in_thread


@pytest.mark.parametrize(
    ("name", "skipped"),
    [
        (
            "fw7.1-listvs-subvs.xml",
            {
                "10.154.0.11:80/tcp": "it has SubVSs (a layer 7 VS per virtual directory)",
                "10.154.0.12:80/tcp": "it has SubVSs (a layer 7 VS per virtual directory)",
            },
        ),
        ("fw7.2.5x-listvs.xml", {"192.168.1.222:80/tcp": "port 80 that is no fixed redirect"}),
        ("fw7.2.5x-listvs.json", {"192.168.1.239:80/tcp": "port 80 that is no fixed redirect"}),
    ],
)
def test_real_captures_are_imported_or_skipped_with_a_reason(
    name: str, skipped: dict[str, str]
) -> None:
    dialect = dialect_of(name)
    appliance = ScriptedAppliance().on("listvs", reply_for(dialect, capture(name)))

    async def imported() -> tuple[ApplianceState, ImportResult]:
        async with LoadMasterAppliance("lm-test", client(appliance, dialect)) as lm:
            state = await lm.observe()
        return state, import_state(state, ImportOptions(appliance="lm-test"))

    state, result = asyncio.run(imported())

    assert result.arrays == ()
    assert {str(s.key): s.reason[: len(skipped[str(s.key)])] for s in result.skipped} == skipped
    assert set(map(str, state)) == set(skipped)
    assert appliance.commands() == ["listvs"]


@pytest.mark.parametrize(
    "name", ["fw7.1-listvs-subvs.xml", "fw7.2.5x-listvs.xml", "fw7.2.5x-listvs.json"]
)
@pytest.mark.parametrize("exchange", [None, "2010 SP3", "2013 CU23", "2016 CU23", "2019 CU14"])
@pytest.mark.parametrize("named", [False, True])
def test_real_captures_import_without_a_crash_for_any_release_given(
    name: str, exchange: str | None, named: bool
) -> None:
    dialect = dialect_of(name)
    appliance = ScriptedAppliance().on("listvs", reply_for(dialect, capture(name)))

    async def observed() -> ApplianceState:
        async with LoadMasterAppliance("lm-test", client(appliance, dialect)) as lm:
            return await lm.observe()

    state = asyncio.run(observed())
    vips = tuple(sorted({key.address for key in state})) if named else ()

    result = import_state(state, ImportOptions(appliance="lm-test", vips=vips, exchange=exchange))

    taken = {key for array in result.arrays for key in array.keys}
    assert taken | {s.key for s in result.skipped} == set(state)


@pytest.mark.parametrize(
    "name", ["fw7.1-listvs-subvs.xml", "fw7.2.5x-listvs.xml", "fw7.2.5x-listvs.json"]
)
@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_a_mock_seeded_with_a_capture_lists_what_the_capture_holds(
    name: str, dialect: Literal["v1", "v2"]
) -> None:
    """``lmctl mock serve --seed-listvs``: the served mock reads back, through lmctl's client in
    either dialect, as the appliance's own reply does (keys, managed settings, real servers)."""
    captured = ScriptedAppliance().on("listvs", reply_for(dialect_of(name), capture(name)))
    seed = state_from_listvs(capture(name))

    async def observed(lm: LoadMaster) -> ApplianceState:
        async with LoadMasterAppliance("lm-test", lm) as appliance:
            return await appliance.observe()

    with serve_in_thread(seed=seed) as handle:
        served = LoadMaster(
            connection(
                dialect,
                basic=True,
                url=handle.url,
                tls=TlsPolicy(fingerprint_sha256=handle.fingerprint_sha256),
            ).model_copy(
                update={
                    "credentials": BasicCredentials(
                        username=handle.username, password=SecretStr(handle.password)
                    )
                }
            )
        )
        from_mock = asyncio.run(observed(served))
    from_capture = asyncio.run(observed(client(captured, dialect_of(name))))

    assert from_mock == from_capture
    assert [vs.sub_services for vs in from_mock.values()] == [
        vs.sub_services for vs in from_capture.values()
    ]
