"""Expansion of array specs into the virtual services they want (the Exchange side of lmctl)."""

from lmctl.exchange.expand import (
    DesiredRealServer,
    DesiredVirtualService,
    expand,
    expand_all,
)

__all__ = [
    "DesiredRealServer",
    "DesiredVirtualService",
    "expand",
    "expand_all",
]
