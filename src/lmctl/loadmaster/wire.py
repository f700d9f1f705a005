"""The wire: the two dialects of the LoadMaster API, their reply envelopes and reply fields.

* APIv1: ``GET /access/<cmd>?name=value`` (sub-commands as path segments), XML replies
  (``<Response stat=".." code=".."><Success><Data>...``); the API key is a query parameter, a
  user and password go in an HTTP Basic header.
* APIv2: ``POST /accessv2`` with ``{"cmd": "<cmd>", ...params, <auth>}`` (sub-commands dotted),
  JSON replies (``{"code": 200, "status": "ok", ...fields}``); the credentials travel in the body.

Parameter names and values are the same in both, so the client builds them once
(``lmctl.loadmaster.models``). Both reply kinds become a ``Reply``: the status, the appliance's
message and the fields, with XML elements turned into dicts (a repeated element becomes a list,
``<InterceptOpts><Opt>`` a list of texts). Anything else (an HTML error page, truncated XML, an
entity bomb, a JSON array, an empty body) raises ``ReplyFormatError``, which the transport turns
into ``MalformedReplyError`` naming the appliance and command. The readers at the end find the
rows of each command's fields and validate them into the models.

XML is parsed by defusedxml's parser (``forbid_dtd``): a document type declaration, an entity
declaration or an external reference raises before anything is expanded, so an entity bomb
costs nothing. The bytes go to expat as they are, so the declared encoding (``ISO-8859-1`` on
every LoadMaster) is honoured. For speed (a ``listvs`` of 1,000 virtual services is ~150,000
elements) the element callbacks on defusedxml's expat parser are replaced by two small functions
(and a list's own ``append`` for text) that build the dicts directly, instead of an ``Element``
tree converted afterwards; defusedxml's protective handlers stay installed.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, assert_never
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeElementTree
import httpx
from defusedxml import DefusedXmlException
from pydantic import ValidationError

from lmctl.loadmaster.connection import ApiKey, BasicCredentials, Credentials
from lmctl.loadmaster.models import (
    REQUIRED_RS_ELEMENTS,
    REQUIRED_SETTING_ELEMENTS,
    REQUIRED_VS_ELEMENTS,
    ContentRule,
    RealServer,
    Statistics,
    VirtualService,
    as_list,
    host_port,
    layer_problem,
    normalised_address,
    outside_limits,
    virtual_service_problem,
)
from lmctl.loadmaster.redact import basic_token, scrubbed_excerpt

T = TypeVar("T")


class ReplyFormatError(ValueError):
    """The bytes are not a reply envelope of the expected dialect."""


class WebPageError(ReplyFormatError):
    """The body is a web page (HTML) where an API reply was expected: a login portal, a proxy's
    page or the appliance's web UI answered in place of the API. ``seen`` describes the body."""

    def __init__(self, seen: str) -> None:
        super().__init__(f"the appliance answered a web page, not the API ({seen})")
        self.seen = seen


@dataclass(frozen=True)
class Reply:
    """One API reply: ``status`` (200 on success), the appliance's ``message``, its ``fields``."""

    status: int
    ok: bool
    message: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


# -- XML bytes → nested dicts ------------------------------------------------------------------

_OPTION_TAG = "Opt"


class XmlDocument:
    """The parsed document: the root element's tag, attributes and value."""

    __slots__ = ("attributes", "tag", "value")

    def __init__(self, tag: str, attributes: dict[str, str], value: Any) -> None:
        self.tag = tag
        self.attributes = attributes
        self.value = value


class _Target:
    """The parser target defusedxml requires; the callbacks below do the building."""

    def close(self) -> None:
        """Nothing to finish: the document is complete when the root element ends."""


class _Repeated(list[Any]):
    """The values of a tag repeated among siblings (told apart from an ``<Opt>`` list)."""

    __slots__ = ()


def parse_xml_fields(body: bytes) -> XmlDocument:
    """Parse ``body``; raises ``xml.etree.ElementTree.ParseError`` or a defusedxml exception."""
    parser = SafeElementTree.XMLParser(target=_Target(), forbid_dtd=True)
    # One children dict per open element; the bottom one is the document itself.
    stack: list[dict[str, Any]] = [{}]
    # Character data since the last start tag: when an element ends without children, this is
    # exactly its text. Appending through the bound C method costs no Python call per chunk.
    text: list[str] = []
    root_attributes: list[str] = []
    expat = parser.parser
    expat.buffer_text = True
    expat.StartElementHandler, expat.EndElementHandler = _element_handlers(
        stack, text, root_attributes
    )
    expat.CharacterDataHandler = text.append
    parser.feed(body)
    parser.close()
    return _document(stack[0], root_attributes)


