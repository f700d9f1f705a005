"""``lmctl import`` of VSs holding what a spec cannot say (issue 13): each is left out with a
reason naming the setting, so that what import writes plans, with adoption, as adoptions only
(the NickName is the one field written)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_import import FQDN, SITE, arrays, import_command, unmarked_state

from lmctl.appliance.changes import AdoptVirtualService
from lmctl.appliance.state import ApplianceState, VirtualServiceState
from lmctl.exchange import expand
from lmctl.importing import ImportOptions, ImportResult, import_state
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.document import plan_appliance
from lmctl.specs import ArraySpec
from mock_site import APPLIANCE, Site

VIP = "10.10.1.50"


def hand_built(release: str, services: list[str], **more: Any) -> ApplianceState:
    """What an admin built by hand for one array on ``VIP``: lmctl's own settings, no marker."""
    document: dict[str, Any] = {
        "name": "hq",
        "site": SITE,
        "exchange": release,
        "fqdn": FQDN,
        "vip": VIP,
        "appliance": "lm-hq",
        "scheduling": "lc",
        "members": [
            {"name": "CAS1", "address": "10.10.1.11", "weight": 2000},
            {"name": "CAS2", "address": "10.10.1.12"},
        ],
        "services": services,
        **more,
    }
    return unmarked_state(expand(ArraySpec.model_validate(document)))


Deviation = Callable[[VirtualServiceState], VirtualServiceState]


def settings_of(**update: Any) -> Deviation:
    return lambda vs: replace(vs, settings=vs.settings.model_copy(update=update))


def first_server(**update: Any) -> Deviation:
    def deviated(vs: VirtualServiceState) -> VirtualServiceState:
        if not vs.real_servers:
            return vs
        first, *others = vs.real_servers
        return replace(vs, real_servers=(replace(first, **update), *others))

    return deviated


def imported(state: ApplianceState, release: str) -> ImportResult:
    options = ImportOptions(appliance="lm-hq", vips=(VIP,), site=SITE, exchange=release, fqdn=FQDN)
    return import_state(state, options)


def assert_adoptions_only(result: ImportResult, state: ApplianceState) -> None:
    """Each array written plans, with adoption, as one NickName write per VS it takes."""
    taken = {key for array in result.arrays for key in array.keys}
    assert taken | {s.key for s in result.skipped} == set(state)
    for array in result.arrays:
        spec = ArraySpec.model_validate(array.document)
        planned = plan_appliance("lm-hq", expand(spec), state, adopting=(spec.name,))
        assert planned.conflicts == ()
        assert {change.key for change in planned.changes} == set(array.keys)
        for change in planned.changes:
            assert isinstance(change, AdoptVirtualService), change
            assert [f.field for f in change.fields] == ["nickname"], change


