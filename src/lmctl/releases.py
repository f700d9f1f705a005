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

ServiceName = Literal["rpc", "https", "http-redirect", "imap4", "imap4s", "pop3", "pop3s", "smtp"]
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
}
RPC_ENDPOINT_MAPPER = SERVICE_PORTS["rpc"]
WILDCARD_PORT = "*"
# The range usually chosen for static RPC ports (clear of Windows' dynamic ports).
STATIC_RPC_RANGE = (59531, 60554)
# Windows' default TCP keep-alive (2 hours): an idle Outlook RPC connection must outlive it.
TCP_KEEPALIVE_SECONDS = 7200
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


@dataclass(frozen=True, slots=True)
class ServiceProfile:
    """What one service becomes on a LoadMaster before the array's overrides (plain values).

    ``check_port`` 0 means the real server's own port; ``idle_timeout`` 0 the appliance default.
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


_REDIRECT = ServiceProfile(
    vs_type="http",
    check_type="none",
    error_code=302,
    error_url=REDIRECT_URL,
    has_real_servers=False,
)
_MAIL = ServiceProfile(check_type="tcp")

# The profiles are the defaults of ``docs/specs.md`` (from Microsoft's and Kemp's Exchange guides
# and field practice); an array's ``overrides:`` replace them per service.
_RPC_ERA_PROFILES: Mapping[ServiceName, ServiceProfile] = {
    # One VS on 135 with the static ports as extra ports, so all of a client's RPC connections
    # land on one CAS; the timeouts stay above Windows' TCP keep-alive.
    "rpc": ServiceProfile(
        persistence="src",
        persistence_timeout=TCP_KEEPALIVE_SECONDS,
        idle_timeout=TCP_KEEPALIVE_SECONDS,
        check_type="tcp",
        check_port=RPC_ENDPOINT_MAPPER,
    ),
    # EWS wants at least 45 minutes of affinity; OWA and ECP must stay on one CAS.
    "https": ServiceProfile(
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
        persistence="src",
        persistence_timeout=DEFAULT_PERSISTENCE_TIMEOUT,
        check_type="smtp",
    ),
}
# No RPC over TCP, no session affinity needed, a health probe per virtual directory.
_HTTPS_ERA_PROFILES: Mapping[ServiceName, ServiceProfile] = {
    "https": ServiceProfile(
        idle_timeout=1800, check_type="https", check_url="/owa/healthcheck.htm"
    ),
    "http-redirect": _REDIRECT,
    "imap4": _MAIL,
    "imap4s": _MAIL,
    "pop3": _MAIL,
    "pop3s": _MAIL,
    "smtp": ServiceProfile(check_type="smtp"),
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

    ``version`` is the start of the build number that names the major version (``(14,)``,
    ``(15, 1)``); ``release_builds`` the number after it in the build of RTM and of each update
    in turn (2010: the minor version is the service pack; 15.x: the third number is the
    cumulative update's build, security updates change only the fourth). The defaults are those
    of every version since 2013.
    """

    major: int
    version: tuple[int, ...]
    release_builds: tuple[int, ...]
    updates: Literal["SP", "CU"] = "CU"
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

    def profile(self, service: ServiceName) -> ServiceProfile:
        """The defaults of ``service`` (KeyError when this version does not offer it)."""
        if service not in self.profiles:
            raise KeyError(f"Exchange {self.major} has no service '{service}'")
        return self.profiles[service]

    def offers(self, service: str) -> bool:
        """True when an array of this version can publish ``service``."""
        return service in self.profiles

    @property
    def has_rpc_over_tcp(self) -> bool:
        """True when Outlook connects over RPC/TCP (static RPC ports, the rpc service)."""
        return self.offers("rpc")

    def level_at(self, position: int) -> str:
        """The name of the release at ``position`` (0 RTM, 1 the first update, ...)."""
        level = f"{self.updates}{position}" if position else "RTM"
        return self.renamed.get(level, level)

    @property
    def latest(self) -> str:
        """The latest release whose build lmctl knows, e.g. ``CU23``."""
        return self.level_at(len(self.release_builds) - 1)

    def build_of(self, position: int) -> str:
        """The build number (as far as it names the release) of the release at ``position``."""
        return ".".join(str(n) for n in (*self.version, self.release_builds[position]))

    @property
    def level_pattern(self) -> str:
        """A regular expression of the release names an admin may write (upper case)."""
        if self.updates == "SP":
            return rf"RTM|SP[1-{len(self.release_builds) - 1}]"
        return "|".join(("RTM", *self.renamed.values(), r"CU[1-9][0-9]?"))

    @property
    def level_names(self) -> str:
        """The release names in words, for a message."""
        if self.updates == "SP":
            levels = [self.level_at(p) for p in range(len(self.release_builds))]
            return f"{', '.join(levels[:-1])} or {levels[-1]}"
        return ", ".join(("RTM", *self.renamed.values())) + " or a cumulative update CU1, CU2, ..."


