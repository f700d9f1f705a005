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
