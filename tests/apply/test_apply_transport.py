"""SMTP is transport, not client access: a 2010 array whose ``smtp`` is served by Hub Transport
servers of its own (``overrides.smtp.members``), with client ``submission`` on 587 and
receive connectors that need the client's address (``transparent: true``), validates, plans
and applies over real HTTPS against the served mock, and the next plan is empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import invoke
from mock_site import APPLIANCE, Site

HUB_2010 = f"""\
name: hq-cas
site: HQ
exchange: 2010 SP3
fqdn: outlook-hq.corp.example.com
vip: 10.10.1.50
appliance: {APPLIANCE}
rpc_ports: {{client_access: 60000, address_book: 60001}}
members:
  - {{name: HQ-CAS01, address: 10.10.1.11}}
  - {{name: HQ-CAS02, address: 10.10.1.12}}
services: [rpc, https, http-redirect, smtp, submission]
overrides:
  smtp:
    transparent: true
    members:
      - {{name: HQ-HUB01, address: 10.10.1.21}}
      - {{name: HQ-HUB02, address: 10.10.1.22}}
"""


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    site = Site.open(tmp_path, mock_server, monkeypatch)
    (site.arrays_dir / "hq-cas.yaml").write_text(HUB_2010)
    return site


def test_smtp_members_of_its_own_and_submission_validate_and_apply(site: Site) -> None:
    validated = invoke("validate", str(site.arrays_dir))
    applied = site.apply()
    replanned = site.plan()

    assert validated.exit_code == 0, validated.output
    # Transparent: the Hub Transport servers must route back through the LoadMaster.
    assert "warning: overrides.smtp.transparent: smtp is transparent (transparent: true)" in (
        validated.output
    )
    assert applied.exit_code == 0, applied.output
    assert replanned.exit_code == 0, replanned.output
    services = {vs.key: vs for vs in site.read()}
    smtp = services[VirtualServiceKey(address="10.10.1.50", port="25")]
    submission = services[VirtualServiceKey(address="10.10.1.50", port="587")]
    https = services[VirtualServiceKey(address="10.10.1.50", port="443")]
    assert [(rs.address, rs.port) for rs in smtp.real_servers] == [
        ("10.10.1.21", 25),
        ("10.10.1.22", 25),
    ]
    assert (smtp.transparent, smtp.layer, smtp.check_type) == (True, 7, "smtp")
    assert [(rs.address, rs.port) for rs in submission.real_servers] == [
        ("10.10.1.11", 587),
        ("10.10.1.12", 587),
    ]
    assert (submission.transparent, submission.subnet_originating) == (False, True)
    assert [rs.address for rs in https.real_servers] == ["10.10.1.11", "10.10.1.12"]


def test_a_hub_server_may_serve_smtp_beside_a_cas_array_of_another_site(site: Site) -> None:
    # The one-array-per-server rule is the CAS array's: transport members are not CAS members.
    branch = (
        HUB_2010.replace("name: hq-cas", "name: branch-cas")
        .replace("site: HQ", "site: Branch")
        .replace("outlook-hq", "outlook-branch")
        .replace("10.10.1.50", "10.10.9.50")
        .replace("HQ-CAS0", "BR-CAS0")
        .replace("10.10.1.1", "10.10.9.1")
    )
    (site.arrays_dir / "branch-cas.yaml").write_text(branch)

    validated = invoke("validate", str(site.arrays_dir))

    assert validated.exit_code == 0, validated.output
