"""The served mock: a threaded HTTPS server on loopback that speaks both API dialects.

APIv1: ``GET``/``POST /access/<cmd>`` (query or form parameters, HTTP Basic or ``apikey``).
APIv2: ``POST /accessv2`` with a JSON body (``apikey``, or ``apiuser``/``apipass``, or Basic).
Control: ``/_mock/<route>`` with the same credentials (Basic, or ``apikey`` in the query).

``serve_in_thread()`` returns a ``MockServerHandle`` with the URL, the server certificate's
SHA-256 (to pin it), the CA file, the credentials and the ``MockAppliance`` itself.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import json
import secrets
import shutil
import socket
import socketserver
import ssl
import struct
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from lmctl.mock.appliance import MockAppliance
from lmctl.mock.commands import WRITE_COMMANDS, ApiRefusal
from lmctl.mock.content import CONTENT_WRITE_COMMANDS
from lmctl.mock.control import ClosesOnExit, MockControl, MockRuntime, handle_control
from lmctl.mock.faults import CallLog, Fault, FaultPlan
from lmctl.mock.persistence import StateStore
from lmctl.mock.state import MockState
from lmctl.mock.tls import MockCertificate, generate_certificate, kept_certificate
from lmctl.mock.wire import (
    BINARY_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    XML_CONTENT_TYPE,
    CommandResult,
    json_error,
    json_success,
    xml_error,
    xml_success,
)

DEFAULT_USERNAME = "bal"


@dataclass(frozen=True)
class MockCredentials:
    """The one admin user and the API key the mock accepts."""

    username: str
    password: str
    api_key: str

    def password_matches(self, username: str, password: str) -> bool:
        """Constant-time check of a user name and password."""
        return hmac.compare_digest(username.encode(), self.username.encode()) & hmac.compare_digest(
            password.encode(), self.password.encode()
        )

    def key_matches(self, key: str) -> bool:
        """Constant-time check of an API key."""
        return hmac.compare_digest(key.encode(), self.api_key.encode())

    def basic_matches(self, authorization: str | None) -> bool:
        """True for an ``Authorization: Basic`` header with the right user and password."""
        if not authorization or not authorization.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        username, separator, password = decoded.partition(":")
        return bool(separator) and self.password_matches(username, password)


HTML_CONTENT_TYPE = "text/html"
_UNAUTHORIZED = (
    b"<html><head><title>401 Unauthorized</title></head><body>Unauthorized</body></html>"
)
_NOT_FOUND = b"<html><head><title>404 Not Found</title></head><body>Not Found</body></html>"
_SERVER_ERROR = b"<html><head><title>500 Internal Server Error</title></head></html>"
_MAX_BODY = 64 * 1024 * 1024
# How often the serving loop looks up from waiting for connections: ``close`` waits for it, and
# every command on a ``mock://`` appliance ends by closing its mocks (idle, 20 ms costs next to
# nothing; 100 ms made each such command 0.1-0.2 s slower).
_SERVE_POLL_SECONDS = 0.02
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
    credentials: MockCredentials

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
        if not self.credentials.basic_matches(self.headers.get("Authorization")):
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
        credentials = self.credentials
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
        # ``restore`` and ``addcert`` take the file as the body whatever its declared type:
        # Kemp's own examples (``curl -X POST --data-binary @<file> .../restore?type=1``, the
        # same for a certificate) send it as a form.
        if method == "POST" and body and command in ("restore", "addcert"):
            file_body = body
        elif method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif method == "POST" and body:
            file_body = body
        if not self._v1_authorized(params):
            self._unauthorized()
            return
        self._api_call("v1", command, params, file_body)

    def _v1_authorized(self, params: dict[str, str]) -> bool:
        credentials = self.credentials
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
        credentials = self.credentials
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
        write = command.lower() in WRITE_COMMANDS | CONTENT_WRITE_COMMANDS
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
        except ApiRefusal as error:
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

    def _send_error(self, dialect: str, error: ApiRefusal) -> None:
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


class MockHttpServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` that does the TLS handshake in the connection's own thread."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[MockRequestHandler],
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)
        self.tls_context = tls_context

    def server_bind(self) -> None:
        """Bind without ``HTTPServer``'s reverse-DNS lookup of the host (slow where DNS is)."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the accepted socket in TLS (handshake here, not in the accept loop)."""
        if self.tls_context is not None:
            try:
                request.settimeout(30)
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        try:
            super().finish_request(request, client_address)
        except (ssl.SSLError, ConnectionError, TimeoutError):
            return

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that vanish mid-request are normal in fault tests: stay quiet."""


class MockServerHandle(ClosesOnExit):
    """A running mock: where it is, how to trust it and log in, and how to stop it."""

    def __init__(
        self,
        server: MockHttpServer,
        runtime: MockRuntime,
        credentials: MockCredentials,
        thread: threading.Thread,
        url: str,
        certificate: MockCertificate | None,
        certificate_dir: Path | None,
    ) -> None:
        self._server = server
        self._runtime = runtime
        self._credentials = credentials
        self._thread = thread
        self._certificate_dir = certificate_dir
        self.url = url
        self.fingerprint_sha256 = None if certificate is None else certificate.fingerprint_sha256
        self.ca_file = None if certificate is None else certificate.ca_file

    @property
    def username(self) -> str:
        """The admin user name (HTTP Basic, v2 ``apiuser``)."""
        return self._credentials.username

    @property
    def password(self) -> str:
        """The admin password."""
        return self._credentials.password

    @property
    def api_key(self) -> str:
        """The API key (v1 ``apikey`` query parameter, v2 ``apikey`` body field)."""
        return self._credentials.api_key

    @property
    def appliance(self) -> MockAppliance:
        """The in-memory appliance behind the server (for in-process set-up and checks)."""
        return self._runtime.appliance

    @property
    def faults(self) -> FaultPlan:
        """Pending faults (also reachable through the control API)."""
        return self._runtime.faults

    @property
    def calls(self) -> CallLog:
        """The API call log (also reachable through the control API)."""
        return self._runtime.calls

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_address[1])

    def control(self, timeout: float = 10.0) -> MockControl:
        """A ``MockControl`` client for this server, trusting its CA (or plain HTTP)."""
        return MockControl(
            self.url,
            self.username,
            self.password,
            ca_file=self.ca_file,
            timeout=timeout,
        )

    def close(self) -> None:
        """Stop serving, wake stalled requests, remove a temporary certificate's files."""
        self._runtime.interrupt()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._certificate_dir is not None:
            shutil.rmtree(self._certificate_dir, ignore_errors=True)
            self._certificate_dir = None


