"""``lmctl import`` against ``lmctl mock serve`` run as a real process over HTTPS on loopback
(issue 13, "Done when"): the round trip (hand-built VSs, import, ``plan --adopt`` holds only
adoptions, apply writes once per VS, the next plan is empty), the real captures served with
``--seed-listvs`` (a spec or a skip with a reason for each VS, no write), and hand-built
NickNames with spaces (as Kemp's templates name VSs) taken over."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_import import FQDN, SITE, hand_build, import_command

from lmctl.exchange import expand
from lmctl.mock.control import MockControl
from lmctl.specs import ArraySpec
from lmctl_testkit import Outcome, ServedProcess, served_mock
from mock_site import APPLIANCE, Site

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "loadmaster"

HQ_2010 = ArraySpec.model_validate(
    {
        "name": "hq",
        "site": SITE,
        "exchange": "2010 SP3",
        "fqdn": FQDN,
        "vip": "10.10.1.50",
        "appliance": APPLIANCE,
        "scheduling": "wlc",
        "rpc_ports": {"client_access": 60000, "address_book": 60001},
        "members": [
            {"name": "CAS1", "address": "10.10.1.11", "weight": 3000},
            {"name": "CAS2", "address": "10.10.1.12"},
        ],
        "services": ["rpc", "https", "http-redirect", "imap4s", "smtp"],
        "overrides": {
            "https": {"idle_timeout": 1200, "persistence": "src", "persistence_timeout": 7200},
            "imap4s": {"layer": 4},
            "smtp": {"members": [{"name": "HUB1", "address": "10.10.2.11"}]},
        },
    }
)


@pytest.fixture
def control() -> Iterator[tuple[ServedProcess, MockControl]]:
    with served_mock() as served, served.control() as control:
        yield served, control


def writes(control: MockControl) -> list[str]:
    return [call.command for call in control.calls() if call.write]


def imported(site: Site, *more: str) -> Outcome:
    return site.lmctl(*import_command(site), "--format", "json", *more)


def round_trip(site: Site, control: MockControl, count: int) -> list[dict[str, Any]]:
    """Import every VIP, then plan with adoption (only adoptions, writing the NickName alone),
    apply (one write per VS), plan again (empty); the adoptions planned."""
    written = imported(site, "--site", SITE, "--exchange", "2010 SP3", "--fqdn", FQDN)
    assert written.exit_code == 0, written.output
    (array,) = json.loads(written.stdout)["written"]
    planned = site.plan("--adopt", array["array"], "--format", "json")
    assert planned.exit_code == 2, planned.output
    changes: list[dict[str, Any]] = json.loads(planned.stdout)["appliances"][0]["changes"]
    assert [(c["action"], [f["field"] for f in c["fields"]]) for c in changes] == [
        ("adopt_vs", ["nickname"])
    ] * count
    control.clear_log()
    applied = site.apply("--adopt", array["array"])
    assert applied.exit_code == 0, applied.output
    assert writes(control) == ["modvs"] * count
    assert site.plan().exit_code == 0
    return changes


def test_hand_built_vss_round_trip_through_import_and_adoption_against_lmctl_mock_serve(
    tmp_path: Path, control: tuple[ServedProcess, MockControl], monkeypatch: pytest.MonkeyPatch
) -> None:
    served, mock = control
    site = Site.open(tmp_path, served, monkeypatch)
    asyncio.run(hand_build(site.connection(), expand(HQ_2010)))

    round_trip(site, mock, len(HQ_2010.enabled_services))


def test_hand_built_nicknames_with_spaces_are_served_imported_and_adopted(
    tmp_path: Path, control: tuple[ServedProcess, MockControl], monkeypatch: pytest.MonkeyPatch
) -> None:
    built, _ = control
    # The VSs as an admin built them, read back as the appliance lists them, renamed the way
    # Kemp's Exchange templates name VSs ('Exchange 2010 HTTPS'), which addvs/modvs refuse.
    (tmp_path / "built").mkdir()
    asyncio.run(
        hand_build(Site.open(tmp_path / "built", built, monkeypatch).connection(), expand(HQ_2010))
    )
    assert built.ca_file is not None
    listed = httpx.get(
        f"{built.url}/access/listvs",
        auth=(built.username, built.password),
        verify=ssl.create_default_context(cafile=built.ca_file),
    ).text
    for service in HQ_2010.enabled_services:
        listed = listed.replace(f"Exch-{service}<", f"Exchange 2010 {service.upper()}<")
    capture = tmp_path / "listvs.xml"
    capture.write_text(listed, encoding="iso-8859-1")

    with served_mock("--seed-listvs", str(capture)) as served, served.control() as seeded:
        (tmp_path / "seeded").mkdir()
        changes = round_trip(
            Site.open(tmp_path / "seeded", served, monkeypatch),
            seeded,
            len(HQ_2010.enabled_services),
        )

    nicknames = {c["service"]: c["fields"][0]["old"] for c in changes}
    assert nicknames["https"] == "Exchange 2010 HTTPS"
    assert nicknames["http-redirect"] == "Exchange 2010 HTTP-REDIRECT"


CAPTURES = {
    "fw7.1-listvs-subvs.xml": {
        "10.154.0.11:80/tcp": "it has SubVSs (a layer 7 VS per virtual directory)",
        "10.154.0.12:80/tcp": "it has SubVSs (a layer 7 VS per virtual directory)",
    },
    "fw7.2.5x-listvs.xml": {"192.168.1.222:80/tcp": "port 80 that is no fixed redirect"},
    "fw7.2.5x-listvs.json": {"192.168.1.239:80/tcp": "port 80 that is no fixed redirect"},
}


@pytest.mark.parametrize("name", sorted(CAPTURES))
@pytest.mark.parametrize("exchange", [None, "2016 CU23"])
def test_real_captures_served_by_lmctl_mock_serve_are_imported_or_skipped_without_a_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, exchange: str | None
) -> None:
    with served_mock("--seed-listvs", str(FIXTURES / name)) as served, served.control() as mock:
        site = Site.open(tmp_path, served, monkeypatch)
        more = ["--exchange", exchange] if exchange else []
        vips = sorted({key.split(":")[0] for key in CAPTURES[name]})

        for named in ([], [part for vip in vips for part in ("--vip", vip)]):
            result = imported(site, *more, *named)

            assert result.exit_code == 0, result.output
            document = json.loads(result.stdout)
            assert document["written"] == []
            skipped = {
                f"{s['key']['address']}:{s['key']['port']}/{s['key']['protocol']}": s["reason"]
                for s in document["skipped"]
            }
            assert skipped.keys() == CAPTURES[name].keys()
            for key, reason in CAPTURES[name].items():
                assert skipped[key].startswith(reason)
        assert [call.command for call in mock.calls()] == ["listvs", "listvs"]
