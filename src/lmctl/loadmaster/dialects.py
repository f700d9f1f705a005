"""The two wire dialects of the LoadMaster API: how a command is sent and its reply read.

* APIv1: ``GET /access/<cmd>?name=value`` (sub-commands as path segments), XML replies; the
  API key is a query parameter, a user and password go in an HTTP Basic header.
* APIv2: ``POST /accessv2`` with ``{"cmd": "<cmd>", ...params, <auth>}`` (sub-commands dotted),
  JSON replies; the credentials travel in the body.

Parameter names and values are the same in both, so the client builds them once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import httpx

from lmctl.loadmaster.connection import ApiKey, BasicCredentials, Credentials
from lmctl.loadmaster.redact import basic_token
from lmctl.loadmaster.replies import (
    Reply,
    is_json_envelope,
    parse_json_reply,
    parse_xml_reply,
)

DialectName = Literal["v1", "v2"]


@dataclass(frozen=True)
class Dialect:
    """One way of speaking to the appliance, bound to its credentials."""

    name: DialectName
    credentials: Credentials

    def request(
        self, http: httpx.AsyncClient, command: str, params: Mapping[str, str]
    ) -> httpx.Request:
        """The HTTP request that runs ``command`` with ``params``."""
        if self.name == "v1":
            return self._v1_request(http, command, params)
        return self._v2_request(http, command, params)

    def _v1_request(
        self, http: httpx.AsyncClient, command: str, params: Mapping[str, str]
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
        return parse_xml_reply(body) if self.name == "v1" else parse_json_reply(body)


def lacks_v2(status: int, body: bytes) -> bool:
    """True when an ``/accessv2`` answer means "no APIv2 here" rather than a v2 error reply."""
    return status in (404, 405) and not is_json_envelope(body)