# Builds checked against Microsoft's ExchangeBuildNumbers.csv (repository
# microsoft/Get-ExchangeBuildNumber), up to 2013 CU23, 2016 CU23 and 2019 CU15; Exchange SE
# (15.2.2562) is not a 2019 CU and is refused as unknown.
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
    ),
    ExchangeFamily(
        major=2013,
        version=(15, 0),
        release_builds=(
            *(516, 620, 712, 775, 847, 913, 995, 1044, 1076, 1104, 1130, 1156, 1178, 1210),
            *(1236, 1263, 1293, 1320, 1347, 1365, 1367, 1395, 1473, 1497),
        ),
        renamed={"CU4": "SP1"},
    ),
    ExchangeFamily(
        major=2016,
        version=(15, 1),
        release_builds=(
            *(225, 396, 466, 544, 669, 845, 1034, 1261, 1415, 1466, 1531, 1591, 1713, 1779),
            *(1847, 1913, 1979, 2044, 2106, 2176, 2242, 2308, 2375, 2507),
        ),
    ),
    ExchangeFamily(
        major=2019,
        version=(15, 2),
        release_builds=(
            *(221, 330, 397, 464, 529, 595, 659, 721, 792, 858, 922, 986, 1118, 1258, 1544),
            1748,
        ),
    ),
)
_BY_MAJOR: Mapping[int, ExchangeFamily] = {family.major: family for family in FAMILIES}


@dataclass(frozen=True, order=True, slots=True)
class ExchangeVersion:
    """A major Exchange version and its service pack or cumulative update (``RTM`` for none)."""

    major: int
    level: str

    def __str__(self) -> str:
        return f"{self.major} {self.level}"

    @property
    def family(self) -> ExchangeFamily:
        """Everything that follows from the major version."""
        return _BY_MAJOR[self.major]


_EXAMPLES = "'2010 SP3', '2013 CU23', '2016 CU23' or '2019 RTM'"
_WRITTEN = re.compile(r"^(?:exchange\s+)?(?P<major>\d{4})\s+(?P<level>[a-z]+\d*)$", re.IGNORECASE)
_BUILD = re.compile(
    r"^(?:version\s+)?(?P<major>1[45])\.0?(?P<minor>\d)"
    r"(?:\.0*(?P<build>\d+)(?:\.\d+)?|\s*\(build\s+0*(?P<build_in_parens>\d+)(?:\.\d+)?\))?$",
    re.IGNORECASE,
)
BUILD_PATTERN = r"(?:[Vv]ersion\s+)?1[45]\.0?\d(\.\d+){0,2}(\s*\([Bb]uild\s+\d+(\.\d+)?\))?"
VERSION_PATTERN = (
    # Case-insensitive like the parser, spelled out: JSON Schema patterns have no flags. A new
    # family adds its major version here (test_releases checks every known release against it).
    r"^((?:[Ee]xchange\s+)?(2010\s+([Rr][Tt][Mm]|[Ss][Pp][1-3])"
    r"|(2013|2016|2019)\s+([Rr][Tt][Mm]|[Ss][Pp]1|[Cc][Uu]\d+))"
    f"|{BUILD_PATTERN})$"
)
VERSION_DESCRIPTION = (
    f"Exchange version and service pack or cumulative update, e.g. {_EXAMPLES}; or a build "
    "number as Get-ExchangeServer shows it, such as 14.3.123.4 (= 2010 SP3) or "
    "'Version 15.1 (Build 2507.6)' (= 2016 CU23)."
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
    major, level = int(match["major"]), match["level"].upper()
    family = _BY_MAJOR.get(major)
    if family is None:
        allowed = ", ".join(str(f.major) for f in FAMILIES)
        raise UnknownReleaseError(f"Exchange {major} is not supported; allowed versions: {allowed}")
    if not re.fullmatch(family.level_pattern, level):
        raise UnknownReleaseError(
            f"'{level}' is not a release of Exchange {major}; allowed: {family.level_names}"
        )
    return ExchangeVersion(major, family.renamed.get(level, level))


def release_of_build(text: str) -> ExchangeVersion:
    """``15.1.2507.6`` → 2016 CU23; ``14.3.123.4`` → 2010 SP3 (``UnknownReleaseError`` with what
    to write instead when the build is not one of a known release)."""
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
                    f"'{excerpt(text)}': Exchange {family.major} builds are "
                    f"{family.build_of(0)} (RTM) to {family.build_of(-1)} ({family.latest})"
                )
            return ExchangeVersion(
                family.major, family.level_at(family.release_builds.index(minor))
            )
        if family.version == (major, minor):
            return ExchangeVersion(family.major, _cumulative_update(family, build, text))
    versions = ", ".join(
        f"{'.'.join(map(str, f.version))} ({f.major})" for f in FAMILIES if f.version[0] == major
    )
    raise UnknownReleaseError(f"'{excerpt(text)}': Exchange {major}.x builds are {versions}")


def _cumulative_update(family: ExchangeFamily, build: str | None, text: str) -> str:
    if build is None:
        raise UnknownReleaseError(
            f"'{excerpt(text)}' does not say the cumulative update of Exchange {family.major}: "
            "give the whole build as Get-ExchangeServer shows it, or write the release, e.g. "
            f"'{family.major} RTM'"
        )
    if int(build) not in family.release_builds:
        raise UnknownReleaseError(
            f"'{excerpt(text)}' is not the build of an Exchange {family.major} release lmctl "
            f"knows (RTM is {family.build_of(0)}, the latest {family.latest} is "
            f"{family.build_of(-1)}); write the release instead, e.g. "
            f"'{family.major} {family.latest}'"
        )
    return family.level_at(family.release_builds.index(int(build)))


def vip_port(service: ServiceName, has_static_rpc_ports: bool) -> str:
    """The VS port of ``service``: RPC without static ports must take every port (``*``)."""
    if service == "rpc" and not has_static_rpc_ports:
        return WILDCARD_PORT
    return str(SERVICE_PORTS[service])
