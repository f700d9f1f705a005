"""The client over ``httpx.MockTransport``: request shapes, error mapping, malformed replies,
read retries, dialect detection, backups. (Writes after ambiguous failures: test_client_writes.)
"""

from __future__ import annotations

import asyncio
import base64
import json

import httpx
import pytest
from loadmaster_fakes import (
    API_KEY,
    PASSWORD,
    ScriptedAppliance,
    capture,
    client,
    connection,
    json_reply,
    xml_reply,
)

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.errors import (
    ApiDisabledError,
    AuthenticationError,
    InvalidOperationError,
    LoadMasterError,
    MalformedReplyError,
    MissingParameterError,
    PermissionDeniedError,
    TransportError,
    UnknownCommandError,
    UnknownObjectError,
)
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.loadmaster.redact import basic_token

KEY = VirtualServiceKey(address="10.0.0.5", port="443", protocol="tcp")
VERSION_XML = (
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<Response stat="200" code="ok">\r\n'
    b"<Success><Data><version>7.2.59.0.22007</version></Data></Success>\r\n</Response>\r\n"
)
VERSION_JSON = b'{"code": 200, "version": "7.2.59.0.22007", "status": "ok"}'
HTML_401 = b"<html><head><title>401 Unauthorized</title></head><body>Unauthorized</body></html>"


def error_xml(status: int, text: str) -> httpx.Response:
    body = f'<Response stat="{status}" code="fail"><Error>{text}</Error></Response>'
    return xml_reply(body.encode(), status)


# -- what goes over the wire ----------------------------------------------------------------


async def test_v1_sends_get_with_the_api_key_as_query_parameter() -> None:
    appliance = ScriptedAppliance().on("get", xml_reply(VERSION_XML))
    async with client(appliance, "v1") as lm:
        assert await lm.version() == "7.2.59.0.22007"
    [sent] = appliance.sent
    assert sent.params == {"param": "version", "apikey": API_KEY}
    assert "authorization" not in sent.headers


async def test_v1_with_a_user_sends_http_basic_and_no_key() -> None:
    appliance = ScriptedAppliance().on("get", xml_reply(VERSION_XML))
    async with client(appliance, "v1", basic=True) as lm:
        await lm.version()
    [sent] = appliance.sent
    assert sent.params == {"param": "version"}
    assert sent.headers["authorization"] == "Basic " + basic_token("bal", PASSWORD)


async def test_v2_posts_json_with_cmd_params_and_credentials_in_the_body() -> None:
    appliance = ScriptedAppliance().on("addrs", json_reply(capture("fw7.2.5x-addrs.json")))
    async with client(appliance, "v2", basic=True) as lm:
        await lm.add_real_server(KEY, "10.10.10.10", 8080, weight=500, enable=False, non_local=True)
    [sent] = appliance.sent
    assert sent.dialect == "v2"
    assert sent.params == {
        "vs": "10.0.0.5",
        "port": "443",
        "prot": "tcp",
        "rs": "10.10.10.10",
        "rsport": "8080",
        "weight": "500",
        "forward": "nat",
        "enable": "N",
        "non_local": "1",
        "apiuser": "bal",
        "apipass": PASSWORD,
    }
    assert "authorization" not in sent.headers


@pytest.mark.parametrize("non_local", [True, False])
async def test_addrs_and_modrs_send_non_local_only_when_asked(non_local: bool) -> None:
    # A real server outside the appliance's own subnets is refused unless sent with
    # non_local=1 (Kemp's PowerShell module: -Non_Local); lmctl sends nothing otherwise.
    appliance = ScriptedAppliance().on("addrs", xml_reply(capture("fw7.2.5x-addrs.xml")))
    appliance.on("modrs", xml_reply(capture("fw7.2.5x-modrs.xml")))
    async with client(appliance) as lm:
        await lm.add_real_server(KEY, "10.10.10.10", 8080, non_local=non_local)
        await lm.modify_real_server(KEY, "10.10.10.10", 8080, {"weight": "5"}, non_local=non_local)
    addrs, modrs = appliance.sent
    expected = {"non_local": "1"} if non_local else {}
    assert {k: v for k, v in addrs.params.items() if k == "non_local"} == expected
    assert {k: v for k, v in modrs.params.items() if k in {"weight", "non_local"}} == {
        "weight": "5",
        **expected,
    }


