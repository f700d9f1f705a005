"""Requests exactly as public LoadMaster clients form them, over HTTPS against the served mock.

Each test names the client code it reproduces:
- Kemp's Python SDK ``python-kemptech-api`` (generic.py ``HttpClient._do_request``: GET
  ``{endpoint}{cmd}?`` with ``requests`` params, endpoint ``https://user:pw@host:port/access``
  from models.py; objects.py ``VirtualService``/``RealServer``; models.py ``restore_backup``);
- the Go client ``mathlu/loadmaster-go-client`` (client.go ``newRequest``: v1 GET with
  ``qs.Marshal``'d query and optional Basic auth, v2 POST ``/accessv2`` with ``json.Marshal``'d
  structs and no Content-Type; rs.go, vs.go for the fields).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from mock_wire_helpers import RawApi, json_reply, leaf_texts, xml_data, xml_root

from lmctl.mock.server import MockServerHandle

VS = {"vs": "10.0.10.20", "port": "443", "prot": "tcp"}


@pytest.fixture
def api(mock_server: MockServerHandle) -> Iterator[RawApi]:
    """A raw caller of the reset mock with one VS (Index 1)."""
    with RawApi(mock_server) as raw:
        assert raw.v1("addvs", VS).status_code == 200
        yield raw


def _go_v2(api: RawApi, body: dict[str, Any]) -> dict[str, Any]:
    """What loadmaster-go-client's v2 ``newRequest`` sends: JSON bytes, no Content-Type."""
    reply = api.client.post("/accessv2", content=json.dumps(body).encode())
    assert "content-type" not in reply.request.headers
    assert reply.status_code == 200, reply.text
    return json_reply(reply)


def _rs_index(api: RawApi, address: str) -> int:
    rows = json_reply(api.v2("showvs", {"vs": "1"}))["Rs"]
    return int(next(row["RsIndex"] for row in rows if row["Addr"] == address))


# --- mathlu/loadmaster-go-client ------------------------------------------------------------


def test_go_v1_empty_apikey_with_basic_auth_is_accepted(api: RawApi) -> None:
    # rs.go CreateRs: `ApiKey string qs:"apikey"` (no omitempty) + SetBasicAuth in client.go.
    handle = api.handle
    reply = api.client.get(
        "/access/addrs?apikey=&vs=1&rs=10.0.20.11&rsport=443",
        auth=(handle.username, handle.password),
    )
    wrong = api.client.get("/access/listvs?apikey=", auth=(handle.username, handle.password + "x"))
    assert reply.status_code == 200
    assert leaf_texts(xml_data(reply.content)[0])["Addr"] == "10.0.20.11"
    assert wrong.status_code == 401


def test_go_v1_rs_index_with_bang_plain_and_encoded(api: RawApi) -> None:
    # rs.go GetRs/DeleteRs: `Rsi: "!" + strconv.Itoa(index)` through qs.Marshal.
    key = api.handle.api_key
    api.client.get(f"/access/addrs?apikey={key}&vs=1&rs=10.0.20.11&rsport=443")
    index = _rs_index(api, "10.0.20.11")
    plain = api.client.get(f"/access/showrs?vs=1&apikey={key}&rs=!{index}")
    encoded = api.client.get(f"/access/delrs?vs=1&apikey={key}&rs=%21{index}")
    assert plain.status_code == 200
    assert leaf_texts(xml_data(plain.content)[0])["RsIndex"] == str(index)
    assert encoded.status_code == 200
    assert json_reply(api.v2("showvs", {"vs": "1"}))["NumberOfRSs"] == 0


def test_go_v2_numbers_as_json_numbers_and_empty_newport(api: RawApi) -> None:
    # rs.go CreateRs: `VSIndex int json:"vs"`, `Port int json:"rsport"`;
    # ModifyRs: `NewPort string json:"newport"` sent empty; `ApiKey` empty beside apiuser/apipass.
    handle = api.handle
    login = {"apikey": "", "apiuser": handle.username, "apipass": handle.password}
    added = _go_v2(api, {**login, "cmd": "addrs", "vs": 1, "rs": "10.0.20.11", "rsport": 443})
    index = added["Rs"][0]["RsIndex"]
    modified = _go_v2(api, {**login, "cmd": "modrs", "vs": 1, "rs": f"!{index}", "newport": ""})
    shown = _go_v2(api, {**login, "cmd": "showrs", "vs": 1, "rs": f"!{index}"})
    assert added["Rs"][0]["Port"] == 443
    assert modified == {"code": 200, "message": "Command completed ok", "status": "ok"}
    assert shown["Rs"][0]["Port"] == 443


