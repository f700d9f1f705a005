"""Text lmctl did not write (a spec value, an appliance's reply, a file name) shown safely.

Controls (C0 but newline, DEL, C1), format characters (bidi overrides and isolates, zero-width
characters, the BOM) and line/paragraph separators move the cursor, rewrite the screen or the
window title, or reorder and hide text. None belongs in what lmctl prints: ``escaped`` shows each
as its Python escape (``\\x1b``, ``\\t``, ``\\u202e``), visible and inert. A lone surrogate
(``\\udc9b``: how Python gives a byte of a file name that is not UTF-8, here the 8-bit CSI) is
escaped too: raw, it is a control byte on the terminal and invalid in JSON.

A name or a message is one line (``one_line``: a newline shown as ``\\n``), so a file name cannot
forge output lines. Markdown for a merge request (``code_span``, ``table_cell``, ``code_block``)
holds such text in code, where GitHub and GitLab render no link, image, HTML, heading or mention,
delimited by a backtick run longer than any in the text (CommonMark: a code span or fence ends
only at a run of the same length).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Anything but printable ASCII and newline is looked at character by character; output is
# almost all ASCII, so this keeps escaping off the hot path.
_NOT_PLAIN = re.compile(r"[^\x20-\x7e\n]")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def is_hidden(character: str) -> bool:
    """Whether ``character`` is a control, format or separator character (newline included) or a
    lone surrogate."""
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

# How much of a name the appliance holds (a NickName) a line of text shows.
NAME_LENGTH = 60


def quoted_name(name: str, limit: int = NAME_LENGTH) -> str:
    """``name`` quoted as ``repr`` quotes it (hidden differences show), its first ``limit``
    characters only when longer, with an ellipsis and its length: ``'Exch…' (5042
    characters)``. For text and Markdown; JSON keeps the whole value."""
    if len(name) <= limit:
        return repr(name)
    return f"{name[:limit]!r}… ({len(name)} characters)"


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    """At most ``limit`` characters of ``text`` for a one-line message, escaped as ``escaped``
    escapes them (a newline too), cut with ``…`` (never inside an escape).

    A spec file may be anything a link points at (a password file, a key): an error quotes only
    this much of what it could not understand.
    """
    shown = ""
    for character in text:
        piece = one_line(character)
        if len(shown) + len(piece) > limit:
            return shown + "…"
        shown += piece
    return shown


def one_line(text: str) -> str:
    """``text`` escaped as ``escaped`` escapes it, a newline too (``\\n``): a file name or a
    message that must not become two lines."""
    return escaped(text).replace("\n", "\\n")


def _fence(text: str, *, least: int) -> str:
    """A run of backticks longer than any in ``text``, and at least ``least`` long."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(least, longest + 1)


_BACKTICKS = re.compile(r"`+")


def code_span(text: str) -> str:
    """``text`` as one line of inline code: shown as written, nothing in it rendered."""
    content = one_line(text)
    if not content:
        return ""
    fence = _fence(content, least=1)
    # CommonMark strips one space at each end when both are spaces: padding keeps a backtick at
    # either end from joining the fence, and the text as written.
    if content[0] in "` " or content[-1] in "` ":
        content = f" {content} "
    return f"{fence}{content}{fence}"


def table_cell(text: str) -> str:
    """``text`` as a Markdown table cell: a code span whose every ``|`` is escaped.

    A GFM table splits cells at a pipe even inside code, unless the pipe is escaped; cmark-gfm
    (GitHub) and comrak (GitLab) read a backslash and the punctuation after it as a pair, so a
    pipe is escaped only after an odd run of backslashes: one is added after an even run.
    """
    return _PIPE.sub(_escaped_pipe, code_span(text))


_PIPE = re.compile(r"(\\*)\|")


def _escaped_pipe(match: re.Match[str]) -> str:
    backslashes = match[1]
    return backslashes + ("|" if len(backslashes) % 2 else "\\|")


def code_block(lines: Iterable[str], info: str = "") -> list[str]:
    """``lines`` (each made ``one_line``) in a fenced code block that none of them can close."""
    content = [one_line(line) for line in lines]
    fence = _fence("\n".join(content), least=3)
    return [fence + info, *content, fence]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to a mistyped ``word``, if one is close enough (difflib's ratio of
    0.6); None otherwise."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return close[0] if close else None


def meant(name: str | None) -> str:
    """`` (did you mean 'https'?)`` for ``name``; empty for None."""
    return f" (did you mean '{name}'?)" if name is not None else ""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'https'?)`` for the choice closest to a mistyped ``word``, if one is
    close enough (difflib's ratio of 0.6); empty otherwise."""
    return meant(closest(word, choices))


def no_array_named(names: Iterable[str], known: Iterable[str]) -> str:
    """The one wording of every command for arrays named that the specs do not have:
    ``no array named 'mial' in the specs (did you mean 'mail'?); arrays: hq, mail``."""
    arrays = sorted(known)
    unknown = list(names)
    hint = did_you_mean(unknown[0], arrays) if len(unknown) == 1 else ""
    return (
        f"no array named {', '.join(repr(name) for name in unknown)} in the specs{hint}; "
        f"arrays: {', '.join(arrays) or 'none'}"
    )
