"""The served mock: a threaded HTTPS server on loopback in a background thread.

``serve_in_thread()`` returns a ``MockServerHandle`` with the URL, the server certificate's
SHA-256 (to pin it), the CA file, the credentials and the ``MockAppliance`` itself.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmctl.mock.appliance import MockAppliance
from lmctl.mock.closing import ClosesOnExit
from lmctl.mock.http_handler import MockRequestHandler
from lmctl.mock.persistence import StateStore
from lmctl.mock.runtime import MockCredentials, MockRuntime
from lmctl.mock.tls import generate_certificate

if TYPE_CHECKING:
    from lmctl.mock.calllog import CallLog
    from lmctl.mock.control import MockControl
    from lmctl.mock.faults import FaultPlan

DEFAULT_USERNAME = "bal"


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
        thread: threading.Thread,
        url: str,
        fingerprint_sha256: str | None,
        ca_file: Path | None,
        certificate_dir: Path | None,
    ) -> None:
        self._server = server
        self._runtime = runtime
        self._thread = thread
        self._certificate_dir = certificate_dir
        self.url = url
        self.fingerprint_sha256 = fingerprint_sha256
        self.ca_file = ca_file

    @property
    def username(self) -> str:
        """The admin user name (HTTP Basic, v2 ``apiuser``)."""
        return self._runtime.credentials.username

    @property
    def password(self) -> str:
        """The admin password."""
        return self._runtime.credentials.password

    @property
    def api_key(self) -> str:
        """The API key (v1 ``apikey`` query parameter, v2 ``apikey`` body field)."""
        return self._runtime.credentials.api_key

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
        from lmctl.mock.control import MockControl

        return MockControl(
            self.url,
            self.username,
            self.password,
            ca_file=self.ca_file,
            timeout=timeout,
        )

    def close(self) -> None:
        """Stop serving, wake stalled requests, remove the generated certificate files."""
        self._runtime.interrupt()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        if self._certificate_dir is not None:
            shutil.rmtree(self._certificate_dir, ignore_errors=True)
            self._certificate_dir = None


def _tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
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
) -> MockServerHandle:
    """Start a mock LoadMaster in a background thread; credentials not given are made up.

    ``port=0`` picks a free port (see ``handle.url``). With ``state_file`` the state is loaded at
    start (if the file exists) and saved atomically after every change.
    """
    credentials = MockCredentials(
        username or DEFAULT_USERNAME,
        password or secrets.token_urlsafe(12),
        api_key or secrets.token_hex(16),
    )
    store = StateStore(state_file) if state_file is not None else None
    runtime = MockRuntime(MockAppliance(store=store), credentials, latency_ms / 1000.0)
    certificate_dir: Path | None = None
    context: ssl.SSLContext | None = None
    fingerprint: str | None = None
    ca_file: Path | None = None
    if tls:
        certificate_dir = Path(tempfile.mkdtemp(prefix="lmctl-mock-tls-"))
        certificate = generate_certificate(certificate_dir, host)
        context = _tls_context(certificate.cert_file, certificate.key_file)
        fingerprint, ca_file = certificate.fingerprint_sha256, certificate.ca_file
    handler = type("BoundMockRequestHandler", (MockRequestHandler,), {"runtime": runtime})
    try:
        server = MockHttpServer((host, port), handler, context)
    except BaseException:
        # A failed start (port taken, foreign address) must not leave the private key behind.
        if certificate_dir is not None:
            shutil.rmtree(certificate_dir, ignore_errors=True)
        raise
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="lmctl-mock"
    )
    thread.start()
    url = _url("https" if tls else "http", host, int(server.server_address[1]))
    return MockServerHandle(server, runtime, thread, url, fingerprint, ca_file, certificate_dir)
