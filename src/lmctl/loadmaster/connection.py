"""How to reach and trust one appliance: URL, dialect, credentials and the TLS trust policy.

The inventory (``lmctl.specs``) resolves secrets from the environment or the OS keyring into
these values; the client only ever reads them. Secrets are ``SecretStr`` so that a repr, a log
line or an exception never shows them.

Trust is the system store, a CA file, a pinned fingerprint, or (loudly) none. Appliances ship
with self-signed certificates, so pinning is the usual choice: the SHA-256 fingerprint of the
leaf certificate is checked *during the handshake*, by the SSL object the context creates, as
soon as the handshake completes and so before the first request byte (and any credentials) is
written. A mismatch raises ``PinnedCertificateMismatch``, which the transport turns into
``CertificateError`` naming the expected and the seen fingerprint.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import ssl
import warnings
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from lmctl.errors import LmctlError

Dialect = Literal["v1", "v2", "auto"]


class ApiKey(BaseModel):
    """Authenticate with an API key (v1 ``apikey`` parameter, v2 ``apikey`` body field)."""

    model_config = ConfigDict(frozen=True)

    key: SecretStr


class BasicCredentials(BaseModel):
    """Authenticate as a user (HTTP Basic in v1, ``apiuser``/``apipass`` in v2)."""

    model_config = ConfigDict(frozen=True)

    username: str
    password: SecretStr


Credentials = ApiKey | BasicCredentials


class TlsPolicy(BaseModel):
    """How to trust the appliance's certificate: a CA file, a pinned SHA-256, or not at all.

    With neither a CA file nor a fingerprint nor ``insecure``, the system trust store is used.
    """

    model_config = ConfigDict(frozen=True)

    ca_file: Path | None = None
    fingerprint_sha256: str | None = None
    insecure: bool = False


# -- the API URL -------------------------------------------------------------------------------

# One label of a host name: letters, digits, hyphens, not at either end (also used by the
# spec rules for FQDNs).
DNS_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DNS_NAME = re.compile(rf"{DNS_LABEL}(?:\.{DNS_LABEL})*\.?")
_PORT = re.compile(r"[0-9]{1,5}")


def url_host_problem(url: str) -> str | None:
    """What makes the host or port of the ``https://`` URL ``url`` unusable, or None.

    Checked before a connection is tried, since httpx and the socket layer do not report a
    broken IPv6 literal or a port out of range as a connection failure: they raise
    ``InvalidURL`` or ``OverflowError``. The message never repeats the URL (a mistyped one may
    hold a secret).
    """
    authority = re.split(r"[/?#]", url[len("https://") :], maxsplit=1)[0]
    if "@" in authority:
        return "the URL holds a user name or password (user:password@)"
    if authority.startswith("["):
        host, bracket, port = authority[1:].partition("]")
        if not bracket:
            return "the [ of the IPv6 address is not closed with ]"
        if port and not port.startswith(":"):
            return "only :<port> may follow the ] of an IPv6 address"
        problem = _ipv6_problem(host)
    elif authority.count(":") > 1:
        return (
            "an IPv6 address goes in brackets: https://[2001:db8::5] or https://[2001:db8::5]:443"
        )
    else:
        host, colon, port = authority.partition(":")
        port = colon + port
        problem = _host_problem(host)
    if problem is None and port:
        number = port[1:]
        if not _PORT.fullmatch(number) or not 1 <= int(number) <= 65535:
            return "the port must be a number 1-65535"
    return problem


def _ipv6_problem(host: str) -> str | None:
    try:
        address = ipaddress.IPv6Address(host)
    except ValueError:
        return "the address in [ ] is not an IPv6 address"
    if "%" in host:  # a zone (fe80::1%eth0) is not written that way in a URL
        return "an IPv6 address with a zone (%) cannot be used in the URL"
    return _unconnectable(address)


def _unconnectable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    # Loopback stays allowed: a served mock (or a tunnel) listens there.
    if address.is_unspecified or address.is_multicast or address == _BROADCAST:
        return "the address names no single host to connect to (unspecified, broadcast, multicast)"
    return None


_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _host_problem(host: str) -> str | None:
    if not host:
        return "the URL names no host"
    if all(character.isascii() and (character.isdigit() or character == ".") for character in host):
        try:
            address = ipaddress.IPv4Address(host)
        except ValueError:
            return "the host is not an IPv4 address (four numbers 0-255, e.g. 10.0.0.5)"
        return _unconnectable(address)
    if len(host) > 254 or not _DNS_NAME.fullmatch(host):
        return (
            "the host is not a DNS name (letters, digits and -, at most 63 between two dots, "
            "neither starting nor ending with -)"
        )
    return None


class ApplianceConnection(BaseModel):
    """Everything needed to talk to one LoadMaster (or an HA pair through its shared IP)."""

    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    dialect: Dialect = "auto"
    credentials: Credentials
    tls: TlsPolicy = TlsPolicy()


# -- fingerprints ------------------------------------------------------------------------------

# What people paste before the digits: ``sha256:``/``SHA256:`` (browsers, many tools) or
# ``sha256 Fingerprint=`` (OpenSSL 3; 1.1 printed ``SHA256 Fingerprint=``).
_FINGERPRINT_LABEL = re.compile(r"^\s*sha-?256(?:\s*fingerprint)?\s*[:=]?\s*", re.IGNORECASE)
_HEX64 = re.compile(r"[0-9a-f]{64}")
FINGERPRINT_FORMS = (
    "64 hex digits (32 bytes), upper or lower case, with colons or spaces between the pairs "
    "or none, optionally after 'sha256:' or 'sha256 Fingerprint=' as "
    "`openssl x509 -noout -fingerprint -sha256` prints it"
)


class InsecureTlsWarning(UserWarning):
    """Certificate verification is off for an appliance."""


class FingerprintFormatError(LmctlError, ValueError):
    """A configured fingerprint is not a SHA-256 digest (a ValueError too, so the inventory's
    validation reports it as the field's problem)."""


class PinnedCertificateMismatch(ssl.SSLCertVerificationError):
    """The appliance presented a certificate whose fingerprint is not the pinned one."""

    def __init__(self, expected: str, seen: str) -> None:
        self.expected = expected
        self.seen = seen
        super().__init__(1, f"certificate fingerprint mismatch: expected {expected}, got {seen}")


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as 64 lowercase hex digits, from any of ``FINGERPRINT_FORMS``."""
    digits = re.sub(r"[\s:]", "", _FINGERPRINT_LABEL.sub("", text)).lower()
    if not _HEX64.fullmatch(digits):
        hex_only = re.fullmatch(r"[0-9a-f]*", digits) is not None
        found = f"; it has {len(digits)} hex digits" if hex_only and digits else ""
        raise FingerprintFormatError(
            f"not a SHA-256 fingerprint: {text.strip()!r}{found}; expected {FINGERPRINT_FORMS}"
        )
    return digits


def display_fingerprint(hex_digest: str) -> str:
    """``AB:CD:...``, the way browsers and ``openssl x509 -fingerprint`` show a fingerprint."""
    upper = hex_digest.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as lowercase hex."""
    return hashlib.sha256(der).hexdigest()


# -- SSL contexts ------------------------------------------------------------------------------


def _pinned_object_class(expected: str) -> type[ssl.SSLObject]:
    """An ``SSLObject`` class that checks the peer's leaf fingerprint when the handshake ends."""

    class PinnedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()
            der = self.getpeercert(binary_form=True)
            seen = certificate_fingerprint(der) if der else "(no certificate)"
            if seen != expected:
                raise PinnedCertificateMismatch(
                    display_fingerprint(expected),
                    display_fingerprint(seen) if der else seen,
                )

    return PinnedSSLObject


def _context_without_chain_checks() -> ssl.SSLContext:
    """A TLS 1.2+ client context that checks no chain or host name.

    Built directly rather than from ``create_default_context`` so that the system CA store,
    which a pinned or insecure connection never consults, is not loaded (tens of ms each).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def ssl_context_for(policy: TlsPolicy, appliance: str, logger: logging.Logger) -> ssl.SSLContext:
    """The SSL context that enforces ``policy`` for ``appliance``."""
    if policy.fingerprint_sha256:
        expected = normalise_fingerprint(policy.fingerprint_sha256)
        # A self-signed certificate cannot pass chain or hostname checks: the pin replaces them.
        context = _context_without_chain_checks()
        context.sslobject_class = _pinned_object_class(expected)
        return context
    if policy.insecure:
        message = (
            f"TLS certificate verification is OFF for {appliance}: anyone on the network path "
            f"can read its credentials. Pin its fingerprint (tls.fingerprint) instead."
        )
        logger.warning(message)
        warnings.warn(message, InsecureTlsWarning, stacklevel=3)
        return _context_without_chain_checks()
    if policy.ca_file is not None:
        return ssl.create_default_context(cafile=str(policy.ca_file))
    return ssl.create_default_context()


def find_certificate_problem(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate verification failure somewhere in ``exc``'s cause chain, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
