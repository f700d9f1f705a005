"""What an appliance holds → array specs: the pure decision of ``lmctl import``.

One array per VIP that shows Exchange (``exchange_sign``: an Exchange health check, an rpc
service, or https beside a mail service or the redirect to https; any other VIP only when the
admin names it, flagged in its notes). Services are recognised by port and settings: 135 with
two static ports as ``ExtraPorts`` (or a wildcard VS forwarding to 135) is ``rpc``, 443 ``https``,
80 answering a fixed redirect without real servers ``http-redirect``, 25, 110, 143, 993, 995 the
mail services. The release family follows from the health checks (``/owa/auth/logon.aspx`` or
an rpc service: 2010; ``…/healthcheck.htm``: 2013 or later); members from the real servers
(named from their addresses); scheduling from the VSs; every setting that differs from the
family's profile becomes an override. The spec is then checked the way ``plan`` will read it:
expanded (``lmctl.exchange``) and planned with adoption against the same state
(``lmctl.plan``); a VS whose adoption would write more than the marker holds what no spec can
say (a scheduling of its own, a custom redirect, route forwarding ...) and is skipped, its
reason naming those settings, so that ``plan --adopt`` of what import writes holds only
adoptions. What lmctl cannot know (AD site, exact release, FQDN) comes from the options or
is a ``PLACEHOLDER`` value that validate refuses, saying what to fill in. Every other VS is
skipped, with the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from lmctl.appliance.changes import AdoptVirtualService, Change, UpdateRealServer
from lmctl.appliance.state import ApplianceState, RealServerState, VirtualServiceState
from lmctl.exchange import expand
from lmctl.exchange.desired import DEFAULT_WEIGHT
from lmctl.loadmaster.models import (
    SCHEDULING_METHODS,
    VirtualServiceKey,
    VirtualServiceSettings,
    normalised_address,
)
from lmctl.plan.document import plan_appliance
from lmctl.plan.listing import key_order
from lmctl.plan.match import listed_more_than_once
from lmctl.releases import (
    DEFAULT_PERSISTENCE_TIMEOUT,
    SERVICE_PORTS,
    TRANSPORT_SERVICES,
    URL_CHECKS,
    WILDCARD_PORT,
    ServiceName,
    ServiceProfile,
    parse_exchange_version,
)
from lmctl.specs.array import PLACEHOLDER, ArraySpec
from lmctl.text import quoted_name

# The ports recognised as they are (rpc and http-redirect need a closer look).
_PLAIN_PORTS: Mapping[str, ServiceName] = {
    str(port): service
    for service, port in SERVICE_PORTS.items()
    if service not in ("rpc", "http-redirect")
}
_SERVICE_ORDER: tuple[ServiceName, ...] = tuple(SERVICE_PORTS)
_REDIRECT_CODES = (301, 302)
_RPC_ERA_CHECK = "/owa/auth/logon.aspx"
_HEALTHCHECK_PAGE = "healthcheck.htm"
# The virtual directories whose healthcheck.htm Exchange 2013+ Managed Availability answers
# (Kemp's Exchange content switching technical note lists them; docs/adoption.md).
_EXCHANGE_DIRECTORIES = frozenset(
    {"owa", "ecp", "ews", "mapi", "rpc", "oab", "microsoft-server-activesync", "autodiscover"}
)
_MAIL_SERVICES: frozenset[ServiceName] = frozenset(
    {"smtp", "submission", "pop3", "imap4", "pop3s", "imap4s"}
)
# Releases whose profiles stand for their family when checking an imported spec (every release
# of a family expands alike).
_REPRESENTATIVE = {"2010": "2010 SP3", "2013+": "2016 CU23"}
_CHECK_SITE = "import-check"
_CHECK_FQDN = "import-check.invalid.example"
_MAX_NAME = 40
_HASH_DIGITS = 8
# ExtraPorts as lmctl writes it: port numbers in ASCII digits (str.isdigit takes '²' too).
_PORT_NUMBER = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the admin told ``lmctl import``: the appliance's name in the inventory, the VIPs
    to take (none: every one) and the values lmctl cannot read from an appliance."""

    appliance: str
    vips: tuple[str, ...] = ()
    site: str | None = None
    exchange: str | None = None
    fqdn: str | None = None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A virtual service ``lmctl import`` writes no spec for, and why."""

    key: VirtualServiceKey
    nickname: str | None
    reason: str

    def __str__(self) -> str:
        name = f"NickName {quoted_name(self.nickname)}" if self.nickname else "no NickName"
        return f"{self.key} ({name}): {self.reason}"


@dataclass(frozen=True, slots=True)
class Unrecognised:
    """Why a virtual service is no Exchange service lmctl publishes."""

    reason: str


@dataclass(frozen=True, slots=True)
class ImportedArray:
    """One array spec to write: its document (fields in the documented order) and the notes
    that go above it (what was inferred, what to check, the VSs of its VIP left out)."""

    name: str
    document: dict[str, Any]
    notes: tuple[str, ...]
    keys: tuple[VirtualServiceKey, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The arrays found (in VIP order) and the VSs skipped (in key order)."""

    arrays: tuple[ImportedArray, ...]
    skipped: tuple[Skipped, ...]
    # What the admin must settle before planning (a marker of an array written already
    # carried by a VS elsewhere on the appliance), one sentence each.
    warnings: tuple[str, ...] = ()


