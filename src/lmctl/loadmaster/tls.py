"""TLS trust for one appliance: the system store, a CA file, a pinned fingerprint, or (loudly) none.

Appliances ship with self-signed certificates. Pinning checks the SHA-256 fingerprint of the
leaf certificate *during the handshake*: the SSL object the context creates verifies the digest
as soon as the handshake completes, before the first request byte (and so before any
credentials) is written. A mismatch raises ``PinnedCertificateMismatch``, which the client turns
into ``CertificateError`` naming the expected and the seen fingerprint.
"""

from __future__ import annotations

import hashlib
import logging
import re
import ssl
import warnings

from lmctl.loadmaster.connection import TlsPolicy

_HEX64 = re.compile(r"[0-9a-f]{64}")


class InsecureTlsWarning(UserWarning):
    """Certificate verification is off for an appliance."""


class FingerprintFormatError(ValueError):
    """A configured fingerprint is not a SHA-256 digest."""


class PinnedCertificateMismatch(ssl.SSLCertVerificationError):
    """The appliance presented a certificate whose fingerprint is not the pinned one."""

    def __init__(self, expected: str, seen: str) -> None:
        self.expected = expected
        self.seen = seen
        super().__init__(1, f"certificate fingerprint mismatch: expected {expected}, got {seen}")


def normalise_fingerprint(text: str) -> str:
    """A SHA-256 fingerprint as 64 lowercase hex digits; accepts ``AB:CD:..``, ``sha256:``."""
    cleaned = text.strip().lower()
    cleaned = cleaned.removeprefix("sha256:").removeprefix("sha256 ")
    cleaned = re.sub(r"[\s:]", "", cleaned)
    if not _HEX64.fullmatch(cleaned):
        raise FingerprintFormatError(
            f"not a SHA-256 fingerprint: {text!r} (expected 64 hex digits, colons allowed)"
        )
    return cleaned


def display_fingerprint(hex_digest: str) -> str:
    """``AB:CD:...``, the way browsers and ``openssl x509 -fingerprint`` show a fingerprint."""
    upper = hex_digest.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate as lowercase hex."""
    return hashlib.sha256(der).hexdigest()


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