async def test_sub_commands_are_path_segments_in_v1() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return xml_reply(VERSION_XML)

    lm = LoadMaster(connection("v1"), transport=httpx.MockTransport(answer))
    async with lm:
        await lm._read("logging.df", {})
    assert seen == ["/access/logging/df"]


async def test_set_parameter_sends_param_and_value() -> None:
    done = xml_reply(capture("fw7.2.5x-modrs.xml"))
    appliance = ScriptedAppliance().on("set", done)
    async with client(appliance) as lm:
        await lm.set_parameter("hamode", "0")
    assert appliance.sent[0].params["param"] == "hamode"
    assert appliance.sent[0].params["value"] == "0"


async def test_a_client_that_is_not_open_says_how_to_open_it() -> None:
    lm = LoadMaster(connection())
    with pytest.raises(LoadMasterError, match=r"not open: use 'async with LoadMaster"):
        await lm.version()


@pytest.mark.parametrize(
    "url", ["lm-test.example.net", "http://lm-test.example.net", "http://bal:s3cret@10.0.0.5"]
)
def test_a_url_without_https_is_refused_at_construction_without_repeating_it(url: str) -> None:
    with pytest.raises(LoadMasterError) as caught:
        LoadMaster(connection(url=url))
    assert str(caught.value) == (
        "the URL of lm-test must start with https://: plain http would send the credentials "
        "in clear"
    )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://127.0.0.1:999999", "the port must be a number 1-65535"),
        ("https://[::1", "the [ of the IPv6 address is not closed with ]"),
        ("https://[::1]:0/", "the port must be a number 1-65535"),
        (
            "https://::1",
            "an IPv6 address goes in brackets: https://[2001:db8::5] or https://[2001:db8::5]:443",
        ),
        ("https://bal:pw@10.0.0.5", "the URL holds a user name or password (user:password@)"),
    ],
)
def test_a_url_no_connection_can_be_made_to_is_refused_at_construction(
    url: str, problem: str
) -> None:
    """httpx raised InvalidURL and the socket layer OverflowError for these, at the first call."""
    with pytest.raises(LoadMasterError) as caught:
        LoadMaster(connection(url=url))
    assert str(caught.value) == f"the URL of lm-test cannot be used: {problem}"


# -- status codes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "kind", "message"),
    [
        (
            httpx.Response(401, content=HTML_401),
            AuthenticationError,
            "lm-test refused the credentials: check the API key or user and password named "
            "for lm-test in the inventory",
        ),
        (
            error_xml(403, "Permission denied"),
            PermissionDeniedError,
            "the API user on lm-test may not run listvs",
        ),
        (
            httpx.Response(404, content=b"<html>Not Found</html>"),
            ApiDisabledError,
            "the API is disabled on lm-test: enable it under Certificates & Security > "
            "Remote Access",
        ),
        (
            error_xml(405, "Unknown command"),
            UnknownCommandError,
            "lm-test does not know the command listvs: its firmware is too old for it; "
            "upgrade the LoadMaster firmware to use it",
        ),
        (
            error_xml(400, "Missing parameter: vs"),
            MissingParameterError,
            "lm-test rejected listvs: a mandatory parameter is missing (Missing parameter: vs); "
            "lmctl should have sent it: please report this with the output of lmctl -vv",
        ),
    ],
)
async def test_status_codes_map_to_actionable_errors(
    response: httpx.Response, kind: type[LoadMasterError], message: str
) -> None:
    appliance = ScriptedAppliance().on("listvs", response)
    async with client(appliance) as lm:
        with pytest.raises(kind) as caught:
            await lm.list_virtual_services()
        assert lm.calls == 1  # an answer, not a transport failure: never retried
    assert message in str(caught.value)
    assert caught.value.appliance == "lm-test"


