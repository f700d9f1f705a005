"""Reply envelopes of both dialects, parsed safely into plain fields.

APIv1 answers XML (``<Response stat=".." code=".."><Success><Data>...``), APIv2 answers a JSON
object (``{"code": 200, "status": "ok", ...fields}``). Both become a ``Reply``: the status, the
appliance's message and the fields, with XML elements turned into dicts (a repeated element
becomes a list, ``<InterceptOpts><Opt>`` a list of texts). Anything else (an HTML error page,
truncated XML, an entity bomb, a JSON array, an empty body) raises ``ReplyFormatError``, which
the client turns into ``MalformedReplyError`` naming the appliance and command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException

from lmctl.loadmaster.xmlfields import XmlDocument, parse_xml_fields

ENVELOPE_KEYS = frozenset({"code", "status", "message"})


class ReplyFormatError(ValueError):
    """The bytes are not a reply envelope of the expected dialect."""


@dataclass(frozen=True)
class Reply:
    """One API reply: ``status`` (200 on success), the appliance's ``message``, its ``fields``."""

    status: int
    ok: bool
    message: str = ""
    fields: dict[str, Any] = field(default_factory=dict)


def _describe(body: bytes) -> str:
    """A short, safe description of an unexpected body for an error message."""
    head = body[:60].decode("latin-1", errors="replace")
    head = " ".join(head.split())
    return f"{len(body)} bytes starting {head!r}" if body else "an empty body"


def looks_like_xml(body: bytes) -> bool:
    """True when ``body`` starts like an XML document (possibly after whitespace)."""
    return body.lstrip()[:1] == b"<"


def parse_xml_reply(body: bytes) -> Reply:
    """An APIv1 XML reply. The bytes are parsed as is, so the declared encoding is honoured."""
    if not body.strip():
        raise ReplyFormatError("the reply was empty")
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
        return Reply(
            status=status if status >= 400 else 422, ok=False, message=_text(parts["Error"])
        )
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


def _json_envelope(document: dict[str, Any]) -> Reply:
    """Status, message and fields of a decoded APIv2 object."""
    code = document.get("code", 200)
    try:
        status = int(code)
    except (TypeError, ValueError):
        raise ReplyFormatError(f"the reply has a non-numeric code {code!r}") from None
    state = str(document.get("status", "ok")).lower()
    ok = status < 400 and state not in {"fail", "error"}
    message = document.get("message", "")
    fields = {name: value for name, value in document.items() if name not in ENVELOPE_KEYS}
    return Reply(
        status=status if ok or status >= 400 else 422,
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
