"""Sites for plan and apply integration tests, with lmctl run in-process.

- ``Site``: a throw-away site: array specs on disk and an inventory that points at the served
  mock over HTTPS (certificate pinned);
- ``example_site``: a copy of the repository's example arrays (``arrays/``: lm-hq and
  lm-branch, both built-in ``mock://`` appliances served over HTTPS on loopback), with the
  certificate of its per-protocol array installed on lm-hq.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualService, VirtualServiceKey
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    Outcome,
    ServedProcess,
    invoke,
    write_mock_inventory,
)

# The mock served in a thread of the tests, or ``lmctl mock serve`` run as a process.
Served = MockServerHandle | ServedProcess

APPLIANCE = "lm-test"
EXAMPLE_ARRAYS = Path(__file__).resolve().parents[1] / "arrays"


@dataclass
class Array:
    """The few things of an Exchange 2016 namespace the tests vary."""

    name: str
    vip: str
    members: list[str]
    services: list[str] = field(default_factory=lambda: ["https", "smtp"])
    scheduling: str = "rr"
    site: str = ""

    def spec(self) -> dict[str, Any]:
        """The YAML document of this array."""
        return {
            "name": self.name,
            "site": self.site or self.name.upper(),
            "exchange": "2016 CU23",
            "fqdn": f"{self.name}.corp.example.com",
            "vip": self.vip,
            "appliance": APPLIANCE,
            "scheduling": self.scheduling,
            "members": [
                {"name": f"{self.name}-cas{n}", "address": address}
                for n, address in enumerate(self.members, start=1)
            ],
            "services": self.services,
        }


class Site:
    """Specs under ``root/arrays`` for the served mock, and ways to run lmctl on them.

    The inventory reads the mock's password from ``PASSWORD_VARIABLE``; ``Site.open`` sets it
    for the test.
    """

    @classmethod
    def open(
        cls, root: Path, server: Served, monkeypatch: pytest.MonkeyPatch, *arrays: Array
    ) -> Site:
        """A site for ``server`` whose password the inventory finds in the environment, with
        the specs of ``arrays`` written."""
        monkeypatch.setenv(PASSWORD_VARIABLE, server.password)
        site = cls(root, server)
        site.write(*arrays)
        return site

    def __init__(self, root: Path, server: Served) -> None:
        self.root = root
        self.server = server
        self.arrays_dir = root / "arrays"
        self.arrays_dir.mkdir()
        self.state_dir = root / ".lmctl"
        write_mock_inventory(self.arrays_dir, server, APPLIANCE, "v2")

    def write(self, *arrays: Array) -> None:
        """Write (or overwrite) array specs."""
        for array in arrays:
            path = self.arrays_dir / f"{array.name}.yaml"
            path.write_text(yaml.safe_dump(array.spec(), sort_keys=False))

    def remove(self, name: str) -> None:
        """Take an array out of the specs."""
        (self.arrays_dir / f"{name}.yaml").unlink()

    def lmctl(self, *args: str) -> Outcome:
        """Run ``lmctl`` in-process (no terminal: plain output, stdin not a tty)."""
        return invoke(*args, "--state-dir", str(self.state_dir), catch_exceptions=False)

    def plan(self, *args: str) -> Outcome:
        """``lmctl plan <arrays> --detailed-exitcode ...``."""
        return self.lmctl(
            "plan", str(self.arrays_dir), "--detailed-exitcode", "--request-timeout", "3", *args
        )

    def apply(self, *args: str) -> Outcome:
        """``lmctl apply <arrays> --auto-approve ...``."""
        return self.lmctl(
            "apply", str(self.arrays_dir), "--auto-approve", "--request-timeout", "3", *args
        )

    def connection(self) -> ApplianceConnection:
        """A connection for raw API calls from the test (drift, unmarked VSs)."""
        return ApplianceConnection.model_validate(
            {
                "name": APPLIANCE,
                "url": self.server.url,
                "dialect": "v1",
                "credentials": {"username": self.server.username, "password": self.server.password},
                "tls": {"fingerprint_sha256": self.server.fingerprint_sha256},
            }
        )

    def read(self) -> list[VirtualService]:
        """Every VS on the mock now (one listvs)."""
        return asyncio.run(self._read())

    async def _read(self) -> list[VirtualService]:
        async with LoadMaster(self.connection()) as client:
            return await client.list_virtual_services()

    def rename(self, key: VirtualServiceKey, nickname: str) -> None:
        """Give the VS at ``key`` any NickName, through a backup and a restore of the appliance's
        configuration: the way a NickName the API refuses (lmctl 0.1's marker, a look-alike with
        a space or a newline) reaches an appliance."""
        self.restore_with(key, {"NickName": nickname})

    def restore_with(self, key: VirtualServiceKey, settings: dict[str, Any]) -> None:
        """Set any of the VS's stored settings (``NRules``, ``EspEnabled`` ... which no API
        command of the mock writes) through a backup and a restore of the configuration."""
        assert self.server.ca_file is not None
        with httpx.Client(
            base_url=self.server.url,
            auth=(self.server.username, self.server.password),
            verify=ssl.create_default_context(cafile=str(self.server.ca_file)),
        ) as api:
            saved = json.loads(gzip.decompress(api.get("/access/backup").content))
            (service,) = [
                entry
                for entry in saved["services"]
                if (entry["address"], entry["port"]) == (key.address, key.port)
            ]
            service["settings"].update(settings)
            restored = api.post(
                "/access/restore",
                params={"type": "2"},
                content=gzip.compress(json.dumps(saved).encode()),
            )
        assert restored.status_code == 200, restored.text

    def raw(self, calls: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> None:
        """Make raw client calls (method name, args, kwargs), as an operator would by hand."""
        asyncio.run(self._raw(calls))

    async def _raw(self, calls: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> None:
        async with LoadMaster(self.connection()) as client:
            for method, args, kwargs in calls:
                await getattr(client, method)(*args, **kwargs)


# The certificate the example per-protocol array (arrays/mail-2019.yaml) names, and its host.
EXAMPLE_CERTIFICATE = ("mail-2019", "mail2019.corp.example.com")


def install_example_certificate(arrays: Path, state_dir: Path) -> None:
    """Install the example per-protocol array's certificate on lm-hq as the README's Quickstart
    does (``lmctl mock addcert``), in the ``mock://`` state under ``state_dir``."""
    name, host = EXAMPLE_CERTIFICATE
    inventory = str(arrays / "appliances.yaml")
    outcome = invoke(
        "mock", "addcert", name, "--appliance", "lm-hq", "--self-signed", host,
        "--inventory", inventory, "--state-dir", str(state_dir),
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output


def example_site(root: Path, *, certificate: bool = True) -> Path:
    """A copy of the example arrays under ``root``, their certificate installed on lm-hq (the
    state in ``root/.lmctl``, as ``lmctl`` uses it) unless told not to (a test of a state
    directory lmctl must refuse makes its own); returns the ``arrays`` directory."""
    arrays = root / "arrays"
    shutil.copytree(EXAMPLE_ARRAYS, arrays)
    if certificate:
        install_example_certificate(arrays, root / ".lmctl")
    return arrays


def lmctl(root: Path, *args: str) -> Outcome:
    """``lmctl ARGS --state-dir ROOT/.lmctl`` in-process."""
    return invoke(*args, "--state-dir", str(root / ".lmctl"), catch_exceptions=False)
