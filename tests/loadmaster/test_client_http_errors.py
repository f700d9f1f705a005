"""Every httpx failure leaves the client as one of its own errors, never as a raw httpx one."""

from __future__ import annotations

import gzip
from typing import Literal

import httpx
import pytest
from loadmaster_fakes import ScriptedAppliance, Sent, capture, client

from lmctl.loadmaster.errors import MalformedReplyError

CONTENT_TYPE = {"v1": "text/xml", "v2": "application/json"}
LISTVS = {"v1": "fw7.2.5x-listvs.xml", "v2": "fw7.2.5x-listvs.json"}
FIRST_VS_ADDRESS = {"v1": "192.168.1.222", "v2": "192.168.1.239"}


def _gzip_reply(dialect: str, body: bytes) -> httpx.Response:
    headers = {"Content-Type": CONTENT_TYPE[dialect], "Content-Encoding": "gzip"}
    # A stream, not content=: httpx would decode content at once, here in the test.
    return httpx.Response(200, headers=headers, stream=httpx.ByteStream(body))


@pytest.mark.parametrize("dialect", ["v1", "v2"])
async def test_a_corrupt_gzip_body_is_a_malformed_reply_not_an_httpx_error(
    dialect: Literal["v1", "v2"],
) -> None:
    # A gzip header, then a deflate block of the reserved type: zlib refuses it.
    corrupt = gzip.compress(capture(LISTVS[dialect]))[:10] + b"\xff" * 64
    appliance = ScriptedAppliance().on("listvs", _gzip_reply(dialect, corrupt))
    async with client(appliance, dialect) as lm:
        with pytest.raises(MalformedReplyError) as caught:
            await lm.list_virtual_services()
        assert lm.calls == 1, "a reply that cannot be decoded is not retried"
    message = str(caught.value)
    assert message.startswith("lm-test answered listvs with a body that cannot be decoded")
    assert "Content-Encoding: gzip" in message
    assert caught.value.command == "listvs"
    assert not isinstance(caught.value.__cause__, httpx.HTTPError)


@pytest.mark.parametrize("dialect", ["v1", "v2"])
async def test_a_well_compressed_reply_is_read(dialect: Literal["v1", "v2"]) -> None:
    body = gzip.compress(capture(LISTVS[dialect]))
    appliance = ScriptedAppliance().on("listvs", _gzip_reply(dialect, body))
    async with client(appliance, dialect) as lm:
        services = await lm.list_virtual_services()
    assert (services[0].address, services[0].port) == (FIRST_VS_ADDRESS[dialect], "80")


async def test_any_other_httpx_error_is_a_malformed_reply_naming_it() -> None:
    def refuse(sent: Sent) -> httpx.Response:
        raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.")

    appliance = ScriptedAppliance().on("showvs", refuse)
    async with client(appliance) as lm:
        with pytest.raises(MalformedReplyError) as caught:
            await lm.show_virtual_service(1)
    assert str(caught.value) == (
        "lm-test answered showvs with a reply that cannot be read "
        "(TooManyRedirects: Exceeded maximum allowed redirects.)"
    )
