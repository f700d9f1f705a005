"""The appliance inventory: every LoadMaster lmctl talks to, how to log in and what to trust.

A secret is never written in the inventory: the file names where lmctl finds it (an environment
variable or an OS keyring entry), and ``ApplianceSpec.connection()`` reads it only when a command
connects to the appliance.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    IPvAnyNetwork,
    PrivateAttr,
    SecretStr,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from lmctl.errors import LmctlError
from lmctl.loadmaster.connection import (
    FINGERPRINT_FORMS,
    ApiKey,
    ApplianceConnection,
    BasicCredentials,
    Credentials,
    FingerprintFormatError,
    TlsPolicy,
    normalise_fingerprint,
    url_host_problem,
)
from lmctl.specs.validation import SECRET_IN_FILE, SpecModel
from lmctl.text import excerpt

MOCK_SCHEME = "mock://"
_MOCK_URL = re.compile(r"^mock://(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9.\-\[\]:]+(:\d{1,5})?/?$")
# How many backups per appliance are kept unless the inventory says (``keep_backups``).
DEFAULT_KEEP_BACKUPS = 10
ApplianceName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]


class CredentialError(LmctlError):
    """A secret named by the inventory cannot be found (the message never holds a secret).

    Like ``LoadMasterError``, the message does not repeat the appliance's name: callers print
    ``<appliance>: <message>`` (``appliance`` holds it), so it is never said twice.
    """

    def __init__(self, appliance: str, message: str) -> None:
        super().__init__(message)
        self.appliance = appliance
        self.message = message


class KeyringEntry(SpecModel):
    """An entry of the OS keyring (``keyring get <service> <username>``)."""

    service: Annotated[str, Field(min_length=1)]
    username: Annotated[str, Field(min_length=1)]


class SecretSource(SpecModel):
    """Where a secret lives: exactly one of an environment variable or a keyring entry."""

    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = Field(
        None,
        description="expected the name of the environment variable holding the secret "
        "(letters, digits, _), e.g. LM_HQ_API_KEY",
    )
    keyring: KeyringEntry | None = Field(
        None, description="OS keyring entry (needs `pip install lmctl[keyring]`)."
    )

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secret(cls, value: Any) -> Any:
        if isinstance(value, str | int | float | bytes):
            raise PydanticCustomError(
                SECRET_IN_FILE, "a secret must not be written in the inventory"
            )
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretSource:
        if (self.env is None) == (self.keyring is None):
            raise ValueError("give exactly one of env: or keyring:")
        return self

    def describe(self) -> str:
        """Where the secret is looked up, for messages (never the secret itself)."""
        if self.env is not None:
            return f"environment variable {self.env}"
        assert self.keyring is not None
        return f"keyring entry service={self.keyring.service!r} username={self.keyring.username!r}"

    def resolve(self, appliance: str) -> SecretStr:
        """The secret's value; ``CredentialError`` naming the variable or entry when missing."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if not value:
                raise CredentialError(
                    appliance,
                    f"the {self.describe()} is not set; export {self.env}=... before running lmctl",
                )
            return SecretStr(value)
        assert self.keyring is not None
        return SecretStr(_keyring_secret(appliance, self.keyring))


def _keyring_secret(appliance: str, entry: KeyringEntry) -> str:
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise CredentialError(
            appliance,
            "the inventory reads a secret from the OS keyring, but the "
            "keyring package is not installed; run: pip install 'lmctl[keyring]'",
        ) from None
    try:
        value = keyring.get_password(entry.service, entry.username)
    except keyring.errors.KeyringError as error:
        raise CredentialError(
            appliance, f"the OS keyring cannot be read ({type(error).__name__})"
        ) from None
    if not value:
        raise CredentialError(
            appliance,
            f"no keyring entry service={entry.service!r} "
            f"username={entry.username!r}; store it with: "
            f"keyring set {entry.service} {entry.username}",
        )
    return str(value)


class AuthSpec(SpecModel):
    """How lmctl logs in: an API key, or a user name and password."""

    api_key: SecretSource | None = Field(None, description="Where the API key is found.")
    username: Annotated[str, Field(min_length=1)] | None = Field(
        None, description="API user name (not a secret)."
    )
    password: SecretSource | None = Field(None, description="Where the password is found.")

    @model_validator(mode="after")
    def _one_method(self) -> AuthSpec:
        basic = self.username is not None or self.password is not None
        if self.api_key is not None and basic:
            raise ValueError("give either api_key: or username: with password:, not both")
        if self.api_key is None and not (self.username and self.password):
            raise ValueError("give api_key:, or both username: and password:")
        return self

    def credentials(self, appliance: str) -> Credentials:
        """The resolved credentials (secrets read from the environment or the keyring)."""
        if self.api_key is not None:
            return ApiKey(key=self.api_key.resolve(appliance))
        assert self.username is not None and self.password is not None
        return BasicCredentials(username=self.username, password=self.password.resolve(appliance))


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
            raise ValueError(
                f"CA file '{excerpt(str(value))}' not found (looked at {excerpt(str(path), 200)})"
            )
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


