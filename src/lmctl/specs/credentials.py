"""Credentials in the inventory: where each secret lives (environment or OS keyring).

A secret is never written in the inventory; the file names where lmctl finds it, and the secret
is read only when a command connects to the appliance.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

from pydantic import Field, SecretStr, model_validator
from pydantic_core import PydanticCustomError

from lmctl.errors import LmctlError
from lmctl.loadmaster.connection import ApiKey, BasicCredentials, Credentials
from lmctl.specs.base import SpecModel

# The pydantic error type of a secret written in the file; the message with its suggestion is
# built where the appliance name and the field are known (``locations``).
SECRET_IN_FILE = "secret_in_file"  # noqa: S105 (an error type, not a secret)


def secret_hint(appliance: str, field: str) -> str:
    """What to write instead of a secret at ``appliances.<appliance>.auth.<field>``."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", appliance).strip("_").upper()
    # lm-dc1 → LM_DC1_..., not LM_LM_DC1_...
    prefix = stem if stem.startswith("LM_") or stem == "LM" else f"LM_{stem}"
    variable = f"{prefix}_{field.upper()}"
    return (
        "a secret must not be written in the inventory; name where lmctl finds it: "
        f"{{env: {variable}}} (an environment variable) or "
        f"{{keyring: {{service: lmctl, username: {appliance}}}}} (the OS keyring)"
    )


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