def _tls_context(certificate: MockCertificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    return context


def _url(scheme: str, host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port}"


def serve_in_thread(
    host: str = "127.0.0.1",
    port: int = 0,
    tls: bool = True,
    state_file: Path | None = None,
    latency_ms: float = 0,
    username: str | None = None,
    password: str | None = None,
    api_key: str | None = None,
    local_subnets: Sequence[str] | None = None,
    keep_certificate: bool = False,
    new_certificate: bool = False,
    seed: MockState | None = None,
) -> MockServerHandle:
    """Start a mock LoadMaster in a background thread; credentials not given are made up.

    ``port=0`` picks a free port (see ``handle.url``). With ``state_file`` the state is loaded at
    start (if the file exists) and saved atomically after every change. ``local_subnets`` are
    the appliance's own subnets (saved in the state; None keeps the state's, and a new state has
    none: every address is local); a real server outside them needs ``non_local=1``.

    The TLS certificate is made at start in a temporary directory and removed with the server;
    with ``keep_certificate`` (and a ``state_file``) it is kept beside the state file instead and
    reused by the next start, so the fingerprint users pinned stays valid; ``new_certificate``
    replaces the kept one. ``seed`` is the state to start from instead of the state file's (a
    captured ``listvs``: ``lmctl.mock.seed``).
    """
    if keep_certificate and state_file is None:
        raise ValueError("keep_certificate needs a state_file to keep the certificate beside")
    credentials = MockCredentials(
        username or DEFAULT_USERNAME,
        password or secrets.token_urlsafe(12),
        api_key or secrets.token_hex(16),
    )
    store = StateStore(state_file) if state_file is not None else None
    appliance = MockAppliance(seed, store=store, local_subnets=local_subnets)
    runtime = MockRuntime(appliance, latency_ms / 1000.0)
    certificate: MockCertificate | None = None
    certificate_dir: Path | None = None  # a temporary one, removed with the server
    if tls and keep_certificate and state_file is not None:
        certificate = kept_certificate(state_file, host, new=new_certificate)
    elif tls:
        certificate_dir = Path(tempfile.mkdtemp(prefix="lmctl-mock-tls-"))
        certificate = generate_certificate(certificate_dir, host)
    context = None if certificate is None else _tls_context(certificate)
    bound = {"runtime": runtime, "credentials": credentials}
    handler = type("BoundMockRequestHandler", (MockRequestHandler,), bound)
    try:
        server = MockHttpServer((host, port), handler, context)
    except BaseException:
        # A failed start (port taken, foreign address) must not leave a temporary private key
        # behind (a kept one stays: it belongs to the state file).
        if certificate_dir is not None:
            shutil.rmtree(certificate_dir, ignore_errors=True)
        raise
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _SERVE_POLL_SECONDS},
        daemon=True,
        name="lmctl-mock",
    )
    thread.start()
    url = _url("https" if tls else "http", host, int(server.server_address[1]))
    return MockServerHandle(server, runtime, credentials, thread, url, certificate, certificate_dir)
