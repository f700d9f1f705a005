"""What the mock appliance remembers, and the live facts it derives from that.

Virtual services, real servers, global parameters and the simulated health marks are plain
dataclasses (saved by ``lmctl.mock.persistence``). Health, status and draining connections are
pure functions of the state and a wall-clock time, so a mock with a state file drains across
separate lmctl invocations. Health choice: a real server is Up unless marked Down through the
control API (a real appliance shows ``Down`` until its first health check passes; the mock skips
that wait so that demos and tests see a healthy pool at once).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from lmctl.mock.tables import (
    FIRMWARE_VERSION,
    NEW_RS_FORWARD,
    NEW_RS_LIMIT,
    NEW_RS_WEIGHT,
    FieldValue,
)


def default_parameters() -> dict[str, str]:
    """The global parameters ``get``/``set`` know, as a new appliance has them (API enabled)."""
    return {"version": FIRMWARE_VERSION, "enableapi": "yes", "hostname": "lb100"}


@dataclass
class Connections:
    """Simulated active connections of one real server, draining linearly once it is disabled."""

    active: int = 0
    drain_from: int = 0
    drain_started: float | None = None


@dataclass
class MockRealServer:
    """A real server inside one virtual service."""

    rs_index: int
    address: str
    port: int
    forward: str = NEW_RS_FORWARD
    weight: int = NEW_RS_WEIGHT
    limit: int = NEW_RS_LIMIT
    enable: bool = True
    critical: bool = False
    non_local: bool = False
    connections: Connections = field(default_factory=Connections)
    # Content rules assigned to this real server (``addrsrule``), in assignment order.
    rules: list[str] = field(default_factory=list)


@dataclass
class MockVirtualService:
    """A virtual service or a SubVS (``master_index`` set, no address of its own)."""

    index: int
    address: str | None
    port: str
    protocol: str
    settings: dict[str, FieldValue]
    master_index: int = 0
    row_rs_index: int = 0
    row_options: dict[str, int | str | bool] = field(default_factory=dict)
    # Content rules assigned to this SubVS's row in its parent (``addrsrule rs=!<RsIndex>``).
    row_rules: list[str] = field(default_factory=list)
    real_servers: list[MockRealServer] = field(default_factory=list)
    sub_services: list[int] = field(default_factory=list)

    @property
    def is_sub_service(self) -> bool:
        """True for a SubVS, reached only by its Index."""
        return self.master_index != 0


@dataclass
class MockContentRule:
    """A content matching rule (``addrule``): the fields its ``MatchContentRule`` shows."""

    name: str
    pattern: str = ""
    match_type: str = "regex"
    nocase: bool = False
    negate: bool = False
    include_host: bool = False
    include_query: bool = False
    header: str = ""
    must_fail: bool = False


@dataclass
class InstalledCertificate:
    """An SSL certificate installed with ``addcert``: its PEM (certificate and key)."""

    name: str
    pem: str


@dataclass
class MockState:
    """Everything the mock remembers between calls (and, with a state file, between runs)."""

    parameters: dict[str, str] = field(default_factory=default_parameters)
    services: dict[int, MockVirtualService] = field(default_factory=dict)
    next_index: int = 1
    next_rs_index: int = 1
    last_change: int = 0
    health: dict[str, str] = field(default_factory=dict)
    drain_seconds: float = 30.0
    # The subnets of the appliance's own interfaces; None: every address is local.
    local_subnets: list[str] | None = None
    rules: dict[str, MockContentRule] = field(default_factory=dict)
    certificates: dict[str, InstalledCertificate] = field(default_factory=dict)


def local_networks(texts: Iterable[str]) -> list[str]:
    """Subnets in canonical form (``10.10.0.5/16`` is ``10.10.0.0/16``); ``ValueError`` if one
    is not an IPv4 or IPv6 network."""
    networks = []
    for text in texts:
        try:
            networks.append(str(ipaddress.ip_network(text.strip(), strict=False)))
        except ValueError:
            raise ValueError(f"not a subnet: {text!r} (use CIDR, e.g. 10.10.0.0/16)") from None
    return networks


def is_local(state: MockState, address: str) -> bool:
    """True when ``address`` is in one of the appliance's subnets (or every address is local)."""
    if state.local_subnets is None:
        return True
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(subnet) for subnet in state.local_subnets)


def health_key(address: str, port: int | None, check_url: str | None = None) -> str:
    """The key of a health mark: ``address`` for every port, ``address:port`` for one;
    `` <url>`` added for the checks of that URL only (an Exchange server whose EWS fails its
    ``/ews/healthcheck.htm`` while its other directories answer)."""
    key = address if port is None else f"{address}:{port}"
    return key if check_url is None else f"{key} {check_url}"


def probed_port(service: MockVirtualService, real_server: MockRealServer) -> int:
    """The port the health check connects to: the VS's ``CheckPort``, or, when that is 0, the
    real server's own port (an Exchange 2010 RPC service probes the static RPC Client Access
    port, not the endpoint mapper its clients connect to first)."""
    check_port = service.settings.get("CheckPort")
    port = int(check_port) if isinstance(check_port, int | str) and check_port != "" else 0
    return port or real_server.port


