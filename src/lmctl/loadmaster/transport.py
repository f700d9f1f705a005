"""One appliance's transport: the connection pool, TLS, the dialect, failures mapped, retries.

``ApiChannel`` sends a command in the appliance's dialect (detecting it for ``auto``), reads the
whole reply within a size cap and a deadline, and turns every failure into the exception a user
can act on (``lmctl.loadmaster.errors``). It knows nothing of what commands mean: that is
``LoadMaster``'s part. While open it registers the appliance's secrets for scrubbing.

``RetryPolicy`` says when to try a call again: bounded, backed off, and only when it is safe.
Reads are idempotent, so a read that failed in transport (connection refused or dropped,
timeout, HTTP 5xx without an API error envelope) is sent again with exponential backoff and
jitter, within both a number of attempts and a total time. Writes are never resent on these
terms: the client only resends a write whose request certainly never left (``request_sent`` is
False); anything ambiguous goes through a read-back first (``lmctl.loadmaster.client``).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from lmctl.loadmaster.connection import (
    ApiKey,
    ApplianceConnection,
    FingerprintFormatError,
    PinnedCertificateMismatch,
    find_certificate_problem,
    ssl_context_for,
)
from lmctl.loadmaster.errors import (
    CertificateError,
    LoadMasterError,
    MalformedReplyError,
    TransportError,
    error_for_status,
)
from lmctl.loadmaster.redact import (
    basic_token,
    install_log_redaction,
    register,
    scrub,
    unregister,
)
from lmctl.loadmaster.wire import (
    ApiDialect,
    Reply,
    ReplyFormatError,
    WebPageError,
    is_json_envelope,
    lacks_v2,
)
from lmctl.text import excerpt, one_line

T = TypeVar("T")

DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# How much of a redirect's Location an error quotes.
_LOCATION_LENGTH = 120
# How much of a reply body a DEBUG line shows (a listvs of a large appliance runs to megabytes).
_LOGGED_BODY_LENGTH = 4000
# Replies whose body is never logged: a backup holds the appliance's private keys.
_UNLOGGED_REPLIES = frozenset({"backup"})


def call_object(params: Mapping[str, str]) -> str:
    """What one API call acts on, as a log line names it: `` 10.0.0.5:443/tcp`` (or `` VS 7``),
    `` rs 10.0.0.21:443``, `` param=version``; '' for a call on the whole appliance (listvs).
    Only the parameters that name an object: never a setting's value."""
    parts: list[str] = []
    if "vs" in params:
        address, port = params["vs"], params.get("port")
        if port is None:
            parts.append(f"VS {address}")
        else:
            host = f"[{address}]" if ":" in address else address
            parts.append(f"{host}:{port}/{params.get('prot', 'tcp')}")
    if "rs" in params:
        address = params["rs"]
        host = f"[{address}]" if ":" in address else address
        parts.append(f"rs {host}:{params['rsport']}" if "rsport" in params else f"rs {host}")
    if "param" in params:
        parts.append(f"param={params['param']}")
    return "".join(f" {one_line(part)}" for part in parts)


