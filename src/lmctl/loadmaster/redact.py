"""Keep API keys, passwords and ``Authorization`` headers out of logs and error messages.

Two layers, because a secret can reach text by routes the client does not control (httpx logs
the full request URL, and the APIv1 key travels in the query string):

* known secrets: every open client registers its credentials; ``scrub`` replaces them (and
  their URL-encoded and Basic-auth forms) wherever they appear;
* patterns: ``apikey=...``, ``"apipass": "..."``, ``Authorization: ...`` are blanked whatever
  their value, so even an unregistered secret in a familiar place is hidden.

``RedactingFilter`` applies ``scrub`` to log records; ``install_log_redaction`` puts it on the
loggers of httpx/httpcore and on the client's own logger.
"""

from __future__ import annotations

import base64
import itertools
import logging
import re
import threading
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "***"

_SECRET_NAMES = r"apikey|api_key|apipass|password|passwd|secret|token"  # noqa: S105
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # query strings and form bodies: apikey=VALUE
    (re.compile(rf"(?i)\b({_SECRET_NAMES})=([^&\s\"'<>]+)"), rf"\1={REDACTED}"),
    # JSON bodies and dict reprs: "apipass": "VALUE"
    (
        re.compile(rf"(?i)([\"']({_SECRET_NAMES})[\"']\s*:\s*)([\"'])(?:\\.|(?!\3).)*\3"),
        rf"\1\3{REDACTED}\3",
    ),
    # headers, in text or as httpcore byte tuples: Authorization: Basic VALUE
    (
        re.compile(
            r"(?i)(authorization[\"']?\s*[:=,]\s*b?[\"']?)(?:(basic|bearer)\s+)?[^\s\"',)]+"
        ),
        rf"\1\2 {REDACTED}",
    ),
)

_lock = threading.Lock()
_tokens = itertools.count(1)
_registered: dict[int, tuple[str, ...]] = {}


def _forms(secret: str) -> set[str]:
    """A secret as it may appear in text: raw, URL-encoded (both ways)."""
    return {secret, quote(secret, safe=""), quote_plus(secret, safe="")}


def basic_token(username: str, password: str) -> str:
    """The base64 token an HTTP Basic ``Authorization`` header carries."""
    return base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def register(secrets: Iterable[str]) -> int:
    """Start scrubbing ``secrets`` everywhere; returns a token for ``unregister``."""
    forms = sorted(
        {form for secret in secrets if secret for form in _forms(secret)}, key=len, reverse=True
    )
    with _lock:
        token = next(_tokens)
        _registered[token] = tuple(forms)
    return token


def unregister(token: int) -> None:
    """Stop scrubbing the secrets registered under ``token``."""
    with _lock:
        _registered.pop(token, None)


def scrub(text: str) -> str:
    """``text`` with every registered secret and every secret-looking value replaced."""
    with _lock:
        known = [form for forms in _registered.values() for form in forms]
    for secret in sorted(known, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrubbed_excerpt(text: str, limit: int) -> str:
    """At most ``limit`` characters of ``text``, taken after the whole of it is scrubbed.

    Cutting first would keep the head of a secret the cut runs through, which the scrubber no
    longer recognises: every excerpt of a reply body or of appliance text goes through here.
    """
    return scrub(text)[:limit]


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs the formatted message of every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the record's message by its scrubbed text; never drops a record."""
        message = record.getMessage()
        cleaned = scrub(message)
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback would print the exception's own text unscrubbed: fold it in instead.
            cleaned = f"{cleaned} ({type(record.exc_info[1]).__name__}: "
            cleaned += f"{scrub(str(record.exc_info[1]))})"
            record.exc_info = None
            record.exc_text = None
        if cleaned != record.msg or record.args:
            record.msg = cleaned
            record.args = None
        return True


_THIRD_PARTY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_FILTER = RedactingFilter()


def install_log_redaction(*loggers: logging.Logger) -> None:
    """Put the scrubbing filter on the loggers of httpx, httpcore and ``loggers`` (idempotent)."""
    targets = [logging.getLogger(name) for name in _THIRD_PARTY_LOGGERS] + list(loggers)
    for logger in targets:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