def health_keys(service: MockVirtualService, real_server: MockRealServer) -> list[str]:
    """The keys of the marks that can decide the health of ``real_server`` in ``service``, the
    most specific first: the URL this VS checks on its probed port, that URL on every port, the
    probed port, every port of the address."""
    address, port = real_server.address, probed_port(service, real_server)
    url = service.settings.get("CheckUrl")
    keys = [health_key(address, port), health_key(address, None)]
    if isinstance(url, str) and url:
        keys[:0] = [health_key(address, port, url), health_key(address, None, url)]
    return keys


def deciding_mark(
    state: MockState, service: MockVirtualService, real_server: MockRealServer
) -> str | None:
    """The key of the mark that decides the health of ``real_server`` in ``service`` (the most
    specific of ``health_keys`` that is set), or None when no mark does (it is Up)."""
    return next((key for key in health_keys(service, real_server) if key in state.health), None)


def real_server_is_up(
    state: MockState, service: MockVirtualService, real_server: MockRealServer
) -> bool:
    """Up unless marked Down: for the URL this VS checks (on its probed port, or on every port),
    else for the port its health check probes, else for every port of its address."""
    mark = deciding_mark(state, service, real_server)
    return mark is None or state.health[mark] != "Down"


def marks_of_address(state: MockState, address: str) -> list[str]:
    """The keys of every mark of ``address`` (every port or one, every check or one URL).

    An IPv6 key is ambiguous (``2001:db8::1:443`` is that address, or ``2001:db8::1`` port
    443): both readings count as ``address``'s."""
    keys = []
    for key in state.health:
        where = key.split(" ", 1)[0]
        host, _, port = where.rpartition(":")
        if where == address or (host == address and port.isdigit()):
            keys.append(key)
    return keys


def real_server_status(
    state: MockState, service: MockVirtualService, real_server: MockRealServer
) -> str:
    """``Up`` or ``Down`` as the appliance reports a real server."""
    return "Up" if real_server_is_up(state, service, real_server) else "Down"


def _answers_itself(service: MockVirtualService) -> bool:
    """A VS with no real servers and an ``ErrorCode``: every request gets that fixed answer."""
    no_pool = not service.real_servers and not service.sub_services
    return no_pool and service.settings.get("ErrorCode", "0") != "0"


def virtual_service_is_up(state: MockState, service: MockVirtualService) -> bool:
    """Serving: enabled, and a redirect (or fixed error) VS, or one with an enabled real server
    (or enabled SubVS) Up."""
    if not service.settings.get("Enable", True):
        return False
    if _answers_itself(service):
        return True
    if any(rs.enable and real_server_is_up(state, service, rs) for rs in service.real_servers):
        return True
    return any(
        sub.settings.get("Enable", True) and virtual_service_is_up(state, sub)
        for sub in (state.services.get(index) for index in service.sub_services)
        if sub is not None
    )


def virtual_service_status(state: MockState, service: MockVirtualService) -> str:
    """The ``Status`` the appliance reports for a VS, as its statuses are documented.

    ``Disabled`` (administratively), ``Redirect`` (a fixed redirect: a 3xx ``ErrorCode`` with an
    ``ErrorUrl`` and no real servers), ``ErrMsg`` (another fixed answer), else ``Up`` while a
    real server (or SubVS) serves and ``Down`` when none does. Progress Kemp, LoadMaster health
    checking feature description, "Health Check Statuses"; only Up and Down are seen in the
    captures, so the spelling of the others on the wire is the web UI's.
    """
    if not service.settings.get("Enable", True):
        return "Disabled"
    if _answers_itself(service):
        code = int(str(service.settings.get("ErrorCode", "0")))
        redirect = 300 <= code < 400 and bool(service.settings.get("ErrorUrl"))
        return "Redirect" if redirect else "ErrMsg"
    return "Up" if virtual_service_is_up(state, service) else "Down"


def active_connections(real_server: MockRealServer, drain_seconds: float, now: float) -> int:
    """Live connections: constant while enabled, falling linearly to 0 once disabled."""
    connections = real_server.connections
    if connections.drain_started is None:
        return connections.active
    elapsed = max(0.0, now - connections.drain_started)
    if drain_seconds <= 0 or elapsed >= drain_seconds:
        return 0
    return math.ceil(connections.drain_from * (1.0 - elapsed / drain_seconds))


def change_enable(
    real_server: MockRealServer, enable: bool, drain_seconds: float, now: float
) -> None:
    """Set the enable flag; disabling starts a drain, enabling freezes what is left of it."""
    if enable == real_server.enable:
        return
    remaining = active_connections(real_server, drain_seconds, now)
    connections = real_server.connections
    connections.active = remaining
    if enable:
        connections.drain_started = None
    else:
        connections.drain_from = remaining
        connections.drain_started = now
    real_server.enable = enable


def set_active_connections(real_server: MockRealServer, active: int, now: float) -> None:
    """Set the live count; on a disabled real server the drain restarts from this count."""
    connections = real_server.connections
    connections.active = active
    if not real_server.enable:
        connections.drain_from = active
        connections.drain_started = now