def test_go_v2_modvs_without_move_and_forcel4(api: RawApi) -> None:
    # vs.go ModifyVs: `vsaddress`, `port` and `vsport` (int, 0 when unset) always sent in JSON;
    # `ForceL4`/`ForceL7` ints with omitempty, so a layer-4 VS arrives as ForceL4=1 only.
    body = {
        "vs": 1,
        "cmd": "modvs",
        "apikey": api.handle.api_key,
        "vsaddress": "",
        "port": "",
        "vsport": 0,
        "NickName": "owa",
        "VStype": "gen",
        "Enable": "Y",
        "ForceL4": 1,
        "CheckType": "tcp",
    }
    api.v1("modvs", {**VS, "ForceL7": "Y"})
    reply = _go_v2(api, body)
    assert (reply["VSAddress"], reply["VSPort"], reply["NickName"]) == ("10.0.10.20", "443", "owa")
    assert (reply["Layer"], reply["ForceL4"], reply["ForceL7"]) == (4, True, False)


def test_go_v2_addvs_with_forcel7_int(api: RawApi) -> None:
    # vs.go CreateVs: `Enable` "Y", `ForceL7` 1, `VStype`, `prot`.
    body = {
        "apikey": api.handle.api_key,
        "cmd": "addvs",
        "vs": "10.0.10.30",
        "port": "8443",
        "prot": "tcp",
        "NickName": "ecp",
        "VStype": "http",
        "Enable": "Y",
        "ForceL7": 1,
        "CheckType": "https",
        "CheckUrl": "/ecp/healthcheck.htm",
        "CheckPort": "443",
    }
    reply = _go_v2(api, body)
    assert (reply["Layer"], reply["VStype"], reply["CheckUrl"]) == (
        7,
        "http",
        "/ecp/healthcheck.htm",
    )


def test_go_base_url_with_trailing_slash(api: RawApi) -> None:
    # client.go: fmt.Sprintf("%s/accessv2", c.RestUrl) and "%s/access/%s?%s": a RestUrl
    # configured with a trailing "/" yields "//accessv2" and "//access/listvs".
    key, base = api.handle.api_key, api.handle.url + "/"
    v2 = api.client.post(f"{base}/accessv2", json={"cmd": "listvs", "apikey": key})
    v1 = api.client.get(f"{base}/access/listvs/?apikey={key}")
    assert v2.request.url.raw_path == b"//accessv2"
    assert v2.status_code == 200
    assert json_reply(v2)["VS"][0]["VSAddress"] == "10.0.10.20"
    assert v1.status_code == 200
    assert v1.headers["server"] == "lmctl-mock"


# --- KEMPtechnologies python-kemptech-api ---------------------------------------------------


def test_sdk_credentials_in_url_and_trailing_question_mark(mock_server: MockServerHandle) -> None:
    # models.py endpoint "https://{user}:{pw}@{ip}:{port}/access"; generic.py "{endpoint}{cmd}?".
    handle = mock_server
    host = handle.url.removeprefix("https://")
    with RawApi(handle) as api:
        base = f"https://{handle.username}:{handle.password}@{host}/access"
        listed = api.client.get(f"{base}/listvs?")
        added = api.client.get(f"{base}/addvs?", params={"vs": "10.0.10.20", "port": 443})
        version = api.client.get(f"{base}/get?", params={"param": "version"})
    assert listed.status_code == 200
    assert added.status_code == 400  # prot is required on addvs
    assert xml_root(added.content).findtext("Error") == "Missing parameter: prot"
    assert leaf_texts(xml_data(version.content)) == {"version": "7.2.59.0.22007"}


