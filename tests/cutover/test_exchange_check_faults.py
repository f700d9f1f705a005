"""``lmctl exchange check`` when the network misbehaves: a resolver that never answers, a
member answering without a newline, a public resolver that is unreachable or silent, names no
probe may send; and the TLS contexts built once per run whatever the number of members."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cutover_specs import HQ_2010_STATIC, NAMESPACE_2016, write_specs
from local_servers import (
    HttpsMember,
    LocalNetwork,
    LocalServers,
    MemberCertificate,
    local_servers,
    make_certificate,
)

from lmctl.cli import exchange as exchange_cli
from lmctl.cutover.preflight import Probe, SystemNetwork, TlsContexts, check_arrays
from lmctl_testkit import invoke

NAMESPACE = "mail.corp.example.com"
AUTODISCOVER = "autodiscover.corp.example.com"
HEALTH = "/owa/healthcheck.htm"
M1, M2 = "10.10.2.11", "10.10.2.12"


@pytest.fixture
def servers() -> Iterator[LocalServers]:
    with local_servers() as running:
        yield running


@pytest.fixture
def certificate(tmp_path: Path) -> MemberCertificate:
    return make_certificate(tmp_path / "pki", [NAMESPACE, AUTODISCOVER])


def use(monkeypatch: pytest.MonkeyPatch, network: SystemNetwork) -> None:
    monkeypatch.setattr(exchange_cli, "default_network", lambda ca_file, concurrency: network)


def run(tmp_path: Path, name: str, text: str, *args: str) -> tuple[int, dict[str, Any], str]:
    specs = write_specs(tmp_path / "arrays", **{name: text})
    outcome = invoke("exchange", "check", name, "--specs", str(specs), "-f", "json", *args)
    assert "Traceback" not in outcome.output
    return outcome.exit_code, json.loads(outcome.stdout), outcome.stderr


def found(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    return {
        (c["target"], c["check"]): (c["verdict"], c["detail"])
        for c in document["arrays"][0]["checks"]
    }


class CountingNetwork(LocalNetwork):
    """Counts the TLS contexts asked for."""

    contexts = 0

    def tls_context(self, *, verify: bool) -> ssl.SSLContext:
        self.contexts += 1
        return super().tls_context(verify=verify)


@pytest.mark.parametrize("members", [2, 12])
def test_the_tls_contexts_are_built_once_per_run(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
    members: int,
) -> None:
    port = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH))
    addresses = [f"10.10.2.{11 + index}" for index in range(members)]
    text = NAMESPACE_2016.split("members:")[0] + "members:\n"
    text += "".join(f"  - {{name: EX{i:02}, address: {a}}}\n" for i, a in enumerate(addresses))
    text += "services: [https]\n"
    network = CountingNetwork({}, {(a, 443): port for a in addresses}, certificate.ca_file)
    use(monkeypatch, network)
    _, document, _ = run(tmp_path, "mail-2016", text)
    checks = found(document)
    assert {
        checks[f"EX{i:02}", c][0] for i in range(members) for c in ("health", "certificate")
    } == {"pass"}
    # One verifying context and one not, whatever the member count (loading the CAs takes a
    # quarter of a second on the event loop: once per probe it starved the others' timeouts).
    assert network.contexts == 2


class BlockingResolver(LocalNetwork):
    """The system's way of resolving (``SystemNetwork.resolve``) over a lookup that blocks
    until released, as a resolver that never answers does."""

    def __init__(self, release: threading.Event, **kwargs: Any) -> None:
        super().__init__({}, {}, None)
        SystemNetwork.__init__(self, None, concurrency=2, lookup=self.blocked)
        self.release = release

    def blocked(self, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        self.release.wait(30)
        raise socket.gaierror("released")

    async def resolve(self, name: str) -> tuple[str, ...]:
        return await SystemNetwork.resolve(self, name)


def test_a_silent_resolver_costs_the_probe_timeout_not_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    # The old code waited for every lookup at exit: the release after 5 s would show it.
    timer = threading.Timer(5, release.set)
    timer.start()
    try:
        use(monkeypatch, BlockingResolver(release))
        text = NAMESPACE_2016.replace("services: [https, http-redirect, smtp]", "services: [smtp]")
        started = time.monotonic()
        code, document, _ = run(tmp_path, "mail-2016", text, "--timeout", "0.3")
        elapsed = time.monotonic() - started
    finally:
        release.set()
        timer.cancel()
    assert code == 3
    checks = found(document)
    assert checks[NAMESPACE, "dns"] == ("fail", "no answer within 0.3 s")
    assert checks[AUTODISCOVER, "dns"] == ("fail", "no answer within 0.3 s")
    assert elapsed < 3


def test_a_health_answer_without_a_newline_fails_that_probe_alone(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flood = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH, raw=b"A" * 200_000))
    good = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH))
    names = {NAMESPACE: ["10.10.2.50"], AUTODISCOVER: ["10.10.2.50"]}
    smtp = servers.tcp()
    routes = {(M1, 443): flood, (M2, 443): good, (M1, 25): smtp, (M2, 25): smtp}
    use(monkeypatch, LocalNetwork(names, routes, certificate.ca_file))
    code, document, stderr = run(tmp_path, "mail-2016", NAMESPACE_2016)
    assert code == 3
    checks = found(document)
    assert checks["HQ-EX16-01", "health"] == (
        "fail",
        "no HTTP status line: the answer's first line is longer than 64 KiB",
    )
    assert {verdict for key, (verdict, _) in checks.items() if key != ("HQ-EX16-01", "health")} == {
        "pass"
    }
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    "host", [f"{NAMESPACE}\r\nX-Evil: injected", "a b.example.com", "[bold red]evil[/]"]
)
async def test_the_health_probe_sends_no_name_outside_the_host_name_characters(
    host: str,
) -> None:
    class Unreachable(LocalNetwork):
        connects = 0

        async def connect(self, *args: Any) -> Any:
            self.connects += 1
            raise AssertionError("no connection for a name that is not a host name")

    network = Unreachable({}, {}, None)
    probe = Probe("mail-2016", "health", "EX01", M1, 443, (), host, HEALTH)
    [result] = await check_arrays(
        [probe],
        network,
        timeout=1,
        contexts=TlsContexts(ssl.create_default_context(), ssl.create_default_context()),
    )
    assert (result.verdict, result.detail) == ("fail", f"not probed: {host!r} is not a host name")
    assert network.connects == 0


async def test_a_name_idna_refuses_fails_its_probes_without_a_traceback() -> None:
    long_label = "a" * 70 + ".corp.example.com"
    network = SystemNetwork()
    contexts = TlsContexts.of(network)
    with socket.socket() as listener:
        # An open port: the name is refused when it is sent as SNI, after the connection.
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        probes = [
            Probe("mail-2016", "dns", long_label, expected=("10.10.2.50",)),
            Probe("mail-2016", "certificate", "EX01", "127.0.0.1", port, (long_label,), long_label),
        ]
        try:
            results = await check_arrays(probes, network, timeout=2, contexts=contexts)
        finally:
            network.close()
    assert [(r.verdict, r.detail) for r in results] == [
        ("fail", "does not resolve"),
        ("fail", f"not probed: {long_label!r} is not a host name"),
    ]


def udp_closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("resolver", ["refusing", "silent"])
def test_an_unreachable_public_resolver_warns_not_checked(
    tmp_path: Path,
    servers: LocalServers,
    monkeypatch: pytest.MonkeyPatch,
    resolver: str,
) -> None:
    certificate = make_certificate(tmp_path / "pki", [NAMESPACE, AUTODISCOVER])
    https = servers.https(HttpsMember(certificate, NAMESPACE, "/owa/auth/logon.aspx"))
    tcp = servers.tcp()
    members = ("10.10.1.11", "10.10.1.12")
    routes = {(m, p): tcp for m in members for p in (135, 60000, 60001, 993)}
    routes |= {(m, 443): https for m in members}
    fqdn = "outlook-hq.corp.example.com"
    names = {fqdn: ["10.10.1.50"], NAMESPACE: ["10.10.1.50"], AUTODISCOVER: ["10.10.1.50"]}
    port = udp_closed_port() if resolver == "refusing" else servers.silent_udp()
    use(monkeypatch, LocalNetwork(names, routes, certificate.ca_file, port))
    code, document, _ = run(
        tmp_path, "hq-cas", HQ_2010_STATIC, "--public-resolver", "127.0.0.1", "--timeout", "0.5"
    )
    checks = found(document)
    verdict, detail = checks[fqdn, "public dns"]
    assert verdict == "warn"
    if resolver == "refusing":
        assert detail.startswith("not checked: cannot ask the public resolver 127.0.0.1: ")
    else:
        assert detail == ("not checked: the public resolver 127.0.0.1 gave no answer within 0.5 s")
    assert code == 2


def test_a_client_host_name_idna_refuses_is_a_spec_error_not_a_traceback(tmp_path: Path) -> None:
    long_label = "a" * 70 + ".corp.example.com"
    text = NAMESPACE_2016.replace(AUTODISCOVER, long_label)
    specs = write_specs(tmp_path / "arrays", **{"mail-2016": text})
    outcome = invoke("exchange", "check", "--specs", str(specs))
    assert outcome.exit_code == 1
    assert "Traceback" not in outcome.output
    assert f"client_hostnames[0]: '{long_label[:20]}" in outcome.stderr
    assert "is not a valid host name" in outcome.stderr


def test_certificate_names_are_shown_as_the_server_sent_them(
    tmp_path: Path, servers: LocalServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = make_certificate(tmp_path / "pki", ["Mail.Corp.Example.COM"])
    port = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH))
    use(monkeypatch, LocalNetwork({}, {(M1, 443): port, (M2, 443): port}, certificate.ca_file))
    code, document, _ = run(tmp_path, "mail-2016", NAMESPACE_2016)
    assert code == 3
    # Compared without case (mail.corp.example.com is covered), shown as spelled.
    assert found(document)["HQ-EX16-01", "certificate"] == (
        "fail",
        f"does not name {AUTODISCOVER} (it names Mail.Corp.Example.COM)",
    )


def test_a_spec_error_says_nothing_was_checked(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "arrays", **{"mail-2016": NAMESPACE_2016.replace("vip:", "vipp:")}
    )
    outcome = invoke("exchange", "check", "--specs", str(specs))
    assert outcome.exit_code == 1
    assert outcome.stderr.endswith(
        "error: the specs have errors (see above); nothing was checked\n"
    )
