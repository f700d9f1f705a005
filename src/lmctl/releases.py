"""The one table of Exchange releases: what lmctl knows about each major version of Exchange.

An admin writes a release as ``2010 SP3``, ``2016 CU23`` or ``2019 RTM``, or as the build number
``Get-ExchangeServer`` or ``ExSetup.exe`` show (``14.3.123.4`` is 2010 SP3, ``15.1.2507.6`` is
2016 CU23). Everything else follows from the major version: whether the array is an AD object,
whether Outlook speaks RPC over TCP, whether ``healthcheck.htm`` exists, which services it offers
(by default and opt-in) and what each service becomes on a LoadMaster (its profile).

Code asks the ``ExchangeFamily`` of a release (``version.family.has_rpc_over_tcp``), never
``major == 2010``: a new major version is a new row here. Pure data and parsing; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lmctl.errors import LmctlError
from lmctl.text import excerpt

ServiceName = Literal[
    "rpc", "https", "http-redirect", "imap4", "imap4s", "pop3", "pop3s", "smtp", "submission"
]
# The port each service listens on (and its real servers serve), whatever the version.
SERVICE_PORTS: Mapping[ServiceName, int] = {
    "rpc": 135,
    "https": 443,
    "http-redirect": 80,
    "imap4": 143,
    "imap4s": 993,
    "pop3": 110,
    "pop3s": 995,
    "smtp": 25,
    "submission": 587,
}
# SMTP is transport, not client access: on 2010 the Hub Transport servers serve it, which need
# not be the CAS members, so these services may name members of their own.
TRANSPORT_SERVICES: frozenset[ServiceName] = frozenset({"smtp", "submission"})
RPC_ENDPOINT_MAPPER = SERVICE_PORTS["rpc"]
WILDCARD_PORT = "*"
# The range usually chosen for static RPC ports (clear of Windows' dynamic ports).
STATIC_RPC_RANGE = (59531, 60554)
# The servers' TCP KeepAliveTime that Microsoft recommends (15-30 minutes; HealthChecker flags
# the Windows default of 2 hours): a spec's ``keepalive_time`` defaults to it.
DEFAULT_KEEPALIVE_TIME = 1800
# An ActiveSync Direct Push request may hang idle for up to 59 minutes (the longest heartbeat).
DIRECT_PUSH_MAX_HEARTBEAT = 3540
# Exchange closes an idle authenticated IMAP4/POP3 session after 30 minutes (the default of
# AuthenticatedConnectionTimeout): the load balancer must not close it first.
MAIL_SESSION_TIMEOUT = 1800
# The idle timeout a LoadMaster applies to a VS whose Idletime is 0 (its global default).
APPLIANCE_IDLE_TIMEOUT = 660
# How far a long-lived service's idle timeout stays above the longest idle the servers expect.
IDLE_MARGIN = 60
# When an override turns persistence on for a service that has none by default.
DEFAULT_PERSISTENCE_TIMEOUT = 1800
REDIRECT_URL = "https://%h%s"
# The checks that request a URL: ``CheckUrl`` means nothing to the others.
URL_CHECKS = frozenset({"http", "https"})
# Persistence modes that need a layer 7 VS: with cookie persistence the appliance offers no
# Force L4 (Kemp, Transparency feature description, "Non Transparency").
LAYER_7_PERSISTENCE = frozenset(
    {"cookie", "active-cookie", "cookie-src", "active-cook-src", "cookie-hash"}
)

Layer = Literal[4, 7]

# How an array publishes its HTTPS clients: one layer 4 VS with one check (``single-service``),
# or one layer 7 VS terminating TLS with a SubVS per virtual directory, each checking its own
# ``healthcheck.htm`` (``per-protocol``: Microsoft's recommendation for 2016/2019 and what Kemp's
# Exchange templates build; docs/layouts.md).
Layout = Literal["single-service", "per-protocol"]
LAYOUTS: tuple[Layout, ...] = ("single-service", "per-protocol")
# The virtual directories of a 2013+ Client Access front end that clients use over HTTPS, in the
# order their SubVSs are created; each answers a probe at ``/<directory>/healthcheck.htm``
# (Microsoft, "Load balancing in Exchange Server"; Kemp, MS Exchange 2016/2019 deployment
# guides). ``Microsoft-Server-ActiveSync`` is ActiveSync, ``rpc`` Outlook Anywhere.
VirtualDirectory = Literal[
    "owa", "ecp", "ews", "mapi", "rpc", "oab", "Microsoft-Server-ActiveSync", "autodiscover"
]
VIRTUAL_DIRECTORIES: tuple[VirtualDirectory, ...] = (
    "owa",
    "ecp",
    "ews",
    "mapi",
    "rpc",
    "oab",
    "Microsoft-Server-ActiveSync",
    "autodiscover",
)


def directory_check_url(directory: str) -> str:
    """The health probe of one virtual directory: ``/<directory>/healthcheck.htm``."""
    return f"/{directory}/healthcheck.htm"


@dataclass(frozen=True, slots=True)
class ServiceProfile:
    """What one service becomes on a LoadMaster before the array's overrides (plain values).

    ``check_port`` 0 means the real server's own port; ``idle_timeout`` 0 the appliance default.
    A service that ``outlives_keepalive`` (RPC, and HTTPS carrying Outlook Anywhere, MAPI over
    HTTP and ActiveSync) takes its idle timeout from the spec's ``keepalive_time``
    (``long_lived_idle_timeout``), and its persistence timeout too when that is 0.
    Every service runs at layer 7, not transparent, with subnet-originating requests: the
    members need no route back through the LoadMaster (a one-arm network). ``vs_type`` is the
    LoadMaster's service type (``gen``: any TCP; ``http``: HTTP, for the redirect), which does
    not choose the layer.
    """

    layer: Layer = 7
    vs_type: str = "gen"
    persistence: str | None = None
    persistence_timeout: int = 0
    idle_timeout: int = 0
    check_type: str = "tcp"
    check_url: str | None = None
    check_port: int = 0
    error_code: int = 0
    error_url: str | None = None
    has_real_servers: bool = True
    # Layer 7 only (layer 4 is always transparent): the members see the client's address.
    transparent: bool = False
    outlives_keepalive: bool = False
    # Idle timeouts not above this warn (IMAP4/POP3: Exchange's own session timeout).
    min_idle_timeout: int = 0


def is_transparent(profile: ServiceProfile) -> bool:
    """True when the members see the client's own address (layer 4, or transparent layer 7):
    their default gateway must then be the LoadMaster."""
    return profile.layer == 4 or profile.transparent


def long_lived_idle_timeout(keepalive_time: int) -> int:
    """The idle timeout of a long-lived service: above the servers' keep-alive and the longest
    Direct Push heartbeat, so the servers' keep-alives (not the load balancer) decide when an
    idle connection ends."""
    return max(keepalive_time, DIRECT_PUSH_MAX_HEARTBEAT) + IDLE_MARGIN


_REDIRECT = ServiceProfile(
    vs_type="http",
    check_type="none",
    error_code=302,
    error_url=REDIRECT_URL,
    has_real_servers=False,
)


# Kemp's imap and pop3 checks speak the plain protocol; the TLS ports get a TCP connect.
def _mailbox_access(check_type: str) -> ServiceProfile:
    return ServiceProfile(
        check_type=check_type,
        # Above Exchange's own timeout, as for the long-lived services: Exchange ends an idle
        # session (and says so to the client), the LoadMaster never cuts it first.
        idle_timeout=MAIL_SESSION_TIMEOUT + IDLE_MARGIN,
        min_idle_timeout=MAIL_SESSION_TIMEOUT,
    )


_MAIL: Mapping[ServiceName, ServiceProfile] = {
    "imap4": _mailbox_access("imap"),
    "imap4s": _mailbox_access("tcp"),
    "pop3": _mailbox_access("pop3"),
    "pop3s": _mailbox_access("tcp"),
}
_TRANSPORT = ServiceProfile(check_type="smtp")
_TRANSPORT_2010 = ServiceProfile(
    persistence="src", persistence_timeout=DEFAULT_PERSISTENCE_TIMEOUT, check_type="smtp"
)

# The profiles are the defaults of ``docs/specs.md`` (from Microsoft's and Kemp's Exchange guides
# and field practice); an array's ``overrides:`` replace them per service.
_RPC_ERA_PROFILES: Mapping[ServiceName, ServiceProfile] = {
    # One VS on 135 with the static ports as extra ports, so all of a client's RPC connections
    # land on one CAS (persistence as long as a connection may idle); the check probes the RPC
    # Client Access port when it is static (135 answers while the Exchange RPC service is down).
    "rpc": ServiceProfile(
        persistence="src",
        outlives_keepalive=True,
        check_type="tcp",
        check_port=RPC_ENDPOINT_MAPPER,
    ),
    # OWA and ECP share a forms-based authentication cookie only one CAS can decrypt, and EWS
    # subscriptions need affinity: "affinity must last during a client session" (Microsoft, Load
    # Balancing Requirements of Exchange Protocols). Without SSL offload the LoadMaster sees no
    # cookie: source IP, as long as a connection may idle.
    "https": ServiceProfile(
        persistence="src",
        outlives_keepalive=True,
        check_type="https",
        check_url="/owa/auth/logon.aspx",
    ),
    "http-redirect": _REDIRECT,
    **_MAIL,
    "smtp": _TRANSPORT_2010,
    "submission": _TRANSPORT_2010,
}
# No RPC over TCP, no session affinity needed, a health probe per virtual directory.
_HTTPS_ERA_PROFILES: Mapping[ServiceName, ServiceProfile] = {
    "https": ServiceProfile(
        outlives_keepalive=True, check_type="https", check_url="/owa/healthcheck.htm"
    ),
    "http-redirect": _REDIRECT,
    **_MAIL,
    "smtp": _TRANSPORT,
    "submission": _TRANSPORT,
}


class UnknownReleaseError(LmctlError, ValueError):
    """Text that names no Exchange release lmctl knows; the message says what to write.

    A ValueError too, so a spec field parsed with ``parse_exchange_version`` reports it as the
    field's problem.
    """


@dataclass(frozen=True, slots=True)
class ExchangeFamily:
    """One major version of Exchange Server: how its releases are named and numbered, and what a
    load balancer in front of it publishes.

    ``major`` orders the versions and keys them (Exchange Server SE is 2025, written ``SE``:
    ``name``). ``version`` is the start of the build number that names the major version
    (``(14,)``, ``(15, 1)``); ``release_builds`` the number after it in the build of RTM and of
    each update in turn (2010: the minor version is the service pack; 15.x: the third number is
    the cumulative update's build, security updates change only the fourth). The last entry is
    the last update Microsoft has released: a later one is refused. The defaults are those of
    every version since 2013.
    """

    major: int
    version: tuple[int, ...]
    release_builds: tuple[int, ...]
    updates: Literal["SP", "CU"] = "CU"
    label: str | None = None
    # The array is an AD object (New-ClientAccessArray); 2013+ has a load-balanced namespace.
    has_cas_array: bool = False
    has_healthcheck_htm: bool = True
    default_services: tuple[ServiceName, ...] = ("https", "http-redirect")
    # Every service the version offers: the defaults, then the opt-in ones.
    profiles: Mapping[ServiceName, ServiceProfile] = field(
        default_factory=lambda: _HTTPS_ERA_PROFILES
    )
    # An update Microsoft shipped under a second name (2013 CU4 is "Service Pack 1").
    renamed: Mapping[str, str] = field(default_factory=dict)
    # The day Microsoft's support ended (Microsoft Lifecycle), None while it lasts, and where
    # Microsoft's coexistence rules let such an organisation move (see COEXISTENCE).
    end_of_support: str | None = None
    move_to: str | None = None

    @property
    def name(self) -> str:
        """How Microsoft names the version: ``2016``, ``SE``."""
        return self.label or str(self.major)

    def profile(self, service: ServiceName) -> ServiceProfile:
        """The defaults of ``service`` (KeyError when this version does not offer it)."""
        if service not in self.profiles:
            raise KeyError(f"Exchange {self.name} has no service '{service}'")
        return self.profiles[service]

    def offers(self, service: str) -> bool:
        """True when an array of this version can publish ``service``."""
        return service in self.profiles

    @property
    def has_rpc_over_tcp(self) -> bool:
        """True when Outlook connects over RPC/TCP (static RPC ports, the rpc service)."""
        return self.offers("rpc")

    @property
    def noun(self) -> str:
        """What a spec of this version describes: a CAS ``array`` or a ``namespace``."""
        return "array" if self.has_cas_array else "namespace"

    def level_at(self, position: int) -> str:
        """The name of the release at ``position`` (0 RTM, 1 the first update, ...)."""
        level = f"{self.updates}{position}" if position else "RTM"
        return self.renamed.get(level, level)

    @property
    def levels(self) -> tuple[str, ...]:
        """Every release Microsoft has shipped, oldest first (``RTM``, ``CU1``, ...)."""
        return tuple(self.level_at(p) for p in range(len(self.release_builds)))

    def position(self, level: str) -> int:
        """Where ``level`` is in ``levels`` (0 for RTM), to compare two releases."""
        return self.levels.index(level)

    @property
    def latest(self) -> str:
        """The latest release whose build lmctl knows, e.g. ``CU23``."""
        return self.levels[-1]

    def build_of(self, position: int) -> str:
        """The build number (as far as it names the release) of the release at ``position``."""
        return ".".join(str(n) for n in (*self.version, self.release_builds[position]))

    def level_named(self, written: str) -> str | None:
        """The release an admin wrote (upper case, ``CU4`` or ``SP1`` for 2013 SP1), or None
        when this version has no such release."""
        for position, level in enumerate(self.levels):
            if written in (level, f"{self.updates}{position}"):
                return level
        return None

    @property
    def level_names(self) -> str:
        """The releases in words, for a message."""
        kind = "cumulative update" if self.updates == "CU" else "service pack"
        if len(self.levels) == 1:
            return f"its only release is {self.levels[0]} (no {kind} has been released yet)"
        names = ", ".join((self.levels[0], *self.renamed.values()))
        return (
            f"its releases are {names} and {self.levels[1]} to {self.latest} (the last "
            f"{kind} Microsoft has released)"
        )


# Builds checked against Microsoft's "Exchange Server build numbers and release dates" and its
# ExchangeBuildNumbers.csv (repository microsoft/Get-ExchangeBuildNumber): the last releases are
# 2010 SP3 (RU32 is 14.3.513.0), 2013 CU23 (15.0.1497.2), 2016 CU23 (15.1.2507.6), 2019 CU15
# (15.2.1748.10) and Exchange Server SE RTM (15.2.2562.17, July 2025). Exchange SE continues
# 2019's build numbers: 15.2 builds from 2562 on are SE.
FAMILIES: tuple[ExchangeFamily, ...] = (
    ExchangeFamily(
        major=2010,
        version=(14,),
        updates="SP",
        release_builds=(0, 1, 2, 3),
        has_cas_array=True,
        has_healthcheck_htm=False,
        default_services=("rpc", "https", "http-redirect"),
        profiles=_RPC_ERA_PROFILES,
        end_of_support="13 October 2020",
        # Exchange 2016 coexists with 2010 SP3 RU11 or later; 2019 and SE do not coexist with 2010.
        move_to="Exchange 2016 CU23 (2019 and SE cannot coexist with 2010), then Exchange "
        "Server SE",
    ),
    ExchangeFamily(
        major=2013,
        version=(15, 0),
        release_builds=(
            *(516, 620, 712, 775, 847, 913, 995, 1044, 1076, 1104, 1130, 1156, 1178, 1210),
            *(1236, 1263, 1293, 1320, 1347, 1365, 1367, 1395, 1473, 1497),
        ),
        renamed={"CU4": "SP1"},
        end_of_support="11 April 2023",
        move_to="Exchange 2016 CU23 or 2019 CU14 (SE's setup refuses Exchange 2013), then "
        "Exchange Server SE",
    ),
    ExchangeFamily(
        major=2016,
        version=(15, 1),
        release_builds=(
            *(225, 396, 466, 544, 669, 845, 1034, 1261, 1415, 1466, 1531, 1591, 1713, 1779),
            *(1847, 1913, 1979, 2044, 2106, 2176, 2242, 2308, 2375, 2507),
        ),
        end_of_support="14 October 2025",
        move_to="Exchange Server SE (side by side, with 2016 on CU23)",
    ),
    ExchangeFamily(
        major=2019,
        version=(15, 2),
        release_builds=(
            *(221, 330, 397, 464, 529, 595, 659, 721, 792, 858, 922, 986, 1118, 1258, 1544),
            1748,
        ),
        end_of_support="14 October 2025",
        move_to="Exchange Server SE (an in-place upgrade from 2019 CU14 or CU15)",
    ),
    # Modern Lifecycle Policy: supported as long as its updates are installed.
    ExchangeFamily(major=2025, label="SE", version=(15, 2), release_builds=(2562,)),
)
_BY_MAJOR: Mapping[int, ExchangeFamily] = {family.major: family for family in FAMILIES}
_BY_NAME: Mapping[str, ExchangeFamily] = {family.name.upper(): family for family in FAMILIES}


@dataclass(frozen=True, order=True, slots=True)
class ExchangeVersion:
    """A major Exchange version and its service pack or cumulative update (``RTM`` for none)."""

    major: int
    level: str

    def __str__(self) -> str:
        return f"{self.family.name} {self.level}"

    @property
    def family(self) -> ExchangeFamily:
        """Everything that follows from the major version."""
        return _BY_MAJOR[self.major]

    @property
    def position(self) -> int:
        """0 for RTM, n for the n-th update: orders the releases of one version."""
        return self.family.position(self.level)


@dataclass(frozen=True, slots=True)
class Coexistence:
    """Microsoft's rule for servers of an ``older`` version in one organization (and so behind
    one namespace) with a ``newer`` one: the older servers need ``minimum`` or later, and the
    newer ones may be at most ``newer_until`` (a later update's setup refuses the older)."""

    older: int
    newer: int
    minimum: str
    newer_until: str | None = None


# Exchange Server supportability matrix, "Supported coexistence scenarios"; 2019 CU15's setup
# blocks Exchange 2013 ("Released: 2025 H1 Cumulative Update for Exchange Server"), and SE
# RTM's does too ("Upgrade to Exchange Server SE"). Exchange 2010 is left out on purpose: it has
# its own CAS array and cannot serve a 2013+ namespace.
COEXISTENCE: tuple[Coexistence, ...] = (
    Coexistence(older=2013, newer=2016, minimum="CU10"),
    Coexistence(older=2013, newer=2019, minimum="CU21", newer_until="CU14"),
    Coexistence(older=2016, newer=2019, minimum="CU11"),
    Coexistence(older=2016, newer=2025, minimum="CU23"),
    Coexistence(older=2019, newer=2025, minimum="CU14"),
)


def coexistence(first: ExchangeVersion, second: ExchangeVersion) -> Coexistence | None:
    """Microsoft's rule for two different major versions behind one namespace (None: they
    cannot coexist there)."""
    older, newer = sorted((first.major, second.major))
    return next((c for c in COEXISTENCE if (c.older, c.newer) == (older, newer)), None)


_EXAMPLES = "'2010 SP3', '2016 CU23', '2019 CU15' or 'SE RTM'"
_WRITTEN = re.compile(
    r"^(?:exchange\s+(?:server\s+)?)?(?P<major>\d{4}|se)\s+(?P<level>[a-z]+\d*)$", re.IGNORECASE
)
_BUILD = re.compile(
    r"^(?:version\s+)?(?P<major>1[45])\.0?(?P<minor>\d)"
    r"(?:\.0*(?P<build>\d+)(?:\.\d+)?|\s*\(build\s+0*(?P<build_in_parens>\d+)(?:\.\d+)?\))?$",
    re.IGNORECASE,
)
BUILD_PATTERN = r"(?:[Vv]ersion\s+)?1[45]\.0?\d(\.\d+){0,2}(\s*\([Bb]uild\s+\d+(\.\d+)?\))?"
VERSION_PATTERN = (
    # Case-insensitive like the parser, spelled out: JSON Schema patterns have no flags. A new
    # family adds its major version here (test_releases checks every known release against it).
    # The parser refuses an update later than the last one released.
    r"^((?:[Ee]xchange\s+(?:[Ss]erver\s+)?)?(2010\s+([Rr][Tt][Mm]|[Ss][Pp][1-3])"
    r"|(2013|2016|2019|[Ss][Ee])\s+([Rr][Tt][Mm]|[Ss][Pp]1|[Cc][Uu]\d+))"
    f"|{BUILD_PATTERN})$"
)
VERSION_DESCRIPTION = (
    f"Exchange version and service pack or cumulative update, e.g. {_EXAMPLES}; or a build "
    "number as Get-ExchangeServer shows it, such as 14.3.123.4 (= 2010 SP3), "
    "'Version 15.1 (Build 2507.6)' (= 2016 CU23) or 15.2.2562.17 (= SE RTM)."
)


def parse_exchange_version(value: Any) -> ExchangeVersion:
    """``2010 SP3`` → ExchangeVersion(2010, "SP3"); ``UnknownReleaseError`` for anything else."""
    if isinstance(value, ExchangeVersion):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UnknownReleaseError(f"expected text like {_EXAMPLES}")
    text = str(value).strip()
    if _BUILD.match(text) is not None:
        return release_of_build(text)
    match = _WRITTEN.match(text)
    if match is None:
        hint = " (add the service pack or cumulative update)" if text.isdigit() else ""
        raise UnknownReleaseError(
            f"'{excerpt(text)}' is not an Exchange version{hint}; write e.g. {_EXAMPLES}"
        )
    name, written = match["major"].upper(), match["level"].upper()
    family = _BY_NAME.get(name)
    if family is None:
        allowed = ", ".join(f.name for f in FAMILIES)
        raise UnknownReleaseError(f"Exchange {name} is not supported; allowed versions: {allowed}")
    level = family.level_named(written)
    if level is None:
        raise UnknownReleaseError(
            f"'{written}' is not a release of Exchange {family.name}: {family.level_names}"
        )
    return ExchangeVersion(family.major, level)


def release_of_build(text: str) -> ExchangeVersion:
    """``15.1.2507.6`` → 2016 CU23; ``14.3.123.4`` → 2010 SP3; ``15.2.2562.17`` → SE RTM
    (``UnknownReleaseError`` with what to write instead when the build is not one of a known
    release)."""
    match = _BUILD.match(text.strip())
    if match is None:
        raise UnknownReleaseError(f"'{excerpt(text)}' is not an Exchange build number")
    major, minor = int(match["major"]), int(match["minor"])
    build = match["build"] or match["build_in_parens"]
    for family in FAMILIES:
        if family.version == (major,):
            # The minor version names the service pack; the rest of the build does not matter.
            if minor not in family.release_builds:
                raise UnknownReleaseError(
                    f"'{excerpt(text)}': Exchange {family.name} builds are "
                    f"{family.build_of(0)} (RTM) to {family.build_of(-1)} ({family.latest})"
                )
            return ExchangeVersion(family.major, family.levels[family.release_builds.index(minor)])
    sharing = [f for f in FAMILIES if f.version == (major, minor)]
    if sharing:
        return _cumulative_update(sharing, build, text)
    names: dict[str, list[str]] = {}
    for family in FAMILIES:
        if family.version[0] == major:
            names.setdefault(".".join(map(str, family.version)), []).append(family.name)
    versions = ", ".join(f"{version} ({', '.join(n)})" for version, n in names.items())
    raise UnknownReleaseError(f"'{excerpt(text)}': Exchange {major}.x builds are {versions}")


def _cumulative_update(
    families: list[ExchangeFamily], build: str | None, text: str
) -> ExchangeVersion:
    """The release of ``build`` among the versions that share one major.minor (15.2 is 2019
    and SE)."""
    names = " or ".join(f.name for f in families)
    if build is None:
        raise UnknownReleaseError(
            f"'{excerpt(text)}' does not say the release of Exchange {names}: give the whole "
            "build as Get-ExchangeServer shows it, or write the release, e.g. "
            f"'{families[-1].name} {families[-1].latest}'"
        )
    for family in families:
        if int(build) in family.release_builds:
            return ExchangeVersion(
                family.major, family.levels[family.release_builds.index(int(build))]
            )
    known = "; ".join(
        f"{f'Exchange {f.name} ' * (len(families) > 1)}RTM is {f.build_of(0)}, the latest "
        f"{f.latest} is {f.build_of(-1)}"
        for f in families
    )
    raise UnknownReleaseError(
        f"'{excerpt(text)}' is not the build of an Exchange {names} release lmctl knows ({known}); "
        f"write the release instead, e.g. '{families[-1].name} {families[-1].latest}'"
    )


def vip_port(service: ServiceName, has_static_rpc_ports: bool) -> str:
    """The VS port of ``service``: RPC without static ports must take every port (``*``)."""
    if service == "rpc" and not has_static_rpc_ports:
        return WILDCARD_PORT
    return str(SERVICE_PORTS[service])
