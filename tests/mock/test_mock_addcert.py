"""``lmctl mock addcert``: a certificate installed on a built-in ``mock://`` appliance the way an
admin installs one on a LoadMaster (its ``addcert``), so a per-protocol array can name it; the
private key never shown, and real appliances refused."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from lmctl.mock.tls import generate_certificate
from lmctl_testkit import Outcome, certificate_pem, invoke, per_protocol_spec, write_spec_files

INVENTORY = """\
appliances:
  lm-hq:
    url: mock://lm-hq
  lm-dc1:
    url: https://10.0.0.5
    auth: {api_key: {env: LM_DC1_API_KEY}}
    tls: {insecure: true}
"""


class Site:
    """A spec directory whose inventory names ``lm-hq`` as a ``mock://`` appliance."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs = root / "specs"
        self.state = root / "state"
        write_spec_files(self.specs, {"appliances.yaml": INVENTORY})

    def addcert(self, *args: str) -> Outcome:
        inventory = str(self.specs / "appliances.yaml")
        return invoke(
            "mock", "addcert", *args, "--inventory", inventory, "--state-dir", str(self.state)
        )

    def installed(self) -> dict[str, str]:
        """The certificates in the mock's state file: name → PEM."""
        state = json.loads((self.state / "mock-lm-hq.json").read_text())
        return {c["name"]: c["pem"] for c in state.get("certificates", [])}

    def files(self) -> set[str]:
        return {str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file()}


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_self_signed_installs_a_certificate_for_the_host_and_never_shows_the_key(
    site: Site,
) -> None:
    before = site.files()
    outcome = invoke(
        "-vv",
        "mock",
        "addcert",
        "mail-2019",
        "--appliance",
        "lm-hq",
        "--self-signed",
        "mail.example.com",
        "--inventory",
        str(site.specs / "appliances.yaml"),
        "--state-dir",
        str(site.state),
    )
    assert outcome.exit_code == 0, outcome.output
    assert "installed certificate mail-2019 on lm-hq" in outcome.stdout
    pem = site.installed()["mail-2019"]
    certificate = x509.load_pem_x509_certificate(pem.encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["mail.example.com"]
    # The key is in the mock's state and nowhere else: not on the terminal, not in the -vv log,
    # not in a file beside it.
    assert "PRIVATE KEY" in pem
    assert "PRIVATE KEY" not in outcome.output
    assert site.files() - before == {"state/.gitignore", "state/mock-lm-hq.json"}


def _dns_names(pem: str) -> tuple[str, list[str]]:
    """The subject CN and the DNS subject alternative names of the PEM's certificate."""
    certificate = x509.load_pem_x509_certificate(pem.encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    [common_name] = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(common_name.value), names.get_values_for_type(x509.DNSName)


def test_self_signed_given_twice_names_every_host_the_first_as_the_subject(site: Site) -> None:
    """docs/layouts.md's blue/green path: one certificate for the temporary and the final
    namespace."""
    outcome = site.addcert(
        "mail-pp", "-a", "lm-hq",
        "--self-signed", "mail-pp.example.com",
        "--self-signed", "mail.example.com.",
        "--self-signed", "MAIL-PP.example.com",  # the first again, in another case: named once
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout == (
        "installed certificate mail-pp on lm-hq (mock://lm-hq), self-signed for "
        "mail-pp.example.com, mail.example.com\n"
    )
    assert _dns_names(site.installed()["mail-pp"]) == (
        "mail-pp.example.com",
        ["mail-pp.example.com", "mail.example.com"],
    )
    # Each HOST is checked: the one that is no host name is named.
    refused = site.addcert(
        "other", "-a", "lm-hq", "--self-signed", "mail.example.com", "--self-signed", "mail pp"
    )
    assert refused.exit_code == 64
    assert "'mail pp' is no host name" in refused.stderr
    # An address is no name a DNS subject alternative name can carry.
    for address in ("10.1.1.1", "1.2.3.4.5"):
        refused = site.addcert("other", "-a", "lm-hq", "--self-signed", address)
        assert refused.exit_code == 64, refused.output
        assert f"'{address}' is no host name" in refused.stderr


def test_a_second_run_leaves_the_certificate_and_replace_installs_the_new_one(
    site: Site,
) -> None:
    assert (
        site.addcert("mail-2019", "-a", "lm-hq", "--self-signed", "mail.example.com").exit_code == 0
    )
    first = site.installed()["mail-2019"]
    again = site.addcert("mail-2019", "-a", "lm-hq", "--self-signed", "mail.example.com")
    assert again.exit_code == 0, again.output
    assert "already installed on lm-hq: nothing changed" in again.stdout
    assert site.installed()["mail-2019"] == first
    replaced = site.addcert(
        "mail-2019", "-a", "lm-hq", "--self-signed", "mail.example.com", "--replace"
    )
    assert replaced.exit_code == 0, replaced.output
    assert site.installed()["mail-2019"] != first


def test_pem_installs_the_admins_file_and_a_file_without_its_key_is_refused(site: Site) -> None:
    pem = site.root / "exchange.pem"
    pem.write_bytes(certificate_pem(site.root))
    assert site.addcert("exchange", "-a", "lm-hq", "--pem", str(pem)).exit_code == 0
    assert site.installed()["exchange"] == pem.read_text()
    without_key = site.root / "cert-only.pem"
    without_key.write_bytes(pem.read_bytes().split(b"-----BEGIN PRIVATE KEY")[0])
    refused = site.addcert("cert-only", "-a", "lm-hq", "--pem", str(without_key))
    assert refused.exit_code == 1
    # Said by lmctl, before the upload: not only the appliance's "Invalid certificate file".
    assert refused.stderr == (
        f"error: --pem {without_key} is no certificate with its private key: it holds no "
        "private key (no -----BEGIN PRIVATE KEY----- block): the appliance needs the "
        "certificate's key with it, after the certificate; nothing was installed\n"
    )
    assert "cert-only" not in site.installed()
    # Checked even where that name is installed: a file that could not replace it is no
    # "already installed".
    again = site.addcert("exchange", "-a", "lm-hq", "--pem", str(without_key))
    assert again.exit_code == 1
    assert "it holds no private key" in again.stderr


def _pem_files(directory: Path) -> dict[str, bytes]:
    """PEM files an admin may pick up by mistake, by what is wrong with them."""
    first = generate_certificate(directory, host="mail.example.com", stem="first")
    second = generate_certificate(directory, host="mail.example.com", stem="second")
    cert, key = first.cert_file.read_bytes(), first.key_file.read_bytes()
    encrypted = serialization.load_pem_private_key(key, password=None).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    return {
        "empty": b"",
        "key only": key,
        "a damaged certificate": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        + key,
        "another certificate's key": cert + second.key_file.read_bytes(),
        "the chain first": second.cert_file.read_bytes() + cert + key,
        "an encrypted key": cert + encrypted,
        "a damaged key": cert + b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    }


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("empty", "it holds no certificate (no -----BEGIN CERTIFICATE----- block)"),
        ("key only", "it holds no certificate (no -----BEGIN CERTIFICATE----- block)"),
        ("a damaged certificate", "its certificate cannot be read"),
        (
            "another certificate's key",
            "its private key does not match its certificate (CN=lmctl mock LoadMaster",
        ),
        ("the chain first", "its private key is not the first certificate's"),
        ("an encrypted key", "its private key is encrypted: give it unencrypted"),
        ("a damaged key", "its private key cannot be read"),
    ],
)
def test_a_pem_that_cannot_be_installed_is_refused_saying_why_before_the_upload(
    site: Site, kind: str, problem: str
) -> None:
    pem = site.root / "exchange.pem"
    pem.write_bytes(_pem_files(site.root)[kind])
    refused = site.addcert("exchange", "-a", "lm-hq", "--pem", str(pem))
    assert refused.exit_code == 1
    assert refused.stderr.startswith(
        f"error: --pem {pem} is no certificate with its private key: {problem}"
    )
    assert refused.stderr.endswith("; nothing was installed\n")
    assert "PRIVATE KEY-----\n" not in refused.output  # nothing of the file is echoed
    assert not site.state.exists()  # refused before the appliance was started


def test_the_chain_after_the_server_certificate_is_installed(site: Site) -> None:
    first = generate_certificate(site.root, host="mail.example.com", stem="first")
    pem = site.root / "exchange.pem"
    pem.write_bytes(
        first.cert_file.read_bytes() + first.ca_file.read_bytes() + first.key_file.read_bytes()
    )
    installed = site.addcert("exchange", "-a", "lm-hq", "--pem", str(pem))
    assert installed.exit_code == 0, installed.output
    assert site.installed()["exchange"] == pem.read_text()


def test_a_real_appliance_is_refused_before_anything_is_read(site: Site) -> None:
    outcome = site.addcert("mail-2019", "-a", "lm-dc1", "--self-signed", "mail.example.com")
    assert outcome.exit_code == 1
    assert "lm-dc1 is a real appliance (https://10.0.0.5)" in outcome.stderr
    assert "Certificates & Security > SSL Certificates" in outcome.stderr
    assert not site.state.exists()


@pytest.mark.parametrize(
    "arguments",
    [
        ("mail-2019", "-a", "lm-hq"),
        ("mail-2019", "-a", "lm-hq", "--pem", "x.pem", "--self-signed", "mail.example.com"),
        ("bad name", "-a", "lm-hq", "--self-signed", "mail.example.com"),
        ("mail-2019", "-a", "lm-hq", "--self-signed", "not a host"),
        ("mail-2019", "-a", "lm-hq", "--self-signed", "mail.example.com", "--self-signed", "x y"),
        (
            "mail-2019",
            "-a",
            "lm-hq",
            "--pem",
            "x.pem",
            "--self-signed",
            "a.example.com",
            "--self-signed",
            "b.example.com",
        ),
    ],
)
def test_usage_errors_exit_64(site: Site, arguments: tuple[str, ...]) -> None:
    assert site.addcert(*arguments).exit_code == 64
    assert not site.state.exists()


def test_the_command_plan_suggests_installs_the_certificate_plan_needs(site: Site) -> None:
    write_spec_files(site.specs, {"mail.yaml": per_protocol_spec()})
    plan = ("plan", str(site.specs), "--appliance", "lm-hq", "--state-dir", str(site.state))
    refused = invoke(*plan)
    assert refused.exit_code == 1
    assert "certificate: 'mail-2019' is not installed on lm-hq (it has no certificate)" in (
        refused.stderr
    )
    suggested = refused.stderr.split("on this mock:// appliance: ")[1].split(" (or --pem")[0]
    arguments = shlex.split(suggested)
    assert arguments[:3] == ["lmctl", "mock", "addcert"]
    assert arguments[-2:] == ["--self-signed", "mail.example.com"]
    # The inventory and state directory plan used are part of it.
    assert "--inventory" in arguments and "--state-dir" in arguments
    assert invoke(*arguments[1:]).exit_code == 0
    assert invoke(*plan).exit_code == 0
