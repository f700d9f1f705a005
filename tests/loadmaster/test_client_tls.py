"""TLS against the served mock over real HTTPS: pinning during the handshake, CA files, the
system store, and the loud insecure mode.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import pytest
from pydantic import SecretStr

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import (
    ApiKey,
    ApplianceConnection,
    FingerprintFormatError,
    InsecureTlsWarning,
    TlsPolicy,
    display_fingerprint,
    normalise_fingerprint,
)
from lmctl.loadmaster.errors import CertificateError
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle

OTHER = "ab" * 32


def _connection(
    handle: MockServerHandle, tls: TlsPolicy, dialect: Literal["v1", "v2", "auto"] = "v1"
) -> ApplianceConnection:
    return ApplianceConnection(
        name="lm-dr",
        url=handle.url,
        dialect=dialect,
        credentials=ApiKey(key=SecretStr(handle.api_key)),
        tls=tls,
    )


PLAIN = "051e" + "0123456789abcdef" * 3 + "a0b1c2d3e4f5"
COLONS = display_fingerprint(PLAIN)


@pytest.mark.parametrize(
    "pasted",
    [
        PLAIN,
        PLAIN.upper(),
        COLONS,
        COLONS.lower(),
        "sha256:" + PLAIN,
        "SHA256:" + COLONS,
        "sha256 Fingerprint=" + COLONS,  # openssl x509 -noout -fingerprint -sha256 (OpenSSL 3)
        "SHA256 Fingerprint=" + COLONS,  # the same, OpenSSL 1.1
        "SHA256 " + COLONS.replace(":", " "),
        "  " + " ".join(COLONS.split(":")) + "\n",
    ],
)
def test_fingerprints_are_accepted_as_people_paste_them(pasted: str) -> None:
    assert normalise_fingerprint(pasted) == PLAIN


@pytest.mark.parametrize(
    ("pasted", "detail"),
    [
        ("12:34", "it has 4 hex digits"),
        ("sha1 Fingerprint=" + COLONS[: 20 * 3 - 1], "not a SHA-256 fingerprint: 'sha1 Finger"),
        ("SHA256 Fingerprint=" + COLONS[: 20 * 3 - 1], "it has 40 hex digits"),
        (COLONS + ":00", "it has 66 hex digits"),
        ("sha256:" + "g" * 64, "not a SHA-256 fingerprint: 'sha256:ggg"),
        ("SHA256:BeC8rXm6mE3RUmvNr9DS0D8n3jX1e0BGlNtmZ+l2Vn0", "not a SHA-256 fingerprint"),
    ],
)
def test_anything_but_32_bytes_of_hex_is_refused_saying_what_is_accepted(
    pasted: str, detail: str
) -> None:
    with pytest.raises(FingerprintFormatError) as caught:
        normalise_fingerprint(pasted)
    assert detail in str(caught.value)
    assert "expected 64 hex digits (32 bytes)" in str(caught.value)
    assert "'sha256 Fingerprint='" in str(caught.value)


def test_a_fingerprint_is_shown_as_colon_separated_pairs() -> None:
    assert COLONS.startswith("05:1E:01:23:45:67") and len(COLONS) == 95


@pytest.mark.parametrize("spelling", [str.lower, str.upper, display_fingerprint])
async def test_a_pinned_certificate_is_trusted_in_any_spelling(
    mock_server: MockServerHandle, spelling: object
) -> None:
    assert mock_server.fingerprint_sha256 is not None
    pin = spelling(mock_server.fingerprint_sha256)  # type: ignore[operator]
    async with LoadMaster(_connection(mock_server, TlsPolicy(fingerprint_sha256=pin))) as lm:
        assert await lm.version() == "7.2.59.0.22007"


@pytest.mark.parametrize("dialect", ["v1", "v2", "auto"])
async def test_a_wrong_pin_is_refused_during_the_handshake_before_anything_is_sent(
    mock_server: MockServerHandle,
    mock_control: MockControl,
    dialect: Literal["v1", "v2", "auto"],
) -> None:
    pinned_elsewhere = _connection(mock_server, TlsPolicy(fingerprint_sha256=OTHER), dialect)
    async with LoadMaster(pinned_elsewhere) as lm:
        with pytest.raises(CertificateError) as caught:
            await lm.list_virtual_services()
        assert lm.calls == 1  # not retried
    assert mock_server.fingerprint_sha256 is not None
    seen = display_fingerprint(mock_server.fingerprint_sha256)
    assert caught.value.expected == display_fingerprint(OTHER)
    assert caught.value.seen == seen
    assert str(caught.value) == (
        f"the certificate of lm-dr does not match the pinned fingerprint: expected "
        f"{display_fingerprint(OTHER)}, seen {seen}. Nothing was sent. If the certificate was "
        f"replaced on purpose, update tls.fingerprint of lm-dr in the inventory"
    )
    assert mock_control.calls() == []  # the request (with its API key) never reached the mock


async def test_a_malformed_pin_is_reported_when_the_client_opens(
    mock_server: MockServerHandle,
) -> None:
    lm = LoadMaster(_connection(mock_server, TlsPolicy(fingerprint_sha256="12:34:zz")))
    with pytest.raises(
        CertificateError, match=r"pinned fingerprint of lm-dr in the inventory is wrong"
    ):
        await lm.__aenter__()


async def test_the_ca_file_verifies_chain_and_hostname(mock_server: MockServerHandle) -> None:
    assert mock_server.ca_file is not None
    async with LoadMaster(_connection(mock_server, TlsPolicy(ca_file=mock_server.ca_file))) as lm:
        assert await lm.version() == "7.2.59.0.22007"


async def test_an_unknown_ca_is_refused_with_what_to_do(
    mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    async with LoadMaster(_connection(mock_server, TlsPolicy())) as lm:
        with pytest.raises(CertificateError) as caught:
            await lm.version()
        assert lm.calls == 1
    message = str(caught.value)
    assert message.startswith("the certificate of lm-dr could not be verified (")
    assert "unable to get local issuer certificate" in message
    assert message.endswith(
        "Set tls.ca_file of lm-dr in the inventory to the CA that signed it, or pin its SHA-256 "
        "fingerprint with tls.fingerprint"
    )
    assert mock_control.calls() == []


async def test_a_missing_ca_file_is_reported(mock_server: MockServerHandle, tmp_path: Path) -> None:
    lm = LoadMaster(_connection(mock_server, TlsPolicy(ca_file=tmp_path / "nope.pem")))
    with pytest.raises(CertificateError, match=r"cannot load the CA file .*nope.pem for lm-dr"):
        await lm.__aenter__()


async def test_insecure_mode_works_and_warns_loudly(
    mock_server: MockServerHandle, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.warns(InsecureTlsWarning, match="TLS certificate verification is OFF for lm-dr"):
        async with LoadMaster(_connection(mock_server, TlsPolicy(insecure=True))) as lm:
            assert await lm.version() == "7.2.59.0.22007"
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "verification is OFF for lm-dr" in warning.getMessage()
    assert "Pin its fingerprint (tls.fingerprint) instead" in warning.getMessage()
