"""The built-in ``mock://`` appliance: a mock served for one lmctl invocation, state on disk.

Each invocation starts a fresh HTTPS server on 127.0.0.1 with new random credentials, loading
and saving ``state_dir / "mock-<name>.json"``; so plan, apply and status, run one after another,
all see the same appliance. What it returns is what a client needs to reach it, as it would a
real appliance (URL, credentials, the certificate to pin); the client is the caller's to build.
``embedded_state`` gives the same appliance without serving it, for what only the test harness
changes (``lmctl mock health``: a real server marked Down).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from lmctl.mock.appliance import MockAppliance
from lmctl.mock.control import ClosesOnExit
from lmctl.mock.persistence import StateStore
from lmctl.mock.server import MockServerHandle, serve_in_thread


def state_file_for(name: str, state_dir: Path) -> Path:
    """Where the ``mock://`` appliance ``name`` keeps its state."""
    return state_dir / f"mock-{name}.json"


@dataclass(frozen=True)
class EmbeddedMock(ClosesOnExit):
    """A running ``mock://`` appliance: how to reach and trust it, where its state lives."""

    handle: MockServerHandle
    state_file: Path

    @property
    def url(self) -> str:
        """The HTTPS base URL (127.0.0.1, a free port)."""
        return self.handle.url

    @property
    def fingerprint_sha256(self) -> str:
        """The SHA-256 of the server certificate, to pin."""
        fingerprint = self.handle.fingerprint_sha256
        assert fingerprint is not None  # always served over TLS
        return fingerprint

    @property
    def username(self) -> str:
        """The admin user (HTTP Basic)."""
        return self.handle.username

    @property
    def password(self) -> str:
        """The admin password, new for every start."""
        return self.handle.password

    def close(self) -> None:
        """Stop serving (the state stays in ``state_file``)."""
        self.handle.close()


def start_embedded(name: str, state_dir: Path) -> EmbeddedMock:
    """Serve the mock appliance ``name`` with its state under ``state_dir``.

    The caller closes it when done (it is a context manager).
    """
    state_file = state_file_for(name, state_dir)
    handle = serve_in_thread(
        host="127.0.0.1",
        port=0,
        tls=True,
        state_file=state_file,
        password=secrets.token_urlsafe(16),
        api_key=secrets.token_hex(16),
    )
    return EmbeddedMock(handle, state_file)


def embedded_state(name: str, state_dir: Path) -> MockAppliance:
    """The ``mock://`` appliance ``name`` as its state file holds it, not served: what the
    control API changes (health marks) is changed here and saved to that file, for the next
    invocation that starts it. A new state file is written at once when there is none."""
    return MockAppliance(store=StateStore(state_file_for(name, state_dir)))