def _element_handlers(
    stack: list[dict[str, Any]], text: list[str], root_attributes: list[str]
) -> tuple[Callable[[str, list[str]], None], Callable[[str], None]]:
    """Expat's start and end callbacks, building the dicts on ``stack``.

    Closures over the three lists, with the value and sibling logic inline: they run once per
    element (~150,000 times per large ``listvs``), where every extra call or attribute lookup
    shows in the bench.
    """

    def start(tag: str, attributes: list[str]) -> None:
        if len(stack) == 1:
            root_attributes.extend(attributes)
        text.clear()
        stack.append({})

    def end(tag: str) -> None:
        children = stack.pop()
        if not children:
            # Exactly as sent: the field parsers trim what may be trimmed (numbers, flags);
            # a NickName must reach the ownership check untouched.
            value: Any = "".join(text)
        elif len(children) == 1 and _OPTION_TAG in children:
            option = children[_OPTION_TAG]
            value = list(option) if isinstance(option, _Repeated) else [option]
        else:
            value = children
        siblings = stack[-1]
        if tag not in siblings:
            siblings[tag] = value
            return
        existing = siblings[tag]
        if type(existing) is _Repeated:
            existing.append(value)
        else:
            siblings[tag] = _Repeated((existing, value))

    return start, end


def _document(top: dict[str, Any], root_attributes: list[str]) -> XmlDocument:
    """The root element of the parsed ``top`` level, with its flat name/value attribute list."""
    (tag, value), *_ = top.items()
    pairs = iter(root_attributes)
    return XmlDocument(tag, dict(zip(pairs, pairs, strict=False)), value)


# -- reply envelopes --------------------------------------------------------------------------

ENVELOPE_KEYS = frozenset({"code", "status", "message"})


def _refusal_status(status: int) -> int:
    """The status of a failure envelope: the appliance's answer, never a transport failure.

    Its own 4xx picks the error kind (401, 403, 422 ...); any other code counts as a refusal
    (422). Real appliances send some refusals as HTTP 5xx with this envelope, or as a 2xx with
    ``fail`` in it, and resending either would only be refused again.
    """
    return status if 400 <= status < 500 else 422


def _describe(body: bytes) -> str:
    """A short, safe description of an unexpected body for an error message: its head, once
    the whole body is scrubbed of secrets (an appliance or a proxy may echo the request)."""
    head = scrubbed_excerpt(body.decode("latin-1"), _DESCRIBED_LENGTH)
    head = " ".join(head.split())
    return f"{len(body)} bytes starting {head!r}" if body else "an empty body"


_DESCRIBED_LENGTH = 60
# How much of a value an error quotes.
_QUOTED_LENGTH = 40


_XML_DECLARATION_END = b"?>"
_WEB_PAGE_STARTS = (b"<!doctype html", b"<html")


def is_web_page(body: bytes) -> bool:
    """True when ``body`` starts like an HTML document (after a byte order mark, white space
    and an XML declaration, as XHTML has): ``<!DOCTYPE html`` or ``<html``, in any case."""
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml"):
        end = head.find(_XML_DECLARATION_END)
        head = head[end + len(_XML_DECLARATION_END) :].lstrip() if end >= 0 else b""
    return head[:14].lower().startswith(_WEB_PAGE_STARTS)


def _refuse_web_page(body: bytes) -> None:
    # Checked before parsing: a page's DOCTYPE would otherwise be reported as a forbidden XML
    # construct, and its markup as invalid JSON, neither of which tells the user what happened.
    if is_web_page(body):
        raise WebPageError(_describe(body))


def looks_like_xml(body: bytes) -> bool:
    """True when ``body`` starts like an XML document (possibly after whitespace)."""
    return body.lstrip()[:1] == b"<"


def parse_xml_reply(body: bytes) -> Reply:
    """An APIv1 XML reply. The bytes are parsed as is, so the declared encoding is honoured."""
    if not body.strip():
        raise ReplyFormatError("the reply was empty")
    _refuse_web_page(body)
    try:
        document = parse_xml_fields(body)
    except DefusedXmlException as exc:
        raise ReplyFormatError(
            f"the reply uses forbidden XML constructs ({type(exc).__name__}): refused to parse"
        ) from None
    except ParseError as exc:
        raise ReplyFormatError(
            f"the reply is not well-formed XML ({exc}); got {_describe(body)}"
        ) from None
    except LookupError as exc:
        raise ReplyFormatError(
            f"the reply declares an encoding Python does not know ({exc})"
        ) from None
    if document.tag != "Response":
        raise ReplyFormatError(
            f"the reply is XML but not an API response (root <{document.tag}>); "
            f"got {_describe(body)}"
        )
    return _xml_envelope(document)


