"""What can go wrong talking to a LoadMaster, as exceptions a user can act on.

Every error names the appliance and says what to do. Messages pass through the secret scrubber
(``lmctl.loadmaster.redact``) when they are made, so no API key or password can leak through
``str()``, ``repr()`` or a traceback.
"""

from __future__ import annotations

from lmctl.errors import LmctlError
from lmctl.loadmaster.redact import scrub


class LoadMasterError(LmctlError):
    """Base of every error the LoadMaster client raises."""

    def __init__(self, appliance: str, message: str, *, command: str | None = None) -> None:
        self.appliance = appliance
        self.command = command
        self.message = scrub(message)
        super().__init__(self.message)


class AuthenticationError(LoadMasterError):
    """HTTP 401: the appliance refused the credentials."""


class PermissionDeniedError(LoadMasterError):
    """HTTP 403: the API user lacks the permission for this command."""


class ApiDisabledError(LoadMasterError):
    """HTTP 404: the API is off on the appliance (or the URL is not a LoadMaster)."""


class UnknownCommandError(LoadMasterError):
    """HTTP 405: the firmware does not know this command."""


class MissingParameterError(LoadMasterError):
    """HTTP 400: a mandatory parameter was missing."""


class InvalidOperationError(LoadMasterError):
    """HTTP 422: the appliance refused the operation; ``reason`` is its own message."""

    def __init__(
        self, appliance: str, message: str, *, command: str | None = None, reason: str = ""
    ) -> None:
        super().__init__(appliance, message, command=command)
        self.reason = scrub(reason)


class UnknownObjectError(InvalidOperationError):
    """HTTP 422 naming an object that does not exist (``Unknown VS``, ``Unknown RS``)."""


class TransportError(LoadMasterError):
    """The exchange failed below the API: connection refused or dropped, timeout, or an HTTP 5xx
    without the API's error envelope (one with it is the appliance's refusal, mapped as such).

    ``request_sent`` is False only when the request certainly never reached the appliance
    (the connection could not be made), which makes a write safe to send again.
    """

    def __init__(
        self,
        appliance: str,
        message: str,
        *,
        command: str | None = None,
        request_sent: bool = True,
        status: int | None = None,
    ) -> None:
        super().__init__(appliance, message, command=command)
        self.request_sent = request_sent
        self.status = status


class MalformedReplyError(LoadMasterError):
    """The appliance answered something that is not a well-formed API reply."""


class CertificateError(LoadMasterError):
    """The appliance's TLS certificate failed verification or did not match the pinned one."""

    def __init__(
        self,
        appliance: str,
        message: str,
        *,
        expected: str | None = None,
        seen: str | None = None,
    ) -> None:
        super().__init__(appliance, message)
        self.expected = expected
        self.seen = seen


class WriteOutcomeUnknownError(LoadMasterError):
    """A write failed ambiguously and reading the object back could not tell whether it applied."""


_INVALID_OBJECT_PREFIXES = ("unknown vs", "unknown rs", "unknown real server", "unknown virtual")

_ADVICE: dict[int, tuple[type[LoadMasterError], str]] = {
    400: (
        MissingParameterError,
        "{appliance} rejected {command}: a mandatory parameter is missing ({reason}); lmctl "
        "should have sent it: please report this with the output of lmctl -vv",
    ),
    401: (
        AuthenticationError,
        "{appliance} refused the credentials: check the API key or user and password "
        "named for {appliance} in the inventory",
    ),
    403: (
        PermissionDeniedError,
        "the API user on {appliance} may not run {command}: grant it the needed permission "
        "under System Administration > User Management",
    ),
    404: (
        ApiDisabledError,
        "the API is disabled on {appliance}: enable it under Certificates & Security > "
        "Remote Access (or check that the inventory URL points at a LoadMaster)",
    ),
    405: (
        UnknownCommandError,
        "{appliance} does not know the command {command}: its firmware is too old for it; "
        "upgrade the LoadMaster firmware to use it",
    ),
}


_NO_V2_HINT = (
    "; or its firmware predates APIv2 (7.2.52): set dialect: auto (or v1) for {appliance} "
    "in the inventory"
)


def error_for_status(
    appliance: str, command: str, status: int, reason: str | None, *, dialect: str = "v1"
) -> LoadMasterError:
    """The exception for a failed reply: its HTTP/API ``status`` and the appliance's own text.

    ``dialect`` is the one the request used: a 404 to APIv2 may also mean old firmware.
    """
    text = (reason or "").strip()
    detail = f": {text}" if text else ""
    if status == 422:
        return _refusal(appliance, command, text)
    if status in _ADVICE:
        kind, template = _ADVICE[status]
        if status == 404 and dialect == "v2":
            template += _NO_V2_HINT
        message = template.format(appliance=appliance, command=command, reason=text or "no detail")
        return kind(appliance, message, command=command)
    if status >= 500:
        return TransportError(
            appliance,
            f"{appliance} failed on {command} with HTTP {status}{detail}; the appliance may be "
            f"busy or failing over, try again",
            command=command,
            status=status,
        )
    return MalformedReplyError(
        appliance,
        f"{appliance} answered {command} with unexpected status {status}{detail}",
        command=command,
    )


def _refusal(appliance: str, command: str, text: str) -> InvalidOperationError:
    """HTTP 422 with the appliance's reason; an unknown VS or RS gets its own type."""
    unknown = text.lower().startswith(_INVALID_OBJECT_PREFIXES)
    kind = UnknownObjectError if unknown else InvalidOperationError
    return kind(
        appliance,
        f"{appliance} refused {command}: {text or 'invalid operation'}",
        command=command,
        reason=text,
    )
