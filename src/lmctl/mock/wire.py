"""Writing replies as a real appliance does: APIv1 XML envelopes and APIv2 JSON objects."""

from __future__ import annotations

import base64
import json
from typing import Any
from xml.sax.saxutils import escape

from lmctl.mock.layout import Opts
from lmctl.mock.records import Record, Rows, Value
from lmctl.mock.result import COMPLETED, CommandResult

XML_PROLOG = '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n'
XML_CONTENT_TYPE = "text/xml"
JSON_CONTENT_TYPE = "application/json"
BINARY_CONTENT_TYPE = "application/octet-stream"
_EOL = "\r\n"


def _xml_text(value: bool | int | str) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    return escape(str(value))


def _xml_children(record: Record, out: list[str]) -> None:
    for name, value in record.fields:
        _xml_element(name, value, out)


def _xml_element(name: str, value: Value, out: list[str]) -> None:
    if isinstance(value, Rows):
        for row in value.records:
            out.append(f"<{name}>{_EOL}")
            _xml_children(row, out)
            out.append(f"</{name}>{_EOL}")
    elif isinstance(value, Record):
        out.append(f"<{name}>{_EOL}")
        _xml_children(value, out)
        out.append(f"</{name}>{_EOL}")
    elif isinstance(value, Opts):
        out.append(f"<{name}>{_EOL}")
        out.extend(f"<Opt>{escape(option)}</Opt>{_EOL}" for option in value)
        out.append(f"</{name}>{_EOL}")
    else:
        out.append(f"<{name}>{_xml_text(value)}</{name}>{_EOL}")


def _encode_xml(text: str) -> bytes:
    return (XML_PROLOG + text).encode("iso-8859-1", errors="xmlcharrefreplace")


def xml_success(result: CommandResult) -> bytes:
    """``<Response stat="200" code="ok">`` with ``<Success><Data>`` or ``Command completed ok``."""
    if result.data is None:
        return _encode_xml(
            f'<Response stat="200" code="ok">{_EOL}<Success>{COMPLETED}</Success>{_EOL}'
            f"</Response>{_EOL}"
        )
    out: list[str] = [f'<Response stat="200" code="ok">{_EOL}<Success><Data>']
    _xml_children(result.data, out)
    out.append(f"</Data></Success>{_EOL}</Response>{_EOL}")
    return _encode_xml("".join(out))


def xml_error(status: int, message: str) -> bytes:
    """``<Response stat="422" code="fail"><Error>...</Error></Response>``."""
    return _encode_xml(
        f'<Response stat="{status}" code="fail">{_EOL}<Error>{escape(message)}</Error>{_EOL}'
        f"</Response>{_EOL}"
    )


def _json_value(value: Value) -> Any:
    if isinstance(value, Record):
        return _json_object(value)
    if isinstance(value, Opts):
        return list(value)
    if isinstance(value, Rows):
        return [_json_object(row) for row in value.records]
    return value


def _json_fields(record: Record) -> list[tuple[str, Value]]:
    fields = [(name, value) for name, value in record.fields if _json_included(value)]
    if record.json_order is None:
        return fields
    position = {name: place for place, name in enumerate(record.json_order)}
    known = [item for item in fields if item[0] in position]
    known.sort(key=lambda item: position[item[0]])
    rest = [item for item in fields if item[0] not in position and item[0] not in _XML_ONLY]
    return known + rest


_XML_ONLY = frozenset({"ResponseStatusRemap", "ResponseRemapMsgFormat"})


def _json_included(value: Value) -> bool:
    return not (isinstance(value, Rows) and not value.records and not value.keep_empty)


def _json_object(record: Record) -> dict[str, Any]:
    return {name: _json_value(value) for name, value in _json_fields(record)}


def json_success(result: CommandResult) -> bytes:
    """``{"code": 200, ...fields..., "status": "ok"}``; a backup as base64 in ``data``."""
    body: dict[str, Any] = {"code": 200}
    if result.binary is not None:
        body["data"] = base64.b64encode(result.binary).decode("ascii")
    elif result.data is None:
        body["message"] = COMPLETED
    else:
        body.update(_json_object(result.data))
    body["status"] = "ok"
    return json.dumps(body).encode("utf-8")


def json_error(status: int, message: str) -> bytes:
    """``{"code": 422, "message": "Unknown VS", "status": "fail"}``."""
    return json.dumps({"code": status, "message": message, "status": "fail"}).encode("utf-8")
