"""The base of every spec model: frozen, and unknown keys are errors (typos are never ignored)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SpecModel(BaseModel):
    """A part of an array spec or of the inventory, as read from YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")
