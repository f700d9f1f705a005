"""The served mock's certificate: a small CA and the server certificate it signs.

The CA signs the server certificate (SANs 127.0.0.1, ::1, localhost and the bind host), so a
client can trust the CA file, or pin the server certificate's SHA-256 like it would a real
appliance's self-signed one. Without a state file the set is generated at every start in a
temporary directory; with one it is kept beside the state file (``<stem>-ca.pem``,
``<stem>-cert.pem``, ``<stem>-key.pem``, all private), so a restarted mock keeps the
fingerprint its users pinned, until a new one is asked for.

Also the PEMs an admin installs with ``addcert`` (``lmctl mock addcert``): a self-signed one for
a namespace (``self_signed_pem``), and what is wrong with one that cannot be installed
(``upload_problem``).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lmctl.errors import LmctlError
from lmctl.files import read_regular_file

# Long, as an appliance's own self-signed certificate is: a kept one must outlive its pins.
_VALIDITY = datetime.timedelta(days=3650)
# A demo namespace's certificate (``self_signed_pem``): the year a public one may last at most.
_NAMESPACE_VALIDITY = datetime.timedelta(days=397)
# X.509's upper bound on a common name (RFC 5280, ub-common-name).
_COMMON_NAME_LENGTH = 64


class CertificateError(LmctlError):
    """The certificate kept beside a state file cannot be used (unreadable, damaged, expired,
    or made for another host)."""


@dataclass(frozen=True)
class MockCertificate:
    """Files of one certificate set and the server certificate's SHA-256 (hex)."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    fingerprint_sha256: str


def _files(directory: Path, stem: str) -> tuple[Path, Path, Path]:
    """The CA, certificate and key files of the set named ``stem`` in ``directory``."""
    return (
        directory / f"{stem}-ca.pem",
        directory / f"{stem}-cert.pem",
        directory / f"{stem}-key.pem",
    )


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by its owner only (0600 from the first byte), atomically."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lmctl mock LoadMaster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _subject_alternative_names(host: str) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    try:
        address = ipaddress.ip_address(host)
        if address not in {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}:
            names.append(x509.IPAddress(address))
    except ValueError:
        if host and host != "localhost":
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _signed_by_itself(
    key: ec.EllipticCurvePrivateKey,
    name: x509.Name,
    now: datetime.datetime,
    validity: datetime.timedelta,
) -> x509.CertificateBuilder:
    """A certificate of ``key`` named ``name`` that ``key`` itself signs, valid from a few
    minutes ago (clocks differ) for ``validity``; its extensions are the caller's."""
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + validity)
    )


