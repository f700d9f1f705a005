"""The built-in ``mock://`` appliance: a mock served for one lmctl invocation, state on disk.

Each invocation starts a fresh HTTPS server on 127.0.0.1 with new random credentials, loading
and saving ``state_dir / "mock-<name>.json"``; so plan, apply and status, run one after another,
all see the same appliance.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from lmctl.loadmaster.connection import ApplianceConnection, BasicCredentials, TlsPolicy
from lmctl.mock.server import MockServerHandle, serve_in_thread


def state_file_for(name: str, state_dir: Path) -> Path:
    """Where the ``mock://`` appliance ``name`` keeps its state."""
    return state_dir / f"mock-{name}.json"


def start_embedded(name: str, state_dir: Path) -> tuple[MockServerHandle, ApplianceConnection]:
    """Serve the mock appliance ``name`` and return it with a connection that pins its cert.

    The caller closes the handle when done (it is a context manager).
    """
    handle = serve_in_thread(
        host="127.0.0.1",
        port=0,
        tls=True,
        state_file=state_file_for(name, state_dir),
        password=secrets.token_urlsafe(16),
        api_key=secrets.token_hex(16),
    )
    connection = ApplianceConnection(
        name=name,
        url=handle.url,
        dialect="v2",
        credentials=BasicCredentials(username=handle.username, password=SecretStr(handle.password)),
        tls=TlsPolicy(fingerprint_sha256=handle.fingerprint_sha256),
    )
    return handle, connection
