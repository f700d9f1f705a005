"""Secrets never show: the client at its most verbose, failing in every way, against the served
mock over HTTPS; every log line (lmctl, httpx, httpcore), exception text, traceback and repr is
searched for the API key, the password and the Basic token.
"""

from __future__ import annotations

import json
import logging
import traceback
from urllib.parse import quote

import pytest
from loadmaster_fakes import (
    API_KEY,
    SETTINGS_JSON,
    ScriptedAppliance,
    client,
    reply_for,
    settle,
)
from pydantic import SecretStr

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import (
    ApiKey,
    ApplianceConnection,
    BasicCredentials,
    Credentials,
    TlsPolicy,
)
from lmctl.loadmaster.errors import AuthenticationError, LoadMasterError
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings, settings_params
from lmctl.loadmaster.redact import REDACTED, basic_token, register, scrub, unregister
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle

KEY = VirtualServiceKey(address="10.0.0.5", port="443", protocol="tcp")
WRONG_KEY = "wr0ng-K3Y/with+special&chars"


def _connection(
    handle: MockServerHandle, dialect: str, credentials: Credentials
) -> ApplianceConnection:
    return ApplianceConnection.model_validate(
        {
            "name": "lm-hq",
            "url": handle.url,
            "dialect": dialect,
            "credentials": credentials,
            "tls": TlsPolicy(fingerprint_sha256=handle.fingerprint_sha256),
        }
    )


def _secrets(handle: MockServerHandle) -> list[str]:
    values = [
        handle.api_key,
        handle.password,
        WRONG_KEY,
        basic_token(handle.username, handle.password),
    ]
    return values + [quote(value, safe="") for value in values]


async def _exercise(lm: LoadMaster, control: MockControl, failures: list[BaseException]) -> None:
    """Reads and writes through drops, 500s, a stall and a lost reply; collect what is raised."""
    control.add_fault("http500", command="listvs")
    control.add_fault("drop", command="stats")
    control.add_fault("stall", command="get", stall_seconds=0.6)
    control.add_fault("reset_after_write", command="addvs")
    await lm.list_virtual_services()
    await lm.statistics()
    await lm.version()
    await settle(control, "get", 2)
    await lm.add_virtual_service(KEY, settings_params(VirtualServiceSettings(nickname="n")))
    await lm.add_real_server(KEY, "10.0.1.21", 443)
    for _ in range(3):  # more 500s than read attempts: a TransportError
        control.add_fault("http500", command="showvs")
    for action in (
        lm.show_virtual_service(KEY),
        lm.show_virtual_service(VirtualServiceKey(address="10.9.9.9", port="1")),
        lm.show_real_server(KEY, "10.0.1.99", 443),
    ):
        try:
            await action
        except LoadMasterError as exc:
            failures.append(exc)


