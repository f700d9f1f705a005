"""Counted nouns for reconcile's messages: ``1 write``, ``2 writes``, ``1 VS``, ``3 VSs``."""

from __future__ import annotations


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun in the number it takes (``plural`` defaults to singular + s)."""
    noun = singular if count == 1 else (plural or f"{singular}s")
    return f"{count} {noun}"