def service_of(vs: VirtualServiceState) -> ServiceName | Unrecognised:
    """The Exchange service ``vs`` publishes, or why it is none lmctl knows."""
    if vs.owner is not None:
        return Unrecognised(f"already lmctl's ({vs.owner.array}/{vs.owner.service})")
    if vs.is_ambiguous:
        return Unrecognised(
            f"{listed_more_than_once(vs.key, vs.duplicate_indexes)}: lmctl cannot tell them apart"
        )
    if vs.key.protocol != "tcp":
        return Unrecognised("a UDP service: Exchange client access is TCP")
    if vs.sub_services:
        return Unrecognised(
            "it has SubVSs (a layer 7 VS per virtual directory): lmctl does not manage that layout"
        )
    port = vs.key.port
    if port == "135":
        if rpc_ports(vs.settings) is None:
            return Unrecognised("port 135 without the two static RPC ports as ExtraPorts")
        return "rpc"
    if port == WILDCARD_PORT:
        if vs.real_servers and all(rs.port == SERVICE_PORTS["rpc"] for rs in vs.real_servers):
            return "rpc"
        return Unrecognised(
            "a wildcard VS whose real servers do not listen on 135 (RPC endpoint mapper)"
        )
    if port == str(SERVICE_PORTS["http-redirect"]):
        settings = vs.settings
        if settings.error_code in _REDIRECT_CODES and settings.error_url and not vs.real_servers:
            return "http-redirect"
        return Unrecognised(
            "port 80 that is no fixed redirect (lmctl publishes HTTP only as one, to HTTPS)"
        )
    if port in _PLAIN_PORTS:
        return _PLAIN_PORTS[port]
    return Unrecognised(f"port {port} is no Exchange service lmctl publishes")


def rpc_ports(settings: VirtualServiceSettings) -> tuple[int, int] | None:
    """The static (client access, address book) ports of an rpc VS's ``ExtraPorts``."""
    parts = (settings.extra_ports or "").split(",")
    if len(parts) != 2 or not all(_PORT_NUMBER.fullmatch(part.strip()) for part in parts):
        return None
    client_access, address_book = (int(part) for part in parts)
    return client_access, address_book


def _https_check(services: Mapping[ServiceName, VirtualServiceState]) -> str | None:
    https = services.get("https")
    return https.settings.check_url if https is not None else None


def _is_healthcheck_page(url: str) -> bool:
    """``/<Exchange virtual directory>/healthcheck.htm`` (any case, as IIS serves it)."""
    directory, _, page = url.strip("/").lower().partition("/")
    return page == _HEALTHCHECK_PAGE and directory in _EXCHANGE_DIRECTORIES


def _family_of(services: Mapping[ServiceName, VirtualServiceState]) -> tuple[str | None, str]:
    """``2010``, ``2013+`` or None, with the evidence in words."""
    url = _https_check(services)
    if url is not None and url.lower() == _RPC_ERA_CHECK:
        return "2010", f"the https health check requests {url} (Exchange 2010)"
    if "rpc" in services:
        return "2010", "RPC over TCP on port 135 (Exchange 2010)"
    if url is not None and _is_healthcheck_page(url):
        return "2013+", f"the https health check requests {url} (Exchange 2013 or later)"
    return None, "no health check URL tells the Exchange release"


NO_EXCHANGE_SIGN = "no sign of Exchange (no Exchange health check, no RPC, no mail ports)"


