"""Exchange profiles: what each client-access service becomes on a LoadMaster, per version.

The values are the defaults of ``docs/specs.md`` (from Microsoft's and Kemp's Exchange guides and
field practice); an array's ``overrides:`` replace them per service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lmctl.specs.services import ServiceName

Layer = Literal[4, 7]
# When an override turns persistence on for a service that has none by default.
DEFAULT_PERSISTENCE_TIMEOUT = 1800
REDIRECT_URL = "https://%h%s"


@dataclass(frozen=True, slots=True)
class ServiceProfile:
    """The LoadMaster settings of one service before the array's overrides.

    ``check_port`` 0 means the real server's own port; ``idle_timeout`` 0 the appliance default.
    """

    layer: Layer
    persistence: str | None = None
    persistence_timeout: int = 0
    idle_timeout: int = 0
    check_type: str = "tcp"
    check_url: str | None = None
    check_port: int = 0
    error_code: int = 0
    error_url: str | None = None
    has_real_servers: bool = True


_REDIRECT = ServiceProfile(
    layer=7, check_type="none", error_code=302, error_url=REDIRECT_URL, has_real_servers=False
)
_MAIL = ServiceProfile(layer=4, check_type="tcp")

EXCHANGE_2010: dict[ServiceName, ServiceProfile] = {
    # One VS on 135 with the static ports as extra ports, so all of a client's RPC connections
    # land on one CAS; 7200 s stays above Windows' 2-hour TCP keep-alive.
    "rpc": ServiceProfile(
        layer=4,
        persistence="src",
        persistence_timeout=7200,
        idle_timeout=7200,
        check_type="tcp",
        check_port=135,
    ),
    # EWS wants at least 45 minutes of affinity; OWA and ECP must stay on one CAS.
    "https": ServiceProfile(
        layer=4,
        persistence="src",
        persistence_timeout=2700,
        idle_timeout=1800,
        check_type="https",
        check_url="/owa/auth/logon.aspx",
    ),
    "http-redirect": _REDIRECT,
    "imap4": _MAIL,
    "imap4s": _MAIL,
    "pop3": _MAIL,
    "pop3s": _MAIL,
    "smtp": ServiceProfile(
        layer=4,
        persistence="src",
        persistence_timeout=DEFAULT_PERSISTENCE_TIMEOUT,
        check_type="smtp",
    ),
}

# Exchange 2013, 2016 and 2019: no RPC over TCP, no session affinity needed, a health probe per
# virtual directory.
EXCHANGE_2013_PLUS: dict[ServiceName, ServiceProfile] = {
    "https": ServiceProfile(
        layer=4, idle_timeout=1800, check_type="https", check_url="/owa/healthcheck.htm"
    ),
    "http-redirect": _REDIRECT,
    "imap4": _MAIL,
    "imap4s": _MAIL,
    "pop3": _MAIL,
    "pop3s": _MAIL,
    "smtp": ServiceProfile(layer=4, check_type="smtp"),
}


def profiles_for(major: int) -> dict[ServiceName, ServiceProfile]:
    """The service table of one major Exchange version."""
    return EXCHANGE_2010 if major == 2010 else EXCHANGE_2013_PLUS


def profile(major: int, service: str) -> ServiceProfile:
    """The defaults of ``service`` on Exchange ``major`` (KeyError: not offered there)."""
    for name, settings in profiles_for(major).items():
        if name == service:
            return settings
    raise KeyError(f"Exchange {major} has no service '{service}'")


def vs_type(layer: int) -> str:
    """The LoadMaster ``VStype`` of a layer: 4 → ``gen``, 7 → ``http``."""
    return "http" if layer == 7 else "gen"
