"""The inventory: secrets resolved from the environment or the OS keyring, TLS trust (a pinned
fingerprint read by one rule with the client, the client's own), mock://."""

from __future__ import annotations

import asyncio
import sys
import types
from pathlib import Path

import pytest
from spec_files import reported, run_lmctl, write_files

from lmctl.appliance.base import ApplianceUnavailableError, open_appliances
from lmctl.loadmaster.connection import ApiKey, BasicCredentials, normalise_fingerprint
from lmctl.specs import CredentialError, Inventory, load_specs

FINGERPRINT = "3F:A2:" + "00:" * 29 + "9C"


def inventory(tmp_path: Path, text: str) -> Inventory:
    """Load an inventory file written into ``tmp_path``."""
    write_files(tmp_path, {"appliances.yaml": text})
    return load_specs([tmp_path]).inventory


def test_api_key_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LM_DC_API_KEY", "k-123-secret")
    text = (
        "appliances:\n  lm-dc:\n    url: https://10.0.0.5:8443\n    dialect: v2\n"
        "    auth: {api_key: {env: LM_DC_API_KEY}}\n"
        f"    tls: {{fingerprint: 'sha256:{FINGERPRINT}'}}\n"
    )

    connection = inventory(tmp_path, text).appliances["lm-dc"].connection()

    assert (connection.name, connection.url, connection.dialect) == (
        "lm-dc",
        "https://10.0.0.5:8443",
        "v2",
    )
    assert isinstance(connection.credentials, ApiKey)
    assert connection.credentials.key.get_secret_value() == "k-123-secret"
    assert connection.tls.fingerprint_sha256 == "3fa2" + "00" * 29 + "9c"
    assert connection.tls.insecure is False
    assert "k-123-secret" not in repr(connection)


def test_missing_environment_variable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LM_DC_PASSWORD", raising=False)
    text = (
        "appliances:\n  lm-dc:\n    url: https://lm-dc.corp.example.com\n"
        "    auth: {username: bal, password: {env: LM_DC_PASSWORD}}\n    tls: {insecure: true}\n"
    )
    appliance = inventory(tmp_path, text).appliances["lm-dc"]

    with pytest.raises(CredentialError) as raised:
        appliance.connection()

    assert raised.value.appliance == "lm-dc"
    assert raised.value.message == (
        "the environment variable LM_DC_PASSWORD is not set; "
        "export LM_DC_PASSWORD=... before running lmctl"
    )
    assert str(raised.value) == raised.value.message


def test_missing_secret_names_the_appliance_once_when_opening_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LM_LAB_API_KEY", raising=False)
    text = (
        "appliances:\n  lm-lab:\n    url: https://10.0.0.9\n"
        "    auth: {api_key: {env: LM_LAB_API_KEY}}\n    tls: {insecure: true}\n"
    )

    async def open_lab() -> None:
        async with open_appliances(inventory(tmp_path, text), ["lm-lab"]):
            pass

    with pytest.raises(ApplianceUnavailableError) as raised:
        asyncio.run(open_lab())

    assert str(raised.value) == (
        "lm-lab: the environment variable LM_LAB_API_KEY is not set; "
        "export LM_LAB_API_KEY=... before running lmctl"
    )


def test_user_and_password_with_ca_file_relative_to_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LM_DC_PASSWORD", "pw-secret")
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "corp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    text = (
        "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
        "    auth: {username: bal, password: {env: LM_DC_PASSWORD}}\n"
        "    tls: {ca_file: certs/corp-ca.pem}\n"
    )

    connection = inventory(tmp_path, text).appliances["lm-dc"].connection()

    assert isinstance(connection.credentials, BasicCredentials)
    assert connection.credentials.username == "bal"
    assert connection.credentials.password.get_secret_value() == "pw-secret"
    assert connection.tls.ca_file == tmp_path / "certs" / "corp-ca.pem"


KEYRING_INVENTORY = (
    "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
    "    auth: {api_key: {keyring: {service: lmctl, username: lm-dc-api}}}\n"
)


