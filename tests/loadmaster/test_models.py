"""The models normalise reply rows themselves, in both dialects' shapes."""

from __future__ import annotations

from lmctl.loadmaster.models import (
    SCHEDULING_METHODS,
    Statistics,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceSettings,
    settings_params,
)


def test_a_raw_row_with_single_children_validates_directly() -> None:
    vs = VirtualService.model_validate(
        {
            "Index": "7",
            "VSAddress": "10.0.0.5",
            "VSPort": "*",
            "Enable": "N",
            "Persist": "none",
            "CertFile": "owa2025 owa2026",
            "Rs": {"Addr": "10.0.1.21", "Port": "443", "Enable": "Y", "Weight": ""},
            "SubVS": {"VSIndex": "8", "Name": "ecp"},
            "SomethingNewer": "ignored",
        }
    )
    assert (vs.index, vs.port, vs.enable, vs.persist) == (7, "*", False, None)
    assert vs.cert_files == ("owa2025", "owa2026")
    [rs] = vs.real_servers
    assert (rs.address, rs.port, rs.enable, rs.weight) == ("10.0.1.21", 443, True, 0)
    [sub] = vs.sub_services
    assert (sub.vs_index, sub.name, sub.weight) == (8, "ecp", 1000)


def test_v2_lists_and_booleans_give_the_same_model() -> None:
    vs = VirtualService.model_validate(
        {
            "Index": 7,
            "VSAddress": "10.0.0.5",
            "VSPort": "443",
            "Protocol": "TCP",
            "Enable": False,
            "CertFile": ["owa2025"],
            "Rs": [],
        }
    )
    assert (vs.enable, vs.cert_files, vs.real_servers) == (False, ("owa2025",), ())
    assert str(vs.key) == "10.0.0.5:443/tcp"


def test_statistics_take_one_row_or_many_in_either_spelling() -> None:
    one = Statistics.model_validate(
        {
            "Vs": {"Index": "1", "ActiveConns": "4"},
            "Rs": {"VSIndex": "1", "Addr": "10.0.1.21", "Port": "443", "ActivConns": "9"},
        }
    )
    assert one.virtual_services[0].active_conns == 4
    assert one.active_connections(1, "10.0.1.21", 443) == 9
    assert one.active_connections(2, "10.0.1.21", 443) == 0
    many = Statistics.model_validate(
        {"RS": [{"VSIndex": 1, "Addr": "a", "Port": 1}, {"VSIndex": 2, "Addr": "b", "Port": 2}]}
    )
    assert [row.vs_index for row in many.real_servers] == [1, 2]
    assert many.virtual_services == ()


def test_unset_persistence_is_written_as_none_other_unset_texts_as_empty() -> None:
    settings = VirtualServiceSettings(nickname=None, persist=None, check_url=None)
    params = settings_params(settings, ["nickname", "persist", "check_url", "enable"])
    assert params == {"NickName": "", "Persist": "none", "CheckUrl": "", "Enable": "Y"}
    assert settings_params(VirtualServiceSettings(persist="src"), ["persist"]) == {"Persist": "src"}


def test_scheduling_methods_are_the_literal_values() -> None:
    assert SCHEDULING_METHODS == ("rr", "wrr", "lc", "wlc", "fixed", "adaptive", "sh")


def test_an_ipv6_virtual_service_key_reads_unambiguously() -> None:
    assert str(VirtualServiceKey(address="2001:db8::10", port="443")) == "[2001:db8::10]:443/tcp"
    assert str(VirtualServiceKey(address="10.0.0.1", port="*", protocol="udp")) == "10.0.0.1:*/udp"
