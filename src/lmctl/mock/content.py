"""Content switching and SSL certificates on the mock: the rule and certificate commands.

Content rules (``addrule``/``modrule``/``delrule``/``showrule``) are global objects referenced
by name; ``addrsrule``/``delrsrule`` assign one to a real server, or to a SubVS's row in its
parent (``rs=!<RsIndex>``), which is how a layer 7 VS switches a path to a SubVS. Certificates
are installed the way an admin does it: ``addcert?cert=NAME`` with the PEM (certificate and
private key) as the request body (APIv2: base64 in ``data``), ``replace=1`` to overwrite;
``listcert``, ``delcert``. Sources (see docs/mock.md): Progress Kemp, RESTful API programmer
guide ("Add a content rule to the system", "Modify a Content Rule", "Delete a Certificate");
the LoadMaster PowerShell interface description ("SubVS Code Snippet Examples":
``New-AdcRealServerRule`` takes the SubVS's RsIndex); kreemer/loadmaster-go-client
(``api/rule.go``, ``api/rule_assignment.go``, ``api/certificate.go``); the DigiCert TLM Kemp
integration README (``listcert``, ``addcert`` with ``replace=1``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from lmctl.mock.commands import (
    _find_real_server,
    _find_service,
    _find_sub_service_row,
    invalid,
    parse_choice,
    parse_flag,
    required,
    uploaded_file,
)
from lmctl.mock.state import InstalledCertificate, MockContentRule, MockState
from lmctl.mock.tables import NICKNAME, NICKNAME_CHARACTERS, RULE_MATCH_TYPES
from lmctl.mock.wire import CommandResult, Record, Rows

UNKNOWN_RULE = "Unknown rule"
DUPLICATE_RULE = "Rule already exists"
RULE_ASSIGNED = "Rule already assigned"
RULE_NOT_ASSIGNED = "Rule not assigned"
UNKNOWN_CERTIFICATE = "Unknown certificate"
DUPLICATE_CERTIFICATE = "Certificate already exists (send replace=1 to replace it)"
INVALID_CERTIFICATE = "Invalid certificate file"

# addrule's ``type``: only content matching (0) is simulated.
MATCH_CONTENT_RULE = "0"

# Flag parameters of a content matching rule and the attribute each sets.
_RULE_FLAGS: dict[str, str] = {
    "nocase": "nocase",
    "negate": "negate",
    "inchost": "include_host",
    "incquery": "include_query",
    "mustfail": "must_fail",
}


# --- content rules -------------------------------------------------------------------------


def _rule_name(params: Mapping[str, str]) -> str:
    name = required(params, "name")
    if NICKNAME.match(name) is None:
        raise invalid(f"Invalid rule name: {name!r} (allowed: {NICKNAME_CHARACTERS})")
    return name


def _rule_from(name: str, params: Mapping[str, str]) -> MockContentRule:
    """A whole rule from ``params``: what is left out takes its default (``modrule`` replaces the
    whole rule, kreemer/loadmaster-go-client ``RuleParams``)."""
    rule_type = params.get("type", MATCH_CONTENT_RULE).strip() or MATCH_CONTENT_RULE
    if rule_type != MATCH_CONTENT_RULE:
        raise invalid(f"Invalid rule type: {rule_type} (the mock knows content matching, 0)")
    rule = MockContentRule(name=name, pattern=params.get("pattern", ""))
    if params.get("matchtype", "").strip():
        rule.match_type = parse_choice("matchtype", params["matchtype"], RULE_MATCH_TYPES)
    rule.header = params.get("header", "")
    for parameter, attribute in _RULE_FLAGS.items():
        if params.get(parameter, "").strip():
            setattr(rule, attribute, parse_flag(parameter, params[parameter]))
    return rule


def rule_record(rule: MockContentRule) -> Record:
    """A ``<MatchContentRule>`` as ``addrule``/``modrule``/``showrule`` write it (the programmer
    guide's replies: ``Regex`` capitalised, ``prefix``/``postfix`` not)."""
    match_type = "Regex" if rule.match_type == "regex" else rule.match_type
    return Record(
        [
            ("Name", rule.name),
            ("Pattern", rule.pattern),
            ("MatchType", match_type),
            ("AddHost", rule.include_host),
            ("Negate", rule.negate),
            ("CaseIndependent", rule.nocase),
            ("IncludeQuery", rule.include_query),
            ("Header", rule.header),
            ("MustFail", rule.must_fail),
        ]
    )


def _rule_reply(rules: list[MockContentRule]) -> CommandResult:
    return CommandResult(
        data=Record([("MatchContentRule", Rows(tuple(rule_record(rule) for rule in rules)))])
    )


def _store_rule(
    state: MockState, name: str, params: Mapping[str, str], now: float
) -> CommandResult:
    rule = _rule_from(name, params)
    state.rules[name] = rule
    state.last_change = int(now)
    return CommandResult(data=_rule_reply([rule]).data, changed=True)


def add_rule(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``addrule``: a new content matching rule (regular expression, case-sensitive by default)."""
    name = _rule_name(params)
    if name in state.rules:
        raise invalid(DUPLICATE_RULE)
    return _store_rule(state, name, params, now)


def modify_rule(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``modrule``: replace a rule's definition, by name."""
    name = required(params, "name")
    if name not in state.rules:
        raise invalid(UNKNOWN_RULE)
    return _store_rule(state, name, params, now)


def show_rules(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``showrule``: every rule, or the one ``name`` names, grouped by kind."""
    name = params.get("name", "").strip()
    if not name:
        return _rule_reply(sorted(state.rules.values(), key=lambda rule: rule.name))
    if name not in state.rules:
        raise invalid(UNKNOWN_RULE)
    return _rule_reply([state.rules[name]])


def delete_rule(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``delrule``: delete a rule, detaching it from every real server and SubVS that uses it
    (kreemer/loadmaster-go-client ``DeleteRule``)."""
    name = required(params, "name")
    if name not in state.rules:
        raise invalid(UNKNOWN_RULE)
    del state.rules[name]
    for service in state.services.values():
        if name in service.row_rules:
            service.row_rules.remove(name)
        for rs in service.real_servers:
            if name in rs.rules:
                rs.rules.remove(name)
    state.last_change = int(now)
    return CommandResult(changed=True)


def _assigned_rules(state: MockState, params: Mapping[str, str]) -> list[str]:
    """The rule list of the real server, or SubVS row, that ``vs`` + ``rs`` name."""
    service = _find_service(state, params)
    sub = _find_sub_service_row(state, service, params)
    if sub is not None:
        return sub.row_rules
    return _find_real_server(service, params).rules


def add_rs_rule(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``addrsrule``: assign a rule to a real server or a SubVS (its RsIndex in the parent)."""
    rule = required(params, "rule")
    rules = _assigned_rules(state, params)
    if rule not in state.rules:
        raise invalid(UNKNOWN_RULE)
    if rule in rules:
        raise invalid(RULE_ASSIGNED)
    rules.append(rule)
    state.last_change = int(now)
    return CommandResult(changed=True)


def delete_rs_rule(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``delrsrule``: take a rule off a real server or a SubVS."""
    rule = required(params, "rule")
    rules = _assigned_rules(state, params)
    if rule not in rules:
        raise invalid(RULE_NOT_ASSIGNED)
    rules.remove(rule)
    state.last_change = int(now)
    return CommandResult(changed=True)


# --- certificates --------------------------------------------------------------------------


def _private_key(pem: bytes, password: str | None) -> PrivateKeyTypes:
    """The PEM's private key; ``password`` opens an encrypted one and is not needed otherwise."""
    try:
        return serialization.load_pem_private_key(pem, password=None)
    except TypeError:  # encrypted: the password is needed
        return serialization.load_pem_private_key(
            pem, password=password.encode() if password else None
        )


def _checked_pem(pem: bytes, password: str | None) -> str:
    """The PEM if it holds a certificate and the private key of that certificate."""
    try:
        certificate = x509.load_pem_x509_certificate(pem)
        key = _private_key(pem, password)
    except (ValueError, TypeError):
        raise invalid(INVALID_CERTIFICATE) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    encoding = serialization.Encoding.DER
    if certificate.public_key().public_bytes(encoding, public) != key.public_key().public_bytes(
        encoding, public
    ):
        raise invalid("The private key does not match the certificate")
    return pem.decode("ascii", errors="replace")


def add_certificate(
    state: MockState, params: Mapping[str, str], now: float, body: bytes | None
) -> CommandResult:
    """``addcert``: install ``cert=NAME`` from the PEM in the body; ``replace=1`` overwrites."""
    name = required(params, "cert")
    if NICKNAME.match(name) is None:
        raise invalid(f"Invalid certificate name: {name!r} (allowed: {NICKNAME_CHARACTERS})")
    replace = parse_flag("replace", params["replace"]) if params.get("replace") else False
    if name in state.certificates and not replace:
        raise invalid(DUPLICATE_CERTIFICATE)
    pem = _checked_pem(uploaded_file(params, body, INVALID_CERTIFICATE), params.get("password"))
    state.certificates[name] = InstalledCertificate(name, pem)
    state.last_change = int(now)
    return CommandResult(changed=True)


def _certificate_row(certificate: InstalledCertificate) -> Record:
    key = x509.load_pem_x509_certificate(certificate.pem.encode()).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        kind, modulus = "RSA", format(key.public_numbers().n, "X")
    elif isinstance(key, ec.EllipticCurvePublicKey):
        kind, modulus = "EC", ""
    else:
        kind, modulus = "other", ""
    return Record([("name", certificate.name), ("type", kind), ("modulus", modulus)])


def list_certificates(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``listcert``: one ``cert`` row (name, type, modulus) per installed certificate."""
    rows = tuple(_certificate_row(state.certificates[name]) for name in sorted(state.certificates))
    return CommandResult(data=Record([("cert", Rows(rows, keep_empty=True))]))


def delete_certificate(state: MockState, params: Mapping[str, str], now: float) -> CommandResult:
    """``delcert``: remove ``cert=NAME``."""
    name = required(params, "cert")
    if name not in state.certificates:
        raise invalid(UNKNOWN_CERTIFICATE)
    del state.certificates[name]
    state.last_change = int(now)
    return CommandResult(changed=True)


ContentCommand = Callable[[MockState, Mapping[str, str], float], CommandResult]
BodyCommand = Callable[[MockState, Mapping[str, str], float, bytes | None], CommandResult]

CONTENT_COMMANDS: dict[str, ContentCommand] = {
    "addrule": add_rule,
    "modrule": modify_rule,
    "delrule": delete_rule,
    "showrule": show_rules,
    "addrsrule": add_rs_rule,
    "delrsrule": delete_rs_rule,
    "listcert": list_certificates,
    "delcert": delete_certificate,
}
# Commands that take the request body (a file) as well as the parameters.
BODY_COMMANDS: dict[str, BodyCommand] = {"addcert": add_certificate}
CONTENT_WRITE_COMMANDS = frozenset(
    {"addrule", "modrule", "delrule", "addrsrule", "delrsrule", "addcert", "delcert"}
)