def fake_keyring(monkeypatch: pytest.MonkeyPatch, stored: dict[tuple[str, str], str]) -> None:
    """Stand in for the optional keyring package (it may not be installed) with ``stored``."""
    module = types.ModuleType("keyring")
    errors = types.ModuleType("keyring.errors")
    errors.KeyringError = type("KeyringError", (Exception,), {})  # type: ignore[attr-defined]
    module.errors = errors  # type: ignore[attr-defined]
    module.get_password = lambda service, user: stored.get((service, user))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keyring", module)
    monkeypatch.setitem(sys.modules, "keyring.errors", errors)


def test_api_key_from_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_keyring(monkeypatch, {("lmctl", "lm-dc-api"): "kr-secret"})

    connection = inventory(tmp_path, KEYRING_INVENTORY).appliances["lm-dc"].connection()

    assert isinstance(connection.credentials, ApiKey)
    assert connection.credentials.key.get_secret_value() == "kr-secret"


def test_missing_keyring_entry_says_how_to_store_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_keyring(monkeypatch, {})
    appliance = inventory(tmp_path, KEYRING_INVENTORY).appliances["lm-dc"]

    with pytest.raises(CredentialError, match="keyring set lmctl lm-dc-api"):
        appliance.connection()


def test_keyring_not_installed_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    appliance = inventory(tmp_path, KEYRING_INVENTORY).appliances["lm-dc"]
    monkeypatch.setitem(sys.modules, "keyring", None)

    with pytest.raises(CredentialError, match=r"pip install 'lmctl\[keyring\]'"):
        appliance.connection()


def test_mock_appliances_need_no_auth_and_are_not_connected_directly(tmp_path: Path) -> None:
    text = "appliances:\n  lm-hq: {url: 'mock://'}\n  lm-lab: {url: 'mock://lab-1'}\n"

    appliances = inventory(tmp_path, text).appliances

    assert [(a.name, a.is_mock, a.mock_name) for a in appliances.values()] == [
        ("lm-hq", True, "lm-hq"),
        ("lm-lab", True, "lab-1"),
    ]
    with pytest.raises(CredentialError, match="is the built-in mock"):
        appliances["lm-hq"].connection()


def test_real_appliance_is_not_mock(tmp_path: Path) -> None:
    text = "appliances:\n  lm-dc:\n    url: https://10.0.0.5/\n    auth: {api_key: {env: K}}\n"

    appliance = inventory(tmp_path, text).appliances["lm-dc"]

    assert (appliance.is_mock, appliance.url, appliance.dialect) == (
        False,
        "https://10.0.0.5",
        "auto",
    )


HEX = "3fa2" + "00" * 29 + "9c"
# As some tools print it: a ``SHA256`` word, then space-separated upper-case pairs.
SPACED = "SHA256 " + " ".join(HEX.upper()[i : i + 2] for i in range(0, 64, 2))


def _inventory(fingerprint: str) -> str:
    return (
        "appliances:\n  lm-dc:\n    url: https://10.0.0.5:8443\n"
        "    auth: {api_key: {env: LM_DC_API_KEY}}\n"
        f"    tls: {{fingerprint: '{fingerprint}'}}\n"
    )


COLONS = ":".join(HEX.upper()[i : i + 2] for i in range(0, 64, 2))


@pytest.mark.parametrize(
    "spelling", [SPACED, "sha256:" + HEX, COLONS.lower(), "sha256 Fingerprint=" + COLONS]
)
def test_a_spelling_the_client_accepts_the_inventory_accepts_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.setenv("LM_DC_API_KEY", "k-123")
    write_files(tmp_path, {"appliances.yaml": _inventory(spelling)})

    connection = load_specs([tmp_path]).inventory.appliances["lm-dc"].connection()

    assert normalise_fingerprint(spelling) == HEX
    assert connection.tls.fingerprint_sha256 == HEX


def test_a_fingerprint_neither_accepts_names_file_line_and_field(tmp_path: Path) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"appliances.yaml": _inventory("sha1:" + HEX)})

    assert outcome.exit_code == 1, outcome.output
    assert reported(
        outcome,
        "appliances.yaml",
        5,
        "appliances.lm-dc.tls.fingerprint",
        f"not a SHA-256 fingerprint: 'sha1:{HEX}'; expected 64 hex digits (32 bytes)",
    ), outcome.output
