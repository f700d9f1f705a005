"""The public API: what ``from lmctl import ...`` offers, and one root for every user error."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lmctl
from lmctl.appliance.base import ApplianceUnavailableError, ReadError
from lmctl.cli.app import CommandError
from lmctl.errors import LmctlError
from lmctl.loadmaster.errors import (
    AuthenticationError,
    CertificateError,
    LoadMasterError,
    TransportError,
    WriteOutcomeUnknownError,
)
from lmctl.maintenance.drain import UnknownMemberError
from lmctl.mock.control import MockControlError
from lmctl.mock.persistence import StateFileError
from lmctl.plan.planfile import PlanFileError
from lmctl.specs import CredentialError, SpecError
from lmctl.statedir import ApplianceBusyError, StateDirError
from lmctl.status.check import UnknownArrayError


@pytest.mark.parametrize("name", [name for name in lmctl.__all__ if name != "__version__"])
def test_every_public_name_is_importable_from_lmctl(name: str) -> None:
    assert getattr(lmctl, name) is not None


def test_the_public_names_and_their_modules_agree() -> None:
    assert sorted(lmctl._PUBLIC) == sorted(name for name in lmctl.__all__ if name != "__version__")


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = lmctl.nothing_here


@pytest.mark.parametrize(
    "error",
    [
        SpecError,
        CredentialError,
        LoadMasterError,
        AuthenticationError,
        CertificateError,
        TransportError,
        WriteOutcomeUnknownError,
        ApplianceUnavailableError,
        ApplianceBusyError,
        ReadError,
        PlanFileError,
        UnknownArrayError,
        UnknownMemberError,
        MockControlError,
        StateFileError,
        StateDirError,
        CommandError,
    ],
)
def test_every_user_facing_error_is_an_lmctl_error(error: type[Exception]) -> None:
    assert issubclass(error, LmctlError)


def test_importing_lmctl_loads_no_heavy_module() -> None:
    # The CLI imports the lmctl package first: it must not pull in httpx or pydantic.
    code = "import sys, lmctl; print(sorted(m for m in ('httpx', 'pydantic') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