def _xml_envelope(document: XmlDocument) -> Reply:
    """Status, message and fields of a ``<Response>`` document."""
    stat = document.attributes.get("stat", "200")
    try:
        status = int(stat)
    except ValueError:
        raise ReplyFormatError(f"the reply has a non-numeric stat {stat!r}") from None
    ok = document.attributes.get("code", "ok").lower() == "ok" and status < 400
    parts = document.value if isinstance(document.value, dict) else {}
    if "Error" in parts:
        return Reply(status=_refusal_status(status), ok=False, message=_text(parts["Error"]))
    if "Success" not in parts:
        raise ReplyFormatError("the reply has neither <Success> nor <Error>")
    success = parts["Success"]
    if not isinstance(success, dict) or "Data" not in success:
        return Reply(status=status, ok=ok, message=_text(success))
    data = success["Data"]
    return Reply(status=status, ok=ok, fields=data if isinstance(data, dict) else {})


def _text(value: Any) -> str:
    """An element's value as one line of text (``<Error>`` and ``<Success>`` messages)."""
    return " ".join(str(value).split()) if not isinstance(value, dict) else ""


def parse_json_reply(body: bytes) -> Reply:
    """An APIv2 JSON reply: an object with ``code`` and ``status`` next to the fields."""
    if not body.strip():
        raise ReplyFormatError("the reply was empty")
    _refuse_web_page(body)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        detail = str(exc).split(":")[0] if isinstance(exc, ValueError) else "nested too deeply"
        raise ReplyFormatError(
            f"the reply is not valid JSON ({detail}); got {_describe(body)}"
        ) from None
    if not isinstance(document, dict):
        raise ReplyFormatError(
            f"the reply is JSON but not an object (a {type(document).__name__}); "
            f"got {_describe(body)}"
        )
    return _json_envelope(document)


def _status_code(code: Any) -> int:
    """The envelope's ``code`` as a whole number: a JSON integer, an integral number or digits.

    Python's JSON reads ``Infinity``, ``NaN`` and ``1e400`` (an infinite float) too, and
    ``int()`` of those raises OverflowError or ValueError; a fraction, a boolean or text that is
    no number is not a status either.
    """
    match code:
        case bool() | None | list() | dict():
            shown = scrubbed_excerpt(json.dumps(code), _QUOTED_LENGTH)
        case float() if math.isfinite(code) and code.is_integer():
            return int(code)
        case float():
            raise ReplyFormatError(f"the reply has a code that is not a whole number ({code!r})")
        case int():
            return code
        case _:
            try:
                return int(code)
            except ValueError:  # also text of more than 4,300 digits
                shown = scrubbed_excerpt(repr(code), _QUOTED_LENGTH)
    raise ReplyFormatError(f"the reply has a non-numeric code {shown}")


def _json_envelope(document: dict[str, Any]) -> Reply:
    """Status, message and fields of a decoded APIv2 object."""
    status = _status_code(document.get("code", 200))
    state = str(document.get("status", "ok")).lower()
    ok = status < 400 and state not in {"fail", "error"}
    message = document.get("message", "")
    fields = {name: value for name, value in document.items() if name not in ENVELOPE_KEYS}
    return Reply(
        status=status if ok else _refusal_status(status),
        ok=ok,
        message=message if isinstance(message, str) else str(message),
        fields=fields,
    )