@pytest.mark.parametrize(
    ("dialect", "basic"), [("v1", False), ("v1", True), ("v2", False), ("v2", True)]
)
async def test_no_secret_in_logs_errors_or_reprs_at_debug_with_failures(
    mock_server: MockServerHandle,
    mock_control: MockControl,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    dialect: str,
    basic: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    credentials: Credentials = (
        BasicCredentials(username=mock_server.username, password=SecretStr(mock_server.password))
        if basic
        else ApiKey(key=SecretStr(mock_server.api_key))
    )
    failures: list[BaseException] = []
    lm = LoadMaster(
        _connection(mock_server, dialect, credentials),
        timeout=0.3,
        retry_backoff=0.01,
        read_attempts=3,
    )
    async with lm:
        await _exercise(lm, mock_control, failures)
        shown = [repr(lm), repr(lm.connection), str(lm.connection)]
    wrong = (
        BasicCredentials(username="bal", password=SecretStr(WRONG_KEY))
        if basic
        else ApiKey(key=SecretStr(WRONG_KEY))
    )
    async with LoadMaster(_connection(mock_server, dialect, wrong)) as refused:
        with pytest.raises(AuthenticationError) as caught:
            await refused.list_virtual_services()
    failures.append(caught.value)

    assert [type(failure).__name__ for failure in failures] == [
        "TransportError",
        "UnknownObjectError",
        "UnknownObjectError",
        "AuthenticationError",
    ]
    texts = [*shown, caplog.text, capsys.readouterr().err]
    for failure in failures:
        texts += [str(failure), repr(failure), "".join(traceback.format_exception(failure))]
    everything = "\n".join(texts)
    if not (basic and dialect == "v1"):  # v1 with Basic puts no secret in a URL or body
        assert REDACTED in caplog.text
    assert "HTTP Request:" in caplog.text and "lm-hq →" in caplog.text  # the logs were captured
    for secret in _secrets(mock_server):
        assert secret not in everything, f"secret leaked: {secret[:3]}..."


def test_scrub_blanks_secret_looking_values_even_when_not_registered() -> None:
    assert (
        scrub("GET /access/listvs?apikey=abc123&vs=1")
        == f"GET /access/listvs?apikey={REDACTED}&vs=1"
    )
    assert (
        scrub('{"cmd": "listvs", "apipass": "p\\"w"}')
        == f'{{"cmd": "listvs", "apipass": "{REDACTED}"}}'
    )
    assert REDACTED in scrub("Authorization: Basic YmFsOnNlY3JldA==")
    assert "YmFsOnNlY3JldA" not in scrub("(b'Authorization', b'Basic YmFsOnNlY3JldA==')")


def test_registered_secrets_are_scrubbed_anywhere_until_unregistered() -> None:
    token = register(["s3cr3t value"])
    try:
        assert (
            scrub("failed for s3cr3t value and s3cr3t%20value")
            == f"failed for {REDACTED} and {REDACTED}"
        )
    finally:
        unregister(token)
    assert scrub("s3cr3t value") == "s3cr3t value"


def test_error_messages_are_scrubbed_when_made() -> None:
    token = register(["hunter2"])
    try:
        error = LoadMasterError("lm-hq", "appliance said: bad key hunter2")
    finally:
        unregister(token)
    assert "hunter2" not in str(error) and "hunter2" not in repr(error)


def _listvs_row(**fields: object) -> bytes:
    row = {"Index": 1, "VSAddress": "10.0.0.1", "VSPort": "443", "Protocol": "tcp"}
    return json.dumps({"code": 200, "VS": [{**row, **SETTINGS_JSON, **fields}]}).encode()


# Replies that echo the key where an error's quote of them is cut (issue 11): the quote is taken
# after the whole text is scrubbed, so no head of the key survives the cut.
ECHOED = {
    "not JSON": ("v2", b'{"code":200,"VS":[' + b"1" * 30 + b" " + API_KEY.encode() + b"}"),
    "not XML": ("v1", b'<Response stat="200"><Success><Data>111 ' + API_KEY.encode() + b"<"),
    "JSON not an object": ("v2", b"[" + b"1" * 40 + b"," + b'"' + API_KEY.encode() + b'"]'),
    "web page": ("v2", b"<html>" + b"1" * 45 + API_KEY.encode()),
    "code text": ("v2", json.dumps({"code": "1" * 30 + API_KEY}).encode()),
    "code list": ("v2", json.dumps({"code": ["1" * 30 + API_KEY]}).encode()),
    "unreadable Index": (
        "v2",
        json.dumps({"code": 200, "VS": [{"Index": "1" * 30 + API_KEY}]}).encode(),
    ),
    "VSPort": ("v2", _listvs_row(VSPort="1" * 15 + API_KEY)),
}


@pytest.mark.parametrize("case", sorted(ECHOED))
async def test_a_quoted_reply_never_keeps_the_head_of_a_secret(case: str) -> None:
    dialect, body = ECHOED[case]
    appliance = ScriptedAppliance().on("listvs", reply_for(dialect, body))
    async with client(appliance, "v1" if dialect == "v1" else "v2") as lm:
        with pytest.raises(LoadMasterError) as caught:
            await lm.list_virtual_services()
    message = str(caught.value)
    assert message.startswith("lm-test answered listvs with ")
    assert REDACTED in message
    heads = [API_KEY[:length] for length in range(4, len(API_KEY) + 1)]
    assert [head for head in heads if head in message] == []