async def test_5xx_after_the_read_attempts_and_odd_statuses_say_what_happened() -> None:
    appliance = (
        ScriptedAppliance()
        .on("listvs", httpx.Response(503, content=b"<html><body>Service busy</body></html>"))
        .on("stats", httpx.Response(409, content=b""))
    )
    async with client(appliance, read_attempts=2) as lm:
        with pytest.raises(TransportError) as busy:
            await lm.list_virtual_services()
        with pytest.raises(MalformedReplyError) as odd:
            await lm.statistics()
    assert str(busy.value) == (
        "lm-test failed on listvs with HTTP 503; the appliance may be busy or failing over, "
        "try again"
    )
    assert busy.value.status == 503
    assert str(odd.value) == "lm-test answered stats with unexpected status 409"
    assert appliance.commands() == ["listvs", "listvs", "stats"]


async def test_a_404_from_apiv2_also_suggests_old_firmware() -> None:
    appliance = ScriptedAppliance().on("listvs", httpx.Response(404, content=b"Not Found"))
    async with client(appliance, "v2") as lm:
        with pytest.raises(ApiDisabledError) as caught:
            await lm.list_virtual_services()
    assert str(caught.value) == (
        "the API is disabled on lm-test: enable it under Certificates & Security > Remote Access "
        "(or check that the inventory URL points at a LoadMaster); or its firmware predates "
        "APIv2 (7.2.52): set dialect: auto (or v1) for lm-test in the inventory"
    )


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("https://lm-test.example.net:8443/access", "https://lm-test.example.net:8443/access"),
        ("https://[::1", "https://[::1"),
        ("\x1b[2Jhttps://lm-test/", "\\x1b[2Jhttps://lm-test/"),
    ],
    ids=["elsewhere", "unparsable", "control characters"],
)
async def test_a_redirect_is_not_followed_and_says_what_to_fix(location: str, shown: str) -> None:
    # httpx parses the Location of a redirect it does not follow: an invalid one raised a
    # protocol error, reported as "the appliance may or may not have received it" and retried.
    moved = httpx.Response(302, headers={"Location": location})
    appliance = ScriptedAppliance().on("listvs", moved)
    async with client(appliance) as lm:
        with pytest.raises(MalformedReplyError) as caught:
            await lm.list_virtual_services()
        assert lm.calls == 1
    assert str(caught.value) == (
        f"lm-test answered listvs with a redirect (HTTP 302) to {shown}: lmctl does not follow "
        "redirects; put the API's own https:// address in the url of lm-test in the inventory"
    )


async def test_422_other_than_unknown_object_is_an_invalid_operation_with_the_reason() -> None:
    appliance = ScriptedAppliance().on("addvs", error_xml(422, "Invalid address format"))
    async with client(appliance) as lm:
        with pytest.raises(InvalidOperationError) as caught:
            await lm.add_virtual_service(KEY, {"Enable": "Y"})
    assert not isinstance(caught.value, UnknownObjectError)
    assert caught.value.reason == "Invalid address format"
    assert str(caught.value) == "lm-test refused addvs: Invalid address format"
    assert appliance.commands() == ["addvs"]  # a refusal is not ambiguous: no read-back


async def test_unknown_rs_is_an_unknown_object() -> None:
    appliance = ScriptedAppliance().on(
        "showrs", json_reply(b'{"code":422,"message":"Unknown RS","status":"fail"}', 422)
    )
    async with client(appliance, "v2") as lm:
        with pytest.raises(UnknownObjectError, match="lm-test refused showrs: Unknown RS"):
            await lm.show_real_server(KEY, "10.0.1.21", 443)


async def test_a_fail_envelope_with_http_200_is_still_an_error() -> None:
    body = b'<Response stat="422" code="fail"><Error>Unknown VS</Error></Response>'
    appliance = ScriptedAppliance().on("showvs", xml_reply(body, 200))
    async with client(appliance) as lm:
        with pytest.raises(UnknownObjectError):
            await lm.show_virtual_service(KEY)


