"""The health marks of ``MockAppliance`` that ``lmctl mock health`` takes off again: the mark of
exactly one key, every mark of one address, every mark; and what decides each check of an
address (``health_checks``), which the command names when a mark has no effect."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmctl.mock import MockAppliance
from lmctl.mock.appliance import HealthCheck
from lmctl.mock.commands import ApiRefusal
from lmctl.mock.persistence import StateStore

EWS = "/ews/healthcheck.htm"
OWA = "/owa/healthcheck.htm"
SERVER = "10.0.20.11"


def _appliance(store: StateStore | None = None) -> MockAppliance:
    """A VS on 443 whose SubVSs check ``/owa`` and ``/ews`` on 443, and a VS on 135 without a
    URL whose check probes port 6001: each with ``SERVER`` as its real server."""
    appliance = MockAppliance(store=store)
    https = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}
    appliance.execute("addvs", https)
    for index, url in (("2", OWA), ("3", EWS)):
        appliance.execute("modvs", {**https, "createsubvs": ""})
        appliance.execute("modvs", {"vs": index, "CheckUrl": url})
        appliance.execute("addrs", {"vs": index, "rs": SERVER, "rsport": "443"})
    rpc = {"vs": "10.0.10.20", "port": "135", "prot": "tcp"}
    appliance.execute("addvs", {**rpc, "CheckPort": "6001"})
    appliance.execute("addrs", {**rpc, "rs": SERVER, "rsport": "135"})
    return appliance


def _statuses(appliance: MockAppliance) -> dict[str, str]:
    """Each check of ``SERVER`` by its URL (``-`` for none) → Up/Down."""
    return {check.url or "-": check.status for check in appliance.health_checks(SERVER)}


def test_health_checks_say_what_each_check_probes_and_which_mark_decides_it() -> None:
    appliance = _appliance()
    appliance.mark_health(SERVER, None, "Down")
    appliance.mark_health(SERVER, None, "Up", EWS)
    assert appliance.health_checks(SERVER) == [
        HealthCheck(
            vs_index=2,
            port=443,
            url=OWA,
            keys=(f"{SERVER}:443 {OWA}", f"{SERVER} {OWA}", f"{SERVER}:443", SERVER),
            mark=SERVER,
            status="Down",
        ),
        HealthCheck(
            vs_index=3,
            port=443,
            url=EWS,
            keys=(f"{SERVER}:443 {EWS}", f"{SERVER} {EWS}", f"{SERVER}:443", SERVER),
            mark=f"{SERVER} {EWS}",
            status="Up",
        ),
        HealthCheck(
            vs_index=4,
            port=6001,
            url=None,
            keys=(f"{SERVER}:6001", SERVER),
            mark=SERVER,
            status="Down",
        ),
    ]
    assert appliance.health_checks("10.0.20.99") == []


def test_removing_a_mark_takes_off_exactly_that_key_and_the_next_mark_decides() -> None:
    appliance = _appliance()
    appliance.mark_health(SERVER, None, "Down")
    appliance.mark_health(SERVER, None, "Up", EWS)
    appliance.mark_health(SERVER, 443, "Down", EWS)
    assert appliance.remove_health_mark(SERVER, None, EWS) == "Up"
    assert appliance.health_marks() == {SERVER: "Down", f"{SERVER}:443 {EWS}": "Down"}
    assert appliance.remove_health_mark(SERVER, 443, EWS) == "Down"
    assert appliance.health_marks() == {SERVER: "Down"}
    assert _statuses(appliance) == {OWA: "Down", EWS: "Down", "-": "Down"}
    # No mark of that key: nothing removed, however close another one is.
    assert appliance.remove_health_mark(SERVER, 443) is None
    assert appliance.remove_health_mark(SERVER, None, "/EWS/healthcheck.htm") is None
    assert appliance.remove_health_mark(SERVER, None) == "Down"
    assert appliance.health_marks() == {}
    assert _statuses(appliance) == {OWA: "Up", EWS: "Up", "-": "Up"}


def test_a_removal_is_saved_and_one_that_removes_nothing_writes_nothing(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "mock.json")
    _appliance(store).mark_health(SERVER, None, "Down", EWS)
    reloaded = MockAppliance(store=store)
    assert reloaded.remove_health_mark(SERVER, None, EWS) == "Down"
    assert MockAppliance(store=store).health_marks() == {}
    store.path.unlink()
    assert reloaded.remove_health_mark(SERVER, None, EWS) is None
    assert reloaded.clear_health_marks() == {}
    assert not store.path.exists()


def test_clearing_an_address_takes_off_its_marks_of_every_port_and_url_only() -> None:
    appliance = _appliance()
    for address, port, url in [
        (SERVER, None, None),
        (SERVER, 443, None),
        (SERVER, None, EWS),
        (SERVER, 6001, OWA),
        ("10.0.20.1", None, None),  # a prefix of SERVER's text: another server
        ("10.0.20.1", 11, None),  # "10.0.20.1:11" is no mark of 10.0.20.11 either
        ("2001:db8::11", 443, None),
    ]:
        appliance.mark_health(address, port, "Down", url)
    marks_of_server = {
        SERVER: "Down",
        f"{SERVER}:443": "Down",
        f"{SERVER} {EWS}": "Down",
        f"{SERVER}:6001 {OWA}": "Down",
    }
    assert appliance.health_marks(SERVER) == marks_of_server
    assert appliance.clear_health_marks(SERVER) == marks_of_server
    assert appliance.health_marks(SERVER) == {}
    assert appliance.health_marks() == {
        "10.0.20.1": "Down",
        "10.0.20.1:11": "Down",
        "2001:db8::11:443": "Down",
    }
    assert appliance.clear_health_marks("2001:db8:0::11") == {"2001:db8::11:443": "Down"}
    assert appliance.clear_health_marks() == {"10.0.20.1": "Down", "10.0.20.1:11": "Down"}
    assert appliance.health_marks() == {}


def test_a_mark_key_is_checked_as_the_control_api_checks_it() -> None:
    assert MockAppliance.health_mark_key("2001:DB8::11", 443, EWS) == f"2001:db8::11:443 {EWS}"
    for arguments in (("10.0.20.999", None, None), (SERVER, 0, None), (SERVER, None, "ews")):
        with pytest.raises(ApiRefusal):
            MockAppliance.health_mark_key(*arguments)