class _Redirected(Exception):
    """A redirect answered (raised by the response hook, before httpx parses its Location)."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(status, location)
        self.status = status
        self.location = location


async def _stop_at_redirect(response: httpx.Response) -> None:
    """httpx builds the request a redirect points at even when it does not follow it, and an
    unparsable ``Location`` then raises a protocol error, which would read as a network failure
    (retried, and a write's outcome unknown). Stopping here makes every redirect the appliance's
    answer, whatever its ``Location``."""
    if response.is_redirect:
        raise _Redirected(response.status_code, response.headers.get("location", ""))


class ApiChannel:
    """Requests and replies of one appliance, in its dialect, with failures mapped."""

    def __init__(
        self,
        connection: ApplianceConnection,
        *,
        timeout: float,
        max_reply_bytes: int,
        transport: httpx.AsyncBaseTransport | None,
        logger: logging.Logger,
    ) -> None:
        self.connection = connection
        self.name = connection.name
        self._timeout = timeout
        self._max_reply_bytes = max_reply_bytes
        self._transport = transport
        self._logger = logger
        self._dialect: ApiDialect | None = (
            None
            if connection.dialect == "auto"
            else ApiDialect(connection.dialect, connection.credentials)
        )
        self.calls = 0
        self._http: httpx.AsyncClient | None = None
        self._secrets_token: int | None = None

    @property
    def dialect(self) -> str | None:
        """``v1`` or ``v2`` once known, else None."""
        return self._dialect.name if self._dialect else None

    async def open(self) -> None:
        """Register the secrets for scrubbing, build the TLS context and the connection pool."""
        self._secrets_token = register(self._secret_values())
        install_log_redaction(self._logger)
        try:
            verify = True if self._transport is not None else self._ssl_context()
        except BaseException:
            self._forget_secrets()
            raise
        self._http = httpx.AsyncClient(
            base_url=self.connection.url,
            verify=verify,
            transport=self._transport,
            timeout=httpx.Timeout(self._timeout),
            limits=httpx.Limits(max_connections=8, max_keepalive_connections=4),
            follow_redirects=False,
            event_hooks={"response": [_stop_at_redirect]},
            headers={"User-Agent": "lmctl"},
        )

    async def aclose(self) -> None:
        """Close the connection pool and stop scrubbing this appliance's secrets."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._forget_secrets()

    def _forget_secrets(self) -> None:
        if self._secrets_token is not None:
            unregister(self._secrets_token)
            self._secrets_token = None

    def _secret_values(self) -> list[str]:
        credentials = self.connection.credentials
        if isinstance(credentials, ApiKey):
            return [credentials.key.get_secret_value()]
        password = credentials.password.get_secret_value()
        return [password, basic_token(credentials.username, password)]

    def _ssl_context(self) -> ssl.SSLContext:
        try:
            return ssl_context_for(self.connection.tls, self.name, self._logger)
        except FingerprintFormatError as exc:
            raise CertificateError(
                self.name, f"the pinned fingerprint of {self.name} in the inventory is wrong: {exc}"
            ) from None
        except OSError as exc:
            raise CertificateError(
                self.name,
                f"cannot load the CA file {self.connection.tls.ca_file} for {self.name}: "
                f"{exc.strerror or exc}",
            ) from None

    async def round_trip(
        self, command: str, params: Mapping[str, str], file: bytes | None = None
    ) -> tuple[ApiDialect, int, bytes]:
        """One exchange in the known dialect; ``auto`` tries v2 first, then v1 if v2 is absent.
        ``file``: the file the command uploads (``restore``), never logged."""
        if self._dialect is not None:
            status, body = await self._exchange(self._dialect, command, params, file)
            return self._dialect, status, body
        v2 = ApiDialect("v2", self.connection.credentials)
        status, body = await self._exchange(v2, command, params, file)
        if lacks_v2(status, body):
            self._logger.info(
                "%s: no APIv2 (HTTP %d on /accessv2): using APIv1 from now on", self.name, status
            )
            self._dialect = ApiDialect("v1", self.connection.credentials)
            status, body = await self._exchange(self._dialect, command, params, file)
            return self._dialect, status, body
        if is_json_envelope(body):
            self._dialect = v2
        return v2, status, body

    async def _exchange(
        self,
        dialect: ApiDialect,
        command: str,
        params: Mapping[str, str],
        file: bytes | None = None,
    ) -> tuple[int, bytes]:
        """Send one request and read its whole (size-capped) reply; map transport failures."""
        http = self._open_client()
        request = dialect.request(http, command, params, file)
        self.calls += 1
        self._log_request(request, file)
        call = f"{self.name}: {command}{call_object(params)}"
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout * 3):
                response = await http.send(request, stream=True)
                try:
                    body = await self._read_body(response, command)
                finally:
                    await response.aclose()
        except _Redirected as redirect:
            self._log_call(call, f"HTTP {redirect.status} (redirect)", started)
            raise self._redirected(command, redirect) from None
        except (httpx.TransportError, TimeoutError) as exc:
            self._log_call(call, f"failed ({type(exc).__name__})", started)
            raise self._transport_failure(exc, command) from None
        except httpx.HTTPError as exc:
            self._log_call(call, f"unreadable reply ({type(exc).__name__})", started)
            # The exchange completed but its reply cannot be read (a corrupt compressed body):
            # a malformed reply, not a network failure, so it is not retried.
            raise self._unreadable(exc, command) from None
        except LoadMasterError:  # too large, or a body that cannot be decoded
            self._log_call(call, "unreadable reply", started)
            raise
        self._log_call(call, f"HTTP {response.status_code}", started)
        self._log_reply(command, body)
        return response.status_code, body

    def _log_call(self, call: str, outcome: str, started: float) -> None:
        """The INFO line of one API call (``lmctl -v``): appliance, command, object, outcome,
        milliseconds."""
        milliseconds = (time.monotonic() - started) * 1000
        self._logger.info("%s → %s in %.0f ms", call, outcome, milliseconds)

    def _log_reply(self, command: str, body: bytes) -> None:
        """The reply body at DEBUG (``lmctl -vv``): scrubbed, escaped and cut; a backup's never."""
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        if command in _UNLOGGED_REPLIES:
            shown = f"({len(body)} bytes, not logged)"
        else:
            text = body.decode("utf-8", errors="replace")
            shown = excerpt(scrub(text), _LOGGED_BODY_LENGTH)
            if len(text) > _LOGGED_BODY_LENGTH:
                shown += f" ({len(body)} bytes in all)"
        self._logger.debug("%s ← %s reply: %s", self.name, command, shown)

    def _open_client(self) -> httpx.AsyncClient:
        if self._http is None:
            raise LoadMasterError(
                self.name,
                f"the client of {self.name} is not open: use 'async with LoadMaster(...)'",
            )
        return self._http

    def _log_request(self, request: httpx.Request, file: bytes | None = None) -> None:
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        body = request.content.decode("utf-8", errors="replace") if request.content else ""
        if file is not None:
            # A backup holds the appliance's private keys: its size only.
            body = f"<file of {len(file)} bytes>"
        self._logger.debug(
            "%s → %s %s %s(call %d)",
            self.name,
            request.method,
            one_line(scrub(str(request.url))),
            one_line(scrub(body)) + " " if body else "",
            self.calls,
        )

    async def _read_body(self, response: httpx.Response, command: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_reply_bytes:
            raise self._too_large(command)
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self._max_reply_bytes:
                    raise self._too_large(command)
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            raise self._undecodable(exc, command, response) from None
        return b"".join(chunks)

    def _too_large(self, command: str) -> MalformedReplyError:
        return MalformedReplyError(
            self.name,
            f"{self.name} answered {command} with more than {self._max_reply_bytes} bytes: "
            f"refused (raise max_reply_bytes if this appliance is really that large)",
            command=command,
        )

    def _unreadable(self, exc: httpx.HTTPError, command: str) -> MalformedReplyError:
        return MalformedReplyError(
            self.name,
            f"{self.name} answered {command} with a reply that cannot be read "
            f"({type(exc).__name__}: {exc})",
            command=command,
        )

    def _undecodable(
        self, exc: httpx.DecodingError, command: str, response: httpx.Response
    ) -> MalformedReplyError:
        encoding = response.headers.get("content-encoding", "none")
        return MalformedReplyError(
            self.name,
            f"{self.name} answered {command} with a body that cannot be decoded "
            f"(Content-Encoding: {encoding}; {exc}): the reply was damaged on its way or by the "
            f"appliance; run the command again, and if it persists check any proxy between "
            f"lmctl and {self.connection.url}",
            command=command,
        )

    def _redirected(self, command: str, redirect: _Redirected) -> MalformedReplyError:
        # Following a redirect would resend the credentials to wherever it points. The Location
        # is the appliance's text: scrubbed whole, then quoted escaped and cut.
        target = excerpt(scrub(redirect.location), _LOCATION_LENGTH)
        return MalformedReplyError(
            self.name,
            f"{self.name} answered {command} with a redirect (HTTP {redirect.status}) to "
            f"{target or 'elsewhere'}: lmctl does not follow redirects; put the API's own "
            f"https:// address in the url of {self.name} in the inventory",
            command=command,
        )

    def _transport_failure(self, exc: BaseException, command: str) -> LoadMasterError:
        problem = find_certificate_problem(exc)
        if problem is not None:
            return self._certificate_failure(problem)
        sent = not isinstance(exc, _UNSENT)
        if isinstance(exc, TimeoutError):
            what = f"timed out (no complete reply within {self._timeout * 3:g} s)"
        elif isinstance(exc, httpx.TimeoutException):
            what = f"timed out ({type(exc).__name__} after {self._timeout:g} s)"
        else:
            what = f"failed ({type(exc).__name__}: {exc or 'connection closed'})"
        hint = (
            f"; check that {self.connection.url} is reachable"
            if not sent
            else "; the appliance may or may not have received it"
        )
        return TransportError(
            self.name,
            f"{command} on {self.name} {what}{hint}",
            command=command,
            request_sent=sent,
        )

    def _certificate_failure(self, problem: Exception) -> CertificateError:
        if isinstance(problem, PinnedCertificateMismatch):
            return CertificateError(
                self.name,
                f"the certificate of {self.name} does not match the pinned fingerprint: "
                f"expected {problem.expected}, seen {problem.seen}. Nothing was sent. If the "
                f"certificate was replaced on purpose, update tls.fingerprint of {self.name} in "
                f"the inventory",
                expected=problem.expected,
                seen=problem.seen,
            )
        reason = getattr(problem, "verify_message", None) or str(problem)
        return CertificateError(
            self.name,
            f"the certificate of {self.name} could not be verified ({reason}). Nothing was sent. "
            f"Set tls.ca_file of {self.name} in the inventory to the CA that signed it, or pin "
            f"its SHA-256 fingerprint with tls.fingerprint",
        )

    def reply(self, dialect: ApiDialect, command: str, status: int, body: bytes) -> Reply:
        """The checked envelope of one answer; raises the mapped error for any failure.

        An HTTP 5xx that carries the API's error envelope is the appliance refusing with its
        own message, so it is that refusal (never retried); a bare 5xx is a transport failure.
        """
        if status >= 400:
            try:
                envelope: Reply | None = dialect.parse(body)
            except ReplyFormatError:
                envelope = None
            if status >= 500 and envelope is not None and not envelope.ok:
                raise error_for_status(self.name, command, envelope.status, envelope.message)
            reason = envelope.message if envelope is not None else None
            raise error_for_status(self.name, command, status, reason, dialect=dialect.name)
        if not 200 <= status < 300:
            raise error_for_status(self.name, command, status, None, dialect=dialect.name)
        reply = self.parsed(command, lambda: dialect.parse(body))
        if not reply.ok:
            raise error_for_status(self.name, command, reply.status, reply.message)
        return reply

    def parsed(self, command: str, read: Callable[[], T]) -> T:
        """``read()`` of a reply's fields, with format problems reported as malformed replies."""
        try:
            return read()
        except WebPageError as exc:
            raise MalformedReplyError(
                self.name,
                f"{self.name} answered {command} with a web page, not the API ({exc.seen}): check "
                f"that the url of {self.name} in the inventory is the LoadMaster's own address "
                f"and that no login portal or proxy answers in its place",
                command=command,
            ) from None
        except ReplyFormatError as exc:
            raise MalformedReplyError(
                self.name,
                f"{self.name} answered {command} with a malformed reply: {exc}",
                command=command,
            ) from None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retry loop: ``attempts`` in all, none starting after ``deadline`` seconds.

    The wait before retry n is ``backoff * 2**(n-1)`` (capped at ``max_backoff``) plus a random
    jitter of up to ``backoff``, so that clients that failed together do not retry together.
    """

    attempts: int = 4
    deadline: float = 30.0
    backoff: float = 0.5
    max_backoff: float = 8.0

    def retrying(self, logger: logging.Logger, appliance: str, command: str) -> AsyncRetrying:
        """A tenacity loop retrying transport failures of ``command`` (reads only)."""
        return self._loop(logger, appliance, command, _is_transport_failure)

    def unsent_retrying(
        self, logger: logging.Logger, appliance: str, command: str
    ) -> AsyncRetrying:
        """A tenacity loop retrying only failures where the request never left (any command)."""
        return self._loop(logger, appliance, command, _was_never_sent)

    def _loop(
        self,
        logger: logging.Logger,
        appliance: str,
        command: str,
        predicate: Callable[[BaseException], bool],
    ) -> AsyncRetrying:
        def log_retry(state: RetryCallState) -> None:
            failure = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "%s: %s attempt %d failed (%s); retrying in %.2f s",
                appliance,
                command,
                state.attempt_number,
                failure,
                wait,
            )

        return AsyncRetrying(
            stop=stop_after_attempt(max(1, self.attempts)) | stop_before_delay(self.deadline),
            wait=wait_exponential(multiplier=self.backoff, max=self.max_backoff)
            + wait_random(0, self.backoff),
            retry=retry_if_exception(predicate),
            before_sleep=log_retry,
            reraise=True,
        )


def _is_transport_failure(exc: BaseException) -> bool:
    return isinstance(exc, TransportError)


def _was_never_sent(exc: BaseException) -> bool:
    return isinstance(exc, TransportError) and not exc.request_sent