# A real appliance sends some refusals as an HTTP 5xx that carries its error envelope: that is
# the API's answer, in the same family as a 4xx envelope, never a transport failure to retry.
@pytest.mark.parametrize(
    ("dialect", "response", "kind", "message"),
    [
        (
            "v1",
            error_xml(500, "Unknown VS"),
            UnknownObjectError,
            "lm-test refused showvs: Unknown VS",
        ),
        (
            "v1",
            error_xml(503, "Operation not permitted on a slave unit"),
            InvalidOperationError,
            "lm-test refused showvs: Operation not permitted on a slave unit",
        ),
        (
            "v2",
            json_reply(b'{"code": 500, "message": "Unknown VS", "status": "fail"}', 500),
            UnknownObjectError,
            "lm-test refused showvs: Unknown VS",
        ),
        (
            "v2",
            json_reply(b'{"code": 401, "message": "Authorization failed", "status": "fail"}', 502),
            AuthenticationError,
            "lm-test refused the credentials",
        ),
    ],
)
async def test_a_5xx_carrying_an_error_envelope_is_the_api_error_with_its_message(
    dialect: str, response: httpx.Response, kind: type[LoadMasterError], message: str
) -> None:
    appliance = ScriptedAppliance().on("showvs", response)
    async with client(appliance, "v1" if dialect == "v1" else "v2") as lm:
        with pytest.raises(kind) as caught:
            await lm.show_virtual_service(KEY)
        assert lm.calls == 1  # an answer: not retried
    assert not isinstance(caught.value, TransportError)
    assert str(caught.value).startswith(message)


async def test_a_write_refused_with_a_5xx_envelope_is_reported_without_a_read_back() -> None:
    body = b'{"code": 500, "message": "Invalid address", "status": "fail"}'
    appliance = ScriptedAppliance().on("addvs", json_reply(body, 500))
    async with client(appliance, "v2") as lm:
        with pytest.raises(InvalidOperationError) as caught:
            await lm.add_virtual_service(KEY, {"Enable": "Y"})
    assert caught.value.reason == "Invalid address"
    assert appliance.commands() == ["addvs"]


async def test_a_200_with_a_5xx_fail_envelope_is_a_refusal_too() -> None:
    body = b'<Response stat="500" code="fail"><Error>Internal error</Error></Response>'
    appliance = ScriptedAppliance().on("showvs", xml_reply(body, 200))
    async with client(appliance) as lm:
        with pytest.raises(InvalidOperationError, match="lm-test refused showvs: Internal error"):
            await lm.show_virtual_service(KEY)
        assert lm.calls == 1


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        ("v1", b"<html><head><title>500 Internal Server Error</title></head></html>"),
        (
            "v1",
            b'<Response stat="200" code="ok"><Success>Command completed ok</Success></Response>',
        ),
        ("v2", b"Internal Server Error"),
        ("v2", b""),
    ],
)
async def test_a_5xx_without_an_error_envelope_stays_a_transport_failure(
    dialect: str, body: bytes
) -> None:
    appliance = ScriptedAppliance().on("showvs", httpx.Response(500, content=body))
    async with client(appliance, "v1" if dialect == "v1" else "v2", read_attempts=2) as lm:
        with pytest.raises(TransportError) as caught:
            await lm.show_virtual_service(KEY)
        assert lm.calls == 2  # retried as a read
    assert caught.value.status == 500


