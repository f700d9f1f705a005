"""A hostile appliance for CLI tests: an HTTPS server on loopback in front of the served mock that
passes every request through and rewrites the ``listvs`` replies (both dialects).

lmctl talks to it as to any LoadMaster (its own certificate, pinned in the inventory); the mock
behind it still carries out every command, so its call log shows whether anything was written.
Rewrites edit the rows the mock sent (``drop``, ``replace``, ``duplicate``) or answer something
else entirely (``web_page``).
"""

from __future__ import annotations

import json
import re
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socket import socket
from typing import Any

import httpx

from lmctl.mock.server import MockServerHandle
from lmctl.mock.tls import generate_certificate
from lmctl_testkit import PASSWORD_VARIABLE

# (dialect, the mock's listvs body) → what the hostile appliance answers instead.
Rewrite = Callable[[str, bytes], bytes]

LOGIN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Web User Interface</title></head>"
    b'<body><form action="/login"><input name="password"></form></body></html>'
)
_XML_ROW = re.compile(rb"<VS>.*?</VS>", re.DOTALL)


def _xml_rows(body: bytes) -> list[bytes]:
    return _XML_ROW.findall(body)


def _xml_element(name: str) -> re.Pattern[bytes]:
    return re.compile(rb"<" + name.encode() + rb">[^<]*</" + name.encode() + rb">\s*")


def edit_row(nickname: str, edit: Callable[[str, Any], Any]) -> Rewrite:
    """Apply ``edit(dialect, row)`` to the row whose NickName is ``nickname`` (v1: the row's
    bytes; v2: its dict) and put back what it returns (bytes, or a list of rows: a duplicate)."""

    def rewrite(dialect: str, body: bytes) -> bytes:
        if dialect == "v1":
            marker = f"<NickName>{nickname}</NickName>".encode()
            for row in _xml_rows(body):
                if marker in row:
                    edited = edit(dialect, row)
                    joined = b"\n".join(edited) if isinstance(edited, list) else edited
                    return body.replace(row, joined, 1)
            raise AssertionError(f"no listvs row named {nickname}")
        document = json.loads(body)
        rows: list[Any] = []
        for row in document["VS"]:
            edited = edit(dialect, row) if row.get("NickName") == nickname else row
            rows += edited if isinstance(edited, list) else [edited]
        document["VS"] = rows
        return json.dumps(document).encode()

    return rewrite


def drop(nickname: str, *elements: str) -> Rewrite:
    """The row named ``nickname`` without ``elements`` (``Rs.<element>``: in every ``Rs`` row)."""

    def edit(dialect: str, row: Any) -> Any:
        for element in elements:
            row = _dropped(dialect, row, element)
        return row

    return edit_row(nickname, edit)


def _dropped(dialect: str, row: Any, element: str) -> Any:
    inner = element.removeprefix("Rs.")
    in_real_servers = element.startswith("Rs.")
    if dialect == "v1":
        # The VS's own elements come before its first <Rs> (the mock's order, as the captures').
        start = row.find(b"<Rs>") if b"<Rs>" in row else len(row)
        head, tail = row[:start], row[start:]
        if in_real_servers:
            return head + _xml_element(inner).sub(b"", tail)
        return _xml_element(inner).sub(b"", head, count=1) + tail
    if in_real_servers:
        return {**row, "Rs": [{k: v for k, v in rs.items() if k != inner} for rs in row["Rs"]]}
    return {name: value for name, value in row.items() if name != element}


def replace(nickname: str, element: str, value: str | int) -> Rewrite:
    """The row named ``nickname`` with ``element`` set to ``value`` (in its first ``Rs`` row
    for ``Rs.<element>``)."""
    inner = element.removeprefix("Rs.")

    def edit(dialect: str, row: Any) -> Any:
        if dialect == "v1":
            new = f"<{inner}>{value}</{inner}>".encode()
            if element.startswith("Rs."):
                start = row.index(b"<Rs>")
                head, tail = row[:start], row[start:]
                return head + _xml_element(inner).sub(new + b"\n", tail, count=1)
            return _xml_element(inner).sub(new + b"\n", row, count=1)
        if element.startswith("Rs."):
            real_servers = [dict(rs) for rs in row["Rs"]]
            real_servers[0][inner] = value
            return {**row, "Rs": real_servers}
        return {**row, element: value}

    return edit_row(nickname, edit)


def duplicate(nickname: str, index: int, *, before: bool) -> Rewrite:
    """The row named ``nickname`` listed twice, the copy with Index ``index``, before or after
    the original."""

    def edit(dialect: str, row: Any) -> Any:
        copy: Any = (
            _xml_element("Index").sub(f"<Index>{index}</Index>\n".encode(), row, 1)
            if dialect == "v1"
            else {**row, "Index": index}
        )
        return [copy, row] if before else [row, copy]

    return edit_row(nickname, edit)


