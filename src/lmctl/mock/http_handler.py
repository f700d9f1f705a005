"""The HTTP side of the served mock: routes APIv1, APIv2 and control requests, writes replies.

APIv1: ``GET``/``POST /access/<cmd>`` (query or form parameters, HTTP Basic or ``apikey``).
APIv2: ``POST /accessv2`` with a JSON body (``apikey``, or ``apiuser``/``apipass``, or Basic).
Control: ``/_mock/<route>`` with the same credentials (Basic, or ``apikey`` in the query).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from lmctl.mock.appliance import WRITE_COMMANDS
from lmctl.mock.control_api import handle_control
from lmctl.mock.errors import CommandError
from lmctl.mock.faults import Fault
from lmctl.mock.result import CommandResult
from lmctl.mock.wire import (
    BINARY_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    XML_CONTENT_TYPE,
    json_error,
    json_success,
    xml_error,
    xml_success,
)

if TYPE_CHECKING:
    from lmctl.mock.runtime import MockRuntime

HTML_CONTENT_TYPE = "text/html"
_UNAUTHORIZED = (
    b"<html><head><title>401 Unauthorized</title></head><body>Unauthorized</body></html>"
)
_NOT_FOUND = b"<html><head><title>404 Not Found</title></head><body>Not Found</body></html>"
_SERVER_ERROR = b"<html><head><title>500 Internal Server Error</title></head></html>"
_MAX_BODY = 64 * 1024 * 1024
_WEB_UI_OK = b"<html><head><title>LoadMaster</title></head><body>OK</body></html>"
# python-kemptech-api models.py enable_api: on a 404 from access/set?param=enableapi it calls
# progs/doconfig/enableapi/set/yes, then progs/status/logout (web-UI URLs, HTTP Basic).
WEB_UI_PATHS: dict[str, bool | None] = {
    "/progs/doconfig/enableapi/set/yes": True,
    "/progs/doconfig/enableapi/set/no": False,
    "/progs/status/logout": None,
}


def _json_parameter(value: Any) -> str:
    """A v2 body value as the text parameter v1 would carry (flags as ``Y``/``N``)."""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if value is None:
        return ""
    return str(value)


class MockRequestHandler(BaseHTTPRequestHandler):
    """One connection to the mock; HTTP/1.1 keep-alive, quiet (no access log on stderr)."""

    protocol_version = "HTTP/1.1"
    server_version = "lmctl-mock"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 120
    runtime: MockRuntime

    def log_message(self, format: str, *args: Any) -> None:
        """The mock keeps its own call log; no per-request noise on stderr."""

    def do_GET(self) -> None:
        """GET: APIv1 calls and control reads."""
        self._route("GET")

    def do_POST(self) -> None:
        """POST: APIv1 form calls, APIv2 calls, control writes."""
        self._route("POST")

    def do_DELETE(self) -> None:
        """DELETE: control only."""
        self._route("DELETE")

    def version_string(self) -> str:
        """The ``Server`` header: the product name only."""
        return self.server_version

    def _route(self, method: str) -> None:
        target, _, query_text = self.path.partition("?")
        # A base URL ending in "/" gives "//accessv2" or "/access/listvs/": serve them as the
        # paths meant (inferred: web servers in front of such APIs usually normalise this way).
        path = "/" + "/".join(part for part in target.split("/") if part)
        body = self._read_body()
        query = dict(parse_qsl(query_text, keep_blank_values=True))
        if path.startswith("/_mock/"):
            self._control(method, path[len("/_mock/") :], query, body)
        elif path == "/accessv2" and method == "POST":
            self._v2(body)
        elif (path == "/access" or path.startswith("/access/")) and method != "DELETE":
            self._v1(method, path, query, body)
        elif path in WEB_UI_PATHS and method == "GET":
            self._web_ui(WEB_UI_PATHS[path])
        else:
            self._send(404, HTML_CONTENT_TYPE, _NOT_FOUND)

    def _web_ui(self, api_enabled: bool | None) -> None:
        """The two web-UI URLs Kemp's SDK uses to switch the API on when ``/access`` is 404."""
        if not self.runtime.credentials.basic_matches(self.headers.get("Authorization")):
            self._unauthorized()
            return
        if api_enabled is not None:
            self.runtime.appliance.set_api_enabled(api_enabled)
        self._send(200, HTML_CONTENT_TYPE, _WEB_UI_OK)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > _MAX_BODY:
            self.close_connection = True
            return b""
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked_body(self) -> bytes:
        """A ``Transfer-Encoding: chunked`` body (clients streaming a form, JSON or a file)."""
        chunks: list[bytes] = []
        received = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:  # garbled framing or EOF: give up on this connection
                self.close_connection = True
                return b""
            if size == 0:
                break
            received += size
            if received > _MAX_BODY:
                self.close_connection = True
                return b""
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk
        while self.rfile.readline(8192).strip():
            pass  # trailer fields, up to the empty line
        return b"".join(chunks)

    def _send(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _unauthorized(self) -> None:
        self._send(
            401, HTML_CONTENT_TYPE, _UNAUTHORIZED, WWW_Authenticate='Basic realm="LoadMaster"'
        )

    # --- control -----------------------------------------------------------------------------

    def _control(self, method: str, route: str, query: dict[str, str], body: bytes) -> None:
        credentials = self.runtime.credentials
        key = query.get("apikey")
        allowed = credentials.key_matches(key) if key else False
        if not (allowed or credentials.basic_matches(self.headers.get("Authorization"))):
            self._unauthorized()
            return
        try:
            document = json.loads(body) if body.strip() else {}
        except ValueError:
            document = None
        if not isinstance(document, dict):
            self._send_json(400, {"error": "the body must be a JSON object"})
            return
        status, reply = handle_control(self.runtime, method, route, document)
        self._send_json(status, reply)

    def _send_json(self, status: int, document: dict[str, Any]) -> None:
        self._send(status, JSON_CONTENT_TYPE, json.dumps(document).encode())

    # --- APIv1 -------------------------------------------------------------------------------

    def _v1(self, method: str, path: str, query: dict[str, str], body: bytes) -> None:
        if not self.runtime.appliance.api_enabled:
            self._send(404, HTML_CONTENT_TYPE, _NOT_FOUND)
            return
        command = path[len("/access") :].strip("/").replace("/", ".")
        params = dict(query)
        file_body: bytes | None = None
        content_type = self.headers.get("Content-Type", "")
        if method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif method == "POST" and body:
            file_body = body
        if not self._v1_authorized(params):
            self._unauthorized()
            return
        self._api_call("v1", command, params, file_body)

    def _v1_authorized(self, params: dict[str, str]) -> bool:
        credentials = self.runtime.credentials
        key = next((value for name, value in params.items() if name.lower() == "apikey"), "")
        # An empty apikey next to Basic credentials is what clients with optional key fields
        # send (mathlu/loadmaster-go-client rs.go: `qs:"apikey"` without omitempty).
        if key:
            return credentials.key_matches(key)
        return credentials.basic_matches(self.headers.get("Authorization"))

    # --- APIv2 -------------------------------------------------------------------------------

    def _v2(self, body: bytes) -> None:
        if not self.runtime.appliance.api_enabled:
            self._send(404, HTML_CONTENT_TYPE, _NOT_FOUND)
            return
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            self._send(400, JSON_CONTENT_TYPE, json_error(400, "Invalid JSON request"))
            return
        params = {str(name): _json_parameter(value) for name, value in document.items()}
        if not self._v2_authorized(params):
            self._unauthorized()
            return
        command = params.pop("cmd", "")
        if not command:
            self._send(400, JSON_CONTENT_TYPE, json_error(400, "Missing parameter: cmd"))
            return
        self._api_call("v2", command, params, None)

    def _v2_authorized(self, params: dict[str, str]) -> bool:
        credentials = self.runtime.credentials
        if params.get("apikey"):
            return credentials.key_matches(params["apikey"])
        if "apiuser" in params or "apipass" in params:
            return credentials.password_matches(
                params.get("apiuser", ""), params.get("apipass", "")
            )
        return credentials.basic_matches(self.headers.get("Authorization"))

    # --- both dialects -----------------------------------------------------------------------

    def _api_call(
        self, dialect: str, command: str, params: dict[str, str], file_body: bytes | None
    ) -> None:
        runtime = self.runtime
        write = command.lower() in WRITE_COMMANDS
        fault = runtime.faults.take(command)
        if fault is not None and fault.kind in {"drop", "http500"}:
            status = 500 if fault.kind == "http500" else 0
            runtime.calls.record(dialect, command, params, status, write=write, fault=fault.kind)
            self._fail_before_applying(fault)
            return
        stall = fault.stall_seconds if fault is not None and fault.kind == "stall" else 0.0
        if not runtime.pause(stall + runtime.latency_seconds):
            self._close_without_reply()
            return
        try:
            result = runtime.appliance.execute(command, params, file_body)
        except CommandError as error:
            runtime.calls.record(dialect, command, params, error.status, write=write)
            self._send_error(dialect, error)
            return
        fault_kind = fault.kind if fault is not None else None
        runtime.calls.record(dialect, command, params, 200, write=write, fault=fault_kind)
        if fault_kind == "reset_after_write":
            self._reset_connection()
            return
        self._send_result(dialect, result)

    def _fail_before_applying(self, fault: Fault) -> None:
        if fault.kind == "http500":
            self._send(500, HTML_CONTENT_TYPE, _SERVER_ERROR)
            return
        self._close_without_reply()

    def _close_without_reply(self) -> None:
        """Close the connection with no reply (a dropped call, or one abandoned by a reset)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self.connection, socket.SHUT_RDWR)

    def _reset_connection(self) -> None:
        """Abort with a TCP reset (SO_LINGER 0), as a failing appliance or HA failover would."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            socket.socket.close(self.connection)
        except OSError:
            pass

    def _send_error(self, dialect: str, error: CommandError) -> None:
        if dialect == "v1":
            self._send(error.status, XML_CONTENT_TYPE, xml_error(error.status, error.message))
        else:
            self._send(error.status, JSON_CONTENT_TYPE, json_error(error.status, error.message))

    def _send_result(self, dialect: str, result: CommandResult) -> None:
        if dialect == "v2":
            self._send(200, JSON_CONTENT_TYPE, json_success(result))
        elif result.binary is not None:
            self._send(200, BINARY_CONTENT_TYPE, result.binary)
        else:
            self._send(200, XML_CONTENT_TYPE, xml_success(result))
