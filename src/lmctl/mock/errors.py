"""The one way a mock command fails: a status code and the text the appliance would send."""

from __future__ import annotations


class CommandError(Exception):
    """A refused command: ``status`` is both the HTTP status and the envelope's ``stat``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def missing(parameter: str) -> CommandError:
    """400: a mandatory parameter is absent."""
    return CommandError(400, f"Missing parameter: {parameter}")


def invalid(message: str) -> CommandError:
    """422: an invalid operation (unknown object, duplicate, bad value)."""
    return CommandError(422, message)