def test_sdk_vs_added_without_force_flags_reads_back_at_layer_7(
    mock_server: MockServerHandle,
) -> None:
    """Kemp's SDK adding a VS as its README shows (``lm.create_virtual_service(ip, port, prot)``,
    a NickName, ``save()``) and reading it back: it sends no force flag, and the VS is layer 7.

    The request form is imitated, not made by the SDK: ``python-kemptech-api`` 0.7.43 (the last
    release) does not install with pip 20.1 or later, because its ``setup.py`` calls pip's
    internal ``parse_requirements`` and reads ``.req``, which pip 20.1 removed; it also declares
    its development tools (sphinx, pylint, tox, nose...) as install requirements. Installed with
    pip 20.0.2 it imports and runs on Python 3.11, and against this mock it sent exactly
    ``GET /access/addvs?vs=10.0.10.20&port=443&prot=tcp&nickname=sdk`` (objects.py
    ``VirtualService.save``: ``_get("/addvs", to_api_dict())``; generic.py ``_do_request``:
    ``{endpoint}{cmd}?`` with credentials in the endpoint and HTTP Basic), then ``showvs`` by the
    Index it read (``_get_base_parameters``: ``{"vs": index}``); it reads the layer from
    ``ForceL7`` (its attribute ``forcel7``), which it got as ``Y``.
    """
    handle = mock_server
    host = handle.url.removeprefix("https://")
    endpoint = f"https://{handle.username}:{handle.password}@{host}/access"
    auth = (handle.username, handle.password)
    with RawApi(handle) as api:
        added = api.client.get(
            f"{endpoint}/addvs?",
            params={"vs": "10.0.10.20", "port": 443, "prot": "tcp", "nickname": "sdk"},
            auth=auth,
        )
        index = leaf_texts(xml_data(added.content))["Index"]
        shown = api.client.get(f"{endpoint}/showvs?", params={"vs": index}, auth=auth)
    assert added.request.url.query == b"vs=10.0.10.20&port=443&prot=tcp&nickname=sdk"
    fields = leaf_texts(xml_data(shown.content))
    assert (fields["NickName"], fields["ForceL7"], fields["Layer"]) == ("sdk", "Y", "7")
    assert fields["ForceL4"] == "N"


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_sdk_echoing_a_vs_reply_back_as_modvs_changes_nothing(api: RawApi, dialect: str) -> None:
    # objects.py VirtualService.update: populate_default_attributes from showvs, then
    # modvs with to_api_dict(), i.e. the appliance's own values sent back as parameters.
    api.v1("modvs", {**VS, "NickName": "owa", "CheckUrl": "/owa/healthcheck.htm"})
    if dialect == "v1":
        shown = leaf_texts(xml_data(api.v1("showvs", VS).content))
    else:
        shown = {
            k: v for k, v in json_reply(api.v2("showvs", VS)).items() if k not in {"code", "status"}
        }
    before = api.v2("showvs", VS).content
    echoed = api.call(dialect, "modvs", {**shown, **VS})
    assert echoed.status_code == 200, echoed.text
    assert api.v2("showvs", VS).content == before


def test_sdk_enable_api_through_the_web_ui_fallback(mock_server: MockServerHandle) -> None:
    # models.py enable_api: access/set?param=enableapi&value=yes; on 404
    # progs/doconfig/enableapi/set/yes then progs/status/logout; then access/get?param=version.
    with RawApi(mock_server) as api:
        auth = (mock_server.username, mock_server.password)
        api.v1("set", {"param": "enableapi", "value": "no"})
        first = api.client.get("/access/set?param=enableapi&value=yes", auth=auth)
        wrong = api.client.get("/progs/doconfig/enableapi/set/yes", auth=("bal", "nope"))
        switched = api.client.get("/progs/doconfig/enableapi/set/yes", auth=auth)
        logout = api.client.get("/progs/status/logout", auth=auth)
        version = api.client.get("/access/get?param=version", auth=auth)
    assert (first.status_code, wrong.status_code) == (404, 401)
    assert (switched.status_code, logout.status_code, version.status_code) == (200, 200, 200)


def test_sdk_real_server_by_vs_index_then_refresh(api: RawApi) -> None:
    # objects.py RealServer: base params vs (the VS Index), rs, rsport; save() then refresh().
    params = {"vs": "1", "rs": "10.0.20.11", "rsport": "443"}
    added = api.v1("addrs", params)
    updated = api.v1(
        "modrs",
        {
            **params,
            "enable": "Y",
            "forward": "nat",
            "weight": "2000",
            "limit": "0",
            "critical": "N",
            "follow": "0",
        },
    )
    refreshed = api.v1("showrs", params)
    assert (added.status_code, updated.status_code) == (200, 200)
    assert leaf_texts(xml_data(refreshed.content)[0])["Weight"] == "2000"


