"""Content rules, their assignment to SubVSs, certificates and per-URL health on the mock, raw over
HTTPS in both dialects (the commands and shapes are the programmer guide's; see docs/mock.md)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from mock_wire_helpers import RawApi, json_reply, leaf_texts, xml_data

from lmctl.mock import MockAppliance
from lmctl.mock.control import MockControl
from lmctl.mock.persistence import state_from_json, state_to_json
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import certificate_pem

VS = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}


def _rule_v1(reply: httpx.Response) -> dict[str, str]:
    assert reply.status_code == 200, reply.text
    rule = xml_data(reply.content).find("MatchContentRule")
    assert rule is not None
    return leaf_texts(rule)


def test_addrule_modrule_showrule_delrule_as_the_programmer_guide_shows(
    mock_server: MockServerHandle,
) -> None:
    with RawApi(mock_server) as api:
        added = _rule_v1(api.v1("addrule", {"name": "contentrule", "pattern": "pattern"}))
        modified = _rule_v1(
            api.v1(
                "modrule",
                {"name": "contentrule", "pattern": "/ews/", "matchtype": "prefix", "nocase": "Y"},
            )
        )
        shown = json_reply(api.v2("showrule", {"name": "contentrule"}))["MatchContentRule"]
        duplicate = api.v1("addrule", {"name": "contentrule", "pattern": "x"})
        deleted = api.v1("delrule", {"name": "contentrule"})
        unknown = api.v1("showrule", {"name": "contentrule"})
    assert added == {
        "Name": "contentrule",
        "Pattern": "pattern",
        "MatchType": "Regex",
        "AddHost": "N",
        "Negate": "N",
        "CaseIndependent": "N",
        "IncludeQuery": "N",
        "Header": "",
        "MustFail": "N",
    }
    assert (modified["MatchType"], modified["CaseIndependent"]) == ("prefix", "Y")
    assert shown == [
        {
            "Name": "contentrule",
            "Pattern": "/ews/",
            "MatchType": "prefix",
            "AddHost": False,
            "Negate": False,
            "CaseIndependent": True,
            "IncludeQuery": False,
            "Header": "",
            "MustFail": False,
        }
    ]
    assert duplicate.status_code == 422
    assert deleted.status_code == 200
    assert unknown.status_code == 422


def _subvs_with_rule(api: RawApi, dialect: str) -> dict[str, Any]:
    api.v2("addvs", VS)
    api.v2("modvs", {**VS, "createsubvs": ""})
    parent = json_reply(api.v2("showvs", VS))
    row: dict[str, Any] = parent["SubVS"][0]
    api.v2("addrule", {"name": "lmctl.mail.ews", "pattern": "/ews/", "matchtype": "prefix"})
    reply = api.call(
        dialect, "addrsrule", {**VS, "rs": f"!{row['RsIndex']}", "rule": "lmctl.mail.ews"}
    )
    assert reply.status_code == 200, reply.text
    return row


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_a_rule_assigned_to_a_subvs_shows_on_its_row_and_goes_with_delrule(
    mock_server: MockServerHandle, dialect: str
) -> None:
    with RawApi(mock_server) as api:
        row = _subvs_with_rule(api, dialect)
        again = api.v2("addrsrule", {**VS, "rs": f"!{row['RsIndex']}", "rule": "lmctl.mail.ews"})
        unknown = api.v2("addrsrule", {**VS, "rs": f"!{row['RsIndex']}", "rule": "missing"})
        listed_v1 = xml_data(api.v1("showvs", VS).content)
        listed_v2 = json_reply(api.v2("showvs", VS))["SubVS"][0]
        api.v2("delrule", {"name": "lmctl.mail.ews"})
        after = json_reply(api.v2("showvs", VS))["SubVS"][0]
    assert again.status_code == 422 and unknown.status_code == 422
    assert listed_v2["MatchRules"] == ["lmctl.mail.ews"]
    names = [name.text for name in listed_v1.findall("SubVS/MatchRules/Name")]
    assert names == ["lmctl.mail.ews"]
    assert "MatchRules" not in after


def test_delrsrule_takes_the_rule_off_one_real_server(mock_server: MockServerHandle) -> None:
    rs = {"rs": "10.0.20.11", "rsport": "443"}
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        api.v2("addrs", {**VS, **rs})
        api.v2("addrule", {"name": "owa", "pattern": "/owa/"})
        api.v2("addrsrule", {**VS, **rs, "rule": "owa"})
        assigned = json_reply(api.v2("showrs", {**VS, **rs}))["Rs"][0]
        removed = api.v1("delrsrule", {**VS, **rs, "rule": "owa"})
        again = api.v1("delrsrule", {**VS, **rs, "rule": "owa"})
        after = json_reply(api.v2("showrs", {**VS, **rs}))["Rs"][0]
    assert (assigned["Nrules"], assigned["MatchRules"]) == (1, ["owa"])
    assert removed.status_code == 200 and again.status_code == 422
    assert after["Nrules"] == 0 and "MatchRules" not in after


def test_a_certificate_is_installed_from_the_pem_body_and_named_by_certfile(
    mock_server: MockServerHandle, tmp_path: Path
) -> None:
    pem = certificate_pem(tmp_path)
    auth = (mock_server.username, mock_server.password)
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        unknown = api.v1("modvs", {**VS, "CertFile": "mail-2019", "SSLAcceleration": "Y"})
        added = api.client.post(
            "/access/addcert", params={"cert": "mail-2019"}, content=pem, auth=auth
        )
        again = api.client.post(
            "/access/addcert", params={"cert": "mail-2019"}, content=pem, auth=auth
        )
        replaced = api.v2(
            "addcert",
            {"cert": "mail-2019", "replace": "1", "data": base64.b64encode(pem).decode()},
        )
        no_key = api.client.post(
            "/access/addcert",
            params={"cert": "bare"},
            content=pem.split(b"-----BEGIN PRIVATE")[0],
            auth=auth,
        )
        listed = json_reply(api.v2("listcert"))["cert"]
        assigned = api.v1(
            "modvs", {**VS, "CertFile": "mail-2019", "SSLAcceleration": "Y", "SSLReencrypt": "Y"}
        )
        shown = json_reply(api.v2("showvs", VS))
        deleted = api.v1("delcert", {"cert": "mail-2019"})
        listed_after = json_reply(api.v2("listcert"))["cert"]
    assert unknown.status_code == 422 and "Unknown certificate" in unknown.text
    assert added.status_code == 200 and replaced.status_code == 200
    assert again.status_code == 422 and no_key.status_code == 422
    assert [(row["name"], row["type"]) for row in listed] == [("mail-2019", "EC")]
    assert assigned.status_code == 200
    assert (shown["CertFile"], shown["SSLAcceleration"], shown["SSLReencrypt"]) == (
        "mail-2019",
        True,
        True,
    )
    assert deleted.status_code == 200 and listed_after == []


def test_a_certificate_posted_as_curl_posts_it_is_installed(
    mock_server: MockServerHandle, tmp_path: Path
) -> None:
    # ``curl -X POST --data-binary @cert.pem`` (the programmer guide's form) declares a form.
    pem = certificate_pem(tmp_path)
    with RawApi(mock_server) as api:
        added = api.client.post(
            "/access/addcert",
            params={"cert": "mail-2019"},
            content=pem,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=(mock_server.username, mock_server.password),
        )
        listed = json_reply(api.v2("listcert"))["cert"]
    assert added.status_code == 200, added.text
    assert [row["name"] for row in listed] == ["mail-2019"]


def test_a_health_mark_for_one_check_url_downs_the_server_in_that_subvs_only(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    with RawApi(mock_server) as api:
        api.v2("addvs", VS)
        api.v2("modvs", {**VS, "createsubvs": ""})
        api.v2("modvs", {**VS, "createsubvs": ""})
        subs = json_reply(api.v2("showvs", VS))["SubVS"]
        for sub, directory in zip(subs, ("owa", "ews"), strict=True):
            index = str(sub["VSIndex"])
            api.v2("modvs", {"vs": index, "CheckUrl": f"/{directory}/healthcheck.htm"})
            api.v2("addrs", {"vs": index, "rs": "10.0.20.11", "rsport": "443"})
        mock_control.mark("10.0.20.11", "Down", url="/ews/healthcheck.htm")
        owa, ews = (json_reply(api.v2("showvs", {"vs": str(sub["VSIndex"])})) for sub in subs)
        rows = {row["VSIndex"]: row["Status"] for row in json_reply(api.v2("showvs", VS))["SubVS"]}
    assert owa["Rs"][0]["Status"] == "Up" and ews["Rs"][0]["Status"] == "Down"
    assert rows == {subs[0]["VSIndex"]: "Up", subs[1]["VSIndex"]: "Down"}
    assert mock_control.health_marks() == {"10.0.20.11 /ews/healthcheck.htm": "Down"}


def test_rules_certificates_and_assignments_survive_the_state_file(tmp_path: Path) -> None:
    appliance = MockAppliance()
    appliance.execute("addvs", VS)
    appliance.execute("modvs", {**VS, "createsubvs": ""})
    appliance.execute("addrule", {"name": "ews", "pattern": "/ews/", "nocase": "1"})
    appliance.execute("addrsrule", {**VS, "rs": "!1", "rule": "ews"})
    appliance.execute("addcert", {"cert": "mail"}, certificate_pem(tmp_path))
    saved = state_to_json(state_from_json(appliance.snapshot()))
    assert saved == appliance.snapshot()
    assert [rule["name"] for rule in saved["rules"]] == ["ews"]
    assert [cert["name"] for cert in saved["certificates"]] == ["mail"]
    assert [service["row_rules"] for service in saved["services"]] == [[], ["ews"]]


def test_the_call_log_never_shows_the_uploaded_private_key(
    mock_server: MockServerHandle, mock_control: MockControl, tmp_path: Path
) -> None:
    pem = certificate_pem(tmp_path)
    encoded = base64.b64encode(pem).decode()
    with RawApi(mock_server) as api:
        reply = api.v2("addcert", {"cert": "mail", "data": encoded, "password": "secret"})
    assert reply.status_code == 200, reply.text
    [logged] = [call.params for call in mock_control.calls() if call.command == "addcert"]
    assert logged["data"] == f"<{len(encoded)} characters>" and logged["password"] == "***"
    assert "PRIVATE KEY" not in str(mock_control.calls())
