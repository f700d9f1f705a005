"""Fixtures of the client's tests against the served mock."""

from __future__ import annotations

import pytest

from lmctl.loadmaster.connection import ApplianceConnection


@pytest.fixture(params=["v1", "v2"])
def served(request: pytest.FixtureRequest) -> ApplianceConnection:
    """The served mock's connection (pinned HTTPS), once in each dialect."""
    connection: ApplianceConnection = request.getfixturevalue(f"connection_{request.param}")
    return connection
