"""The ownership marker lmctl writes into a virtual service's ``NickName``.

A virtual service is lmctl's only if its NickName parses as a marker; everything else on an
appliance is left alone. The marker names the array and the service, so a VS can be traced back
to the spec that wants it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER_PREFIX = "lmctl:"
# Array names and service names are slugs, so the marker stays inside the characters every
# firmware accepts in a NickName.
_MARKER = re.compile(r"^lmctl:(?P<array>[a-z0-9][a-z0-9-]*)/(?P<service>[a-z0-9][a-z0-9-]*)$")


@dataclass(frozen=True, slots=True)
class Owner:
    """The array and service that a marked virtual service belongs to."""

    array: str
    service: str

    def marker(self) -> str:
        """The NickName value that marks a virtual service as this owner's."""
        return f"{MARKER_PREFIX}{self.array}/{self.service}"


def owner_of(nickname: str | None) -> Owner | None:
    """The owner named by a NickName, or None when the VS carries no lmctl marker."""
    if not nickname:
        return None
    match = _MARKER.match(nickname)
    if match is None:
        return None
    return Owner(array=match["array"], service=match["service"])
