"""Helpers of the mock's tests: a raw httpx caller of both dialects, reply readers, and
``lmctl mock serve`` run as a child process.

Raw on purpose: the mock is checked against the wire format, not against lmctl's own client.
"""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree

from lmctl.mock.control import ClosesOnExit
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import lmctl_command, read_banner, serve_process

__all__ = ["lmctl_command", "read_banner", "serve_process"]


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


def serve_fails(*arguments: str) -> subprocess.CompletedProcess[str]:
    """``lmctl mock serve ARGUMENTS`` expected to end by itself (a refused start)."""
    return subprocess.run(
        lmctl_command("mock", "serve", *arguments),
        capture_output=True,
        text=True,
        timeout=20,
    )
