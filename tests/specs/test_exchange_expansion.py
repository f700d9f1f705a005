"""Expansion of array specs into desired virtual services, with concrete values per version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spec_files import BRANCH_2016, HQ_2010, write_files

from lmctl.appliance.state import owner_of
from lmctl.exchange import DesiredRealServer, DesiredVirtualService, expand, expand_all
from lmctl.loadmaster.models import VirtualServiceKey, settings_params
from lmctl.specs import ArraySpec, load_specs

HQ: dict[str, Any] = {
    "name": "hq-cas",
    "site": "HQ",
    "exchange": "2010 SP3",
    "fqdn": "outlook-hq.corp.example.com",
    "vip": "10.10.1.50",
    "appliance": "lm-hq",
    "rpc_ports": {"client_access": 60000, "address_book": 60001},
    "members": [
        {"name": "HQ-CAS01", "address": "10.10.1.11"},
        {"name": "HQ-CAS02", "address": "10.10.1.12", "weight": 500, "enabled": False},
    ],
}


def array(**changes: Any) -> ArraySpec:
    """The HQ array with ``changes`` applied."""
    return ArraySpec.model_validate({**HQ, **changes})


def by_service(services: tuple[DesiredVirtualService, ...]) -> dict[str, DesiredVirtualService]:
    """Desired virtual services by service name."""
    return {vs.service: vs for vs in services}


def test_exchange_2010_defaults_to_rpc_https_and_redirect() -> None:
    services = expand(array())

    assert [vs.service for vs in services] == ["rpc", "https", "http-redirect"]
    assert {vs.appliance for vs in services} == {"lm-hq"}
    assert {vs.array for vs in services} == {"hq-cas"}


def test_exchange_2010_rpc_takes_135_and_the_static_ports() -> None:
    rpc = by_service(expand(array()))["rpc"]

    assert rpc.key == VirtualServiceKey(address="10.10.1.50", port="135", protocol="tcp")
    assert settings_params(rpc.settings) == {
        "NickName": "lmctl.hq-cas.rpc",
        "Enable": "Y",
        "VStype": "gen",
        "Schedule": "rr",
        "Persist": "src",
        # Above the servers' keep-alive (1800 s) and the Direct Push heartbeat (3540 s).
        "PersistTimeout": "3600",
        "Idletime": "3600",
        "CheckType": "tcp",
        "CheckUrl": "",
        # The static RPC Client Access port: 135 answers while the RPC service is down.
        "CheckPort": "60000",
        "ExtraPorts": "60000,60001",
        "ForceL4": "N",
        "ForceL7": "Y",
        "Transparent": "N",
        "SubnetOriginating": "Y",
        "ErrorCode": "0",
        "ErrorUrl": "",
    }
    assert rpc.real_servers == (
        DesiredRealServer(member="HQ-CAS01", address="10.10.1.11", port=135, weight=1000),
        DesiredRealServer(
            member="HQ-CAS02", address="10.10.1.12", port=135, weight=500, enable=False
        ),
    )


def test_exchange_2010_https_probes_logon_page_with_source_persistence() -> None:
    https = by_service(expand(array()))["https"]

    assert str(https.key) == "10.10.1.50:443/tcp"
    settings = https.settings
    assert (settings.vs_type, settings.persist, settings.persist_timeout) == ("gen", "src", 3600)
    assert (settings.idle_time, settings.check_type) == (3600, "https")
    assert settings.check_url == "/owa/auth/logon.aspx"
    assert [(rs.address, rs.port, rs.forward) for rs in https.real_servers] == [
        ("10.10.1.11", 443, "nat"),
        ("10.10.1.12", 443, "nat"),
    ]


def test_http_redirect_is_a_fixed_302_without_real_servers() -> None:
    redirect = by_service(expand(array()))["http-redirect"]

    assert str(redirect.key) == "10.10.1.50:80/tcp"
    assert redirect.real_servers == ()
    settings = redirect.settings
    assert (settings.vs_type, settings.check_type) == ("http", "none")
    assert (settings.error_code, settings.error_url) == (302, "https://%h%s")
    assert settings.persist is None


def test_2010_without_static_ports_takes_every_port() -> None:
    rpc = by_service(expand(array(rpc_ports=None)))["rpc"]

    assert rpc.key.port == "*"
    assert rpc.settings.extra_ports is None
    assert [rs.port for rs in rpc.real_servers] == [135, 135]


def test_exchange_2016_https_probes_healthcheck_without_persistence() -> None:
    spec = array(exchange="2016 CU23", rpc_ports=None, scheduling="wrr")

    services = by_service(expand(spec))

    assert list(services) == ["https", "http-redirect"]
    https = services["https"]
    assert settings_params(https.settings) == {
        "NickName": "lmctl.hq-cas.https",
        "Enable": "Y",
        "VStype": "gen",
        "Schedule": "wrr",
        "Persist": "none",
        "PersistTimeout": "0",
        "Idletime": "3600",
        "CheckType": "https",
        "CheckUrl": "/owa/healthcheck.htm",
        "CheckPort": "0",
        "ExtraPorts": "",
        "ForceL4": "N",
        "ForceL7": "Y",
        "Transparent": "N",
        "SubnetOriginating": "Y",
        "ErrorCode": "0",
        "ErrorUrl": "",
    }
    # A fixed redirect has no real server to schedule: its Schedule is not managed.
    assert services["http-redirect"].settings.schedule is None


def test_opt_in_mail_services_listen_on_their_ports() -> None:
    spec = array(services=["imap4", "imap4s", "pop3", "pop3s", "smtp"])

    services = by_service(expand(spec))

    assert {name: vs.key.port for name, vs in services.items()} == {
        "imap4": "143",
        "imap4s": "993",
        "pop3": "110",
        "pop3s": "995",
        "smtp": "25",
    }
    assert services["imap4s"].settings.check_type == "tcp"
    assert services["imap4s"].settings.persist is None
    assert (services["smtp"].settings.check_type, services["smtp"].settings.persist) == (
        "smtp",
        "src",
    )
    assert [rs.port for rs in services["pop3s"].real_servers] == [995, 995]


def test_overrides_replace_only_what_they_name() -> None:
    spec = array(
        overrides={
            "https": {
                "persistence": "super-src",
                "persistence_timeout": 3600,
                "health_check": {"port": 8443},
                "layer": 7,
            },
            "rpc": {"persistence": "none", "idle_timeout": 86400},
        }
    )

    services = by_service(expand(spec))

    https = services["https"].settings
    # The layer is its own setting: a layer 7 service keeps its service type (gen).
    assert (https.persist, https.persist_timeout, https.layer, https.vs_type) == (
        "super-src",
        3600,
        7,
        "gen",
    )
    assert (https.check_type, https.check_url, https.check_port) == (
        "https",
        "/owa/auth/logon.aspx",
        8443,
    )
    assert https.idle_time == 3600
    rpc = services["rpc"].settings
    assert (rpc.persist, rpc.persist_timeout, rpc.idle_time) == (None, 0, 86400)


def test_persistence_turned_on_without_timeout_uses_the_default() -> None:
    spec = array(exchange="2016 CU23", rpc_ports=None, overrides={"https": {"persistence": "src"}})

    https = by_service(expand(spec))["https"].settings

    assert (https.persist, https.persist_timeout) == ("src", 1800)


def test_timeout_alone_keeps_the_default_persistence_mode() -> None:
    spec = array(overrides={"https": {"persistence_timeout": 600}})

    https = by_service(expand(spec))["https"].settings

    assert (https.persist, https.persist_timeout) == ("src", 600)


def test_every_service_carries_its_ownership_marker() -> None:
    for vs in expand(array(services=["rpc", "https", "http-redirect", "imap4s"])):
        owner = owner_of(vs.settings.nickname)
        assert owner is not None
        assert (owner.array, owner.service) == ("hq-cas", vs.service)


def test_expand_all_groups_by_appliance_in_the_specs_order_including_idle_ones(
    tmp_path: Path,
) -> None:
    inventory = "appliances:\n  lm-hq: {url: 'mock://'}\n  lm-branch: {url: 'mock://'}\n"
    inventory += "  lm-spare: {url: 'mock://spare'}\n"
    write_files(tmp_path, {"appliances.yaml": inventory, "hq.yaml": HQ_2010, "b.yaml": BRANCH_2016})

    desired = expand_all(load_specs([tmp_path]))

    # b.yaml (lm-branch) loads before hq.yaml (lm-hq); lm-spare serves no array.
    assert list(desired) == ["lm-branch", "lm-hq", "lm-spare"]
    assert [str(vs.key) for vs in desired["lm-hq"]] == [
        "10.10.1.50:135/tcp",
        "10.10.1.50:443/tcp",
        "10.10.1.50:80/tcp",
    ]
    assert [vs.settings.nickname for vs in desired["lm-branch"]] == [
        "lmctl.branch-2016.https",
        "lmctl.branch-2016.http-redirect",
    ]
    assert desired["lm-spare"] == ()


def test_expansion_is_pure_and_repeatable() -> None:
    spec = array()

    assert expand(spec) == expand(spec)


def test_a_persistence_timeout_of_zero_is_kept_beside_persistence() -> None:
    spec = array(overrides={"https": {"persistence": "src", "persistence_timeout": 0}})

    https = by_service(expand(spec))["https"].settings

    assert (https.persist, https.persist_timeout) == ("src", 0)
    assert settings_params(https)["PersistTimeout"] == "0"
