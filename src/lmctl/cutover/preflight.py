"""``lmctl exchange check``: read-only probes of what an array needs outside the LoadMaster.

``plan_probes`` (pure) turns a spec into probes: DNS (the FQDN and each client host name resolve
to the VIP), TCP (each member on each service port: 135 and the static RPC ports for rpc, 443,
the mail ports), health (each member's HTTPS health URL with the namespace as ``Host`` and SNI,
200 expected), certificate (each member's certificate trusted, in date, and naming the client
host names; 2013+ the namespace too); a per-protocol array's health is asked per published
directory, as its SubVSs ask it. ``check_arrays`` runs them all concurrently, at most
``limit`` in flight, each bounded by ``timeout``: a probe that does not finish in time fails,
it never holds up the others. The I/O goes through a ``Network`` (the resolver and the
connections), so tests route probes to local servers and stub DNS.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import datetime
import functools
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from cryptography import x509

from lmctl.cutover.dns import DNS_PORT, DnsError, addresses_at
from lmctl.cutover.script import namespace_host, served_directories
from lmctl.errors import ExitCode
from lmctl.releases import RPC_ENDPOINT_MAPPER, SERVICE_PORTS, directory_check_url
from lmctl.specs.array import ArraySpec, ip_value
from lmctl.specs.rules import is_host_name

Verdict = Literal["pass", "warn", "fail"]
ProbeKind = Literal["dns", "public-dns", "tcp", "health", "certificate"]
HTTPS_PORT = SERVICE_PORTS["https"]
# A certificate this close to its end warns: renewing it is a change on every member.
EXPIRY_WARNING = datetime.timedelta(days=30)
# An HTTP status line is short; a server sending more before a newline is not an HTTP server.
_STATUS_LINE_LIMIT = 512


@dataclass(frozen=True, slots=True)
class Probe:
    """One question to the network about one array.

    ``target`` is the member's name (``tcp``, ``health``, ``certificate``) or the DNS name;
    ``address`` the member's address, or the public resolver's (``public-dns``); ``expected``
    the VIP (``dns``) or the names the certificate must cover; ``host`` the name sent as SNI
    and ``Host``; ``path`` the health URL's path; ``directory`` the virtual directory whose
    health it asks (per-protocol: one probe per SubVS's check), empty for the array's one."""

    array: str
    kind: ProbeKind
    target: str
    address: str = ""
    port: int = 0
    expected: tuple[str, ...] = ()
    host: str = ""
    path: str = ""
    directory: str = ""

    @property
    def check(self) -> str:
        """The column this probe fills: ``dns``, ``public dns``, ``tcp/135``, ``health``
        (``health/ews``: one directory's), ``certificate``."""
        if self.kind == "tcp":
            return f"tcp/{self.port}"
        if self.directory:
            return f"{self.kind}/{self.directory}"
        return self.kind.replace("-", " ")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """A probe's verdict and what was seen (text from the network: escape it to show it)."""

    probe: Probe
    verdict: Verdict
    detail: str


def certificate_names(spec: ArraySpec) -> tuple[str, ...]:
    """The names every member's certificate must cover: the client host names, and for 2013+
    the namespace; never the 2010 CAS array FQDN."""
    names = list(spec.client_hostnames)
    if not spec.exchange.family.has_cas_array:
        names.insert(0, spec.fqdn)
    return tuple(dict.fromkeys(name.rstrip(".").lower() for name in names))


def service_ports(spec: ArraySpec, service: str) -> tuple[int, ...]:
    """The member ports of ``service``: rpc is the endpoint mapper and the static ports."""
    if service == "rpc":
        static = spec.rpc_ports.as_tuple() if spec.rpc_ports is not None else ()
        return (RPC_ENDPOINT_MAPPER, *static)
    return (SERVICE_PORTS[service],)  # type: ignore[index]


def plan_probes(spec: ArraySpec, public_resolver: str | None = None) -> list[Probe]:
    """Every probe of ``spec``, in the order they are shown; with ``public_resolver`` (an IP
    address), a 2010 array's FQDN is also asked there, where it should not resolve."""
    probes = [
        Probe(spec.name, "dns", name, expected=(spec.vip,))
        for name in dict.fromkeys((spec.fqdn, *spec.client_hostnames))
    ]
    if public_resolver is not None and spec.exchange.family.has_cas_array:
        probes.append(Probe(spec.name, "public-dns", spec.fqdn, public_resolver))
    ports: dict[tuple[str, int], str] = {}
    for service in spec.enabled_services:
        if not spec.exchange.family.profile(service).has_real_servers:
            continue
        for member in spec.members_of(service):
            for port in service_ports(spec, service):
                ports.setdefault((member.name, port), member.address)
    probes += [
        Probe(spec.name, "tcp", name, address, port) for (name, port), address in ports.items()
    ]
    if "https" in spec.enabled_services:
        host = namespace_host(spec)
        for member in spec.members:
            probes += [
                Probe(spec.name, "health", member.name, member.address, port, (), host, path, name)
                for name, path, port in health_checks(spec)
            ]
            probes.append(
                Probe(
                    spec.name,
                    "certificate",
                    member.name,
                    member.address,
                    HTTPS_PORT,
                    certificate_names(spec),
                    host,
                )
            )
    return probes


def health_checks(spec: ArraySpec) -> list[tuple[str, str, int]]:
    """The health URLs the LoadMaster asks each member for HTTPS, as (directory, path, port):
    per-protocol, each published directory's SubVS check (``/<directory>/healthcheck.htm`` on
    the member's own port); otherwise the https service's one check (directory ``""``), none
    when it requests no URL."""
    if spec.layout == "per-protocol":
        return [(d, directory_check_url(d), HTTPS_PORT) for d in served_directories(spec)]
    profile = spec.profile("https")
    if profile.check_type == "https" and profile.check_url:
        return [("", profile.check_url, profile.check_port or HTTPS_PORT)]
    return []


@dataclass(frozen=True, slots=True)
class TlsContexts:
    """The two client TLS contexts of a run, built once before any probe (loading the trusted
    CAs takes a quarter of a second, on the event loop: once per probe it starved the others'
    timeouts)."""

    verifying: ssl.SSLContext
    not_verifying: ssl.SSLContext

    @classmethod
    def of(cls, network: Network) -> TlsContexts:
        """The network's contexts (``OSError``/``ssl.SSLError`` for an unusable CA file)."""
        return cls(network.tls_context(verify=True), network.tls_context(verify=False))


class Network(Protocol):
    """Where probes go: name resolution and connections (plain or TLS)."""

    async def resolve(self, name: str) -> tuple[str, ...]:
        """The addresses ``name`` resolves to (empty when it does not resolve)."""
        ...

    async def resolve_at(self, server: str, name: str) -> tuple[str, ...]:
        """The addresses the DNS server ``server`` gives for ``name`` (``DnsError`` when it
        answers with an error)."""
        ...

    async def connect(
        self, address: str, port: int, tls: ssl.SSLContext | None, server_hostname: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``address``:``port`` (TLS with ``tls``, SNI ``server_hostname``)."""
        ...

    def tls_context(self, *, verify: bool) -> ssl.SSLContext:
        """A client TLS context: verifying the chain (names are checked by the probe) or not."""
        ...

    def close(self) -> None:
        """Let go of what the probes used (without waiting for anything still running)."""
        ...


AddressInfo = list[tuple[Any, ...]]
Lookup = Callable[..., AddressInfo]


class SystemNetwork:
    """The workstation's resolver and real connections; ``ca_file`` replaces the system's
    trusted CAs for the certificate probe.

    A name lookup (``getaddrinfo``) blocks a thread and cannot be cancelled. ``loop.getaddrinfo``
    runs it on asyncio's default executor, which ``asyncio.run`` waits for at exit, and whose
    threads the interpreter joins: a silent resolver would hold the run far past ``--timeout``.
    Lookups here run on lmctl's own threads, at most ``concurrency`` at once, daemon threads
    that nothing waits for: ``close`` drops the lookups not started, and one still running
    when its probe times out is left to end on its own."""

    def __init__(
        self,
        ca_file: Path | None = None,
        dns_port: int = DNS_PORT,
        *,
        concurrency: int = 64,
        lookup: Lookup = socket.getaddrinfo,
    ) -> None:
        self.ca_file = ca_file
        self.dns_port = dns_port
        self.lookup = lookup
        self._executor = LookupExecutor(concurrency)

    async def resolve(self, name: str) -> tuple[str, ...]:
        loop = asyncio.get_running_loop()
        try:
            found = await loop.run_in_executor(
                self._executor, functools.partial(self.lookup, name, None, type=socket.SOCK_STREAM)
            )
        except (socket.gaierror, UnicodeError):
            # UnicodeError: IDNA refuses the name (a label over 63 characters).
            return ()
        return tuple(dict.fromkeys(str(info[4][0]) for info in found))

    def close(self) -> None:
        """Stop the lookups without waiting for them."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def resolve_at(self, server: str, name: str) -> tuple[str, ...]:
        return await addresses_at(server, name, self.dns_port)

    async def connect(
        self, address: str, port: int, tls: ssl.SSLContext | None, server_hostname: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(
            address, port, ssl=tls, server_hostname=server_hostname if tls else None
        )

    def tls_context(self, *, verify: bool) -> ssl.SSLContext:
        if not verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        cafile = str(self.ca_file) if self.ca_file is not None else None
        context = ssl.create_default_context(cafile=cafile)
        # Every name the spec needs is matched against the certificate by the probe.
        context.check_hostname = False
        return context


class LookupExecutor(concurrent.futures.Executor):
    """At most ``workers`` calls at once, each on a daemon thread of its own: at exit neither
    ``asyncio.run`` nor the interpreter waits for a call that does not return (a
    ``ThreadPoolExecutor``'s threads are joined at exit)."""

    def __init__(self, workers: int) -> None:
        self._slots = threading.BoundedSemaphore(workers)
        self._queue: collections.deque[tuple[concurrent.futures.Future[Any], Callable[[], Any]]]
        self._queue = collections.deque()
        self._lock = threading.Lock()
        self._closed = False

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the lookups are closed")
            self._queue.append((future, functools.partial(fn, *args, **kwargs)))
        self._start()
        return future

    def _start(self) -> None:
        while self._slots.acquire(blocking=False):
            with self._lock:
                if not self._queue:
                    self._slots.release()
                    return
                future, call = self._queue.popleft()
            threading.Thread(target=self._work, args=(future, call), daemon=True).start()

    def _work(self, future: concurrent.futures.Future[Any], call: Callable[[], Any]) -> None:
        try:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as error:
                    future.set_exception(error)
        finally:
            self._slots.release()
            self._start()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        # Never waits, whatever ``wait`` says: that is what this executor is for.
        with self._lock:
            self._closed = True
            dropped = list(self._queue) if cancel_futures else []
            if cancel_futures:
                self._queue.clear()
        for future, _ in dropped:
            future.cancel()


async def check_arrays(
    probes: Sequence[Probe],
    network: Network,
    *,
    timeout: float,
    limit: int = 64,
    contexts: TlsContexts | None = None,
) -> list[ProbeResult]:
    """Run ``probes`` concurrently (at most ``limit`` at once), each within ``timeout``
    seconds; results in the order of ``probes``. ``contexts``: the TLS contexts (default: the
    network's, built once here)."""
    semaphore = asyncio.Semaphore(limit)
    tls = contexts if contexts is not None else TlsContexts.of(network)

    async def bounded(probe: Probe) -> ProbeResult:
        async with semaphore:
            try:
                async with asyncio.timeout(timeout):
                    return await _run(probe, network, tls)
            except TimeoutError:
                return _no_answer(probe, timeout)

    return list(await asyncio.gather(*(bounded(probe) for probe in probes)))


def _no_answer(probe: Probe, timeout: float) -> ProbeResult:
    if probe.kind == "public-dns":
        # The public resolver is a hint, never a member's or a name's failure.
        return ProbeResult(
            probe,
            "warn",
            f"not checked: the public resolver {probe.address} gave no answer within {timeout:g} s",
        )
    return ProbeResult(probe, "fail", f"no answer within {timeout:g} s")


async def _run(probe: Probe, network: Network, tls: TlsContexts) -> ProbeResult:
    match probe.kind:
        case "dns":
            return await _dns(probe, network)
        case "public-dns":
            return await _public_dns(probe, network)
        case "tcp":
            return await _tcp(probe, network)
        case "health":
            return await _health(probe, network, tls.not_verifying)
        case "certificate":
            return await _certificate(probe, network, tls.verifying)


def _addresses(texts: Iterable[str]) -> list[str]:
    found: list[str] = []
    for text in texts:
        try:
            found.append(str(ip_value(text.split("%")[0])))
        except ValueError:
            continue
    return list(dict.fromkeys(found))


async def _dns(probe: Probe, network: Network) -> ProbeResult:
    vip = _addresses(probe.expected)[0]
    found = _addresses(await network.resolve(probe.target))
    if not found:
        return ProbeResult(probe, "fail", "does not resolve")
    if vip not in found:
        return ProbeResult(probe, "fail", f"resolves to {', '.join(found)}, not the VIP {vip}")
    others = [address for address in found if address != vip]
    if others:
        return ProbeResult(probe, "warn", f"resolves to the VIP {vip} and also {', '.join(others)}")
    return ProbeResult(probe, "pass", f"resolves to the VIP {vip}")


async def _public_dns(probe: Probe, network: Network) -> ProbeResult:
    where = f"the public resolver {probe.address}"
    try:
        found = await network.resolve_at(probe.address, probe.target)
    except DnsError as error:
        return ProbeResult(probe, "warn", f"not checked: {where} answered {error}")
    except OSError as error:
        return ProbeResult(
            probe, "warn", f"not checked: cannot ask {where}: {error.strerror or error}"
        )
    if found:
        return ProbeResult(
            probe,
            "warn",
            f"resolves on {where} (to {', '.join(found)}): a CAS array FQDN should be "
            "internal only",
        )
    return ProbeResult(probe, "pass", f"does not resolve on {where}")


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    # The probe's answer is in; how the peer ends the connection does not matter.
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _connect(probe: Probe, network: Network, tls: ssl.SSLContext | None) -> Streams | str:
    """A connection to the probe's member, or why there is none."""
    if tls is not None and not is_host_name(probe.host.rstrip(".")):
        # Validated specs hold none; the name is sent as SNI and as the health request's Host,
        # so it is never sent unchecked.
        return f"not probed: {probe.host!r} is not a host name"
    try:
        return await network.connect(probe.address, probe.port, tls, probe.host if tls else None)
    except ssl.SSLCertVerificationError as error:
        return f"not trusted: {error.verify_message}"
    except ssl.SSLError as error:
        return f"TLS handshake failed: {error.reason or error}"
    except ConnectionRefusedError:
        return "connection refused (port closed)"
    except UnicodeError:
        # IDNA refuses the name sent as SNI (a label over 63 characters).
        return f"not probed: {probe.host!r} is not a host name"
    except OSError as error:
        return f"cannot connect: {error.strerror or error}"


async def _tcp(probe: Probe, network: Network) -> ProbeResult:
    connected = await _connect(probe, network, None)
    if isinstance(connected, str):
        return ProbeResult(probe, "fail", connected)
    await _close(connected[1])
    return ProbeResult(probe, "pass", "open")


async def _health(probe: Probe, network: Network, tls: ssl.SSLContext) -> ProbeResult:
    connected = await _connect(probe, network, tls)
    if isinstance(connected, str):
        return ProbeResult(probe, "fail", connected)
    reader, writer = connected
    try:
        request = (
            f"GET {probe.path} HTTP/1.1\r\nHost: {probe.host}\r\n"
            "User-Agent: lmctl-exchange-check\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode("ascii", "replace"))
        await writer.drain()
        line = await reader.readline()
    except (OSError, ssl.SSLError) as error:
        return ProbeResult(probe, "fail", f"no HTTP answer: {error}")
    except (ValueError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
        # readline raises ValueError when no newline comes within the reader's limit (64 KiB).
        return ProbeResult(
            probe, "fail", "no HTTP status line: the answer's first line is longer than 64 KiB"
        )
    finally:
        await _close(writer)
    status = _status(line[:_STATUS_LINE_LIMIT])
    url = f"https://{probe.host}{probe.path}"
    if status is None:
        return ProbeResult(probe, "fail", f"{url}: no HTTP status line in the answer")
    if status == 200:
        return ProbeResult(probe, "pass", f"{url}: 200")
    return ProbeResult(probe, "fail", f"{url}: answered {status}, not 200")


def _status(line: bytes) -> int | None:
    parts = line.split(maxsplit=2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1])


async def _certificate(probe: Probe, network: Network, tls: ssl.SSLContext) -> ProbeResult:
    connected = await _connect(probe, network, tls)
    if isinstance(connected, str):
        return ProbeResult(probe, "fail", connected)
    writer = connected[1]
    try:
        tls_object = writer.get_extra_info("ssl_object")
        der = tls_object.getpeercert(binary_form=True) if tls_object is not None else None
    finally:
        await _close(writer)
    if not der:
        return ProbeResult(probe, "fail", "the server sent no certificate")
    return certificate_verdict(
        probe, x509.load_der_x509_certificate(der), datetime.datetime.now(datetime.UTC)
    )


def certificate_verdict(
    probe: Probe, certificate: x509.Certificate, now: datetime.datetime
) -> ProbeResult:
    """The verdict on a certificate whose chain verified: the names it must cover, its end."""
    names = dns_names(certificate)
    missing = [name for name in probe.expected if not any(covers(p, name) for p in names)]
    ends = certificate.not_valid_after_utc
    until = ends.date().isoformat()
    if missing:
        shown = ", ".join(names) or "no DNS name"
        return ProbeResult(probe, "fail", f"does not name {', '.join(missing)} (it names {shown})")
    if not probe.expected:
        return ProbeResult(
            probe, "warn", f"trusted, valid until {until}; the spec lists no client host names"
        )
    if ends - now < EXPIRY_WARNING:
        return ProbeResult(probe, "warn", f"expires on {until}, in {(ends - now).days} days")
    return ProbeResult(probe, "pass", f"trusted, names every client host name, until {until}")


def dns_names(certificate: x509.Certificate) -> list[str]:
    """The certificate's DNS subject alternative names, as the certificate spells them
    (``covers`` compares them case-insensitively)."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(extension.value.get_values_for_type(x509.DNSName))


def covers(pattern: str, name: str) -> bool:
    """Whether a certificate name covers ``name``: equal, or a wildcard as the whole left-most
    label standing for exactly one label (RFC 6125, 6.4.3)."""
    pattern, name = pattern.rstrip(".").lower(), name.rstrip(".").lower()
    if not pattern.startswith("*."):
        return pattern == name
    first, _, rest = name.partition(".")
    return bool(first) and rest == pattern[2:] and "." in rest


def array_verdict(results: Iterable[ProbeResult]) -> Verdict:
    """The worst verdict of ``results`` (pass when there are none)."""
    verdicts = {result.verdict for result in results}
    if "fail" in verdicts:
        return "fail"
    return "warn" if "warn" in verdicts else "pass"


def overall_exit(results: Iterable[ProbeResult]) -> ExitCode:
    """0 every check passed, 2 warnings only, 3 a member or a name failed."""
    match array_verdict(results):
        case "fail":
            return ExitCode.NOT_SERVING
        case "warn":
            return ExitCode.DEGRADED
        case "pass":
            return ExitCode.OK
