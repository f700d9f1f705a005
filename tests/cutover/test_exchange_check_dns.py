"""The DNS client of ``lmctl exchange check --public-resolver``: what it makes of answers it
did not expect, and untrusted text from the network on the terminal."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from cutover_specs import NAMESPACE_2016, write_specs
from local_servers import HttpsMember, LocalNetwork, LocalServers, local_servers, make_certificate

from lmctl.cli import exchange as exchange_cli
from lmctl.cutover.dns import A, DnsError, parse_answer, question
from lmctl_testkit import invoke


def answer(ident: int, rcode: int = 0, addresses: tuple[bytes, ...] = ()) -> bytes:
    asked = question("mail.example.com", A, ident)[12:]
    records = b"".join(struct.pack("!HHHIH", 0xC00C, A, 1, 60, 4) + a for a in addresses)
    return struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(addresses), 0, 0) + asked + records


def test_an_answer_is_read() -> None:
    read = parse_answer(answer(7, addresses=(bytes([203, 0, 113, 5]),)), 7, A)
    assert read is not None
    assert (read.rcode, read.addresses) == (0, ("203.0.113.5",))


def test_an_answer_to_another_question_is_not_taken() -> None:
    assert parse_answer(answer(8), 7, A) is None
    assert parse_answer(question("mail.example.com", A, 7), 7, A) is None  # not a response


def test_a_cut_answer_is_an_error() -> None:
    with pytest.raises(DnsError, match="cannot be read"):
        parse_answer(answer(7, addresses=(bytes([203, 0, 113, 5]),))[:-3] + b"\xc0", 7, A)


def test_a_name_dns_cannot_ask_for_is_refused() -> None:
    with pytest.raises(DnsError):
        question("a..b", A, 1)


@pytest.fixture
def servers() -> Iterator[LocalServers]:
    with local_servers() as running:
        yield running


def test_certificate_names_from_the_network_are_escaped_on_the_terminal(
    tmp_path: Path, servers: LocalServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = "x\x1b]0;pwned\x07.example.com"
    certificate = make_certificate(tmp_path / "pki", ["mail.corp.example.com", hostile])
    port = servers.https(HttpsMember(certificate, "mail.corp.example.com", "/owa/healthcheck.htm"))
    routes = {("10.10.2.11", 443): port, ("10.10.2.12", 443): port}

    def network(ca_file: Path | None, concurrency: int) -> LocalNetwork:
        return LocalNetwork({}, routes, certificate.ca_file)

    monkeypatch.setattr(exchange_cli, "default_network", network)
    specs = write_specs(tmp_path / "arrays", **{"mail-2016": NAMESPACE_2016})
    outcome = invoke("exchange", "check", str(specs))
    assert outcome.exit_code == 3
    assert "\x1b" not in outcome.output
    assert "\x07" not in outcome.output
    assert "x\\x1b]0;pwned\\x07.example.com" in outcome.stdout


def test_an_unusable_ca_file_is_one_error_before_any_probe(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "arrays", **{"mail-2016": NAMESPACE_2016})
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    for ca_file in (tmp_path / "missing.pem", not_pem):
        outcome = invoke("exchange", "check", str(specs), "--ca-file", str(ca_file))
        assert outcome.exit_code == 1
        assert outcome.stdout == ""
        assert outcome.stderr.startswith(f"error: cannot use --ca-file {ca_file}: ")
        assert "Traceback" not in outcome.output


def test_an_unknown_array_is_an_error(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "arrays", **{"mail-2016": NAMESPACE_2016})
    outcome = invoke("exchange", "check", "--array", "hq-cas", str(specs))
    assert outcome.exit_code == 1
    assert outcome.stderr == "error: no array named 'hq-cas' in the specs; arrays: mail-2016\n"
