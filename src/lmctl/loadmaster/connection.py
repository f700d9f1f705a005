"""How to reach one appliance: URL, dialect, credentials and the TLS trust policy.

The inventory (``lmctl.specs``) resolves secrets from the environment or the OS keyring into
these values; the client (``lmctl.loadmaster.client``) only ever reads them. Secrets are
``SecretStr`` so that a repr, a log line or an exception never shows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr

Dialect = Literal["v1", "v2", "auto"]


class ApiKey(BaseModel):
    """Authenticate with an API key (v1 ``apikey`` parameter, v2 ``apikey`` body field)."""

    model_config = ConfigDict(frozen=True)

    key: SecretStr


class BasicCredentials(BaseModel):
    """Authenticate as a user (HTTP Basic in v1, ``apiuser``/``apipass`` in v2)."""

    model_config = ConfigDict(frozen=True)

    username: str
    password: SecretStr


Credentials = ApiKey | BasicCredentials


class TlsPolicy(BaseModel):
    """How to trust the appliance's certificate: a CA file, a pinned SHA-256, or not at all.

    With neither a CA file nor a fingerprint nor ``insecure``, the system trust store is used.
    """

    model_config = ConfigDict(frozen=True)

    ca_file: Path | None = None
    fingerprint_sha256: str | None = None
    insecure: bool = False


class ApplianceConnection(BaseModel):
    """Everything needed to talk to one LoadMaster (or an HA pair through its shared IP)."""

    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    dialect: Dialect = "auto"
    credentials: Credentials
    tls: TlsPolicy = TlsPolicy()
