"""The seam between lmctl's decisions and a box: the ``Appliance`` protocol, and opening the
inventory's appliances for one command.

Planning, applying, status and drain see an appliance only through ``Appliance``: observe its
state (one read), read its live connection counts, apply one change, take a backup. The
LoadMaster implementation (``lmctl.appliance.loadmaster``) translates to and from the wire; a
second vendor would be a second implementation beside it. The built-in ``mock://`` appliance is a
detail of opening one: a mock LoadMaster served for the duration of the command and reached over
real HTTPS with its certificate pinned, exactly like a real one.

>>> async with open_appliances(spec_set, ["lm-hq"]) as appliances:   # doctest: +SKIP
...     state = await appliances["lm-hq"].observe()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from pydantic import SecretStr

from lmctl.appliance.changes import Change
from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.appliance.state import ApplianceState, Connections
from lmctl.errors import LmctlError, error_text
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection, BasicCredentials, TlsPolicy
from lmctl.statedir import DEFAULT_STATE_DIR, private_dir

if TYPE_CHECKING:
    from lmctl.specs import ApplianceSpec, Inventory, SpecSet


class Appliance(Protocol):
    """One load balancer, as lmctl's decisions see it.

    Every method raises ``LmctlError`` (or ``OSError``) for an appliance-side problem.
    """

    @property
    def name(self) -> str:
        """The appliance's name in the inventory."""
        ...

    async def observe(self) -> ApplianceState:
        """Every addressable virtual service with its real servers: one read."""
        ...

    async def connections(self) -> Connections:
        """Live active connections per real server of each virtual service: one read."""
        ...

    async def certificates(self) -> frozenset[str]:
        """The names of the SSL certificates installed on the appliance: one read."""
        ...

    async def install_certificate(self, name: str, pem: bytes, *, replace: bool = False) -> None:
        """Install the certificate and private key in ``pem`` as ``name`` (one write; ``replace``
        overwrites one of that name). Only ``lmctl mock addcert`` calls it, for a ``mock://``
        appliance: lmctl does not install certificates on a real one."""
        ...

    async def apply(self, change: Change) -> None:
        """Make one change: one write (never blindly retried)."""
        ...

    async def backup(self) -> bytes:
        """The appliance's configuration backup, as its own restore takes it."""
        ...

    async def restore(self, archive: bytes) -> None:
        """Restore the virtual services of a backup ``backup`` returned: one write."""
        ...


class ApplianceUnavailableError(LmctlError):
    """Some appliances cannot be opened; ``reasons`` maps each to why (no secret in it)."""

    def __init__(self, reasons: Mapping[str, str]) -> None:
        self.reasons = dict(reasons)
        super().__init__("; ".join(f"{name}: {why}" for name, why in sorted(reasons.items())))


class ReadError(LmctlError):
    """At least one appliance could not be read; ``failures`` maps each to why."""

    def __init__(self, failures: Mapping[str, str]) -> None:
        self.failures = dict(failures)
        super().__init__(
            "; ".join(f"cannot read {name}: {why}" for name, why in sorted(failures.items()))
        )


class Appliances(dict[str, Appliance]):
    """Open appliances by name; ``unavailable`` says why any other one could not open."""

    def __init__(self) -> None:
        super().__init__()
        self.unavailable: dict[str, str] = {}


async def _observe_or_why(appliance: Appliance) -> ApplianceState | str:
    try:
        return await appliance.observe()
    except (LmctlError, OSError) as error:
        return error_text(error)


async def observe_all(appliances: Mapping[str, Appliance]) -> dict[str, ApplianceState]:
    """Every appliance's state, all read concurrently; ``ReadError`` naming each that failed."""
    names = sorted(appliances)
    replies = await asyncio.gather(*(_observe_or_why(appliances[name]) for name in names))
    failures = {n: r for n, r in zip(names, replies, strict=True) if isinstance(r, str)}
    if failures:
        raise ReadError(failures)
    return {n: r for n, r in zip(names, replies, strict=True) if not isinstance(r, str)}


async def _certificates_or_why(appliance: Appliance) -> frozenset[str] | str:
    try:
        return await appliance.certificates()
    except (LmctlError, OSError) as error:
        return error_text(error)


async def certificates_of(
    appliances: Mapping[str, Appliance], names: Iterable[str]
) -> dict[str, frozenset[str]]:
    """The installed certificates of the appliances ``names`` (one ``listcert`` each, all
    concurrently); ``ReadError`` naming each that failed."""
    chosen = sorted(set(names))
    replies = await asyncio.gather(*(_certificates_or_why(appliances[name]) for name in chosen))
    failures = {n: r for n, r in zip(chosen, replies, strict=True) if isinstance(r, str)}
    if failures:
        raise ReadError(failures)
    return {n: r for n, r in zip(chosen, replies, strict=True) if not isinstance(r, str)}


def _open_one(
    spec: ApplianceSpec, name: str, state_dir: Path, timeout: float, stack: AsyncExitStack
) -> LoadMasterAppliance:
    if spec.is_mock:
        from lmctl.mock.embedded import start_embedded

        private_dir(state_dir)  # before the mock saves its state there
        mock = start_embedded(spec.mock_name, state_dir)
        stack.callback(mock.close)
        # Reached like a real appliance: over HTTPS, its certificate pinned.
        connection = ApplianceConnection(
            name=name,
            url=mock.url,
            dialect="v2",
            credentials=BasicCredentials(username=mock.username, password=SecretStr(mock.password)),
            tls=TlsPolicy(fingerprint_sha256=mock.fingerprint_sha256),
        )
    else:
        connection = spec.connection()
    return LoadMasterAppliance(name, LoadMaster(connection, timeout=timeout))


@asynccontextmanager
async def open_appliances(
    source: SpecSet | Inventory,
    names: Iterable[str],
    *,
    state_dir: Path = DEFAULT_STATE_DIR,
    timeout: float = 10.0,
    strict: bool = True,
) -> AsyncIterator[Appliances]:
    """The appliances ``names`` for the ``async with`` block, all closed (mocks stopped) after.

    With ``strict`` (the default) any appliance that cannot be opened (unknown name, missing
    secret, unreadable CA file) raises ``ApplianceUnavailableError`` naming each; otherwise it
    is left out and listed in ``Appliances.unavailable``.
    """
    from lmctl.specs import SpecSet

    inventory = source.inventory if isinstance(source, SpecSet) else source
    opened = Appliances()
    async with AsyncExitStack() as stack:
        for name in dict.fromkeys(names):
            spec = inventory.appliance(name)
            if spec is None:
                opened.unavailable[name] = "not in the inventory"
                continue
            try:
                appliance = _open_one(spec, name, state_dir, timeout, stack)
                opened[name] = await stack.enter_async_context(appliance)
            except (LmctlError, OSError) as error:
                opened.unavailable[name] = error_text(error)
        if strict and opened.unavailable:
            raise ApplianceUnavailableError(opened.unavailable)
        yield opened