def exchange_sign(services: Mapping[ServiceName, VirtualServiceState]) -> str | None:
    """What on a VIP says Exchange serves it, in words (None: nothing does, so a web
    application on 443 is never taken for Exchange)."""
    family, evidence = _family_of(services)
    if family is not None:
        return evidence
    if "https" in services:
        mail = [name for name in services if name in _MAIL_SERVICES]
        if mail:
            return f"https beside {', '.join(mail)} on the same VIP"
        redirect = services.get("http-redirect")
        if redirect is not None and (redirect.settings.error_url or "").startswith("https://"):
            return "https beside the fixed redirect of port 80 to https"
    return None


def _placeholder(what: str) -> str:
    return f"{PLACEHOLDER}{what}"


def array_name(vip: str) -> str:
    """``vip-10-10-1-50``: a slug of the VIP, which the admin may rename.

    Distinct VIPs get distinct names, in one run and across runs: the slug of an address's
    compressed text is its own (an IPv6 one keeps its ``--``), and one too long for a name is
    cut and ends in a short hash of the address (``vip-fd00-...-5ab3c2d1``), which no slug ends
    in (IPv6 groups have at most 4 hex digits, IPv4 numbers 3 digits).
    """
    slug = f"vip-{vip.replace('.', '-').replace(':', '-')}"
    if len(slug) <= _MAX_NAME:
        return slug
    digest = hashlib.sha256(vip.encode()).hexdigest()[:_HASH_DIGITS]
    return f"{slug[: _MAX_NAME - _HASH_DIGITS - 1]}-{digest}"


def _member_name(address: str) -> str:
    return f"cas-{address.replace('.', '-').replace(':', '-')}"


def _override(base: ServiceProfile, seen: VirtualServiceSettings) -> dict[str, Any]:
    """The ``overrides:`` entry that makes ``base`` what was ``seen`` (only what differs;
    ``ArraySpec.profile`` reads it back)."""
    override: dict[str, Any] = {}
    persist, timeout = seen.persist, seen.persist_timeout
    if persist != base.persistence:
        override["persistence"] = persist or "none"
        default_timeout = base.persistence_timeout or DEFAULT_PERSISTENCE_TIMEOUT
        if persist is not None and timeout != default_timeout:
            override["persistence_timeout"] = timeout
    elif timeout != base.persistence_timeout:
        override["persistence_timeout"] = timeout
    if seen.idle_time != base.idle_timeout:
        override["idle_timeout"] = seen.idle_time
    if seen.layer != base.layer:
        override["layer"] = seen.layer
    if seen.layer == 7 and seen.transparent is not None and seen.transparent != base.transparent:
        override["transparent"] = seen.transparent
    check: dict[str, Any] = {}
    if seen.check_type != base.check_type:
        check["type"] = seen.check_type
    url_kept = base.check_url if seen.check_type in URL_CHECKS else None
    if seen.check_url is not None and seen.check_url != url_kept:
        check["url"] = seen.check_url
    if seen.check_port and seen.check_port != base.check_port:
        check["port"] = seen.check_port
    if check:
        override["health_check"] = check
    return override


@dataclass(frozen=True, slots=True)
class _Vip:
    """The recognised services of one VIP."""

    address: str
    services: dict[ServiceName, VirtualServiceState]


def _member(rs: RealServerState) -> dict[str, Any]:
    member: dict[str, Any] = {"name": _member_name(rs.address), "address": rs.address}
    if rs.weight != DEFAULT_WEIGHT:
        member["weight"] = rs.weight
    return member


