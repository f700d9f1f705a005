"""Open clients to the inventory's appliances, real or built-in (``mock://``), for one command.

>>> async with open_appliances(spec_set, ["lm-hq"]) as clients:   # doctest: +SKIP
...     services = await clients["lm-hq"].list_virtual_services()

A real appliance is reached with ``ApplianceSpec.connection()`` (secrets from the environment or
the keyring). A ``mock://`` appliance is served for the duration of the block by
``lmctl.mock.embedded.start_embedded`` (state under ``state_dir``) and reached over real HTTPS
with its certificate pinned, exactly like a real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from lmctl.defaults import DEFAULT_STATE_DIR
from lmctl.errors import LmctlError
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection, BasicCredentials, TlsPolicy
from lmctl.loadmaster.errors import LoadMasterError
from lmctl.reconcile.statedir import private_dir
from lmctl.specs import CredentialError, Inventory, SpecSet

if TYPE_CHECKING:
    from lmctl.specs import ApplianceSpec


class ApplianceUnavailableError(LmctlError):
    """Some appliances cannot be opened; ``reasons`` maps each to why (no secret in it)."""

    def __init__(self, reasons: dict[str, str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(f"{name}: {why}" for name, why in sorted(reasons.items())))


class Appliances(dict[str, LoadMaster]):
    """Open clients by appliance name; ``unavailable`` says why any other one could not open."""

    def __init__(self) -> None:
        super().__init__()
        self.unavailable: dict[str, str] = {}


def _connect(
    spec: ApplianceSpec, name: str, state_dir: Path, stack: AsyncExitStack
) -> ApplianceConnection:
    if not spec.is_mock:
        return spec.connection()
    from lmctl.mock.embedded import start_embedded

    private_dir(state_dir)  # before the mock saves its state there
    mock = start_embedded(spec.mock_name, state_dir)
    stack.callback(mock.close)
    return ApplianceConnection(
        name=name,
        url=mock.url,
        dialect="v2",
        credentials=BasicCredentials(username=mock.username, password=SecretStr(mock.password)),
        tls=TlsPolicy(fingerprint_sha256=mock.fingerprint_sha256),
    )


@asynccontextmanager
async def open_appliances(
    source: SpecSet | Inventory,
    names: Iterable[str],
    *,
    state_dir: Path = DEFAULT_STATE_DIR,
    timeout: float = 10.0,
    strict: bool = True,
) -> AsyncIterator[Appliances]:
    """Clients to ``names`` for the ``async with`` block, all closed (and mocks stopped) after.

    With ``strict`` (the default) any appliance that cannot be opened (unknown name, missing
    secret, unreadable CA file) raises ``ApplianceUnavailableError`` naming each; otherwise it
    is left out and listed in ``Appliances.unavailable``.
    """
    inventory = source.inventory if isinstance(source, SpecSet) else source
    clients = Appliances()
    async with AsyncExitStack() as stack:
        for name in dict.fromkeys(names):
            spec = inventory.appliance(name)
            if spec is None:
                clients.unavailable[name] = "not in the inventory"
                continue
            try:
                connection = _connect(spec, name, state_dir, stack)
                client = LoadMaster(connection, timeout=timeout)
                clients[name] = await stack.enter_async_context(client)
            except (CredentialError, LoadMasterError, OSError) as error:
                clients.unavailable[name] = str(error) or type(error).__name__
        if strict and clients.unavailable:
            raise ApplianceUnavailableError(clients.unavailable)
        yield clients