def sub_service_row(nickname: str, index: int, *, master_vs: int) -> Rewrite:
    """The row named ``nickname`` with ``MasterVS`` set to ``master_vs`` and no ``SubVS`` rows
    of its own, followed by a SubVS row (Index ``index``) that points to it by ``MasterVSID``
    alone: the SubVS shows only as a row of its own."""

    def edit(dialect: str, row: Any) -> Any:
        if dialect == "v1":
            found = re.search(rb"<Index>(\d+)</Index>", row)
            assert found is not None
            parent = int(found[1])
            edited = _xml_element("MasterVS").sub(
                f"<MasterVS>{master_vs}</MasterVS>\n".encode(), row, count=1
            )
            child = (
                f"<VS><Status>Down</Status><Index>{index}</Index><VSPort>0</VSPort>"
                f"<Protocol>tcp</Protocol><MasterVS>0</MasterVS><MasterVSID>{parent}</MasterVSID>"
                "<NumberOfRSs>0</NumberOfRSs></VS>"
            ).encode()
            return [re.sub(rb"<SubVS>.*?</SubVS>\s*", b"", edited, flags=re.DOTALL), child]
        parent_row = {name: value for name, value in row.items() if name != "SubVS"}
        child_row = {
            "Status": "Down",
            "Index": index,
            "VSPort": "0",
            "Protocol": "tcp",
            "MasterVS": 0,
            "MasterVSID": row["Index"],
            "NumberOfRSs": 0,
        }
        return [{**parent_row, "MasterVS": master_vs}, child_row]

    return edit_row(nickname, edit)


def web_page(dialect: str, body: bytes) -> bytes:
    """A login page instead of the API's reply."""
    return LOGIN_PAGE


def _command(path: str, body: bytes) -> tuple[str, str]:
    """(dialect, command) of one API request."""
    if path.startswith("/accessv2"):
        return "v2", str(json.loads(body or b"{}").get("cmd", ""))
    return "v1", path.split("?", 1)[0].removeprefix("/access/").replace("/", ".")


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.context = context

    def get_request(self) -> tuple[socket, Any]:
        connection, address = super().get_request()
        return self.context.wrap_socket(connection, server_side=True), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up is no test failure."""


class HostileAppliance:
    """Where it listens (``url``), its certificate's SHA-256 (``fingerprint_sha256``), and the
    rewrite of ``listvs`` it applies now (``rewrite``, changeable between runs)."""

    def __init__(self, upstream: MockServerHandle, rewrite: Rewrite) -> None:
        self.upstream = upstream
        self.rewrite = rewrite
        self._client = httpx.Client(
            base_url=upstream.url, verify=ssl.create_default_context(cafile=upstream.ca_file)
        )
        self._directory = tempfile.TemporaryDirectory(prefix="lmctl-hostile-")
        certificate = generate_certificate(Path(self._directory.name), stem="hostile")
        self.fingerprint_sha256 = certificate.fingerprint_sha256
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
        handler = type("HostileHandler", (_Handler,), {"appliance": self})
        self._server = _TlsServer(handler, context)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> httpx.Response:
        """The mock's answer to one request."""
        return self._client.request(method, path, headers=headers, content=body)

    def inventory(self, appliance: str, dialect: str, *, api_key_variable: str = "") -> str:
        """An inventory naming this server as ``appliance``: the upstream's password from the
        environment, or its API key from ``api_key_variable`` when given."""
        auth = (
            f"{{api_key: {{env: {api_key_variable}}}}}"
            if api_key_variable
            else f"{{username: {self.upstream.username}, password: {{env: {PASSWORD_VARIABLE}}}}}"
        )
        return (
            "appliances:\n"
            f"  {appliance}:\n"
            f"    url: {self.url}\n"
            f"    dialect: {dialect}\n"
            f"    auth: {auth}\n"
            f'    tls: {{fingerprint: "{self.fingerprint_sha256}"}}\n'
        )

    def close(self) -> None:
        """Stop serving and remove the certificate."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._client.close()
        self._directory.cleanup()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    appliance: HostileAppliance

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        passed = {
            name: value
            for name, value in self.headers.items()
            if name.lower() in ("authorization", "content-type")
        }
        upstream = self.appliance.forward(method, self.path, passed, body)
        reply = upstream.content
        dialect, command = _command(self.path, body)
        if command == "listvs" and upstream.status_code == 200:
            reply = self.appliance.rewrite(dialect, reply)
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", upstream.headers.get("content-type", "text/plain"))
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


@contextmanager
def hostile_appliance(upstream: MockServerHandle, rewrite: Rewrite) -> Iterator[HostileAppliance]:
    """A ``HostileAppliance`` in front of ``upstream`` for the duration of the block."""
    appliance = HostileAppliance(upstream, rewrite)
    try:
        yield appliance
    finally:
        appliance.close()