def is_json_envelope(body: bytes) -> bool:
    """True when ``body`` is an APIv2 reply object (used to tell v2 errors from "no v2 here")."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and "code" in document


# -- the two dialects ------------------------------------------------------------------------

DialectName = Literal["v1", "v2"]


@dataclass(frozen=True)
class ApiDialect:
    """One way of speaking to the appliance, bound to its credentials."""

    name: DialectName
    credentials: Credentials

    def request(
        self,
        http: httpx.AsyncClient,
        command: str,
        params: Mapping[str, str],
        file: bytes | None = None,
    ) -> httpx.Request:
        """The HTTP request that runs ``command`` with ``params``; a ``file`` (``restore``'s
        backup) goes as the POST body in v1, base64-encoded as ``data`` in v2."""
        match self.name:
            case "v1":
                return self._v1_request(http, command, params, file)
            case "v2":
                data = {} if file is None else {"data": base64.b64encode(file).decode("ascii")}
                return self._v2_request(http, command, {**params, **data})
            case unknown:
                assert_never(unknown)

    def _v1_request(
        self,
        http: httpx.AsyncClient,
        command: str,
        params: Mapping[str, str],
        file: bytes | None = None,
    ) -> httpx.Request:
        query = dict(params)
        headers: dict[str, str] = {}
        if isinstance(self.credentials, ApiKey):
            query["apikey"] = self.credentials.key.get_secret_value()
        else:
            headers["Authorization"] = "Basic " + basic_token(
                self.credentials.username, self.credentials.password.get_secret_value()
            )
        path = "access/" + command.replace(".", "/")
        if file is not None:
            headers["Content-Type"] = "application/octet-stream"
            return http.build_request("POST", path, params=query, headers=headers, content=file)
        return http.build_request("GET", path, params=query, headers=headers)

    def _v2_request(
        self, http: httpx.AsyncClient, command: str, params: Mapping[str, str]
    ) -> httpx.Request:
        body: dict[str, str] = {"cmd": command, **params}
        if isinstance(self.credentials, ApiKey):
            body["apikey"] = self.credentials.key.get_secret_value()
        elif isinstance(self.credentials, BasicCredentials):
            body["apiuser"] = self.credentials.username
            body["apipass"] = self.credentials.password.get_secret_value()
        return http.build_request("POST", "accessv2", json=body)

    def parse(self, body: bytes) -> Reply:
        """The reply envelope; raises ``ReplyFormatError`` when the body is not one."""
        match self.name:
            case "v1":
                return parse_xml_reply(body)
            case "v2":
                return parse_json_reply(body)
            case unknown:
                assert_never(unknown)


def lacks_v2(status: int, body: bytes) -> bool:
    """True when an ``/accessv2`` answer means "no APIv2 here" rather than a v2 error reply."""
    return status in (404, 405) and not is_json_envelope(body)


# -- reply fields → models --------------------------------------------------------------------


def _validated(what: str, build: Callable[[Mapping[str, Any]], T], row: Mapping[str, Any]) -> T:
    """``build(row)``, with a pydantic error reported as which field of what is wrong."""
    try:
        return build(row)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(row)"
        raise ReplyFormatError(
            f"{what} has an unreadable field {where}: {first['msg']} "
            f"(got {scrubbed_excerpt(str(first.get('input')), _QUOTED_LENGTH)!r})"
        ) from None


def _row(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReplyFormatError(f"{what} is not a record (got {type(value).__name__})")
    return value


def virtual_services(fields: Mapping[str, Any]) -> list[VirtualService]:
    """``listvs``: every VS and SubVS entry, each with its ``Rs`` and ``SubVS`` rows, checked
    (``checked_virtual_service``)."""
    return [
        checked_virtual_service(_row(raw, f"VS row {position}"), f"VS row {position}")
        for position, raw in enumerate(as_list(fields.get("VS")), start=1)
    ]


def virtual_service(fields: Mapping[str, Any]) -> VirtualService:
    """``showvs``/``addvs``/``modvs``: one VS whose fields sit directly in the reply."""
    if "Index" not in fields:
        raise ReplyFormatError("the reply carries no virtual service (no Index field)")
    return checked_virtual_service(fields, "the virtual service")


def _absent(row: Mapping[str, Any], name: str) -> bool:
    value = row.get(name)
    return value is None or (isinstance(value, str) and not value.strip())


def checked_virtual_service(row: Mapping[str, Any], what: str) -> VirtualService:
    """One VS row validated, never defaulted where it matters: a row of its own (not a SubVS)
    must carry its address, port and protocol, every managed setting (but the texts firmware
    leaves out when unset) and its layer, each of its real servers what lmctl compares, and
    every number must be in the appliance's range (``REPLY_LIMITS``). A row that fails is named
    by its Index when it has a valid one (``VS row Index 7 has no VSPort``), else by ``what``."""
    if _absent(row, "Index"):
        raise ReplyFormatError(f"{what} has no Index")
    vs = _validated(what, VirtualService.model_validate, row)
    if outside_limits("Index", vs.index) is None:
        what = f"VS row Index {vs.index}"
    if not vs.is_sub_service:
        problem = _missing_problem(row, vs)
        if problem is not None:
            raise ReplyFormatError(f"{what} has {problem}")
    problem = virtual_service_problem(vs)
    if problem is not None:
        raise ReplyFormatError(f"{what} has {problem}")
    return vs


def _missing_problem(row: Mapping[str, Any], vs: VirtualService) -> str | None:
    """``'no Enable'``, ``'a real server 10.0.0.21:443 with no Weight'``: the first element a VS
    row of its own lacks (its key is checked for emptiness too: an empty key is no key), else
    None. Managed settings are checked for presence only: an empty value is the field parsers'
    to read (some firmware sends empty text for zero)."""
    for name in REQUIRED_VS_ELEMENTS:
        if _absent(row, name):
            return f"no {name}"
    for name in REQUIRED_SETTING_ELEMENTS:
        if row.get(name) is None:
            return f"no {name}"
    layer = layer_problem(row)
    if layer is not None:
        return layer
    for raw, rs in zip(as_list(row.get("Rs")), vs.real_servers, strict=True):
        missing = _missing_real_server_element(raw)
        if missing is not None:
            return f"a real server {host_port(rs.address, rs.port)} with {missing}"
    return None


def _missing_real_server_element(row: Mapping[str, Any]) -> str | None:
    return next((f"no {name}" for name in REQUIRED_RS_ELEMENTS if row.get(name) is None), None)


def real_servers(fields: Mapping[str, Any]) -> list[RealServer]:
    """``showrs``/``addrs``: every ``Rs`` row of the reply (at least one)."""
    rows = [_row(raw, "Rs row") for raw in as_list(fields.get("Rs"))]
    if not rows:
        raise ReplyFormatError("the reply carries no real server (no Rs row)")
    servers = [_validated("the real server", RealServer.model_validate, row) for row in rows]
    for row, rs in zip(rows, servers, strict=True):
        missing = _missing_real_server_element(row)
        if missing is not None:
            raise ReplyFormatError(
                f"the real server {host_port(rs.address, rs.port)} has {missing}"
            )
    return servers


def real_server(fields: Mapping[str, Any], address: str, port: int) -> RealServer | None:
    """``showrs``/``addrs``: the ``Rs`` row at ``address:port``, or None when no row is.

    Addresses compare as addresses (``2001:0DB8::11`` is ``2001:db8::11``). Another row is never
    taken in its place: a read-back would then judge a write by the wrong real server.
    """
    wanted = normalised_address(address)
    return next(
        (rs for rs in real_servers(fields) if rs.address == wanted and rs.port == port), None
    )


def content_rules(fields: Mapping[str, Any]) -> list[ContentRule]:
    """``showrule``/``addrule``: the content matching rules (``MatchContentRule`` rows; the
    other kinds of rule, listed under their own names, are not lmctl's)."""
    return [
        _validated("a content rule", ContentRule.model_validate, _row(row, "a content rule"))
        for row in as_list(fields.get("MatchContentRule"))
    ]


def certificate_names(fields: Mapping[str, Any]) -> list[str]:
    """``listcert``: the names of the installed certificates (``cert`` rows with ``name``;
    kreemer/loadmaster-go-client ``CertInfo``)."""
    names = []
    for row in as_list(fields.get("cert")):
        name = _row(row, "a certificate").get("name")
        if not isinstance(name, str) or not name:
            raise ReplyFormatError("a certificate row has no name")
        names.append(name)
    return names


def statistics(fields: Mapping[str, Any]) -> Statistics:
    """``stats``: per-VS and per-RS counters (``Vs``/``VS``, ``Rs``/``RS`` rows)."""
    return _validated("the statistics", Statistics.model_validate, fields)


def parameter(fields: Mapping[str, Any], name: str) -> str:
    """``get``: the value of ``name`` (matched case-insensitively; the only field otherwise)."""
    for key, value in fields.items():
        if key.lower() == name.lower():
            return _scalar(value, name)
    if len(fields) == 1:
        return _scalar(next(iter(fields.values())), name)
    raise ReplyFormatError(f"the reply does not carry the parameter {name!r}")


def _scalar(value: Any, name: str) -> str:
    if isinstance(value, Mapping | list):
        raise ReplyFormatError(f"the parameter {name!r} is not a single value")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def backup_archive(fields: Mapping[str, Any]) -> bytes:
    """APIv2 ``backup``: the archive, base64-encoded in ``data``.

    Line breaks and other white space are dropped first: an encoder may wrap its output (MIME
    base64 wraps at 76 characters), and ``validate`` would refuse them.
    """
    encoded = fields.get("data", fields.get("Data"))
    if not isinstance(encoded, str):
        raise ReplyFormatError("the backup reply carries no base64 'data' field")
    try:
        return base64.b64decode("".join(encoded.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ReplyFormatError("the backup reply's 'data' field is not valid base64") from None
