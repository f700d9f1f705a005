"""Helpers of the mock's tests: a raw httpx caller of both dialects, reply readers, and
``lmctl mock serve`` run as a child process.

Raw on purpose: the mock is checked against the wire format, not against lmctl's own client.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree

from lmctl.mock.control import ClosesOnExit
from lmctl.mock.server import MockServerHandle


class RawApi(ClosesOnExit):
    """Calls ``/access/<cmd>`` (v1) and ``/accessv2`` (v2) of a served mock, TLS verified."""

    def __init__(self, handle: MockServerHandle, timeout: float | httpx.Timeout = 5.0) -> None:
        assert handle.ca_file is not None
        self.handle = handle
        self.client = httpx.Client(
            base_url=handle.url,
            verify=ssl.create_default_context(cafile=str(handle.ca_file)),
            timeout=timeout,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def v1(self, command: str, params: dict[str, str] | None = None) -> httpx.Response:
        """``GET /access/<command>`` with HTTP Basic."""
        return self.client.get(
            f"/access/{command}",
            params=params or {},
            auth=(self.handle.username, self.handle.password),
        )

    def v2(self, command: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """``POST /accessv2`` with ``apiuser``/``apipass`` in the body."""
        body = {"cmd": command, "apiuser": self.handle.username, "apipass": self.handle.password}
        body.update(params or {})
        return self.client.post("/accessv2", json=body)

    def call(
        self, dialect: str, command: str, params: dict[str, str] | None = None
    ) -> httpx.Response:
        """``v1`` or ``v2`` by name."""
        return self.v1(command, params) if dialect == "v1" else self.v2(command, params)


def xml_root(body: bytes) -> Element:
    """The ``<Response>`` element of an APIv1 reply."""
    root: Element = ElementTree.fromstring(body)
    return root


def xml_data(body: bytes) -> Element:
    """``<Data>`` of a successful APIv1 reply."""
    data = xml_root(body).find("Success/Data")
    assert data is not None, body.decode("latin-1")
    return data


def child_tags(element: Element) -> list[str]:
    """Names of the direct children, in order."""
    return [child.tag for child in element]


def leaf_texts(element: Element) -> dict[str, str]:
    """Text of each direct child without children of its own."""
    return {child.tag: child.text or "" for child in element if len(child) == 0}


def json_reply(response: httpx.Response) -> dict[str, Any]:
    """An APIv2 reply as a dict (insertion order = wire order)."""
    document: dict[str, Any] = json.loads(response.content)
    return document


def json_capture(path: Path) -> dict[str, Any]:
    """A ``.json`` capture as a dict."""
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def type_names(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, JSON type name) pairs, in order."""
    return [(key, type(value).__name__) for key, value in document.items()]


def lmctl_command(*arguments: str) -> list[str]:
    """The command line of lmctl in this interpreter."""
    return [sys.executable, "-c", "from lmctl.cli import main; main()", *arguments]


def serve_process(*arguments: str, **environment: str) -> subprocess.Popen[str]:
    """``lmctl mock serve --port 0 ARGUMENTS`` in a child process, output piped."""
    return subprocess.Popen(
        lmctl_command("mock", "serve", "--port", "0", *arguments),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **environment},
    )


def read_banner(process: subprocess.Popen[str]) -> dict[str, str]:
    """The ``Name: value`` lines ``lmctl mock serve`` prints before ``Press Ctrl-C``."""
    banner: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Press Ctrl-C"):
            return banner
        match = re.match(r"\s+([A-Za-z0-9 -]+):\s+(.*)$", line)
        if match:
            banner[match.group(1)] = match.group(2).strip()
    raise AssertionError(f"lmctl mock serve exited early with {process.wait()}")


def serve_fails(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``lmctl mock serve ARGUMENTS`` expected to end by itself (a refused start)."""
    return subprocess.run(
        lmctl_command("mock", "serve", *arguments),
        capture_output=True,
        text=True,
        timeout=20,
    )
