"""Shared pytest fixtures: one served HTTPS mock LoadMaster per session, reset before each test.

- ``mock_server``: the running mock (``MockServerHandle``), empty and healthy at test start;
- ``mock_control``: a ``MockControl`` for it (health, connections, faults, call log);
- ``connection_v1`` / ``connection_v2``: ``ApplianceConnection`` to it, certificate pinned;
- ``fixtures_dir``: the real appliance captures in ``tests/fixtures/loadmaster`` (copied from
  real appliances; see its README);
- every lmctl command run in-process retries its reads 10 ms apart (autouse ``_quick_retries``)
  and runs the one click command built from the app (autouse ``_command_built_once``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import typer
import typer.main
from pydantic import SecretStr
from typer._click.core import Command  # what typer.main.get_command builds (typer vendors click)

import lmctl.appliance.base
import lmctl.cli  # registers every command on the app
from lmctl.cli.app import app
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection, BasicCredentials, TlsPolicy
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle, serve_in_thread

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures" / "loadmaster"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The directory of real LoadMaster reply captures."""
    return FIXTURES_DIR


@pytest.fixture(scope="session", autouse=True)
def _command_built_once() -> Iterator[None]:
    """typer's ``CliRunner.invoke`` builds the click command from the app anew on every call
    (25 ms and more; the suite runs lmctl in-process thousands of times): build it once. A click
    command keeps nothing from one invocation to the next (its context is per call), which is
    how lmctl itself runs it, once per process."""
    built = typer.main.get_command(app)
    build = typer.main.get_command

    def get_command(typer_app: typer.Typer) -> Command:
        return built if typer_app is app else build(typer_app)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("typer.testing._get_command", get_command)
        yield


@pytest.fixture(autouse=True)
def _lmctl_logging_undone() -> Iterator[None]:
    """``-v`` run in-process points the root logger at that run's stderr, which closes with it:
    undo it after each test, or a later in-process command in the same worker writes its
    debug lines (with "Logging error" tracebacks) into whatever it prints."""
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    yield
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler and handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)
    logging.getLogger("lmctl").setLevel(logging.NOTSET)


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in-process wait 10 ms, not 0.5 s and more, between read attempts: the same
    attempts and deadline, so an unreachable appliance still fails after every retry, in a
    fraction of the time. The waits themselves are tested on the client
    (tests/loadmaster/test_client_transport.py); lmctl run as a process keeps its defaults."""
    monkeypatch.setattr(lmctl.appliance.base, "LoadMaster", partial(LoadMaster, retry_backoff=0.01))


@pytest.fixture(scope="session")
def _mock_session() -> Iterator[tuple[MockServerHandle, MockControl]]:
    with serve_in_thread() as handle, handle.control() as control:
        yield handle, control


@pytest.fixture
def mock_server(_mock_session: tuple[MockServerHandle, MockControl]) -> MockServerHandle:
    """The session's served mock, reset (no VS, API on, no marks/faults, empty log)."""
    handle, control = _mock_session
    control.reset()
    return handle


@pytest.fixture
def mock_control(
    mock_server: MockServerHandle, _mock_session: tuple[MockServerHandle, MockControl]
) -> MockControl:
    """Control API client of ``mock_server``."""
    return _mock_session[1]


def _connection(handle: MockServerHandle, dialect: str) -> ApplianceConnection:
    return ApplianceConnection.model_validate(
        {
            "name": f"mock-{dialect}",
            "url": handle.url,
            "dialect": dialect,
            "credentials": BasicCredentials(
                username=handle.username, password=SecretStr(handle.password)
            ),
            "tls": TlsPolicy(fingerprint_sha256=handle.fingerprint_sha256),
        }
    )


@pytest.fixture
def connection_v1(mock_server: MockServerHandle) -> ApplianceConnection:
    """APIv1 connection to the reset mock, certificate pinned by SHA-256."""
    return _connection(mock_server, "v1")


@pytest.fixture
def connection_v2(mock_server: MockServerHandle) -> ApplianceConnection:
    """APIv2 connection to the reset mock, certificate pinned by SHA-256."""
    return _connection(mock_server, "v2")