# -- malformed replies ------------------------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Response stat="200" code="ok"><Success><Data><NickName>&lol3;</NickName></Data></Success>
</Response>"""
LOGIN_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><title>LoadMaster Login</title></head><body><form>...</form></body></html>"""
XHTML_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><body>Portal</body></html>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Response stat="200" code="ok"><Success><Data><Index>&x;</Index></Data></Success></Response>"""


@pytest.mark.parametrize(
    ("dialect", "body"),
    [
        ("v1", LOGIN_PAGE),
        ("v2", LOGIN_PAGE),
        ("v1", XHTML_PAGE),
        ("v1", b"<html><body><h1>Service Unavailable</h1></body></html>"),
        ("v2", b"<html>502 Bad Gateway</html>"),
        ("v2", b"\xef\xbb\xbf\n  <HTML><body>Sign in</body></HTML>"),
    ],
)
async def test_a_web_page_is_reported_as_such_not_as_forbidden_xml(
    dialect: str, body: bytes
) -> None:
    appliance = ScriptedAppliance().on("showvs", httpx.Response(200, content=body))
    async with client(appliance, "v1" if dialect == "v1" else "v2") as lm:
        with pytest.raises(MalformedReplyError) as caught:
            await lm.show_virtual_service(KEY)
    message = str(caught.value)
    assert message.startswith("lm-test answered showvs with a web page, not the API (")
    assert "check that the url of lm-test in the inventory" in message
    assert "DTDForbidden" not in message and "not valid JSON" not in message


@pytest.mark.parametrize(
    ("dialect", "body", "message"),
    [
        ("v1", capture("fw7.2.5x-showvs.xml")[:700], "not well-formed XML"),
        ("v1", BOMB, "forbidden XML constructs (DTDForbidden)"),
        ("v1", EXTERNAL, "forbidden XML constructs"),
        (
            "v1",
            b'<?xml version="1.0" encoding="x-martian"?><Response/>',
            "declares an encoding Python does not know",
        ),
        ("v1", b"", "the reply was empty"),
        ("v1", b"   \r\n", "the reply was empty"),
        (
            "v1",
            capture("fw7.2.5x-showvs.xml").replace(b"<Index>1</Index>", b"<Index>one</Index>"),
            "unreadable field Index",
        ),
        (
            "v1",
            b'<Response stat="200" code="ok"><Success><Data><Rs>x</Rs></Data></Success></Response>',
            "no virtual service",
        ),
        ("v2", b'[{"code": 200}]', "JSON but not an object (a list)"),
        ("v2", b'"ok"', "JSON but not an object (a str)"),
        (
            "v2",
            b'{"code": 200, "Index": 1, "VSPort": "80", "Enable": "maybe", "status": "ok"}',
            "unreadable field Enable",
        ),
        ("v2", b'{"code": 200, "Index": ', "not valid JSON"),
        ("v2", b"[" * 100_000, "not valid JSON"),
        ("v2", b'{"code": "two hundred"}', "non-numeric code"),
        # Python's JSON reads these (Infinity and 1e400 as an infinite float, int() of which
        # raised OverflowError); none is a status.
        ("v2", b'{"code": Infinity}', "code that is not a whole number (inf)"),
        ("v2", b'{"code": -Infinity}', "code that is not a whole number (-inf)"),
        ("v2", b'{"code": 1e400}', "code that is not a whole number (inf)"),
        ("v2", b'{"code": NaN}', "code that is not a whole number (nan)"),
        ("v2", b'{"code": 200.5}', "code that is not a whole number (200.5)"),
        ("v2", b'{"code": true}', "non-numeric code true"),
        ("v2", b'{"code": null}', "non-numeric code null"),
        ("v2", b'{"code": [200]}', "non-numeric code [200]"),
        ("v2", b'{"code": "' + b"2" * 5000 + b'"}', "non-numeric code '2222"),
        ("v2", b'{"code": 200, "Index": 1, "VSPort": Infinity}', "unreadable field VSPort"),
        ("v2", b'{"code": 200, "Index": 1, "VSPort": 443.5}', "unreadable field VSPort"),
        ("v2", b'{"code": 200, "Index": 1, "VSPort": ["443"]}', "unreadable field VSPort"),
        ("v2", b'{"code": 200, "Index": 1e400}', "unreadable field Index"),
        ("v2", b'{"code": 200, "Index": NaN}', "unreadable field Index"),
    ],
)
async def test_malformed_replies_raise_a_clear_error_once(
    dialect: str, body: bytes, message: str
) -> None:
    kind = "text/xml" if dialect == "v1" else "application/json"
    appliance = ScriptedAppliance().on(
        "showvs", httpx.Response(200, content=body, headers={"Content-Type": kind})
    )
    async with client(appliance, "v1" if dialect == "v1" else "v2") as lm:
        with pytest.raises(MalformedReplyError) as caught:
            await lm.show_virtual_service(KEY)
        assert lm.calls == 1
    assert str(caught.value).startswith("lm-test answered showvs with a malformed reply: ")
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


async def test_listvs_row_with_wrong_types_names_the_entry() -> None:
    body = capture("fw7.1-listvs-subvs.xml").replace(b"<Index>7</Index>", b"<Index>seven</Index>")
    appliance = ScriptedAppliance().on("listvs", xml_reply(body))
    async with client(appliance) as lm:
        with pytest.raises(MalformedReplyError, match=r"VS row 4 has an unreadable field Index"):
            await lm.list_virtual_services()


async def test_a_reply_larger_than_the_cap_is_refused_without_reading_it_all() -> None:
    streamed: list[int] = []

    class Endless(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            for _ in range(1000):
                streamed.append(1)
                yield b"<" * 65536

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Endless())

    lm = LoadMaster(connection(), transport=httpx.MockTransport(answer), max_reply_bytes=1_000_000)
    async with lm:
        with pytest.raises(MalformedReplyError, match=r"more than 1000000 bytes: refused"):
            await lm.list_virtual_services()
    assert len(streamed) < 20


async def test_a_reply_trickling_in_forever_is_cut_at_the_exchange_deadline() -> None:
    class Trickle(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield b'<?xml version="1.0"?><Response stat="200" code="ok"><Success><Data>'
            while True:
                await asyncio.sleep(0.02)
                yield b"<x/>"

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Trickle())

    lm = LoadMaster(
        connection(), transport=httpx.MockTransport(answer), timeout=0.1, read_attempts=1
    )
    async with lm:
        with pytest.raises(
            TransportError, match=r"listvs on lm-test timed out \(no complete reply within 0.3 s\)"
        ):
            await lm.list_virtual_services()


async def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    appliance = ScriptedAppliance().on(
        "listvs", httpx.Response(200, content=b"x" * 2048, headers={"Content-Length": "2048"})
    )
    lm = LoadMaster(connection(), transport=appliance.transport(), max_reply_bytes=1024)
    async with lm:
        with pytest.raises(MalformedReplyError, match="more than 1024 bytes"):
            await lm.list_virtual_services()


# -- read retries -----------------------------------------------------------------------------


async def test_reads_are_retried_on_connection_errors_timeouts_and_5xx() -> None:
    listvs = xml_reply(capture("fw7.2.5x-listvs.xml"))
    appliance = ScriptedAppliance().on(
        "listvs",
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.Response(503, content=b"<html>busy</html>"),
        listvs,
    )
    async with client(appliance) as lm:
        [vs] = await lm.list_virtual_services()
        assert lm.calls == 4
    assert vs.nickname == "foo"
    assert appliance.commands() == ["listvs"] * 4


async def test_read_attempts_are_bounded_and_the_last_failure_is_reported() -> None:
    appliance = ScriptedAppliance().on("stats", httpx.Response(500, content=b"<html>oops</html>"))
    async with client(appliance, read_attempts=3) as lm:
        with pytest.raises(TransportError) as caught:
            await lm.statistics()
        assert lm.calls == 3
    assert caught.value.status == 500
    assert "lm-test failed on stats with HTTP 500" in str(caught.value)


async def test_read_retries_stop_at_the_deadline() -> None:
    appliance = ScriptedAppliance().on("listvs", httpx.ConnectError("refused"))
    async with client(appliance, read_attempts=1000, read_deadline=0.3, retry_backoff=0.05) as lm:
        with pytest.raises(
            TransportError, match=r"listvs on lm-test failed \(ConnectError: refused\)"
        ):
            await lm.list_virtual_services()
        assert 2 <= lm.calls < 20


async def test_a_malformed_reply_is_not_retried() -> None:
    appliance = ScriptedAppliance().on("listvs", xml_reply(b"<html>maintenance</html>"))
    async with client(appliance) as lm:
        with pytest.raises(MalformedReplyError):
            await lm.list_virtual_services()
        assert lm.calls == 1


# -- dialect detection ------------------------------------------------------------------------


async def test_auto_uses_v2_when_the_firmware_has_it_without_an_extra_call() -> None:
    appliance = ScriptedAppliance().on("listvs", json_reply(capture("fw7.2.5x-listvs.json")))
    async with client(appliance, "auto") as lm:
        before = lm.dialect
        [vs] = await lm.list_virtual_services()
        assert before is None
        assert (lm.dialect, lm.calls) == ("v2", 1)
    assert vs.address == "192.168.1.239"


async def test_auto_falls_back_to_v1_on_old_firmware_and_remembers() -> None:
    appliance = ScriptedAppliance().on("listvs", xml_reply(capture("fw7.1-listvs-subvs.xml")))
    appliance.on("get", xml_reply(VERSION_XML))
    appliance.v2_missing = True
    async with client(appliance, "auto") as lm:
        services = await lm.list_virtual_services()
        assert (lm.dialect, lm.calls) == ("v1", 2)
        assert await lm.version() == "7.2.59.0.22007"
        assert lm.calls == 3
    assert len(services) == 5
    assert [sent.dialect for sent in appliance.sent] == ["v2", "v1", "v1"]


async def test_auto_does_not_fall_back_on_a_v2_error_reply() -> None:
    body = b'{"code": 405, "message": "Unknown command", "status": "fail"}'
    appliance = ScriptedAppliance().on("stats", json_reply(body, 405))
    async with client(appliance, "auto") as lm:
        with pytest.raises(UnknownCommandError):
            await lm.statistics()
        assert (lm.dialect, lm.calls) == ("v2", 1)


# -- backup -----------------------------------------------------------------------------------


async def test_v1_backup_returns_the_binary_archive() -> None:
    archive = b"\x1f\x8b\x08\x00 backup bytes \x00\xff"
    appliance = ScriptedAppliance().on(
        "backup",
        httpx.Response(200, content=archive, headers={"Content-Type": "application/octet-stream"}),
    )
    async with client(appliance) as lm:
        assert await lm.backup() == archive


async def test_v2_backup_decodes_base64_data() -> None:
    archive = b"\x1f\x8b\x08\x00 backup bytes \x00\xff"
    body = json.dumps({"code": 200, "data": base64.b64encode(archive).decode(), "status": "ok"})
    appliance = ScriptedAppliance().on("backup", json_reply(body.encode()))
    async with client(appliance, "v2") as lm:
        assert await lm.backup() == archive


async def test_v2_backup_decodes_base64_wrapped_in_lines() -> None:
    archive = bytes(range(256)) * 3
    wrapped = base64.encodebytes(archive).decode()  # MIME style: a line break every 76 characters
    assert "\n" in wrapped
    body = json.dumps({"code": 200, "data": wrapped.replace("\n", "\r\n"), "status": "ok"})
    appliance = ScriptedAppliance().on("backup", json_reply(body.encode()))
    async with client(appliance, "v2") as lm:
        assert await lm.backup() == archive


@pytest.mark.parametrize(
    ("dialect", "response", "message"),
    [
        (
            "v2",
            json_reply(b'{"code": 200, "data": "not base64!", "status": "ok"}'),
            "not valid base64",
        ),
        (
            "v2",
            json_reply(b'{"code": 200, "message": "Command completed ok", "status": "ok"}'),
            "no base64 'data'",
        ),
        ("v1", httpx.Response(200, content=b""), "empty archive"),
        (
            "v1",
            httpx.Response(200, content=b"<html><body>Login</body></html>"),
            "lm-test answered backup with a web page, not the API",
        ),
    ],
)
async def test_broken_backups_are_malformed_replies(
    dialect: str, response: httpx.Response, message: str
) -> None:
    appliance = ScriptedAppliance().on("backup", response)
    async with client(appliance, "v1" if dialect == "v1" else "v2") as lm:
        with pytest.raises(MalformedReplyError, match=message):
            await lm.backup()


async def test_a_v1_backup_refused_with_an_envelope_raises_the_mapped_error() -> None:
    appliance = ScriptedAppliance().on("backup", error_xml(403, "Permission denied"))
    async with client(appliance) as lm:
        with pytest.raises(PermissionDeniedError):
            await lm.backup()