def _members(vip: _Vip) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], list[str]]:
    """The array's members (the real servers of its client access services, in the order first
    seen), the members of each transport service whose servers differ (``overrides.<service>
    .members``), and notes on drained servers."""

    def servers(names: Sequence[ServiceName]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for name in names:
            for rs in vip.services[name].real_servers:
                found.setdefault(rs.address, _member(rs))
        return found

    client_access = [n for n in vip.services if n not in TRANSPORT_SERVICES]
    members = servers(client_access) or servers(list(vip.services))
    own: dict[str, list[dict[str, Any]]] = {}
    for name in vip.services:
        if name in TRANSPORT_SERVICES and vip.services[name].real_servers:
            served = servers([name])
            if list(served) != list(members):
                own[name] = list(served.values())
    notes = [
        f"{rs.address} is disabled in {name} (a drain?): the spec leaves 'enabled' unset, so "
        "lmctl keeps it as it is"
        for name, vs in vip.services.items()
        for rs in vs.real_servers
        if not rs.enable
    ]
    return list(members.values()), own, notes


def _scheduling(vip: _Vip) -> str:
    """The array's scheduling: the first VS with real servers that has one lmctl writes (a VS
    scheduling otherwise is left out by ``_imported``, its reason naming it)."""
    return next(
        (
            vs.settings.schedule
            for vs in vip.services.values()
            if vs.real_servers and vs.settings.schedule in SCHEDULING_METHODS
        ),
        "rr",
    )


def _document(
    vip: _Vip, options: ImportOptions, family: str | None, evidence: str
) -> tuple[dict[str, Any], list[str]]:
    """The spec of one VIP (placeholders where lmctl cannot know) and the notes about it."""
    name = array_name(vip.address)
    members, own_members, notes = _members(vip)
    scheduling = _scheduling(vip)
    versions = "2010 SP3" if family == "2010" else "2016 CU23"
    exchange = options.exchange or _placeholder(
        f"the Exchange release of the servers, e.g. {versions}"
    )
    if options.exchange is not None and family is not None:
        given = parse_exchange_version(options.exchange).family
        if given != parse_exchange_version(_REPRESENTATIVE[family]).family and not (
            family == "2013+" and given.has_healthcheck_htm
        ):
            notes.append(f"--exchange {options.exchange} given, but {evidence}")
    document: dict[str, Any] = {
        "name": name,
        "site": options.site or _placeholder("the Active Directory site of the array, e.g. HQ"),
        "exchange": exchange,
        "fqdn": options.fqdn
        or _placeholder("the array's FQDN (2010: the RPC endpoint), e.g. outlook.corp.example"),
        "vip": vip.address,
        "appliance": options.appliance,
        "scheduling": scheduling,
    }
    rpc = vip.services.get("rpc")
    ports = rpc_ports(rpc.settings) if rpc is not None else None
    if ports is not None:
        document["rpc_ports"] = {"client_access": ports[0], "address_book": ports[1]}
    document["members"] = members
    document["services"] = list(vip.services)
    base = _validated(document, family, options)
    overrides: dict[str, dict[str, Any]] = {}
    for service, vs in vip.services.items():
        override = _override(base.default_profile(service), vs.settings) if base else {}
        if service in own_members:
            override["members"] = own_members[service]
        if override:
            overrides[service] = override
    if overrides:
        document["overrides"] = overrides
    return document, notes


def _validated(
    document: dict[str, Any], family: str | None, options: ImportOptions
) -> ArraySpec | None:
    """``document`` as a spec, with stand-ins for what is left to fill in (None when it does
    not validate: the release given does not offer a service found, say)."""
    filled = {
        **document,
        "site": options.site or _CHECK_SITE,
        "fqdn": options.fqdn or _CHECK_FQDN,
        "exchange": options.exchange or _REPRESENTATIVE.get(family or "", "2016 CU23"),
    }
    try:
        return ArraySpec.model_validate(filled)
    except ValidationError:
        return None


def _unexpressed(
    document: dict[str, Any], vip: _Vip, family: str | None, options: ImportOptions
) -> dict[VirtualServiceKey, list[str]] | None:
    """What the first ``plan --adopt`` of ``document`` would change besides the marker, per VS
    (one line per change), from the real expansion and planner: settings no spec can hold.
    None when the spec does not validate, so cannot be checked."""
    spec = _validated(document, family, options)
    if spec is None:
        return None
    state: ApplianceState = {vs.key: vs for vs in vip.services.values()}
    planned = plan_appliance(options.appliance, expand(spec), state, adopting=(spec.name,))
    changed: dict[VirtualServiceKey, list[str]] = {}
    for change in planned.changes:
        if not _only_marks(change):
            changed.setdefault(change.key, []).append(_change_line(change))
    return changed


def _only_marks(change: Change) -> bool:
    return isinstance(change, AdoptVirtualService) and all(
        f.field == "nickname" for f in change.fields
    )


def _change_line(change: Change) -> str:
    """A change in words: ``Schedule: lc → rr`` for the adopted VS's own settings, ``real
    server 10.1.1.11:443 forward: route → nat`` for a member's, the headline for any other."""
    details = "; ".join(text for _, text in change.details)
    if isinstance(change, AdoptVirtualService):
        return details
    if isinstance(change, UpdateRealServer):
        return f"real server {change.address}:{change.port} {details}"
    _, headline = change.headline
    return headline + (f" ({details})" if details else "")


def import_state(state: ApplianceState, options: ImportOptions) -> ImportResult:
    """Every VIP of ``state`` that serves Exchange as an array spec, and every other VS of the
    VIPs asked for as skipped (see the module's rules)."""
    # As the VS keys hold them: ::ffff:10.70.0.1 is 10.70.0.1.
    wanted = {normalised_address(vip) for vip in options.vips}
    found: dict[str, dict[ServiceName, VirtualServiceState]] = {}
    skipped: list[Skipped] = []
    owners = arrays_by_address(state)
    for key in sorted(state, key=key_order):
        vs = state[key]
        if wanted and key.address not in wanted:
            continue
        service = service_of(vs)
        if isinstance(service, Unrecognised):
            skipped.append(Skipped(key, vs.settings.nickname, service.reason))
            continue
        if key.address in owners:
            reason = _served_by(service, owners[key.address])
            skipped.append(Skipped(key, vs.settings.nickname, reason))
            continue
        services = found.setdefault(key.address, {})
        if service in services:
            skipped.append(Skipped(key, vs.settings.nickname, f"a second {service} VS on its VIP"))
            continue
        services[service] = vs
    arrays: list[ImportedArray] = []
    for address, services in found.items():
        vip = _Vip(address, {name: services[name] for name in _SERVICE_ORDER if name in services})
        # The evidence is read before --exchange drops a service: an rpc VS is still Exchange's.
        sign = exchange_sign(vip.services)
        vip, unoffered = _offered(vip, options)
        skipped += unoffered
        imported, vip, left_out = _imported(vip, options, sign, named=address in wanted)
        skipped += left_out
        if isinstance(imported, ImportedArray):
            arrays.append(imported)
        else:
            skipped += [Skipped(vs.key, vs.settings.nickname, imported) for vs in _all(vip)]
    skipped.sort(key=lambda s: key_order(s.key))
    return ImportResult(
        tuple(_with_skipped(a, skipped) for a in arrays),
        tuple(skipped),
        marker_warnings(arrays, state),
    )


def arrays_by_address(state: ApplianceState) -> dict[str, tuple[str, ...]]:
    """The lmctl arrays whose marked VSs are at each address."""
    owners: dict[str, set[str]] = {}
    for key, vs in state.items():
        if vs.owner is not None:
            owners.setdefault(key.address, set()).add(vs.owner.array)
    return {address: tuple(sorted(arrays)) for address, arrays in owners.items()}


def _served_by(service: ServiceName, arrays: Sequence[str]) -> str:
    """Why an Exchange VS beside lmctl's own is not imported: its VIP is an lmctl array's
    already, whose spec is where the service goes (a second spec for the VIP would fight it,
    and replacing that spec with --overwrite would lose what the admin wrote into it)."""
    array = arrays[0]
    whose = f"array {array}" if len(arrays) == 1 else f"arrays {', '.join(arrays)}"
    return (
        f"its VIP serves lmctl's {whose} already: add {service} to the services of "
        f"{array}'s spec and plan with --adopt {array}"
    )


def marker_warnings(arrays: Sequence[ImportedArray], state: ApplianceState) -> tuple[str, ...]:
    """One warning per VS outside an array written that already carries one of its markers
    (a NickName typed by hand, or left by an earlier lmctl): ``lmctl.plan.match`` takes such a
    VS as the array's and the plan would move or delete it. Renaming the array instead would
    not help: the VS would stay a marked VS of an array no spec has, which plan deletes."""
    warnings: list[str] = []
    for array in arrays:
        for key in sorted(state, key=key_order):
            owner = state[key].owner
            if owner is None or owner.array != array.name or key in array.keys:
                continue
            warnings.append(
                f"array {array.name}: its marker {owner.marker()} is already carried by {key} "
                f"(NickName {state[key].settings.nickname!r}): plan takes that VS as this "
                "array's and would move or delete it; unless it is this array's, give it "
                "another NickName on the appliance before you plan"
            )
    return tuple(warnings)


def _offered(vip: _Vip, options: ImportOptions) -> tuple[_Vip, list[Skipped]]:
    """``vip`` without the services the release given (``--exchange``) does not offer, which
    are skipped (2013 and later have no RPC over TCP: Outlook connects over HTTPS)."""
    if options.exchange is None:
        return vip, []
    family = parse_exchange_version(options.exchange).family
    kept = {name: vs for name, vs in vip.services.items() if family.offers(name)}
    skipped = [
        Skipped(
            vs.key,
            vs.settings.nickname,
            f"--exchange {options.exchange} given, and Exchange {family.name} has no {name} "
            "service" + (" (2013 and later have no RPC over TCP)" if name == "rpc" else ""),
        )
        for name, vs in vip.services.items()
        if name not in kept
    ]
    return _Vip(vip.address, kept), skipped


def _with_skipped(array: ImportedArray, skipped: Sequence[Skipped]) -> ImportedArray:
    """``array`` with a note per VS of its VIP that it leaves out (lmctl never touches them)."""
    vip = array.document["vip"]
    left_out = [f"skipped {s}" for s in skipped if s.key.address == vip]
    return replace(array, notes=(*array.notes, *left_out)) if left_out else array


def _imported(
    vip: _Vip, options: ImportOptions, sign: str | None, *, named: bool
) -> tuple[ImportedArray | str, _Vip, list[Skipped]]:
    """The array of one VIP, or why there is none (``sign``: what says it is Exchange's;
    ``named``: the admin gave it as --vip), with the VIP it was made of and the VSs left out.

    A VS holding what no spec can say (a scheduling of its own, a disabled VS, a custom
    redirect, a real server forwarded by route ...) would be changed by the adoption: it is
    left out, its reason naming those settings, and the spec made again without it, until the
    spec's ``plan --adopt`` writes nothing but the marker."""
    left_out: list[Skipped] = []
    while True:
        built = _built(vip, options, sign, named=named)
        if isinstance(built, str):
            return built, vip, left_out
        document, notes, family = built
        changed = _unexpressed(document, vip, family, options)
        if changed is None:
            notes.append(
                "not checked against the appliance: the spec does not validate (lmctl validate)"
            )
        if not changed:
            array = ImportedArray(
                name=document["name"],
                document=document,
                notes=tuple(notes),
                keys=tuple(vs.key for vs in _all(vip)),
            )
            return array, vip, left_out
        held = {vs.key for vs in _all(vip)}
        elsewhere = [
            f"{key}: {'; '.join(lines)}" for key, lines in changed.items() if key not in held
        ]
        if elsewhere:
            return f"its adoption would also write {'; '.join(elsewhere)}", vip, left_out
        left_out += [
            Skipped(vs.key, vs.settings.nickname, _unheld(changed[vs.key]))
            for vs in _all(vip)
            if vs.key in changed
        ]
        kept = {name: vs for name, vs in vip.services.items() if vs.key not in changed}
        vip = _Vip(vip.address, kept)


def _unheld(changes: Sequence[str]) -> str:
    """Why a VS is left out: what its adoption would change, naming the settings, and the two
    ways the admin can take it over all the same."""
    settings = ", ".join(_setting_to(change) for change in changes)
    return (
        f"it holds what a spec cannot say (adopting it would change: {'; '.join(changes)}); "
        f"lmctl leaves it as it is: set {settings} on the appliance and import again, or add "
        "the service to the spec and let the plan change it"
    )


def _setting_to(change: str) -> str:
    """``Schedule: rr → lc`` → ``Schedule to lc`` (a change as the plan words it)."""
    setting, _, values = change.partition(": ")
    _, arrow, new = values.rpartition(" → ")
    return f"{setting} to {new}" if arrow else setting


def _built(
    vip: _Vip, options: ImportOptions, sign: str | None, *, named: bool
) -> tuple[dict[str, Any], list[str], str | None] | str:
    """The spec of one VIP, its notes and release family, or why there is none."""
    if not vip.services:
        return "no service of its VIP is one the release given offers"
    if sign is None and not named:
        return f"{NO_EXCHANGE_SIGN}: import it with --vip {vip.address} if it is Exchange"
    if not any(vs.real_servers for vs in vip.services.values()):
        return "its VIP has no service with real servers to take the members from"
    family, evidence = _family_of(vip.services)
    if family == "2013+" and "rpc" in vip.services:
        return "RPC over TCP beside a 2013+ health check: the VIP mixes releases"
    document, notes = _document(vip, options, family, evidence)
    notes.insert(0, f"release: {evidence}")
    if sign is None:
        url = _https_check(vip.services)
        seen = f"; the https health check requests {url}" if url else ""
        notes.insert(
            0, f"{NO_EXCHANGE_SIGN}{seen}: imported because --vip named it; check it is Exchange"
        )
    return document, notes, family


def _all(vip: _Vip) -> Sequence[VirtualServiceState]:
    return list(vip.services.values())


__all__ = [
    "ImportOptions",
    "ImportResult",
    "ImportedArray",
    "Skipped",
    "array_name",
    "import_state",
    "service_of",
]
