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
from lmctl.maintenance.server import UnknownMemberError
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


# Exceptions no user input raises to the command line: each is turned into something else at a
# boundary of its own (named here). Every other exception class lmctl defines is an LmctlError.
INTERNAL = {
    # a warning, shown once by the CLI, not an error
    "lmctl.loadmaster.connection.InsecureTlsWarning": "warnings.warn",
    # raised inside the TLS handshake; the transport reports CertificateError
    "lmctl.loadmaster.connection.PinnedCertificateMismatch": "lmctl.loadmaster.transport",
    # an unreadable reply body; the transport reports MalformedReplyError
    "lmctl.loadmaster.wire.ReplyFormatError": "lmctl.loadmaster.transport",
    # a web page where a reply was expected; the transport reports MalformedReplyError
    "lmctl.loadmaster.wire.WebPageError": "lmctl.loadmaster.transport",
    # a redirect, stopped in httpx's response hook; the transport reports MalformedReplyError
    "lmctl.loadmaster.transport._Redirected": "lmctl.loadmaster.transport",
    # the mock's refusal of an API call; its server answers it as the appliance's error reply
    "lmctl.mock.commands.ApiRefusal": "lmctl.mock.server",
    # no regular file where lmctl reads one; SpecError, StateFileError or CertificateError
    # report it
    "lmctl.files.NotARegularFile": "lmctl.specs.source, lmctl.mock.persistence, lmctl.mock.tls",
    # a file larger than lmctl reads of its kind; StateDirError (the journal) or BackupError
    # (a record) report it
    "lmctl.files.FileTooLarge": "lmctl.apply.journal, lmctl.apply.backups",
    # a DNS server's error answer to exchange check's public resolver probe: a warning there
    "lmctl.cutover.dns.DnsError": "lmctl.cutover.preflight",
    # the mock's refusal of a control call; answered as HTTP 400, MockControlError at the client
    "lmctl.mock.control.ControlError": "lmctl.mock.control",
    # a plan lmctl itself got wrong (a bug in lmctl, never caused by the user's input)
    "lmctl.plan.simulate.SimulationError": "a bug report",
}


def defined_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of lmctl (``lmctl.__main__`` runs the app)."""
    import importlib
    import inspect
    import pkgutil

    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(lmctl.__path__, "lmctl."):
        if module_info.name == "lmctl.__main__":
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_exception_class_lmctl_defines_is_an_lmctl_error_or_stays_inside() -> None:
    found = defined_exceptions()

    outside = {name for name, cls in found.items() if not issubclass(cls, LmctlError)}
    assert outside == set(INTERNAL)
    assert len(found) - len(outside) >= 25  # the walk does find the LmctlError family
