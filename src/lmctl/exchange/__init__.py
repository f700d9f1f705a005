"""Exchange profiles and the expansion of array specs into desired virtual services."""

from lmctl.exchange.expand import effective_profile, expand, expand_all
from lmctl.exchange.profiles import ServiceProfile, profile, profiles_for

__all__ = ["ServiceProfile", "effective_profile", "expand", "expand_all", "profile", "profiles_for"]
