"""Local stand-ins for Exchange members, for ``lmctl exchange check``: HTTPS servers with a
certificate whose names the test chooses (signed by a test CA), answering a health URL with the
status the test chooses; plain TCP listeners; and a ``Network`` that routes each member's
address and port to one of them on loopback and answers DNS from a table (the resolver stub).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
import struct
import threading
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lmctl.cutover.preflight import SystemNetwork


@dataclass(frozen=True)
class MemberCertificate:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificate(
    directory: Path, names: Sequence[str], *, days: int = 365
) -> MemberCertificate:
    """A test CA and a server certificate signed by it naming ``names`` (DNS SANs), valid for
    ``days`` from now."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("lmctl test CA"))
        .issuer_name(_name("lmctl test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = MemberCertificate(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@dataclass
class HttpsMember:
    """An HTTPS server: ``status`` for GET ``path`` with ``Host: host``, 404 for anything
    else; ``silent`` accepts the TLS connection and never answers; ``raw``, when given, is the
    whole answer. ``requests`` records the request lines and Host headers it saw."""

    certificate: MemberCertificate
    host: str
    path: str
    status: int = 200
    silent: bool = False
    raw: bytes | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            host = next((v for k, _, v in (h.partition(": ") for h in lines) if k == "Host"), "")
            self.requests.append((lines[0], host))
            if self.silent:
                await asyncio.Event().wait()
            status = (
                self.status if (lines[0], host) == (f"GET {self.path} HTTP/1.1", self.host) else 404
            )
            answer = f"HTTP/1.1 {status} Status\r\nContent-Length: 0\r\n\r\n".encode()
            writer.write(answer if self.raw is None else self.raw)
            await writer.drain()
        writer.close()


class DnsStub(asyncio.DatagramProtocol):
    """Answers each question as RFC 1035 says, from a table of names and addresses."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = table
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        ident = struct.unpack_from("!H", data)[0]
        offset, labels = 12, []
        while data[offset]:
            length = data[offset]
            labels.append(data[offset + 1 : offset + 1 + length].decode("ascii"))
            offset += length + 1
        offset += 1
        qtype = struct.unpack_from("!H", data, offset)[0]
        name = ".".join(labels)
        version = 4 if qtype == 1 else 6
        packed = [
            ipaddress.ip_address(a).packed
            for a in self.table.get(name, ())
            if ipaddress.ip_address(a).version == version
        ]
        rcode = 0 if name in self.table else 3
        header = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, len(packed), 0, 0)
        answers = b"".join(struct.pack("!HHHIH", 0xC00C, qtype, 1, 60, len(p)) + p for p in packed)
        assert self.transport is not None
        self.transport.sendto(header + data[12 : offset + 4] + answers, addr)


class LocalServers:
    """An event loop in a thread holding the servers; each server's loopback port."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[asyncio.Server] = []
        self.transports: list[asyncio.BaseTransport] = []

    def _start(self, coroutine: Coroutine[Any, Any, asyncio.Server]) -> int:
        server = asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(5)
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    def https(self, member: HttpsMember) -> int:
        """Serve ``member`` over TLS; its port."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(member.certificate.cert_file, member.certificate.key_file)
        return self._start(asyncio.start_server(member.handle, "127.0.0.1", 0, ssl=context))

    def tcp(self) -> int:
        """A listener that accepts and closes (an open port); its port."""

        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        return self._start(asyncio.start_server(accept, "127.0.0.1", 0))

    def dns(self, table: Mapping[str, Sequence[str]]) -> int:
        """A DNS server on UDP answering A and AAAA questions from ``table`` (NXDOMAIN for a
        name not in it); its port."""

        async def start() -> int:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: DnsStub(table), local_addr=("127.0.0.1", 0)
            )
            self.transports.append(transport)
            return int(transport.get_extra_info("sockname")[1])

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)

    def silent_udp(self) -> int:
        """A UDP port that takes datagrams and never answers; its port."""

        async def start() -> int:
            loop = asyncio.get_running_loop()
            transport, _ = await loop.create_datagram_endpoint(
                asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0)
            )
            self.transports.append(transport)
            return int(transport.get_extra_info("sockname")[1])

        return asyncio.run_coroutine_threadsafe(start(), self.loop).result(5)

    def close(self) -> None:
        for transport in self.transports:
            self.loop.call_soon_threadsafe(transport.close)
        for server in self.servers:
            self.loop.call_soon_threadsafe(server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@contextlib.contextmanager
def local_servers() -> Iterator[LocalServers]:
    servers = LocalServers()
    servers.thread.start()
    try:
        yield servers
    finally:
        servers.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalNetwork(SystemNetwork):
    """The resolver stub (``names``: name → addresses) and the routes (member address and
    port → loopback port); a route not given goes to a closed port."""

    def __init__(
        self,
        names: Mapping[str, Sequence[str]],
        routes: Mapping[tuple[str, int], int],
        ca_file: Path | None,
        dns_port: int = 53,
    ) -> None:
        super().__init__(ca_file=ca_file, dns_port=dns_port)
        self.names = names
        self.routes = routes
        self.closed = closed_port()

    async def resolve(self, name: str) -> tuple[str, ...]:
        return tuple(self.names.get(name, ()))

    async def connect(
        self, address: str, port: int, tls: ssl.SSLContext | None, server_hostname: str | None
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        local = self.routes.get((address, port), self.closed)
        return await super().connect("127.0.0.1", local, tls, server_hostname)


def verdicts(document: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    """The first array's checks of a ``--format json`` document: (target, check) → (verdict,
    detail)."""
    return {
        (c["target"], c["check"]): (c["verdict"], c["detail"])
        for c in document["arrays"][0]["checks"]
    }
