"""The appliance inventory: every LoadMaster lmctl talks to, how to log in and what to trust.

Secrets are never written in the inventory (see ``lmctl.specs.credentials``);
``ApplianceSpec.connection()`` reads them only when a command needs the appliance.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from lmctl.loadmaster.connection import (
    FINGERPRINT_FORMS,
    ApplianceConnection,
    FingerprintFormatError,
    TlsPolicy,
    normalise_fingerprint,
)
from lmctl.specs.base import SpecModel
from lmctl.specs.credentials import AuthSpec, CredentialError

MOCK_SCHEME = "mock://"
_MOCK_URL = re.compile(r"^mock://(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?/?$")
ApplianceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]


class TlsSpec(SpecModel):
    """How the appliance's certificate is trusted: one of a CA file, a pinned fingerprint, or
    an explicit ``insecure: true``; with none, the system trust store."""

    ca_file: Path | None = Field(
        None, description="PEM CA bundle; relative paths are relative to the inventory file."
    )
    fingerprint: str | None = Field(
        None,
        description="SHA-256 fingerprint of the appliance certificate: " + FINGERPRINT_FORMS + ".",
    )
    insecure: bool = Field(False, description="true turns certificate verification off.")

    @field_validator("fingerprint")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # One rule for the inventory and the client: the client's own.
        try:
            return normalise_fingerprint(value)
        except FingerprintFormatError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("ca_file")
    @classmethod
    def _ca_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        base = (info.context or {}).get("base_dir")
        path = value if value.is_absolute() or base is None else Path(base) / value
        if not path.is_file():
            raise ValueError(f"CA file '{value}' not found (looked at {path})")
        return path

    @model_validator(mode="after")
    def _one_trust(self) -> TlsSpec:
        chosen = [self.ca_file is not None, self.fingerprint is not None, self.insecure]
        if sum(chosen) > 1:
            raise ValueError("give only one of ca_file:, fingerprint: or insecure: true")
        return self

    def policy(self) -> TlsPolicy:
        """The connection's TLS policy."""
        return TlsPolicy(
            ca_file=self.ca_file, fingerprint_sha256=self.fingerprint, insecure=self.insecure
        )


class ApplianceSpec(SpecModel):
    """One LoadMaster (or HA pair, through its shared IP) in the inventory."""

    url: str = Field(
        description="https://<address>[:port] of the API, or mock:// (mock://<name>) for the "
        "built-in mock appliance."
    )
    dialect: Literal["v1", "v2", "auto"] = Field(
        "auto", description="API dialect: v1 (XML), v2 (JSON) or auto (detect)."
    )
    auth: AuthSpec | None = Field(None, description="How to log in (not needed for mock://).")
    tls: TlsSpec | None = Field(None, description="How to trust the certificate.")
    _name: str = PrivateAttr("")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        text = value.strip()
        if _MOCK_URL.match(text) or _HTTPS_URL.match(text):
            return text.rstrip("/") if text.startswith("https://") else text
        # The URL is never repeated in these messages: a mistyped one may carry a secret
        # (user:password@host, ?apikey=...).
        if "@" in text:
            raise ValueError(
                "the URL holds a user name or password (user:password@); write "
                "https://<address>[:port] and put the login under auth:"
            )
        if text.startswith("http://"):
            raise ValueError(
                "plain http:// would send the credentials in clear; use https://<address>"
            )
        raise ValueError(
            "not an appliance URL: expected https://<address>[:port] (no path or query) or mock://"
        )

    @model_validator(mode="after")
    def _auth_required(self) -> ApplianceSpec:
        if not self.is_mock and self.auth is None:
            raise ValueError(
                "auth: is required for a real appliance: api_key: {env: VAR}, or "
                "username: with password: {env: VAR}"
            )
        return self

    @property
    def name(self) -> str:
        """The appliance's name: its key in the inventory."""
        return self._name

    @property
    def is_mock(self) -> bool:
        """True when the URL names lmctl's built-in mock appliance."""
        return self.url.startswith(MOCK_SCHEME)

    @property
    def mock_name(self) -> str:
        """The built-in mock's instance name: ``mock://<name>``, or the appliance name."""
        match = _MOCK_URL.match(self.url)
        return (match["name"] if match and match["name"] else None) or self.name

    def connection(self) -> ApplianceConnection:
        """How to reach this appliance, with secrets read from the environment or keyring.

        Raises ``CredentialError`` naming the variable or keyring entry when a secret is missing,
        and for ``mock://`` appliances, which are started with ``lmctl.mock.embedded``.
        """
        if self.is_mock or self.auth is None:
            raise CredentialError(
                self.name,
                f"it is the built-in mock ({self.url}); start it with "
                "lmctl.mock.embedded.start_embedded instead of connecting",
            )
        tls = self.tls.policy() if self.tls is not None else TlsPolicy()
        return ApplianceConnection(
            name=self.name,
            url=self.url,
            dialect=self.dialect,
            credentials=self.auth.credentials(self.name),
            tls=tls,
        )


class Inventory(SpecModel):
    """The inventory file: ``appliances:`` mapping each appliance name to how to reach it."""

    appliances: dict[ApplianceName, ApplianceSpec] = Field(
        default_factory=dict, description="Appliances by name (array specs refer to the name)."
    )

    @model_validator(mode="after")
    def _name_appliances(self) -> Inventory:
        for name, appliance in self.appliances.items():
            appliance._name = name
        return self

    def appliance(self, name: str) -> ApplianceSpec | None:
        """The appliance called ``name``, or None."""
        return self.appliances.get(name)
