"""What the appliance accepts and sends, as its documentation and real replies record it.

The mock's own tables, on purpose not imported from lmctl's client: a wrong value in the client
must not be accepted by the mock as well. Sources: the value lists of Progress Kemp's RESTful
API programmer guide and WUI configuration guide; the element order, JSON types and defaults of
the 7.2.5x captures in ``tests/fixtures/loadmaster`` (``showvs``, ``addvs``, ``modvs``,
``listvs``). Elements the captures never show set (``Persist``,
``ErrorUrl``, ``ExtraPorts``, ``Cookie``, ``AltAddress``, ``CheckPattern``) are placed where a
7.2.5x appliance most plausibly puts them; a client must not depend on element order anyway.

Each value is typed the way the APIv2 captures type it: ``bool`` for ``Y``/``N`` flags, ``int``
for numbers, ``str`` for text (including the numbers the appliance sends as strings in JSON,
such as ``PersistTimeout`` and ``CheckPort``), and ``Opts`` for the ``<Opt>`` lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FIRMWARE_VERSION = "7.2.59.0.22007"

PROTOCOLS = ("tcp", "udp")
SCHEDULES = ("rr", "wrr", "lc", "wlc", "fixed", "adaptive", "sh")
# ``Persist`` modes; ``none`` (or an empty value) means no persistence and is not a mode.
PERSISTENCE_MODES = (
    "src",
    "super",
    "super-src",
    "ssl",
    "cookie",
    "active-cookie",
    "cookie-src",
    "active-cook-src",
    "cookie-hash",
    "url",
    "query-hash",
    "host",
    "header",
    "rdp",
    "rdp-src",
    "rdp-sb",
    "udpsip",
)
CHECK_TYPES = (
    "tcp", "icmp", "http", "https", "smtp", "nntp", "ftp", "telnet", "pop3", "imap", "rdp", "ldap",
    "none",
)  # fmt: skip
# The service type; it does not choose the layer (ForceL4/ForceL7 do).
VS_TYPES = ("gen", "http", "http2", "ts", "tls", "log")
FORWARD_METHODS = ("nat", "route")
MAX_EXTRA_PORTS = 510
# A VS's NickName (its "Service Name"): "In addition to the usual alphanumeric characters, the
# following 'special' characters can be used as part of the Service Name: . @ - _ However, there
# must be at least one alphanumeric character before the special characters." (Progress Kemp,
# SubVSs feature description, "SubVS WUI Options".)
NICKNAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9.@_-]*\Z")
NICKNAME_CHARACTERS = "letters, digits and . @ - _, starting with a letter or digit"
FLAG_TRUE = frozenset({"y", "yes", "1", "true", "on"})
FLAG_FALSE = frozenset({"n", "no", "0", "false", "off"})

FieldKind = Literal["flag", "int", "text", "opts"]


class Opts(tuple[str, ...]):
    """A list of ``<Opt>`` children (``InterceptOpts``): a JSON array of strings in APIv2."""

    __slots__ = ()


class Names(Opts):
    """A list of ``<Name>`` children (the rules assigned to a real server or SubVS, as the
    programmer guide shows ``<PreProcessRules><Name>test</Name></PreProcessRules>``): a JSON
    array of strings in APIv2 (kreemer/loadmaster-go-client's ``MatchRules []string``)."""

    __slots__ = ()


# ``matchtype`` of a content matching rule (Progress Kemp, content rules feature description).
RULE_MATCH_TYPES: tuple[str, ...] = ("regex", "prefix", "postfix")


FieldValue = bool | int | str | Opts | None


@dataclass(frozen=True)
class FieldSpec:
    """One element of a VS reply: its name, JSON kind, default and whether it may be omitted.

    ``computed`` elements are not stored: they come from the VS's structure and live state.
    """

    name: str
    kind: FieldKind
    default: FieldValue = None
    optional: bool = False
    computed: bool = False


def _flag(name: str, default: bool = False) -> FieldSpec:
    return FieldSpec(name, "flag", default)


def _int(name: str, default: int = 0) -> FieldSpec:
    return FieldSpec(name, "int", default)


def _text(name: str, default: str) -> FieldSpec:
    return FieldSpec(name, "text", default)


def _optional(name: str, kind: FieldKind = "text") -> FieldSpec:
    return FieldSpec(name, kind, None, optional=True)


def _computed(name: str, kind: FieldKind) -> FieldSpec:
    return FieldSpec(name, kind, None, computed=True)


OWASP_OPTS = Opts(("opnormal", "auditnone", "reqdatadisable", "resdatadisable"))
HTTP_INTERCEPT_OPTS = Opts(("opnormal", "auditrelevant", "reqdatadisable", "resdatadisable"))

# XML order of a 7.2.5x showvs, with the defaults of a new VS.
VS_FIELDS: tuple[FieldSpec, ...] = (
    _computed("Status", "text"),
    _computed("Index", "int"),
    _computed("VSAddress", "text"),
    _computed("VSPort", "text"),
    _optional("AltAddress"),
    _computed("Layer", "int"),
    _optional("NickName"),
    _flag("Enable", True),
    _flag("SSLReverse"),
    _flag("SSLReencrypt"),
    _int("InterceptMode"),
    _flag("Intercept"),
    FieldSpec("InterceptOpts", "opts", OWASP_OPTS),
    _int("AlertThreshold"),
    FieldSpec("OwaspOpts", "opts", OWASP_OPTS),
    _int("BlockingParanoia"),
    _flag("IPReputationBlocking"),
    _int("ExecutingParanoia"),
    _int("AnomalyScoringThreshold"),
    _int("PCRELimit"),
    _int("JSONDLimit"),
    _int("BodyLimit"),
    _int("Transactionlimit"),
    _flag("Transparent"),
    _flag("SubnetOriginating", True),
    _int("ServerInit"),
    _int("StartTLSMode"),
    _int("Idletime", 660),
    _flag("Cache"),
    _flag("Compress"),
    _int("Verify"),
    _flag("UseforSnat"),
    _computed("ForceL4", "flag"),
    _flag("ForceL7", True),
    _flag("MultiConnect"),
    _int("ClientCert"),
    _int("SecurityHeaderOptions"),
    _int("SameSite"),
    _flag("VerifyBearer"),
    _text("ErrorCode", "0"),
    _optional("ErrorUrl"),
    _flag("CheckUse1.1"),
    _int("MatchLen"),
    _int("CheckUseGet"),
    _optional("DefaultGW"),
    _text("SSLRewrite", "0"),
    _text("VStype", "gen"),
    _int("FollowVSID"),
    _computed("Protocol", "text"),
    _text("Schedule", "rr"),
    _optional("Persist"),
    _optional("Cookie"),
    _text("CheckType", "tcp"),
    _text("PersistTimeout", "0"),
    _text("CheckPort", "0"),
    _optional("CheckHost"),
    _optional("CheckUrl"),
    _optional("CheckCodes"),
    _optional("CheckPattern"),
    _optional("ExtraPorts"),
    _flag("HTTPReschedule"),
    _int("NRules"),
    _int("NRequestRules"),
    _int("NResponseRules"),
    _int("NMatchBodyRules"),
    _int("NPreProcessRules"),
    _flag("EspEnabled"),
    _int("InputAuthMode"),
    _int("OutputAuthMode"),
    _computed("MasterVS", "int"),
    _computed("MasterVSID", "int"),
    _int("IsTransparent", 2),
    _int("AddVia"),
    _int("QoS"),
    _text("TlsType", "0"),
    _flag("NeedHostName"),
    _flag("OCSPVerify"),
    _flag("AllowHTTP2"),
    _flag("PassCipher"),
    _flag("PassSni"),
    _int("ChkInterval"),
    _int("ChkTimeout"),
    _int("ChkRetryCount"),
    _int("Bandwidth"),
    _int("ConnsPerSecLimit"),
    _int("RequestsPerSecLimit"),
    _int("MaxConnsLimit"),
    _flag("RefreshPersist"),
    _flag("ResponseStatusRemap"),
    _int("ResponseRemapMsgFormat"),
    _flag("EnhancedHealthChecks"),
    _int("RsMinimum"),
    _computed("NumberOfRSs", "int"),
    _optional("SSLAcceleration", "flag"),
    _optional("CertFile"),
)

VS_FIELD_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in VS_FIELDS}

