"""The ownership marker lmctl writes into a virtual service's ``NickName``.

A virtual service is lmctl's only if its NickName parses as a marker; everything else on an
appliance is left alone. The marker names the array and the service, so a VS can be traced back
to the spec that wants it: ``lmctl.<array>.<service>``. Kemp documents a NickName as letters,
digits and ``. @ - _`` only; array and service names are slugs without dots, so the marker stays
inside that set and parses back unambiguously.

lmctl 0.1 wrote ``lmctl:<array>/<service>``, outside that set. A VS marked so is still lmctl's:
plan re-marks it in place (one ``modvs`` changing its NickName). Both forms are matched exactly,
from the first character to the last: a NickName with anything around the marker (even
whitespace), or in other letter case, is not lmctl's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER_PREFIX = "lmctl."
_SLUG = r"[a-z0-9][a-z0-9-]*"
_MARKER = re.compile(rf"\Almctl\.(?P<array>{_SLUG})\.(?P<service>{_SLUG})\Z")
_LEGACY_MARKER = re.compile(rf"\Almctl:(?P<array>{_SLUG})/(?P<service>{_SLUG})\Z")


@dataclass(frozen=True, slots=True)
class Owner:
    """The array and service that a marked virtual service belongs to."""

    array: str
    service: str

    def marker(self) -> str:
        """The NickName value that marks a virtual service as this owner's."""
        return f"{MARKER_PREFIX}{self.array}.{self.service}"


def owner_of(nickname: str | None) -> Owner | None:
    """The owner named by a NickName (current or legacy marker), or None when it is no marker."""
    if not nickname:
        return None
    match = _MARKER.match(nickname) or _LEGACY_MARKER.match(nickname)
    if match is None:
        return None
    return Owner(array=match["array"], service=match["service"])
