"""Expansion of array specs into the virtual services they want (the Exchange side of lmctl)."""

from lmctl.exchange.expand import effective_profile, expand, expand_all

__all__ = ["effective_profile", "expand", "expand_all"]
