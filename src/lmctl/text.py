"""Text lmctl did not write (a spec value, an appliance's reply, a file name) shown safely.

Controls (C0 but newline, DEL, C1), format characters (bidi overrides and isolates, zero-width
characters, the BOM) and line/paragraph separators move the cursor, rewrite the screen or the
window title, or reorder and hide text. None belongs in what lmctl prints: ``escaped`` shows each
as its Python escape (``\\x1b``, ``\\t``, ``\\u202e``), visible and inert.
"""

from __future__ import annotations

import re
import unicodedata

# Anything but printable ASCII and newline is looked at character by character; output is
# almost all ASCII, so this keeps escaping off the hot path.
_NOT_PLAIN = re.compile(r"[^\x20-\x7e\n]")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def is_hidden(character: str) -> bool:
    """Whether ``character`` is a control, format or separator character (newline included)."""
    return unicodedata.category(character) in _HIDDEN_CATEGORIES


def needs_escaping(text: str) -> bool:
    """A fast test: False means ``escaped(text)`` is ``text``."""
    return _NOT_PLAIN.search(text) is not None


def escaped(text: str) -> str:
    """``text`` with every hidden character but newline as its Python escape. Idempotent."""
    if not needs_escaping(text):
        return text
    return "".join(
        c.encode("unicode_escape").decode("ascii") if c != "\n" and is_hidden(c) else c
        for c in text
    )


EXCERPT_LENGTH = 40


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """At most ``limit`` characters of ``text`` for a one-line message, escaped as ``escaped``
    escapes them (a newline too), cut with ``…`` (never inside an escape).

    A spec file may be anything a link points at (a password file, a key): an error quotes only
    this much of what it could not understand.
    """
    shown = ""
    for character in text:
        piece = "\\n" if character == "\n" else escaped(character)
        if len(shown) + len(piece) > limit:
            return shown + "…"
        shown += piece
    return shown
