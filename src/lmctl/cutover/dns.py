"""Asking one DNS server directly (RFC 1035 over UDP): whether a name resolves on a public
resolver, which the workstation's own resolver cannot tell (it asks the internal servers).

Just what the check needs: an A and an AAAA question with recursion desired, the addresses in
the answer section, the response code. A reply that does not match the question (another ID,
not a response) is ignored and the wait goes on; the caller bounds the wait.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
import struct
from dataclasses import dataclass

DNS_PORT = 53
A, AAAA = 1, 28
_CLASS_IN = 1
_RECURSION_DESIRED = 0x0100
_RESPONSE = 0x8000
NOERROR, NXDOMAIN = 0, 3
_RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsError(Exception):
    """The server answered with an error other than NXDOMAIN, or unreadably."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The response code and the addresses of one question."""

    rcode: int
    addresses: tuple[str, ...]


def question(name: str, qtype: int, ident: int) -> bytes:
    """A query message for ``name`` (ASCII host name) of type ``qtype``."""
    labels = [label.encode("ascii") for label in name.rstrip(".").split(".")]
    if any(not 0 < len(label) < 64 for label in labels):
        raise DnsError(f"{name!r} is not a host name DNS can ask for")
    qname = b"".join(bytes([len(label)]) + label for label in labels) + b"\0"
    return (
        struct.pack("!HHHHHH", ident, _RECURSION_DESIRED, 1, 0, 0, 0)
        + qname
        + struct.pack("!HH", qtype, _CLASS_IN)
    )


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += length + 1


def parse_answer(data: bytes, ident: int, qtype: int) -> Answer | None:
    """The answer in ``data`` to the question ``ident`` of type ``qtype``; None when ``data``
    is not that answer. ``DnsError`` when it cannot be read."""
    try:
        got, flags, questions, answers, _, _ = struct.unpack_from("!HHHHHH", data)
        if got != ident or not flags & _RESPONSE:
            return None
        offset = 12
        for _ in range(questions):
            offset = _skip_name(data, offset) + 4
        found: list[str] = []
        for _ in range(answers):
            offset = _skip_name(data, offset)
            kind, _, _, length = struct.unpack_from("!HHIH", data, offset)
            offset += 10
            rdata = data[offset : offset + length]
            offset += length
            if kind == qtype == A and length == 4:
                found.append(str(ipaddress.IPv4Address(rdata)))
            elif kind == qtype == AAAA and length == 16:
                found.append(str(ipaddress.IPv6Address(rdata)))
    except (struct.error, IndexError, ValueError):
        raise DnsError("the DNS server's answer cannot be read") from None
    return Answer(flags & 0x000F, tuple(found))


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, ident: int, qtype: int) -> None:
        self.ident, self.qtype = ident, qtype
        self.answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.answer.done():
            return
        try:
            answer = parse_answer(data, self.ident, self.qtype)
        except DnsError as error:
            self.answer.set_exception(error)
            return
        if answer is not None:
            self.answer.set_result(answer)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def ask(server: str, name: str, qtype: int, port: int = DNS_PORT) -> Answer:
    """Ask ``server`` (an IP address) for the ``qtype`` records of ``name``."""
    ident = secrets.randbelow(0x10000)
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Exchange(ident, qtype), remote_addr=(server, port)
    )
    try:
        transport.sendto(question(name, qtype, ident))
        return await protocol.answer
    finally:
        transport.close()


async def addresses_at(server: str, name: str, port: int = DNS_PORT) -> tuple[str, ...]:
    """The IPv4 and IPv6 addresses ``server`` gives for ``name`` (empty: NXDOMAIN or none)."""
    found: list[str] = []
    for answer in await asyncio.gather(*(ask(server, name, q, port) for q in (A, AAAA))):
        if answer.rcode not in (NOERROR, NXDOMAIN):
            raise DnsError(f"{_RCODES.get(answer.rcode, f'response code {answer.rcode}')}")
        found.extend(answer.addresses)
    return tuple(found)
