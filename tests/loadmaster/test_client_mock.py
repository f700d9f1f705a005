"""The client against the served mock over real HTTPS (certificate pinned), in both dialects:
every operation, one call for the full state whatever its size, dialect detection, refusals.
"""

from __future__ import annotations

import gzip

import pytest
from loadmaster_fakes import served_in_each_dialect  # noqa: F401 (a fixture)
from pydantic import SecretStr

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection, BasicCredentials
from lmctl.loadmaster.errors import (
    ApiDisabledError,
    AuthenticationError,
    InvalidOperationError,
    UnknownObjectError,
)
from lmctl.loadmaster.models import (
    VirtualServiceKey,
    VirtualServiceSettings,
    differing_fields,
    settings_params,
)
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle

KEY = VirtualServiceKey(address="10.0.0.5", port="443", protocol="tcp")
OWA = VirtualServiceSettings(
    nickname="lmctl.exch-hq.owa",
    vs_type="http",
    schedule="lc",
    persist="src",
    persist_timeout=1800,
    idle_time=1800,
    check_type="https",
    check_url="/owa/healthcheck.htm",
    check_port=443,
    transparent=False,
    subnet_originating=True,
)


async def test_every_operation_round_trips(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    async with LoadMaster(served) as lm:
        created = await lm.add_virtual_service(KEY, settings_params(OWA))
        assert created.key == KEY and differing_fields(created.settings(), OWA) == ()

        first = await lm.add_real_server(KEY, "10.0.1.21", 443, weight=2000)
        second = await lm.add_real_server(KEY, "10.0.1.22", 443, forward="route", enable=False)
        assert (first.address, first.port, first.weight, first.enable) == (
            "10.0.1.21",
            443,
            2000,
            True,
        )
        assert (second.forward, second.enable, second.vs_index) == ("route", False, created.index)

        await lm.set_real_server_enabled(KEY, "10.0.1.22", 443, True)
        await lm.modify_real_server(KEY, "10.0.1.21", 443, {"weight": "500"})
        assert (await lm.show_real_server(KEY, "10.0.1.22", 443)).enable is True
        assert (await lm.show_real_server(created.index, "10.0.1.21", 443)).weight == 500

        modified = await lm.modify_virtual_service(KEY, {"Schedule": "rr", "Idletime": "900"})
        assert (modified.schedule, modified.idle_time, modified.nickname) == (
            "rr",
            900,
            OWA.nickname,
        )

        parent = await lm.modify_virtual_service(KEY, {"createsubvs": ""})
        [row] = parent.sub_services
        sub = await lm.show_virtual_service(row.vs_index)
        assert sub.is_sub_service and sub.master_vs_id == created.index and sub.key is None

        mock_control.set_connections("10.0.1.21", 7)
        stats = await lm.statistics()
        assert stats.active_connections(created.index, "10.0.1.21", 443) == 7
        assert {vs.index for vs in stats.virtual_services} >= {created.index}

        listing = await lm.list_virtual_services()
        assert {vs.index for vs in listing} == {created.index, sub.index}
        [shown] = [vs for vs in listing if vs.key == KEY]
        assert [(rs.address, rs.weight) for rs in shown.real_servers] == [
            ("10.0.1.21", 500),
            ("10.0.1.22", 1000),
        ]

        archive = await lm.backup()
        assert gzip.decompress(archive).startswith(b"{")
        assert await lm.version() == "7.2.59.0.22007"

        await lm.delete_real_server(KEY, "10.0.1.22", 443)
        with pytest.raises(UnknownObjectError, match="refused showrs: Unknown RS"):
            await lm.show_real_server(KEY, "10.0.1.22", 443)
        await lm.delete_virtual_service(KEY)
        with pytest.raises(UnknownObjectError, match="refused showvs: Unknown VS"):
            await lm.show_virtual_service(KEY)
        assert lm.calls == 18  # one request per operation: nothing retried, nothing probed
    assert len(mock_control.calls()) == 18
    assert {call.dialect for call in mock_control.calls()} == {served.dialect}


async def test_a_duplicate_vs_is_refused_with_the_appliance_reason(
    served: ApplianceConnection,
) -> None:
    async with LoadMaster(served) as lm:
        await lm.add_virtual_service(KEY, settings_params(OWA))
        with pytest.raises(InvalidOperationError) as caught:
            await lm.add_virtual_service(KEY, settings_params(OWA))
        assert lm.calls == 2
    assert caught.value.reason == "Virtual service already exists"


def _seed(handle: MockServerHandle, services: int, servers_each: int) -> None:
    """Fill the mock in-process (fast), so only the read under test goes over HTTPS."""
    for n in range(services):
        address = f"10.1.{n // 250}.{n % 250 + 1}"
        handle.appliance.execute("addvs", {"vs": address, "port": "443", "prot": "tcp"})
        for k in range(servers_each):
            handle.appliance.execute(
                "addrs",
                {
                    "vs": address,
                    "port": "443",
                    "prot": "tcp",
                    "rs": f"10.2.{k}.{n % 250 + 1}",
                    "rsport": "443",
                },
            )


@pytest.mark.parametrize("services", [0, 1, 400])
async def test_reading_the_full_state_is_exactly_one_call_whatever_its_size(
    served: ApplianceConnection,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    services: int,
) -> None:
    _seed(mock_server, services, 4)
    mock_control.clear_log()
    async with LoadMaster(served) as lm:
        listing = await lm.list_virtual_services()
        assert lm.calls == 1
    assert len(listing) == services
    assert sum(len(vs.real_servers) for vs in listing) == 4 * services
    assert [call.command for call in mock_control.calls()] == ["listvs"]


async def test_auto_detects_v2_on_the_first_call(
    mock_server: MockServerHandle, connection_v2: ApplianceConnection, mock_control: MockControl
) -> None:
    auto = connection_v2.model_copy(update={"dialect": "auto"})
    async with LoadMaster(auto) as lm:
        await lm.list_virtual_services()
        await lm.version()
        assert (lm.dialect, lm.calls) == ("v2", 2)
    assert [call.dialect for call in mock_control.calls()] == ["v2", "v2"]


@pytest.mark.parametrize(("dialect", "calls"), [("v1", 1), ("v2", 1), ("auto", 2)])
async def test_api_disabled_says_where_to_enable_it(
    mock_server: MockServerHandle,
    connection_v1: ApplianceConnection,
    mock_control: MockControl,
    dialect: str,
    calls: int,
) -> None:
    mock_control.set_api_enabled(False)
    connection = connection_v1.model_copy(update={"dialect": dialect, "name": "lm-hq"})
    async with LoadMaster(connection) as lm:
        with pytest.raises(ApiDisabledError) as caught:
            await lm.list_virtual_services()
        assert lm.calls == calls  # auto: v2 is absent (404 page), then v1 says the same
    assert str(caught.value).startswith(
        "the API is disabled on lm-hq: enable it under Certificates & Security > Remote Access"
    )


async def test_wrong_password_is_an_authentication_error(served: ApplianceConnection) -> None:
    wrong = served.model_copy(
        update={"credentials": BasicCredentials(username="bal", password=SecretStr("nope"))}
    )
    async with LoadMaster(wrong) as lm:
        with pytest.raises(AuthenticationError, match="check the API key or user and password"):
            await lm.version()
        assert lm.calls == 1
