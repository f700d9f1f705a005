"""The client-access services an array can publish, and the ports they listen on.

This is the vocabulary of the spec (``services: [rpc, https, imap4s]``); what each service becomes
on the appliance lives in ``lmctl.exchange.profiles``.
"""

from __future__ import annotations

from typing import Literal, get_args

ServiceName = Literal["rpc", "https", "http-redirect", "imap4", "imap4s", "pop3", "pop3s", "smtp"]
SERVICE_NAMES: tuple[str, ...] = get_args(ServiceName)

SERVICE_PORTS: dict[str, int] = {
    "rpc": 135,
    "https": 443,
    "http-redirect": 80,
    "imap4": 143,
    "imap4s": 993,
    "pop3": 110,
    "pop3s": 995,
    "smtp": 25,
}
OPT_IN_SERVICES: tuple[str, ...] = ("imap4", "imap4s", "pop3", "pop3s", "smtp")
WILDCARD_PORT = "*"


def default_services(major: int) -> tuple[ServiceName, ...]:
    """The services an array publishes when its spec lists none."""
    if major == 2010:
        return ("rpc", "https", "http-redirect")
    return ("https", "http-redirect")


def vip_port(service: str, has_static_rpc_ports: bool) -> str:
    """The VS port of ``service``: RPC without static ports must take every port (``*``)."""
    if service == "rpc" and not has_static_rpc_ports:
        return WILDCARD_PORT
    return str(SERVICE_PORTS[service])