CASES: list[tuple[str, str, list[str], dict[str, Any], str, Deviation, str]] = [
    # (case, release, services, spec extras, port deviated, deviation, text of the reason)
    ("own scheduling", "2016 CU23", ["https", "pop3s"], {}, "995", settings_of(schedule="rr"),
     "Schedule: rr → lc"),
    ("redirect elsewhere", "2016 CU23", ["https", "http-redirect"], {}, "80",
     settings_of(error_code=301, error_url="https://mail.corp.example.com/owa"),
     "ErrorCode: 301 → 302; ErrorUrl: https://mail.corp.example.com/owa → https://%h%s"),
    ("own weight", "2016 CU23", ["https", "imap4"], {}, "143", first_server(weight=10),
     "real server 10.10.1.11:143 weight: 10 → 2000"),
    ("forward route", "2016 CU23", ["https"], {}, "443", first_server(forward="route"),
     "real server 10.10.1.11:443 forward: route → nat"),
    ("VStype http", "2016 CU23", ["https", "smtp"], {}, "443", settings_of(vs_type="http"),
     "VStype: http → gen"),
    ("subnet originating off", "2016 CU23", ["https", "smtp"], {}, "443",
     settings_of(subnet_originating=False), "SubnetOriginating: N → Y"),
    ("real server on another port", "2016 CU23", ["https", "smtp"], {}, "443",
     first_server(port=8443), "real server 10.10.1.11:8443 port: 8443 → 443"),
    ("disabled VS", "2016 CU23", ["https", "smtp"], {}, "25", settings_of(enable=False),
     "Enable: N → Y"),
    ("wildcard rpc probing each port", "2010 SP3", ["rpc", "https"], {}, "*",
     settings_of(check_port=0), "CheckPort: 0 → 135"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("release", "services", "extras", "port", "deviation", "reason"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_vs_holding_what_a_spec_cannot_say_is_skipped_naming_the_setting(
    release: str,
    services: list[str],
    extras: dict[str, Any],
    port: str,
    deviation: Deviation,
    reason: str,
) -> None:
    state = hand_built(release, services, **extras)
    key = VirtualServiceKey(address=VIP, port=port, protocol="tcp")
    state[key] = deviation(state[key])

    result = imported(state, release)

    (skipped,) = [s for s in result.skipped if s.key == key]
    assert skipped.reason.startswith("it holds what a spec cannot say (adopting it would change: ")
    assert reason in skipped.reason
    assert "; lmctl leaves it as it is: set " in skipped.reason
    assert skipped.reason.endswith(
        " on the appliance and import again, or add the service to the spec and let the plan "
        "change it"
    )
    assert key not in {k for array in result.arrays for k in array.keys}
    assert_adoptions_only(result, state)


def test_what_an_override_can_hold_is_written_as_one_and_nothing_is_skipped() -> None:
    state = hand_built("2016 CU23", ["https", "smtp"])
    https = VirtualServiceKey(address=VIP, port="443", protocol="tcp")
    state[https] = settings_of(idle_time=1234, persist="src", persist_timeout=900)(state[https])

    result = imported(state, "2016 CU23")

    assert result.skipped == ()
    (array,) = result.arrays
    assert array.document["overrides"]["https"] == {
        "persistence": "src",
        "persistence_timeout": 900,
        "idle_timeout": 1234,
    }
    assert_adoptions_only(result, state)


DEVIATIONS: list[Deviation] = [
    settings_of(schedule="wrr"),
    settings_of(enable=False),
    settings_of(vs_type="http"),
    settings_of(check_port=0),
    settings_of(error_code=301),
    settings_of(idle_time=77),
    settings_of(persist="src", persist_timeout=60),
    first_server(forward="route"),
    first_server(weight=7),
    first_server(port=4443),
]


@settings(max_examples=40, deadline=None)
@given(array=arrays(), data=st.data())
def test_whatever_a_hand_built_vs_holds_import_then_adopt_writes_only_the_marker(
    array: ArraySpec, data: st.DataObject
) -> None:
    state = unmarked_state(expand(array))
    for key in data.draw(st.lists(st.sampled_from(sorted(state, key=str)), unique=True)):
        state[key] = data.draw(st.sampled_from(DEVIATIONS))(state[key])

    result = imported(state, str(array.exchange))

    assert_adoptions_only(result, state)


def test_import_over_https_skips_what_it_cannot_hold_and_the_adoption_writes_only_marks(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = Site.open(tmp_path, mock_server, monkeypatch)
    https = VirtualServiceKey(address="10.1.5.50", port="443", protocol="tcp")
    smtp = VirtualServiceKey(address="10.1.5.50", port="25", protocol="tcp")
    check = {"CheckType": "https", "CheckUrl": "/owa/healthcheck.htm", "Idletime": "1800"}
    site.raw(
        [
            ("add_virtual_service", (https,), {"params": {"NickName": "Exchange-HTTPS", **check}}),
            ("add_real_server", (https, "10.1.5.11", 443), {}),
            ("add_virtual_service", (smtp,), {"params": {"NickName": "Exchange-SMTP"}}),
            ("add_real_server", (smtp, "10.1.5.11", 25), {"forward": "route"}),
        ]
    )
    mock_control.clear_log()

    result = site.lmctl(
        *import_command(site), "--site", "HQ", "--exchange", "2016 CU23", "--fqdn", FQDN
    )

    assert result.exit_code == 0, result.output
    assert (
        "skipped 10.1.5.50:25/tcp (NickName 'Exchange-SMTP'): it holds what a spec cannot say "
        "(adopting it would change: real server 10.1.5.11:25 forward: route → nat)"
    ) in result.stdout
    planned = site.plan("--adopt", "vip-10-1-5-50", "--format", "json")
    assert planned.exit_code == 2, planned.output
    changes = json.loads(planned.stdout)["appliances"][0]["changes"]
    assert [(c["action"], c["key"]["port"]) for c in changes] == [("adopt_vs", "443")]
    assert [f["field"] for f in changes[0]["fields"]] == ["nickname"]
    mock_control.clear_log()
    assert site.apply("--adopt", "vip-10-1-5-50").exit_code == 0
    assert [c.command for c in mock_control.calls() if c.write] == ["modvs"]
    by_key = {vs.key: vs for vs in site.read()}
    assert by_key[smtp].nickname == "Exchange-SMTP"
    assert site.plan().exit_code == 0
    assert APPLIANCE in (site.arrays_dir / "vip-10-1-5-50.yaml").read_text()
