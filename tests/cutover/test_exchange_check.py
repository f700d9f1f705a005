"""``lmctl exchange check`` against local servers: HTTPS members with a certificate whose names
are known, a resolver stub, a closed port, a health URL answering 503; each check's verdict and
the exit code, through the command line. The probes' concurrency is asserted structurally.
Then the network misbehaving: a resolver that never answers, a member answering without a
newline, a public resolver unreachable or silent, names no probe may send.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cutover_specs import HQ_2010_STATIC, NAMESPACE_2016, PER_PROTOCOL_SUBSET, write_specs
from local_servers import (
    HttpsMember,
    LocalNetwork,
    LocalServers,
    MemberCertificate,
    local_servers,
    make_certificate,
    verdicts,
)

from lmctl.cli import exchange as exchange_cli
from lmctl.cutover.preflight import (
    Probe,
    SystemNetwork,
    TlsContexts,
    check_arrays,
    covers,
    plan_probes,
)
from lmctl.specs import ArraySpec
from lmctl_testkit import invoke

VIP = "10.10.2.50"
M1, M2 = "10.10.2.11", "10.10.2.12"
NAMESPACE = "mail.corp.example.com"
AUTODISCOVER = "autodiscover.corp.example.com"
HEALTH = "/owa/healthcheck.htm"
GOOD_DNS = {NAMESPACE: [VIP], AUTODISCOVER: [VIP]}


@pytest.fixture
def servers() -> Iterator[LocalServers]:
    with local_servers() as running:
        yield running


@pytest.fixture
def certificate(tmp_path: Path) -> MemberCertificate:
    return make_certificate(tmp_path / "pki", [NAMESPACE, AUTODISCOVER])


def route(
    monkeypatch: pytest.MonkeyPatch,
    names: dict[str, list[str]],
    routes: dict[tuple[str, int], int],
    *,
    trusted: Path | None,
    dns_port: int = 53,
) -> None:
    """Make ``lmctl exchange check`` probe through the resolver stub and the routes (and ask
    the public resolver on ``dns_port``)."""

    def network(ca_file: Path | None, concurrency: int) -> LocalNetwork:
        return LocalNetwork(names, routes, trusted if ca_file is None else ca_file, dns_port)

    monkeypatch.setattr(exchange_cli, "default_network", network)


def check(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    specs = write_specs(tmp_path / "arrays", **{"mail-2016": NAMESPACE_2016})
    outcome = invoke("exchange", "check", "--array", "mail-2016", str(specs), "-f", "json", *args)
    return outcome.exit_code, json.loads(outcome.stdout)


def test_every_check_passes_and_exit_is_0(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    members = [HttpsMember(certificate, NAMESPACE, HEALTH) for _ in range(2)]
    https = [servers.https(member) for member in members]
    smtp = servers.tcp()
    routes = {(M1, 443): https[0], (M2, 443): https[1], (M1, 25): smtp, (M2, 25): smtp}
    route(monkeypatch, GOOD_DNS, routes, trusted=certificate.ca_file)
    code, document = check(tmp_path)
    assert code == 0
    assert document["verdict"] == "pass"
    found = verdicts(document)
    assert set(found) == {
        (NAMESPACE, "dns"),
        (AUTODISCOVER, "dns"),
        *((m, c) for m in ("HQ-EX16-01", "HQ-EX16-02") for c in ("tcp/443", "tcp/25")),
        *((m, c) for m in ("HQ-EX16-01", "HQ-EX16-02") for c in ("health", "certificate")),
    }
    assert {verdict for verdict, _ in found.values()} == {"pass"}
    assert found["HQ-EX16-01", "health"][1] == f"https://{NAMESPACE}{HEALTH}: 200"
    # The health probe asked with the namespace as Host (and SNI), not the member's address.
    assert members[0].requests == [(f"GET {HEALTH} HTTP/1.1", NAMESPACE)]


def test_a_wrong_name_a_closed_port_and_a_503_fail_with_exit_3(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH))
    sick = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH, status=503))
    smtp = servers.tcp()
    # HQ-EX16-02's port 25 has no route: the local network sends it to a closed port.
    routes = {(M1, 443): good, (M2, 443): sick, (M1, 25): smtp}
    names = {NAMESPACE: [VIP], AUTODISCOVER: ["10.99.0.1"]}
    route(monkeypatch, names, routes, trusted=certificate.ca_file)
    code, document = check(tmp_path)
    assert code == 3
    assert document["verdict"] == "fail"
    assert document["exit_code"] == 3
    found = verdicts(document)
    assert found[AUTODISCOVER, "dns"] == ("fail", f"resolves to 10.99.0.1, not the VIP {VIP}")
    assert found[NAMESPACE, "dns"] == ("pass", f"resolves to the VIP {VIP}")
    assert found["HQ-EX16-02", "health"] == (
        "fail",
        f"https://{NAMESPACE}{HEALTH}: answered 503, not 200",
    )
    assert found["HQ-EX16-02", "tcp/25"] == ("fail", "connection refused (port closed)")
    assert found["HQ-EX16-02", "tcp/443"][0] == "pass"
    assert found["HQ-EX16-02", "certificate"][0] == "pass"
    assert {found["HQ-EX16-01", c][0] for c in ("tcp/443", "tcp/25", "health", "certificate")} == {
        "pass"
    }


def test_text_output_is_a_table_per_array(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sick = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH, status=503))
    route(monkeypatch, GOOD_DNS, {(M1, 443): sick, (M2, 443): sick}, trusted=certificate.ca_file)
    specs = write_specs(tmp_path / "arrays", **{"mail-2016": NAMESPACE_2016})
    outcome = invoke("exchange", "check", str(specs))
    assert outcome.exit_code == 3
    lines = outcome.stdout.splitlines()
    assert lines[0] == f"mail-2016 ({NAMESPACE} -> {VIP}): FAILING"
    assert lines[4].split() == ["member", "address", "tcp/443", "tcp/25", "health", "certificate"]
    assert lines[5].split() == ["HQ-EX16-01", M1, "ok", "FAIL", "FAIL", "ok"]
    assert f"  FAIL HQ-EX16-01 health: https://{NAMESPACE}{HEALTH}: answered 503, not 200" in lines
    assert lines[-1] == "1 array(s): FAILING"


def test_a_name_resolving_elsewhere_too_warns_with_exit_2(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    https = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH))
    smtp = servers.tcp()
    routes = {(M1, 443): https, (M2, 443): https, (M1, 25): smtp, (M2, 25): smtp}
    names = {NAMESPACE: [VIP, "10.10.2.99"], AUTODISCOVER: [VIP]}
    route(monkeypatch, names, routes, trusted=certificate.ca_file)
    code, document = check(tmp_path)
    assert code == 2
    assert verdicts(document)[NAMESPACE, "dns"] == (
        "warn",
        f"resolves to the VIP {VIP} and also 10.10.2.99",
    )


def test_certificates_not_trusted_or_not_naming_the_client_names_fail(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    narrow = make_certificate(tmp_path / "narrow", [NAMESPACE])
    trusted_narrow = servers.https(HttpsMember(narrow, NAMESPACE, HEALTH))
    foreign = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH))
    # The CA given trusts the narrow certificate only: the other member's CA is unknown.
    route(monkeypatch, GOOD_DNS, {(M1, 443): trusted_narrow, (M2, 443): foreign}, trusted=None)
    code, document = check(tmp_path, "--ca-file", str(narrow.ca_file))
    assert code == 3
    found = verdicts(document)
    assert found["HQ-EX16-01", "certificate"] == (
        "fail",
        f"does not name {AUTODISCOVER} (it names {NAMESPACE})",
    )
    verdict, detail = found["HQ-EX16-02", "certificate"]
    assert verdict == "fail"
    assert detail.startswith("not trusted: ")


def test_a_member_that_never_answers_fails_within_the_probe_timeout(
    tmp_path: Path,
    servers: LocalServers,
    certificate: MemberCertificate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    silent = servers.https(HttpsMember(certificate, NAMESPACE, HEALTH, silent=True))
    route(
        monkeypatch, GOOD_DNS, {(M1, 443): silent, (M2, 443): silent}, trusted=certificate.ca_file
    )
    code, document = check(tmp_path, "--timeout", "0.2")
    assert code == 3
    assert verdicts(document)["HQ-EX16-01", "health"] == ("fail", "no answer within 0.2 s")


HQ_VIP, HQ_MEMBERS = "10.10.1.50", ("10.10.1.11", "10.10.1.12")
HQ_FQDN = "outlook-hq.corp.example.com"


def check_hq(
    tmp_path: Path,
    servers: LocalServers,
    monkeypatch: pytest.MonkeyPatch,
    public: dict[str, list[str]],
) -> tuple[int, dict[tuple[str, str], tuple[str, str]]]:
    """Check the 2010 array with every member healthy, asking a public resolver that knows
    ``public``."""
    certificate = make_certificate(tmp_path / "pki", [NAMESPACE, AUTODISCOVER])
    https = servers.https(HttpsMember(certificate, NAMESPACE, "/owa/auth/logon.aspx"))
    tcp = servers.tcp()
    routes = {(m, p): tcp for m in HQ_MEMBERS for p in (135, 60000, 60001, 993)}
    routes |= {(m, 443): https for m in HQ_MEMBERS}
    names = {HQ_FQDN: [HQ_VIP], NAMESPACE: [HQ_VIP], AUTODISCOVER: [HQ_VIP]}
    dns_port = servers.dns(public)
    route(monkeypatch, names, routes, trusted=certificate.ca_file, dns_port=dns_port)
    specs = write_specs(tmp_path / "arrays", **{"hq-cas": HQ_2010_STATIC})
    outcome = invoke(
        "exchange", "check", str(specs), "-f", "json", "--public-resolver", "127.0.0.1"
    )
    return outcome.exit_code, verdicts(json.loads(outcome.stdout))


def test_a_2010_array_fqdn_on_a_public_resolver_warns(
    tmp_path: Path, servers: LocalServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, found = check_hq(tmp_path, servers, monkeypatch, {HQ_FQDN: ["203.0.113.5"]})
    assert code == 2
    assert found[HQ_FQDN, "public dns"] == (
        "warn",
        "resolves on the public resolver 127.0.0.1 (to 203.0.113.5): a CAS array FQDN "
        "should be internal only",
    )
    assert {v for key, (v, _) in found.items() if key != (HQ_FQDN, "public dns")} == {"pass"}


def test_a_2010_array_fqdn_unknown_to_the_public_resolver_passes(
    tmp_path: Path, servers: LocalServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, found = check_hq(tmp_path, servers, monkeypatch, {"other.example.com": ["192.0.2.1"]})
    assert code == 0
    assert found[HQ_FQDN, "public dns"] == (
        "pass",
        "does not resolve on the public resolver 127.0.0.1",
    )


def test_public_resolver_must_be_an_address(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "arrays", **{"hq-cas": HQ_2010_STATIC})
    outcome = invoke("exchange", "check", str(specs), "--public-resolver", "dns.google")
    assert outcome.exit_code == 64
    assert "'dns.google' is not an IP address" in outcome.output


def test_the_2010_probes_cover_rpc_ports_and_the_client_host_name() -> None:
    import yaml

    spec = ArraySpec.model_validate(yaml.safe_load(HQ_2010_STATIC))
    probes = plan_probes(spec)
    assert [(p.target, p.check) for p in probes if p.kind == "dns"] == [
        ("outlook-hq.corp.example.com", "dns"),
        ("mail.corp.example.com", "dns"),
        ("autodiscover.corp.example.com", "dns"),
    ]
    ports = [p.port for p in probes if p.kind == "tcp" and p.target == "HQ-CAS01"]
    assert ports == [135, 60000, 60001, 443, 993]
    health = next(p for p in probes if p.kind == "health" and p.target == "HQ-CAS01")
    # 2010 has no healthcheck.htm; HTTPS clients use the client host name, not the array FQDN.
    assert (health.host, health.path) == ("mail.corp.example.com", "/owa/auth/logon.aspx")
    certificate = next(p for p in probes if p.kind == "certificate")
    assert certificate.expected == ("mail.corp.example.com", "autodiscover.corp.example.com")


@pytest.mark.parametrize(
    ("pattern", "name", "covered"),
    [
        ("mail.corp.example.com", "MAIL.corp.example.com", True),
        ("*.corp.example.com", "mail.corp.example.com", True),
        ("*.corp.example.com", "a.mail.corp.example.com", False),
        ("*.corp.example.com", "corp.example.com", False),
        ("*.com", "example.com", False),
        ("mail.corp.example.com", "autodiscover.corp.example.com", False),
    ],
)
def test_certificate_names_match_as_rfc_6125_says(pattern: str, name: str, covered: bool) -> None:
    assert covers(pattern, name) is covered


class GatedNetwork:
    """A network whose connections all wait until ``expected`` of them are in flight at once
    (then all succeed): probes run one after another would never get there and time out."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.in_flight = 0
        self.peak = 0
        self.gate = asyncio.Event()

    async def resolve(self, name: str) -> tuple[str, ...]:
        return ()

    async def resolve_at(self, server: str, name: str) -> tuple[str, ...]:
        return ()

    async def connect(
        self, address: str, port: int, tls: ssl.SSLContext | None, server_hostname: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.in_flight >= self.expected:
            self.gate.set()
        try:
            await self.gate.wait()
        finally:
            self.in_flight -= 1
        raise ConnectionRefusedError

    def tls_context(self, *, verify: bool) -> ssl.SSLContext:
        return ssl.create_default_context()

    def close(self) -> None:
        pass


def tcp_probes(members: int, ports: int) -> list[Probe]:
    return [
        Probe("big", "tcp", f"CAS{m:02}", f"10.0.0.{m + 1}", 60000 + p)
        for m in range(members)
        for p in range(ports)
    ]


async def test_20_members_by_4_ports_are_probed_at_once() -> None:
    network = GatedNetwork(expected=80)
    results = await check_arrays(tcp_probes(20, 4), network, timeout=5, limit=100)
    assert network.peak == 80
    assert {r.detail for r in results} == {"connection refused (port closed)"}


async def test_in_flight_probes_never_exceed_the_limit() -> None:
    network = GatedNetwork(expected=10)
    results = await check_arrays(tcp_probes(20, 4), network, timeout=5, limit=10)
    assert network.peak == 10
    assert len(results) == 80


# When the network misbehaves.


def use(monkeypatch: pytest.MonkeyPatch, network: SystemNetwork) -> None:
    monkeypatch.setattr(exchange_cli, "default_network", lambda ca_file, concurrency: network)


def run(tmp_path: Path, name: str, text: str, *args: str) -> tuple[int, dict[str, Any], str]:
    specs = write_specs(tmp_path / "arrays", **{name: text})
    outcome = invoke("exchange", "check", str(specs), "--array", name, "-f", "json", *args)
    assert "Traceback" not in outcome.output
    return outcome.exit_code, json.loads(outcome.stdout), outcome.stderr


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
    checks = verdicts(document)
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
    checks = verdicts(document)
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
    checks = verdicts(document)
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
    checks = verdicts(document)
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
    outcome = invoke("exchange", "check", str(specs))
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
    assert verdicts(document)["HQ-EX16-01", "certificate"] == (
        "fail",
        f"does not name {AUTODISCOVER} (it names Mail.Corp.Example.COM)",
    )


def test_a_spec_error_says_nothing_was_checked(tmp_path: Path) -> None:
    specs = write_specs(
        tmp_path / "arrays", **{"mail-2016": NAMESPACE_2016.replace("vip:", "vipp:")}
    )
    outcome = invoke("exchange", "check", str(specs))
    assert outcome.exit_code == 1
    assert outcome.stderr.endswith(
        "error: the specs have errors (see above); nothing was checked\n"
    )


def test_a_per_protocol_array_is_probed_per_published_directory(
    tmp_path: Path, servers: LocalServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # directories: [owa, ecp, ews]: the SubVSs ask each member for those three healthcheck.htm
    # with the namespace as Host, and nothing else; these members answer ECP's alone.
    namespace = "webmail.contoso.test"
    certificate = make_certificate(tmp_path / "pki", [namespace])
    member = servers.https(HttpsMember(certificate, namespace, "/ecp/healthcheck.htm"))
    routes = {("10.30.1.11", 443): member, ("10.30.1.12", 443): member}
    route(monkeypatch, {namespace: ["10.30.1.60"]}, routes, trusted=certificate.ca_file)
    specs = write_specs(tmp_path / "arrays", **{"mail-pp": PER_PROTOCOL_SUBSET})
    outcome = invoke("exchange", "check", str(specs), "-f", "json")
    assert outcome.exit_code == 3, outcome.output
    found = verdicts(json.loads(outcome.stdout))
    health = {check: found[target, check] for target, check in found if target == "EX-01"}
    assert sorted(c for c in health if c.startswith("health")) == [
        "health/ecp",
        "health/ews",
        "health/owa",
    ]
    assert health["health/ecp"] == ("pass", f"https://{namespace}/ecp/healthcheck.htm: 200")
    assert health["health/ews"] == (
        "fail",
        f"https://{namespace}/ews/healthcheck.htm: answered 404, not 200",
    )
    text = invoke("exchange", "check", str(specs)).stdout.splitlines()
    assert text[3].split() == [
        "member",
        "address",
        "tcp/443",
        "health/owa",
        "health/ecp",
        "health/ews",
        "certificate",
    ]
    assert text[4].split() == ["EX-01", "10.30.1.11", "ok", "FAIL", "ok", "FAIL", "ok"]
