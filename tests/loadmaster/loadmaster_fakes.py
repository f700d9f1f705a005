"""Test helpers for the LoadMaster client: connections and ``httpx.MockTransport`` appliances.

``ScriptedAppliance`` answers each command from a queue of canned replies (capture bytes,
status codes, or exceptions to raise as transport failures) and records every request, decoded
into (dialect, command, params), so tests can assert exactly what went over the wire.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import (
    ApiKey,
    ApplianceConnection,
    BasicCredentials,
    Credentials,
    TlsPolicy,
)
from lmctl.mock.control import MockControl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "loadmaster"
API_KEY = "k3y-S3CRET-0123456789abcdef"
PASSWORD = "pa55-S3CRET-w0rd"


def dialect_of(name: str) -> Literal["v1", "v2"]:
    """The dialect of a capture: ``.xml`` is APIv1, ``.json`` APIv2."""
    return "v1" if name.endswith(".xml") else "v2"


def capture(name: str) -> bytes:
    """The bytes of one real appliance capture."""
    return (FIXTURES / name).read_bytes()


# Every managed setting a VS row carries, as the real 7.2.5x ``listvs`` capture sends them
# (a row without them is refused): for hand-written rows that test something else.
SETTINGS_JSON: dict[str, object] = {
    "Enable": True, "VStype": "http", "Schedule": "rr", "PersistTimeout": "0", "Idletime": 660,
    "CheckType": "http", "CheckPort": "0", "Transparent": False, "SubnetOriginating": True,
    "ErrorCode": "0", "Layer": 7, "ForceL4": False, "ForceL7": True,
}  # fmt: skip
SETTINGS_XML = "".join(
    f"<{name}>{'Y' if value is True else 'N' if value is False else value}</{name}>"
    for name, value in SETTINGS_JSON.items()
)


def connection(
    dialect: Literal["v1", "v2", "auto"] = "v1",
    *,
    basic: bool = False,
    name: str = "lm-test",
    url: str = "https://lm-test.example.net",
    tls: TlsPolicy | None = None,
) -> ApplianceConnection:
    """A connection with a recognisable secret (API key, or ``bal`` + password)."""
    credentials: Credentials = (
        BasicCredentials(username="bal", password=SecretStr(PASSWORD))
        if basic
        else ApiKey(key=SecretStr(API_KEY))
    )
    return ApplianceConnection(
        name=name, url=url, dialect=dialect, credentials=credentials, tls=tls or TlsPolicy()
    )


@dataclass(frozen=True)
class Sent:
    """One request the client made, decoded."""

    dialect: str
    command: str
    params: dict[str, str]
    headers: httpx.Headers


Answer = httpx.Response | Exception | Callable[[Sent], httpx.Response]


def xml_reply(body: bytes, status: int = 200) -> httpx.Response:
    """A v1 reply as the appliance sends it."""
    return httpx.Response(status, content=body, headers={"Content-Type": "text/xml"})


def json_reply(body: bytes, status: int = 200) -> httpx.Response:
    """A v2 reply as the appliance sends it."""
    return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})


def reply_for(dialect: str, body: bytes, status: int = 200) -> httpx.Response:
    """``xml_reply`` or ``json_reply`` by dialect."""
    return xml_reply(body, status) if dialect == "v1" else json_reply(body, status)


def decode(request: httpx.Request) -> Sent:
    """The dialect, command and parameters of a request the client built."""
    if request.url.path == "/accessv2":
        document = json.loads(request.content)
        command = str(document.pop("cmd"))
        return Sent("v2", command, {k: str(v) for k, v in document.items()}, request.headers)
    command = request.url.path.removeprefix("/access/").replace("/", ".")
    params = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    return Sent("v1", command, params, request.headers)


class ScriptedAppliance:
    """A fake appliance: per command, a queue of answers; the last answer repeats."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._answers: dict[str, deque[Answer]] = defaultdict(deque)
        self.v2_missing = False

    def on(self, command: str, *answers: Answer) -> ScriptedAppliance:
        """Queue ``answers`` for ``command`` (``*`` for any command without its own queue)."""
        self._answers[command].extend(answers)
        return self

    def commands(self) -> list[str]:
        """The commands sent, in order."""
        return [sent.command for sent in self.sent]

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler."""
        if self.v2_missing and request.url.path == "/accessv2":
            self.sent.append(Sent("v2", "?", {}, request.headers))
            return httpx.Response(404, content=b"<html><body>Not Found</body></html>")
        sent = decode(request)
        self.sent.append(sent)
        queue = self._answers.get(sent.command) or self._answers.get("*")
        if not queue:
            raise AssertionError(f"unexpected command {sent.command} {sent.params}")
        answer = queue.popleft() if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(sent)
        return answer

    def transport(self) -> httpx.MockTransport:
        """An ``httpx.MockTransport`` backed by this appliance."""
        return httpx.MockTransport(self.handle)


def client(
    appliance: ScriptedAppliance,
    dialect: Literal["v1", "v2", "auto"] = "v1",
    *,
    basic: bool = False,
    **options: float,
) -> LoadMaster:
    """A ``LoadMaster`` on ``appliance`` with fast retries (tests must not sleep)."""
    settings = {"retry_backoff": 0.001, "read_deadline": 5.0, "timeout": 2.0, **options}
    return LoadMaster(
        connection(dialect, basic=basic),
        transport=appliance.transport(),
        retry_backoff=settings["retry_backoff"],
        read_deadline=settings["read_deadline"],
        timeout=settings["timeout"],
        read_attempts=int(settings.get("read_attempts", 4)),
    )


async def settle(control: MockControl, command: str, count: int) -> None:
    """Wait until the mock has logged ``count`` calls of ``command``: a stalled request finishes
    late, and must not land in the next test's call log."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sum(call.command == command for call in control.calls()) >= count:
            return
        await asyncio.sleep(0.05)


@pytest.fixture(params=["v1", "v2"], name="served")
def served_in_each_dialect(request: pytest.FixtureRequest) -> ApplianceConnection:
    """Fixture ``served``: the served mock's connection (pinned HTTPS), once in each dialect.

    A test module that wants it imports ``served_in_each_dialect``.
    """
    connection: ApplianceConnection = request.getfixturevalue(f"connection_{request.param}")
    return connection