def test_sdk_subvs_created_then_updated_through_its_row(api: RawApi) -> None:
    # objects.py VirtualService.save for a SubVS: showvs, modvs createsubvs=, showvs of the new
    # one; on update, modrs on the parent with rs=!<RsIndex of the SubVS row>, then modvs.
    before = xml_data(api.v1("showvs", {"vs": "1"}).content)
    created = xml_data(api.v1("modvs", {"vs": "1", "createsubvs": ""}).content)
    row = leaf_texts(created.findall("SubVS")[0])
    sub_index = row["VSIndex"]
    update = {"vs": "1", "rs": f"!{row['RsIndex']}", "name": "-", "forward": "nat"}
    update |= {"weight": "2000", "limit": "50", "critical": "Y", "enable": "N"}
    updated = api.v1("modrs", update)
    renamed = api.v1("modvs", {"vs": sub_index, "nickname": "owa-sub"})
    parent = json_reply(api.v2("showvs", {"vs": "1"}))
    assert before.findall("SubVS") == []
    assert updated.status_code == 200
    assert renamed.status_code == 200
    assert parent["SubVS"] == [
        {
            "Status": "Disabled",
            "VSIndex": int(sub_index),
            "RsIndex": int(row["RsIndex"]),
            "Name": "owa-sub",
            "Forward": "nat",
            "Weight": 2000,
            "Limit": 50,
            "Enable": False,
            "Critical": True,
        }
    ]


def test_sdk_restore_posts_the_file_as_the_raw_body(api: RawApi) -> None:
    # models.py restore_backup: _post('/restore', file=..., parameters={"type": 2}): the file is
    # the body (no Content-Type), type in the query.
    saved = api.v1("backup").content
    api.v1("delvs", VS)
    restored = api.client.post(
        "/access/restore",
        params={"type": 2},
        content=saved,
        auth=(api.handle.username, api.handle.password),
    )
    assert restored.status_code == 200
    assert json_reply(api.v2("showvs", VS))["VSAddress"] == "10.0.10.20"


def test_restore_as_kemps_curl_example_sends_it_takes_the_body_as_the_file(api: RawApi) -> None:
    # Kemp's "Backup/Restore Configuration" page: curl -X POST --data-binary "@<file>"
    # ".../restore?type=1"; curl declares such a body a form.
    saved = api.v1("backup").content
    api.v1("delvs", VS)
    restored = api.client.post(
        "/access/restore?type=2",
        content=saved,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(api.handle.username, api.handle.password),
    )
    assert restored.status_code == 200, restored.text
    assert json_reply(api.v2("showvs", VS))["VSAddress"] == "10.0.10.20"


# --- chunked request bodies -----------------------------------------------------------------


def _chunked(body: bytes) -> Iterator[bytes]:
    """A body httpx sends with Transfer-Encoding: chunked (an iterator has no length)."""
    yield body[:7]
    yield body[7:]


def test_chunked_v1_form_v2_json_and_restore_are_read(api: RawApi) -> None:
    handle = api.handle
    auth = (handle.username, handle.password)
    form = b"vs=10.0.10.20&port=443&prot=tcp&rs=10.0.20.11&rsport=443&weight=300"
    v1 = api.client.post(
        "/access/addrs",
        content=_chunked(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=auth,
    )
    document = {"cmd": "showrs", **VS, "rs": "10.0.20.11", "rsport": "443"}
    document["apikey"] = handle.api_key
    v2 = api.client.post("/accessv2", content=_chunked(json.dumps(document).encode()))
    saved = api.v1("backup").content
    api.v1("delvs", VS)
    restore = api.client.post("/access/restore?type=2", content=_chunked(saved), auth=auth)
    assert v1.request.headers["transfer-encoding"] == "chunked"
    assert v1.status_code == 200
    assert json_reply(v2)["Rs"][0]["Weight"] == 300
    assert restore.status_code == 200
    assert json_reply(api.v2("showvs", VS))["NumberOfRSs"] == 1


def test_chunked_v2_restore_with_base64_data(api: RawApi) -> None:
    saved = api.v1("backup").content
    api.v1("delvs", VS)
    body = {"cmd": "restore", "type": 2, "data": base64.b64encode(saved).decode()}
    body["apikey"] = api.handle.api_key
    reply = api.client.post("/accessv2", content=_chunked(json.dumps(body).encode()))
    assert json_reply(reply) == {"code": 200, "message": "Command completed ok", "status": "ok"}
    assert json_reply(api.v2("showvs", VS))["VSAddress"] == "10.0.10.20"
