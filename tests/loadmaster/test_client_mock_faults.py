"""Injected faults against the served mock over HTTPS, both dialects: dropped connections,
HTTP 500s and stalls are retried for reads; a write that was applied but never answered is
read back and reported as done, without a duplicate.
"""

from __future__ import annotations

import pytest
from loadmaster_fakes import served_in_each_dialect, settle  # noqa: F401 (a fixture)

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.errors import TransportError
from lmctl.loadmaster.models import (
    VirtualServiceKey,
    VirtualServiceSettings,
    differing_fields,
    settings_params,
)
from lmctl.mock.control import MockControl

KEY = VirtualServiceKey(address="10.0.0.7", port="443", protocol="tcp")
SETTINGS = VirtualServiceSettings(nickname="lmctl.exch-dr.ews", vs_type="http", idle_time=1800)


def fast(connection: ApplianceConnection, **options: float) -> LoadMaster:
    """A client with short timeouts and backoff, so fault tests stay quick."""
    return LoadMaster(
        connection,
        timeout=options.get("timeout", 2.0),
        retry_backoff=0.01,
        read_attempts=int(options.get("read_attempts", 4)),
    )


def commands(control: MockControl) -> list[tuple[str, str | None]]:
    return [(call.command, call.fault) for call in control.calls()]


# -- reads ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["drop", "http500"])
async def test_a_read_survives_a_dropped_connection_or_a_500(
    served: ApplianceConnection, mock_control: MockControl, fault: str
) -> None:
    mock_control.add_fault(fault, command="listvs")  # type: ignore[arg-type]
    async with fast(served) as lm:
        assert await lm.list_virtual_services() == []
        assert lm.calls == 2
    assert commands(mock_control) == [("listvs", fault), ("listvs", None)]


async def test_a_read_that_times_out_is_retried(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    mock_control.add_fault("stall", command="stats", stall_seconds=0.6)
    async with fast(served, timeout=0.2) as lm:
        stats = await lm.statistics()
        assert lm.calls == 2
    assert stats.virtual_services == ()
    await settle(mock_control, "stats", 2)
    assert [call.command for call in mock_control.calls()] == ["stats", "stats"]


async def test_persistent_500s_end_in_a_transport_error_after_the_attempts(
    connection_v1: ApplianceConnection, mock_control: MockControl
) -> None:
    for _ in range(5):
        mock_control.add_fault("http500", command="showvs")
    async with fast(connection_v1, read_attempts=3) as lm:
        with pytest.raises(TransportError) as caught:
            await lm.show_virtual_service(KEY)
        assert lm.calls == 3
    assert caught.value.status == 500
    assert str(caught.value).startswith("mock-v1 failed on showvs with HTTP 500")
    assert len(mock_control.pending_faults()) == 2


# -- writes -----------------------------------------------------------------------------------


async def test_addvs_applied_but_unanswered_is_read_back_without_a_duplicate(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    mock_control.add_fault("reset_after_write", command="addvs")
    async with fast(served) as lm:
        vs = await lm.add_virtual_service(KEY, settings_params(SETTINGS))
        assert lm.calls == 2
        assert len(await lm.list_virtual_services()) == 1
    assert vs.key == KEY and differing_fields(vs.settings(), SETTINGS) == ()
    assert mock_control.write_count() == 1
    assert commands(mock_control) == [
        ("addvs", "reset_after_write"),
        ("showvs", None),
        ("listvs", None),
    ]


async def test_addrs_and_disable_applied_but_unanswered(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    async with fast(served) as lm:
        await lm.add_virtual_service(KEY, settings_params(SETTINGS))
        mock_control.add_fault("reset_after_write", command="addrs")
        mock_control.add_fault("reset_after_write", command="modrs")
        rs = await lm.add_real_server(KEY, "10.0.1.31", 443, weight=1500)
        await lm.set_real_server_enabled(KEY, "10.0.1.31", 443, False)
        assert not (await lm.show_real_server(KEY, "10.0.1.31", 443)).enable
    assert (rs.address, rs.weight) == ("10.0.1.31", 1500)
    assert mock_control.write_count() == 3  # addvs, addrs, modrs: each exactly once
    assert [command for command, _ in commands(mock_control)] == [
        "addvs",
        "addrs",
        "showrs",
        "modrs",
        "showrs",
        "showrs",
    ]


async def test_a_write_dropped_before_it_applied_is_sent_once_more(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    mock_control.add_fault("drop", command="addvs")
    async with fast(served) as lm:
        vs = await lm.add_virtual_service(KEY, settings_params(SETTINGS))
    assert vs.key == KEY
    assert mock_control.write_count() == 1
    assert commands(mock_control) == [("addvs", "drop"), ("showvs", None), ("addvs", None)]


async def test_a_500_on_delete_is_checked_then_resent(
    served: ApplianceConnection, mock_control: MockControl
) -> None:
    async with fast(served) as lm:
        await lm.add_virtual_service(KEY, settings_params(SETTINGS))
        mock_control.add_fault("http500", command="delvs")
        await lm.delete_virtual_service(KEY)
        assert await lm.list_virtual_services() == []
    assert commands(mock_control)[1:] == [
        ("delvs", "http500"),
        ("showvs", None),
        ("delvs", None),
        ("listvs", None),
    ]


async def test_delete_applied_but_unanswered_is_done(
    connection_v2: ApplianceConnection, mock_control: MockControl
) -> None:
    async with fast(connection_v2) as lm:
        await lm.add_virtual_service(KEY, settings_params(SETTINGS))
        mock_control.add_fault("reset_after_write", command="delvs")
        await lm.delete_virtual_service(KEY)
    assert [command for command, _ in commands(mock_control)] == ["addvs", "delvs", "showvs"]
    assert mock_control.write_count() == 2


async def test_modvs_timed_out_is_read_back_and_resent_safely(
    connection_v1: ApplianceConnection, mock_control: MockControl
) -> None:
    async with fast(connection_v1, timeout=0.2) as lm:
        await lm.add_virtual_service(KEY, settings_params(SETTINGS))
        mock_control.add_fault("stall", command="modvs", stall_seconds=0.6)
        vs = await lm.modify_virtual_service(KEY, {"Idletime": "900"})
    assert vs.idle_time == 900
    await settle(mock_control, "modvs", 2)
    # The stalled modvs applies late; modvs sets values, so applying it twice is harmless.
    assert [command for command, _ in commands(mock_control)][:3] == ["addvs", "showvs", "modvs"]
    assert sorted(command for command, _ in commands(mock_control)) == [
        "addvs",
        "modvs",
        "modvs",
        "showvs",
    ]
