"""Expansion of array specs into the virtual services they want (the Exchange side of lmctl)."""

from lmctl.exchange.expand import (
    DesiredRealServer,
    DesiredVirtualService,
    effective_profile,
    expand,
    expand_all,
)

__all__ = [
    "DesiredRealServer",
    "DesiredVirtualService",
    "effective_profile",
    "expand",
    "expand_all",
]
