"""Command behaviour beyond the basic sequence: identification, defaults, moves, omissions,
backup/restore; plus the in-process appliance and its drain arithmetic with a fake clock."""

from __future__ import annotations

import base64
import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from mock_wire_helpers import RawApi, json_reply, leaf_texts, xml_data, xml_root

from lmctl.mock import MockAppliance
from lmctl.mock.commands import ApiRefusal
from lmctl.mock.control import MockControl, MockControlError
from lmctl.mock.server import MockServerHandle, serve_in_thread

VS = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}
RS = {"rs": "10.0.20.11", "rsport": "443"}


def _fields(dialect: str, reply: httpx.Response) -> dict[str, Any]:
    """The VS of an addvs/modvs/showvs reply, in either dialect."""
    assert reply.status_code == 200, reply.text
    if dialect == "v1":
        return dict(leaf_texts(xml_data(reply.content)))
    return json_reply(reply)


def test_a_new_vs_is_layer_7_and_port_80_gets_the_http_type(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        http = json_reply(api.v2("addvs", {"vs": "10.0.10.20", "port": "80", "prot": "tcp"}))
        other = json_reply(api.v2("addvs", VS))
    assert (http["Layer"], http["ForceL7"], http["ForceL4"]) == (7, True, False)
    assert (http["VStype"], http["CheckType"]) == ("http", "http")
    assert (other["Layer"], other["ForceL7"], other["ForceL4"]) == (7, True, False)
    assert (other["VStype"], other["CheckType"]) == ("gen", "tcp")
    for shown in (http, other):
        assert (shown["Idletime"], shown["SubnetOriginating"], shown["Transparent"]) == (
            660,
            True,
            False,
        )
        assert (shown["Status"], shown["Schedule"], shown["PersistTimeout"]) == ("Down", "rr", "0")
        for optional in ("NickName", "Persist", "CheckUrl", "ExtraPorts", "ErrorUrl", "Rs"):
            assert optional not in shown


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_the_layer_follows_forcel4_and_forcel7_in_any_letter_case(
    mock_server: MockServerHandle, dialect: str
) -> None:
    def layer(reply: httpx.Response) -> tuple[int, bool, bool]:
        shown = _fields(dialect, reply)
        flag = {"Y": True, "N": False, True: True, False: False}
        return int(shown["Layer"]), flag[shown["ForceL4"]], flag[shown["ForceL7"]]

    with RawApi(mock_server) as api:
        added = api.call(dialect, "addvs", {**VS, "VStype": "http", "FORCEL4": "1"})
        to_7 = api.call(dialect, "modvs", {**VS, "forceL7": "y"})
        to_4 = api.call(dialect, "modvs", {**VS, "forcel7": "0"})
        back = api.call(dialect, "modvs", {**VS, "ForceL4": "N"})
        both = api.call(dialect, "modvs", {**VS, "ForceL4": "1", "ForceL7": "1"})
        shown = api.call(dialect, "showvs", VS)
    l4, l7 = (4, True, False), (7, False, True)
    assert [layer(reply) for reply in (added, to_7, to_4, back, both)] == [l4, l7, l4, l7, l4]
    # The service type is a setting of its own: the layer never changes it.
    assert _fields(dialect, shown)["VStype"] == "http"


def test_optional_elements_disappear_when_unset(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        api.v1(
            "addvs", {**VS, "NickName": "owa", "Persist": "src", "CheckUrl": "/owa/healthcheck.htm"}
        )
        cleared = api.v1("modvs", {**VS, "nickname": "", "PERSIST": "none", "checkurl": ""})
    tags = leaf_texts(xml_data(cleared.content))
    assert not {"NickName", "Persist", "CheckUrl"} & set(tags)


def test_vs_by_index_wildcard_port_extra_ports_and_unknown_parameters(
    mock_server: MockServerHandle,
) -> None:
    wildcard = {"vs": "10.0.10.30", "port": "*", "prot": "tcp"}
    with RawApi(mock_server) as api:
        added = json_reply(
            api.v2("addvs", {**wildcard, "ExtraPorts": "8080, 9000-9010", "Frobnicate": "1"})
        )
        by_index = json_reply(api.v2("showvs", {"vs": str(added["Index"])}))
        udp = json_reply(api.v2("addvs", {"vs": "10.0.10.30", "port": "*", "prot": "UDP"}))
    assert added["VSPort"] == "*" and added["ExtraPorts"] == "8080,9000-9010"
    assert "Frobnicate" not in added
    assert by_index["VSAddress"] == "10.0.10.30"
    assert (udp["Protocol"], udp["Index"]) == ("udp", 2)


def test_modvs_moves_a_vs_and_refuses_to_collide(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        api.v2("addvs", {"vs": "10.0.10.21", "port": "443", "prot": "tcp"})
        moved = json_reply(api.v2("modvs", {**VS, "vsaddress": "10.0.10.22", "vsport": "8443"}))
        collision = api.v2(
            "modvs",
            {
                "vs": "10.0.10.22",
                "port": "8443",
                "prot": "tcp",
                "vsaddress": "10.0.10.21",
                "vsport": "443",
            },
        )
        old = api.v2("showvs", VS)
    assert (moved["VSAddress"], moved["VSPort"], moved["Index"]) == ("10.0.10.22", "8443", 1)
    assert collision.status_code == 422
    assert old.status_code == 422


def test_real_server_by_index_options_and_newport(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        added = json_reply(
            api.v2(
                "addrs",
                {**VS, **RS, "weight": "300", "forward": "route", "limit": "50", "critical": "1"},
            )
        )["Rs"][0]
        index = added["RsIndex"]
        api.v1("modrs", {**VS, "rs": f"!{index}", "newport": "8443", "enable": "n"})
        shown = json_reply(api.v2("showrs", {**VS, "rs": f"!{index}"}))["Rs"][0]
        deleted = api.v1("delrs", {**VS, "rs": "10.0.20.11", "rsport": "8443"})
    assert (added["Weight"], added["Forward"], added["Limit"], added["Critical"]) == (
        300,
        "route",
        50,
        True,
    )
    assert (shown["Port"], shown["Enable"], shown["Weight"]) == (8443, False, 300)
    assert deleted.status_code == 200


def test_deleting_a_parent_removes_its_subvs(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        api.v2("modvs", {**VS, "createsubvs": ""})
        api.v2("modvs", {**VS, "createsubvs": ""})
        api.v2("delvs", {"vs": "3"})
        parent = json_reply(api.v2("showvs", VS))
        api.v2("delvs", VS)
        remaining = json_reply(api.v2("listvs"))["VS"]
    assert [row["VSIndex"] for row in parent["SubVS"]] == [2]
    assert parent["NumberOfRSs"] == 1 and parent["MasterVS"] == 1
    assert remaining == []


def test_a_subvs_cannot_have_subvs_and_the_refusal_changes_nothing(
    mock_server: MockServerHandle,
) -> None:
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        api.v2("modvs", {**VS, "createsubvs": ""})
        before = api.v2("listvs").content
        refused = api.v1("modvs", {"vs": "2", "NickName": "renamed", "createsubvs": ""})
        after = api.v2("listvs").content
    assert refused.status_code == 422
    assert "A SubVS cannot have SubVSs" in refused.text
    assert after == before


def test_listvs_timestamp_is_the_last_change(mock_server: MockServerHandle) -> None:
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        stamped = json_reply(api.v2("listvs", {"timestamp": "0"}))
        plain = xml_data(api.v1("listvs").content)
    assert isinstance(stamped["timestamp"], int) and stamped["timestamp"] > 1_700_000_000
    assert list(stamped)[:2] == ["code", "timestamp"]
    assert [child.tag for child in plain] == ["VS"]


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_backup_then_restore_brings_back_the_virtual_services(
    mock_server: MockServerHandle, dialect: str
) -> None:
    with RawApi(mock_server) as api:
        api.v2("addvs", {**VS, "NickName": "lmctl.hq.owa"})
        api.v2("addrs", {**VS, **RS})
        reply = api.call(dialect, "backup")
        if dialect == "v1":
            assert reply.headers["content-type"] == "application/octet-stream"
            backup_file = reply.content
        else:
            backup_file = base64.b64decode(json_reply(reply)["data"])
        api.v2("delvs", VS)
        if dialect == "v1":
            restored = api.client.post(
                "/access/restore",
                params={"type": "2"},
                content=backup_file,
                auth=(mock_server.username, mock_server.password),
            )
        else:
            encoded = base64.b64encode(backup_file).decode()
            restored = api.v2("restore", {"type": "2", "data": encoded})
        shown = json_reply(api.v2("showvs", VS))
    assert json.loads(gzip.decompress(backup_file))["format"] == 1
    assert restored.status_code == 200
    assert shown["NickName"] == "lmctl.hq.owa"
    assert [row["Addr"] for row in shown["Rs"]] == ["10.0.20.11"]
    restore_call = [call for call in mock_server.calls.records() if call.command == "restore"]
    if dialect == "v2":
        # The log keeps the call but not the whole backup file.
        assert restore_call[0].params["data"] == f"<{len(encoded)} characters>"


def test_in_process_appliance_needs_no_server() -> None:
    appliance = MockAppliance()
    appliance.execute("ADDVS", {"VS": "10.0.10.20", "Port": "443", "Prot": "tcp"})
    result = appliance.execute("showvs", {"vs": "1"})
    assert result.data is not None
    assert dict(result.data.fields)["VSAddress"] == "10.0.10.20"
    with pytest.raises(ApiRefusal) as refused:
        appliance.execute("showvs", {"vs": "2"})
    assert (refused.value.status, refused.value.message) == (422, "Unknown VS")


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _activ_conns(appliance: MockAppliance) -> list[int]:
    return [row["active"] for row in appliance.connection_rows()]


def test_drain_is_linear_over_the_drain_time() -> None:
    clock = FakeClock()
    appliance = MockAppliance(clock=clock)
    appliance.execute("addvs", VS)
    appliance.execute("addrs", {**VS, **RS})
    appliance.set_drain_seconds(10)
    appliance.set_connections("10.0.20.11", None, 100)
    appliance.execute("modrs", {**VS, **RS, "enable": "N"})
    seen = []
    for _ in range(4):
        seen.append(_activ_conns(appliance)[0])
        clock.now += 3
    assert seen == [100, 70, 40, 10]
    clock.now += 100
    assert _activ_conns(appliance) == [0]
    # Setting connections on a disabled server restarts its drain from the new count.
    appliance.set_connections("10.0.20.11", 443, 20)
    clock.now += 5
    assert _activ_conns(appliance) == [10]


def test_concurrent_writes_over_https_stay_consistent(mock_server: MockServerHandle) -> None:
    def add_block(block: int) -> list[int]:
        with RawApi(mock_server) as api:
            return [
                api.v2(
                    "addvs", {"vs": f"10.1.{block}.{host}", "port": "443", "prot": "tcp"}
                ).json()["Index"]
                for host in range(1, 16)
            ]

    with ThreadPoolExecutor(max_workers=6) as pool:
        indices = [index for block in pool.map(add_block, range(6)) for index in block]
    with RawApi(mock_server) as api:
        listed = json_reply(api.v2("listvs"))["VS"]
    assert sorted(indices) == list(range(1, 91))
    assert len({vs["VSAddress"] for vs in listed}) == 90


def _refusal(dialect: str, reply: httpx.Response) -> tuple[int, str]:
    """(status, error text) of a refused call; the envelope's status is the HTTP status."""
    if dialect == "v1":
        root = xml_root(reply.content)
        assert (root.get("stat"), root.get("code")) == (str(reply.status_code), "fail")
        return reply.status_code, root.findtext("Error") or ""
    document = json_reply(reply)
    assert (document["code"], document["status"]) == (reply.status_code, "fail")
    return reply.status_code, str(document["message"])


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_a_real_server_outside_the_local_subnets_needs_non_local(
    mock_server: MockServerHandle, mock_control: MockControl, dialect: str
) -> None:
    far = {"rs": "10.30.0.5", "rsport": "443"}
    near = {"rs": "10.10.4.5", "rsport": "443"}
    with RawApi(mock_server) as api:
        api.call(dialect, "addvs", VS)
        api.call(dialect, "addrs", {**VS, **RS})  # added while every address was local
        mock_control.set_local_subnets(["10.10.0.5/16", "fd00:10::/64"])
        refused = api.call(dialect, "addrs", {**VS, **far})
        added_near = api.call(dialect, "addrs", {**VS, **near})
        added_far = api.call(dialect, "addrs", {**VS, **far, "non_local": "1"})
        # Once added with non_local=1 it stays allowed; the one added before the subnets were
        # set needs non_local=1 to be modified, as it would on the appliance.
        far_modified = api.call(dialect, "modrs", {**VS, **far, "weight": "500"})
        old_refused = api.call(dialect, "modrs", {**VS, **RS, "enable": "N"})
        old_modified = api.call(dialect, "modrs", {**VS, **RS, "enable": "N", "non_local": "1"})
        shown = json_reply(api.v2("showvs", VS))
    assert mock_control.local_subnets() == ["10.10.0.0/16", "fd00:10::/64"]
    status, message = _refusal(dialect, refused)
    assert status == 422
    assert message.startswith("Non-local real server 10.30.0.5")
    assert "10.10.0.0/16" in message and "non_local=1" in message
    assert _refusal(dialect, old_refused)[0] == 422
    for reply in (added_near, added_far, far_modified, old_modified):
        assert reply.status_code == 200, reply.text
    assert [(rs["Addr"], rs["Weight"], rs["Enable"]) for rs in shown["Rs"]] == [
        ("10.0.20.11", 1000, False),
        ("10.10.4.5", 1000, True),
        ("10.30.0.5", 500, True),
    ]


def test_local_subnets_are_kept_in_the_state_and_a_reset_goes_back_to_the_start(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "lm.json"
    first = serve_in_thread(state_file=state_file, local_subnets=["10.10.0.0/16"])
    with first, first.control() as control:
        control.set_local_subnets(["10.20.0.0/16"])
        changed = control.local_subnets()
        control.reset()
        after_reset = control.local_subnets()
        control.set_local_subnets(None)
        every = control.local_subnets()
        with pytest.raises(MockControlError, match=r"not a subnet: '10\.300\.0\.0/16'"):
            control.set_local_subnets(["10.300.0.0/16"])
        control.reset()
    with serve_in_thread(state_file=state_file) as again, RawApi(again) as api:
        api.v2("addvs", VS)
        refused = api.v2("addrs", {**VS, "rs": "10.30.0.5", "rsport": "443"})
    assert (changed, after_reset, every) == (["10.20.0.0/16"], ["10.10.0.0/16"], None)
    assert json.loads(state_file.read_text())["local_subnets"] == ["10.10.0.0/16"]
    assert refused.status_code == 422
