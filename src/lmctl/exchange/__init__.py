"""Expansion of array specs into the virtual services they want (the Exchange side of lmctl)."""

from lmctl.exchange.desired import (
    DesiredContentRule,
    DesiredRealServer,
    DesiredSubService,
    DesiredVirtualService,
)
from lmctl.exchange.expand import expand, expand_all

__all__ = [
    "DesiredContentRule",
    "DesiredRealServer",
    "DesiredSubService",
    "DesiredVirtualService",
    "expand",
    "expand_all",
]