# The APIv2 captures leave these two out and order a few elements differently.
JSON_ONLY_OMITS = frozenset({"ResponseStatusRemap", "ResponseRemapMsgFormat"})
_JSON_CHECK_ORDER = ("CheckCodes", "CheckHost", "CheckUrl", "CheckPattern")


def _json_order() -> tuple[str, ...]:
    names = [spec.name for spec in VS_FIELDS if spec.name not in JSON_ONLY_OMITS]
    names.remove("DefaultGW")
    names.insert(names.index("BodyLimit") + 1, "DefaultGW")
    first_check = names.index("CheckHost")
    for name in _JSON_CHECK_ORDER:
        names.remove(name)
    names[first_check:first_check] = _JSON_CHECK_ORDER
    return tuple(names)


VS_JSON_ORDER: tuple[str, ...] = _json_order()


def port_defaults(port: str, protocol: str) -> dict[str, FieldValue]:
    """Defaults a 7.2.5x appliance derives from a new VS's port: the HTTP type on TCP 80.

    The layer does not depend on the port: a new VS runs at layer 7 unless ``ForceL4`` is set
    (Kemp's UI guide on Force L4: "only required in some special circumstances. If in doubt,
    leave this option unchecked"). No capture shows a bare ``addvs`` on another port, so its
    ``VStype``/``CheckType`` (``gen``/``tcp``) are the mock's reading of the documentation.
    """
    if port == "80" and protocol == "tcp":
        return {"VStype": "http", "CheckType": "http", "InterceptOpts": HTTP_INTERCEPT_OPTS}
    return {"VStype": "gen", "CheckType": "tcp", "InterceptOpts": OWASP_OPTS}


def new_vs_settings(port: str, protocol: str) -> dict[str, FieldValue]:
    """Every stored (non-computed) field of a new VS, with its default for this port."""
    settings: dict[str, FieldValue] = {
        spec.name: spec.default for spec in VS_FIELDS if not spec.computed
    }
    settings.update(port_defaults(port, protocol))
    return settings


# A new real server (documented defaults; the 7.2.5x addrs capture shows the same).
NEW_RS_FORWARD = "nat"
NEW_RS_WEIGHT = 1000
NEW_RS_LIMIT = 0

RS_FIELDS: tuple[str, ...] = (
    "Status",
    "VSIndex",
    "RsIndex",
    "Addr",
    "Port",
    "DnsName",
    "Forward",
    "Weight",
    "Limit",
    "RateLimit",
    "Follow",
    "Enable",
    "Critical",
    "Nrules",
)

SUBVS_ROW_FIELDS: tuple[str, ...] = (
    "Status",
    "VSIndex",
    "RsIndex",
    "Name",
    "Forward",
    "Weight",
    "Limit",
    "Enable",
    "Critical",
)