def _subnet_of(value: Any) -> Any:
    """The subnet an interface's address and prefix name: ``10.20.1.5/24`` is ``10.20.1.0/24``,
    as ``lmctl mock serve --local-subnet`` takes it (pydantic's network type refuses host bits);
    what is no network at all is left to pydantic's message."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return ipaddress.ip_network(value.strip(), strict=False)
    return value


LocalSubnet = Annotated[IPvAnyNetwork, BeforeValidator(_subnet_of)]


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
    local_subnets: tuple[LocalSubnet, ...] | None = Field(
        None,
        description="The subnets the appliance has an interface on, e.g. [10.10.0.0/16] (an "
        "address with its prefix, 10.10.4.1/16, names its subnet); a member outside them is "
        "added as a non-local real server. Default: every member is local.",
    )
    non_local: bool = Field(
        False, description="true: add every member as a non-local real server (non_local=1)."
    )
    # Strict: YAML's '30' (a string) or true (a bool) is a mistake, never a number.
    keep_backups: StrictInt = Field(
        DEFAULT_KEEP_BACKUPS,
        ge=1,
        le=10_000,
        description="How many of its backups (one per apply) lmctl keeps in the state "
        "directory; older ones are removed after each new backup.",
    )
    _name: str = PrivateAttr("")

    def is_local(self, address: str) -> bool:
        """True when a real server at ``address`` is on one of the appliance's own subnets."""
        if self.non_local:
            return False
        if self.local_subnets is None:
            return True
        host = ipaddress.ip_address(address)
        return any(host in subnet for subnet in self.local_subnets)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        text = value.strip()
        if _MOCK_URL.match(text):
            return text
        # The URL is never repeated in these messages: a mistyped one may carry a secret
        # (user:password@host, ?apikey=...).
        if _HTTPS_URL.match(text):
            # The client's own rule for the host and port, so what validates also connects.
            problem = url_host_problem(text)
            if problem is not None:
                raise ValueError(problem)
            return text.rstrip("/")
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
    def _one_way_to_say_non_local(self) -> ApplianceSpec:
        if self.non_local and self.local_subnets is not None:
            raise ValueError(
                "give local_subnets: or non_local: true, not both (non_local: true makes every "
                "member non-local)"
            )
        return self

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


class BulkRemovalLimits(SpecModel):
    """When the ``bulk-removal`` safety rule stops a plan: more than ``percent`` of an
    appliance's services, or of its arrays' members, removed at once, counted only from
    ``minimum`` of them (as octoDNS's update and delete thresholds, which apply from 10 existing
    records: ``MIN_EXISTING_RECORDS`` in octodns/provider/plan.py)."""

    # Strict: YAML's '30' (a string) or true (a bool) is a mistake, never a number.
    percent: Annotated[StrictFloat, Field(gt=0, le=100)] = Field(
        30,
        description="Block a plan that removes more than this share (in %) of the services "
        "(virtual services) lmctl manages on one appliance, or of the members of its arrays "
        "there.",
    )
    minimum: Annotated[StrictInt, Field(ge=1, le=100_000)] = Field(
        10,
        description="The rule counts services (members) only on an appliance that holds at "
        "least this many; below, removing any share of them is no bulk removal (other rules, "
        "failover-lost and array-deleted, still apply).",
    )


class SafetySpec(SpecModel):
    """The safety rules' thresholds for every appliance of the inventory."""

    bulk_removal: BulkRemovalLimits = Field(
        default_factory=BulkRemovalLimits, description="Thresholds of the bulk-removal rule."
    )


class Inventory(SpecModel):
    """The inventory file: ``appliances:`` mapping each appliance name to how to reach it, and
    the thresholds of the safety rules (``safety:``)."""

    appliances: dict[ApplianceName, ApplianceSpec] = Field(
        default_factory=dict, description="Appliances by name (array specs refer to the name)."
    )
    safety: SafetySpec = Field(
        default_factory=SafetySpec,
        description="Thresholds of the safety rules plan and apply check (see "
        "docs/plan-apply.md, Safety rules).",
    )

    @model_validator(mode="after")
    def _name_appliances(self) -> Inventory:
        for name, appliance in self.appliances.items():
            appliance._name = name
        return self

    def appliance(self, name: str) -> ApplianceSpec | None:
        """The appliance called ``name``, or None."""
        return self.appliances.get(name)

    def keep_backups(self) -> dict[str, int]:
        """How many backups to keep, by appliance name."""
        return {name: spec.keep_backups for name, spec in self.appliances.items()}
