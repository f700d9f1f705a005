"""Moved: ownership lives in ``lmctl.appliance.state`` (this module goes with the redesign)."""

from lmctl.appliance.state import MARKER_PREFIX, Owner, owner_of

__all__ = ["MARKER_PREFIX", "Owner", "owner_of"]