def _certificate_authority(
    now: datetime.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        _signed_by_itself(key, _name("lmctl mock CA"), now, _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def generate_certificate(
    directory: Path, host: str = "127.0.0.1", stem: str = "mock"
) -> MockCertificate:
    """Create a CA and a server certificate for ``host`` under ``directory`` (private PEM files
    named after ``stem``), replacing any set of that name."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, ca_certificate = _certificate_authority(now)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("lmctl mock LoadMaster"))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_subject_alternative_names(host), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = _files(directory, stem)
    _write_private(
        key_file,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    _write_private(cert_file, certificate.public_bytes(serialization.Encoding.PEM))
    _write_private(ca_file, ca_certificate.public_bytes(serialization.Encoding.PEM))
    return MockCertificate(ca_file, cert_file, key_file, _fingerprint(certificate))


def self_signed_pem(host: str, *more_hosts: str) -> bytes:
    """A new private key and a certificate for the host name ``host`` (its subject CN and first
    subject alternative name) and each of ``more_hosts`` (more SANs: a temporary namespace and
    the final one) signed by that key, as one PEM (the certificate, then the key): what an admin
    uploads with ``addcert`` to publish a namespace. Made in memory and written nowhere: the
    caller hands it to the appliance. A name given twice (in any case) is named once."""
    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    common_name = host if len(host) <= _COMMON_NAME_LENGTH else "lmctl mock namespace"
    hosts: dict[str, str] = {}  # the first spelling of each name, in the order given
    for name in (host, *more_hosts):
        hosts.setdefault(name.casefold(), name)
    names = [x509.DNSName(name) for name in hosts.values()]
    certificate = (
        _signed_by_itself(key, _name(common_name), now, _NAMESPACE_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


# A PEM block of a private key: PKCS#8 (``PRIVATE KEY``, ``ENCRYPTED PRIVATE KEY``) or a
# traditional one (``RSA PRIVATE KEY``, ``EC PRIVATE KEY``).
_PRIVATE_KEY_BLOCK = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")
_CERTIFICATE_BLOCK = b"-----BEGIN CERTIFICATE-----"


def _public_key_bytes(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def upload_problem(pem: bytes) -> str | None:
    """What keeps ``pem`` from being what ``addcert`` installs (a certificate, then its
    unencrypted private key), as a phrase (``it holds no private key ...``); None when it is
    one. The appliance's own refusal says only "Invalid certificate file"."""
    if _CERTIFICATE_BLOCK not in pem:
        return "it holds no certificate (no -----BEGIN CERTIFICATE----- block)"
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        return "its certificate cannot be read (a CERTIFICATE block that is no X.509 certificate)"
    if _PRIVATE_KEY_BLOCK.search(pem) is None:
        return (
            "it holds no private key (no -----BEGIN PRIVATE KEY----- block): the appliance "
            "needs the certificate's key with it, after the certificate"
        )
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        return "its private key is encrypted: give it unencrypted (openssl pkey decrypts it)"
    except (ValueError, UnsupportedAlgorithm):
        return "its private key cannot be read (a PRIVATE KEY block that is no key lmctl knows)"
    key_bytes = _public_key_bytes(key.public_key())
    first, *others = certificates
    if _public_key_bytes(first.public_key()) == key_bytes:
        return None
    owner = next(
        (
            place
            for place, other in enumerate(others, start=2)
            if _public_key_bytes(other.public_key()) == key_bytes
        ),
        None,
    )
    subject = first.subject.rfc4514_string()
    if owner is not None:
        return (
            f"its private key is not the first certificate's ({subject}) but that of certificate "
            f"{owner} in the file: put the server certificate first, then its chain"
        )
    return f"its private key does not match its certificate ({subject}): it is another one's key"


def _fingerprint(certificate: x509.Certificate) -> str:
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _names_host(certificate: x509.Certificate, host: str) -> bool:
    """True when the certificate's SANs name ``host`` (as an address or a DNS name)."""
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    try:
        return ipaddress.ip_address(host) in names.get_values_for_type(x509.IPAddress)
    except ValueError:
        return host in names.get_values_for_type(x509.DNSName)


def _load(files: tuple[Path, Path, Path], host: str, state_file: Path) -> MockCertificate:
    ca_file, cert_file, key_file = files
    renew = "start with --new-certificate to make a new one (clients must then pin its SHA-256)"
    try:
        certificate = x509.load_pem_x509_certificate(read_regular_file(cert_file))
        # Kept private even if it was copied with looser rights.
        key_pem = read_regular_file(key_file, private=True)
        key = serialization.load_pem_private_key(key_pem, password=None)
        x509.load_pem_x509_certificate(read_regular_file(ca_file))
    except (OSError, ValueError, TypeError) as error:
        raise CertificateError(
            f"the certificate kept beside {state_file} cannot be read ({error}); {renew}"
        ) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    pem = serialization.Encoding.PEM
    if key.public_key().public_bytes(pem, public) != certificate.public_key().public_bytes(
        pem, public
    ):
        raise CertificateError(f"{key_file} is not the key of {cert_file}; {renew}")
    if certificate.not_valid_after_utc <= datetime.datetime.now(datetime.UTC):
        raise CertificateError(f"the certificate {cert_file} has expired; {renew}")
    if not _names_host(certificate, host):
        raise CertificateError(f"the certificate {cert_file} does not name {host}; {renew}")
    return MockCertificate(ca_file, cert_file, key_file, _fingerprint(certificate))


def kept_certificate(state_file: Path, host: str, *, new: bool = False) -> MockCertificate:
    """The certificate set kept beside ``state_file``: loaded when it is there (and ``new`` is
    not asked for), generated and kept otherwise. ``CertificateError`` if it cannot be used."""
    files = _files(state_file.parent, state_file.stem)
    if new or not all(os.path.lexists(path) for path in files):
        try:
            state_file.parent.mkdir(parents=True, exist_ok=True)
            return generate_certificate(state_file.parent, host, state_file.stem)
        except OSError as error:  # a directory where a file goes, no right to write there
            raise CertificateError(
                f"cannot keep a certificate beside {state_file}: {error.strerror or error}"
                + (f" ({error.filename2 or error.filename})" if error.filename else "")
            ) from None
    return _load(files, host, state_file)
