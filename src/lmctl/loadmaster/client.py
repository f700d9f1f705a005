"""``LoadMaster``: the typed async client of one appliance, both API dialects behind one interface.

>>> async with LoadMaster(connection) as lm:          # doctest: +SKIP
...     services = await lm.list_virtual_services()   # one listvs call, every VS with its RS

One ``httpx.AsyncClient`` per appliance (a reused connection pool, explicit timeouts). Reads are
retried on transport failures; writes are serialised (one in flight per appliance) and never
resent blindly: after an ambiguous failure the object is read back and the outcome decided by
``lmctl.loadmaster.outcome``. Secrets are registered with ``lmctl.loadmaster.redact`` while the
client is open, so neither logs nor errors can show them.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Self, TypeVar

import httpx

from lmctl.loadmaster import readers
from lmctl.loadmaster.commands import (
    VirtualServiceRef,
    describe_vs,
    moved_key,
    real_server_params,
    rs_params,
    vs_params,
)
from lmctl.loadmaster.connection import ApiKey, ApplianceConnection
from lmctl.loadmaster.dialects import Dialect, lacks_v2
from lmctl.loadmaster.errors import (
    CertificateError,
    InvalidOperationError,
    LoadMasterError,
    MalformedReplyError,
    TransportError,
    WriteOutcomeUnknownError,
    error_for_status,
)
from lmctl.loadmaster.models import RealServer, Statistics, VirtualService, VirtualServiceKey
from lmctl.loadmaster.outcome import (
    Verdict,
    after_add,
    after_delete,
    after_modify,
    real_server_matches,
    virtual_service_matches,
)
from lmctl.loadmaster.redact import (
    basic_token,
    install_log_redaction,
    register,
    scrub,
    unregister,
)
from lmctl.loadmaster.replies import Reply, ReplyFormatError
from lmctl.loadmaster.retry import RetryPolicy
from lmctl.loadmaster.tls import (
    FingerprintFormatError,
    PinnedCertificateMismatch,
    find_certificate_problem,
    ssl_context_for,
)

T = TypeVar("T")
ReadBack = Callable[[], Awaitable[tuple[Verdict, T]]]

DEFAULT_MAX_REPLY_BYTES = 64 * 1024 * 1024
_UNSENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class LoadMaster:
    """The API of one LoadMaster (or HA pair), opened with ``async with``.

    ``timeout`` bounds connecting and each read (a whole exchange is cut at three times it);
    reads are tried ``read_attempts`` times within ``read_deadline`` seconds, waiting
    ``retry_backoff * 2**n`` plus jitter in between. ``calls`` counts the HTTP requests sent.
    """

    def __init__(
        self,
        connection: ApplianceConnection,
        *,
        timeout: float = 10.0,
        read_attempts: int = 4,
        read_deadline: float = 30.0,
        retry_backoff: float = 0.5,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if not connection.url.lower().startswith(("https://", "http://")):
            raise LoadMasterError(
                connection.name,
                f"the URL of {connection.name} must start with https:// (got {connection.url!r})",
            )
        self.connection = connection
        self.name = connection.name
        self._timeout = timeout
        self._retry = RetryPolicy(
            attempts=read_attempts, deadline=read_deadline, backoff=retry_backoff
        )
        self._max_reply_bytes = max_reply_bytes
        self._transport = transport
        self._logger = logger or logging.getLogger("lmctl.loadmaster")
        self._dialect: Dialect | None = (
            None
            if connection.dialect == "auto"
            else Dialect(connection.dialect, connection.credentials)
        )
        self._write_lock = asyncio.Lock()
        self._calls = 0
        self._http: httpx.AsyncClient | None = None
        self._secrets_token: int | None = None

    def __repr__(self) -> str:
        return f"LoadMaster(name={self.name!r}, url={scrub(self.connection.url)!r})"

    @property
    def calls(self) -> int:
        """How many API requests this client has sent (retries and dialect probing included)."""
        return self._calls

    @property
    def dialect(self) -> str | None:
        """``v1`` or ``v2`` once known (``auto`` decides on the first call), else None."""
        return self._dialect.name if self._dialect else None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
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
            headers={"User-Agent": "lmctl"},
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

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

    # -- reads -----------------------------------------------------------------------------

    async def version(self) -> str:
        """The firmware version, e.g. ``7.2.59.0.22007`` (also the usual liveness probe)."""
        return await self.get_parameter("version")

    async def list_virtual_services(self) -> list[VirtualService]:
        """Every VS and SubVS with their real servers: exactly one ``listvs`` call."""
        reply = await self._read("listvs", {})
        return self._parsed("listvs", lambda: readers.virtual_services(reply.fields))

    async def show_virtual_service(self, vs: VirtualServiceRef) -> VirtualService:
        """One VS with its real servers; ``UnknownObjectError`` when it does not exist."""
        reply = await self._read("showvs", vs_params(vs))
        return self._parsed("showvs", lambda: readers.virtual_service(reply.fields))

    async def show_real_server(self, vs: VirtualServiceRef, address: str, port: int) -> RealServer:
        """One real server of one VS."""
        reply = await self._read("showrs", {**vs_params(vs), **rs_params(address, port)})
        return self._parsed("showrs", lambda: readers.real_server(reply.fields, address, port))

    async def statistics(self) -> Statistics:
        """Live per-VS and per-RS connection counters (``stats``)."""
        reply = await self._read("stats", {})
        return self._parsed("stats", lambda: readers.statistics(reply.fields))

    async def get_parameter(self, name: str) -> str:
        """A global parameter (``get?param=<name>``) as text."""
        reply = await self._read("get", {"param": name})
        return self._parsed("get", lambda: readers.parameter(reply.fields, name))

    async def backup(self) -> bytes:
        """The appliance's configuration backup archive (binary in v1, base64 in v2)."""

        async def attempt() -> bytes:
            dialect, status, body = await self._round_trip("backup", {})
            if dialect.name == "v1" and status == 200 and not dialect.is_envelope(body):
                archive = body
            else:
                reply = self._reply(dialect, "backup", status, body)
                archive = self._parsed("backup", lambda: readers.backup_archive(reply.fields))
            if not archive:
                raise MalformedReplyError(
                    self.name,
                    f"{self.name} answered backup with an empty archive",
                    command="backup",
                )
            return archive

        return await self._retry.retrying(self._logger, self.name, "backup")(attempt)

    # -- writes ----------------------------------------------------------------------------

    async def add_virtual_service(
        self, key: VirtualServiceKey, params: Mapping[str, str]
    ) -> VirtualService:
        """Create the VS at ``key`` with ``params`` (every managed field: ``settings_params``)."""

        async def read_back() -> tuple[Verdict, VirtualService | None]:
            observed = await self._find_virtual_service(key)
            matches = observed is not None and virtual_service_matches(params, observed)
            return after_add(observed is not None, matches), observed

        outcome = await self._write("addvs", {**key.params(), **params}, str(key), read_back)
        return await self._service_from(outcome, key, "addvs")

    async def modify_virtual_service(
        self, vs: VirtualServiceRef, params: Mapping[str, str]
    ) -> VirtualService:
        """Change settings of a VS; returns the VS as the appliance now reports it."""

        where_after = moved_key(vs, params)

        async def read_back() -> tuple[Verdict, VirtualService | None]:
            observed = await self._find_virtual_service(where_after)
            matches = observed is not None and virtual_service_matches(params, observed)
            return after_modify(observed is not None, matches), observed

        outcome = await self._write(
            "modvs", {**vs_params(vs), **params}, describe_vs(vs), read_back
        )
        return await self._service_from(outcome, vs, "modvs")

    async def delete_virtual_service(self, vs: VirtualServiceRef) -> None:
        """Delete a VS (and its real servers)."""

        async def read_back() -> tuple[Verdict, None]:
            return after_delete(await self._find_virtual_service(vs) is not None), None

        await self._write("delvs", vs_params(vs), describe_vs(vs), read_back)

    async def add_real_server(
        self,
        vs: VirtualServiceRef,
        address: str,
        port: int,
        *,
        weight: int = 1000,
        forward: str = "nat",
        enable: bool = True,
        non_local: bool = False,
    ) -> RealServer:
        """Add a real server to a VS with every setting explicit; returns it as created."""
        settings = real_server_params(
            weight=weight, forward=forward, enable=enable, non_local=non_local
        )

        async def read_back() -> tuple[Verdict, RealServer | None]:
            observed = await self._find_real_server(vs, address, port)
            matches = observed is not None and real_server_matches(settings, observed)
            return after_add(observed is not None, matches), observed

        params = {**vs_params(vs), **rs_params(address, port), **settings}
        outcome = await self._write(
            "addrs", params, f"{address}:{port} in {describe_vs(vs)}", read_back
        )
        if not isinstance(outcome, Reply):
            if outcome is None:
                raise self._unknown_outcome("addrs", describe_vs(vs), "the read-back found nothing")
            return outcome
        if "Rs" not in outcome.fields:
            return await self.show_real_server(vs, address, port)
        return self._parsed("addrs", lambda: readers.real_server(outcome.fields, address, port))

    async def modify_real_server(
        self, vs: VirtualServiceRef, address: str, port: int, params: Mapping[str, str]
    ) -> None:
        """Change settings of one real server (``weight``, ``enable``, ``forward``, ...)."""

        # A port change (``newport``) moves the real server: read it back where it went.
        new_port = next((value for name, value in params.items() if name.lower() == "newport"), "")
        port_after = int(new_port) if new_port.isdigit() else port

        async def read_back() -> tuple[Verdict, None]:
            observed = await self._find_real_server(vs, address, port_after)
            matches = observed is not None and real_server_matches(params, observed)
            return after_modify(observed is not None, matches), None

        sent = {**vs_params(vs), **rs_params(address, port), **params}
        await self._write("modrs", sent, f"{address}:{port} in {describe_vs(vs)}", read_back)

    async def set_real_server_enabled(
        self, vs: VirtualServiceRef, address: str, port: int, enabled: bool
    ) -> None:
        """Enable or disable a real server within this VS only (``modrs enable=Y|N``)."""
        await self.modify_real_server(vs, address, port, real_server_params(enable=enabled))

    async def delete_real_server(self, vs: VirtualServiceRef, address: str, port: int) -> None:
        """Remove a real server from a VS."""

        async def read_back() -> tuple[Verdict, None]:
            return after_delete(await self._find_real_server(vs, address, port) is not None), None

        sent = {**vs_params(vs), **rs_params(address, port)}
        await self._write("delrs", sent, f"{address}:{port} in {describe_vs(vs)}", read_back)

    async def set_parameter(self, name: str, value: str) -> None:
        """Set a global parameter (``set?param=<name>&value=<value>``)."""

        async def read_back() -> tuple[Verdict, None]:
            current = await self.get_parameter(name)
            return after_modify(True, current.lower() == value.lower()), None

        await self._write("set", {"param": name, "value": value}, f"parameter {name}", read_back)

    # -- write machinery -------------------------------------------------------------------

    async def _write(
        self, command: str, params: Mapping[str, str], target: str, read_back: ReadBack[T]
    ) -> Reply | T | None:
        """Send one write (one at a time); after an ambiguous failure, read back and decide."""
        async with self._write_lock:
            try:
                return await self._send_write(command, params)
            except TransportError as failure:
                if not failure.request_sent:
                    raise
                first_failure = failure
            verdict, observed = await self._settle(command, target, first_failure, read_back)
            if verdict is Verdict.APPLIED:
                return observed
            if verdict is Verdict.UNKNOWN:
                raise self._unknown_outcome(command, target, str(first_failure))
            self._logger.warning(
                "%s: %s of %s did not take effect; sending it once more", self.name, command, target
            )
            try:
                return await self._send_write(command, params)
            except TransportError as second_failure:
                if not second_failure.request_sent:
                    raise
                verdict, observed = await self._settle(command, target, second_failure, read_back)
                if verdict is Verdict.APPLIED:
                    return observed
                raise self._unknown_outcome(command, target, str(second_failure)) from None

    async def _send_write(self, command: str, params: Mapping[str, str]) -> Reply:
        """The write itself; resent only when the request certainly never left."""
        retrying = self._retry.unsent_retrying(self._logger, self.name, command)
        exchange: tuple[Dialect, int, bytes] = await retrying(self._round_trip, command, params)
        dialect, status, body = exchange
        return self._reply(dialect, command, status, body)

    async def _settle(
        self, command: str, target: str, failure: TransportError, read_back: ReadBack[T]
    ) -> tuple[Verdict, T | None]:
        """Read the object back after ``failure``; a failed read-back means UNKNOWN."""
        self._logger.warning(
            "%s: %s of %s failed without a clear answer (%s); reading it back",
            self.name,
            command,
            target,
            failure,
        )
        try:
            verdict, observed = await read_back()
        except LoadMasterError as exc:
            self._logger.warning("%s: reading back %s failed: %s", self.name, target, exc)
            return Verdict.UNKNOWN, None
        self._logger.info(
            "%s: read-back of %s after %s: %s", self.name, target, command, verdict.value
        )
        return verdict, observed

    def _unknown_outcome(self, command: str, target: str, detail: str) -> WriteOutcomeUnknownError:
        return WriteOutcomeUnknownError(
            self.name,
            f"{command} of {target} on {self.name} failed ({detail}) and reading it back could "
            f"not tell whether it took effect: check the appliance (lmctl plan) before retrying",
            command=command,
        )

    async def _service_from(
        self, outcome: Reply | VirtualService | None, vs: VirtualServiceRef, command: str
    ) -> VirtualService:
        """The VS a write produced: from its reply, its read-back, or (no data) a fresh read."""
        if isinstance(outcome, VirtualService):
            return outcome
        if outcome is None:
            raise self._unknown_outcome(command, describe_vs(vs), "the read-back found nothing")
        if "Index" not in outcome.fields:
            return await self.show_virtual_service(vs)
        return self._parsed(command, lambda: readers.virtual_service(outcome.fields))

    async def _find_virtual_service(self, vs: VirtualServiceRef) -> VirtualService | None:
        try:
            return await self.show_virtual_service(vs)
        except InvalidOperationError:
            return None

    async def _find_real_server(
        self, vs: VirtualServiceRef, address: str, port: int
    ) -> RealServer | None:
        try:
            return await self.show_real_server(vs, address, port)
        except InvalidOperationError:
            return None

    # -- one call --------------------------------------------------------------------------

    async def _read(self, command: str, params: Mapping[str, str]) -> Reply:
        """A read, retried on transport failures (5xx included), as a checked reply envelope."""

        async def attempt() -> Reply:
            dialect, status, body = await self._round_trip(command, params)
            return self._reply(dialect, command, status, body)

        return await self._retry.retrying(self._logger, self.name, command)(attempt)

    async def _round_trip(
        self, command: str, params: Mapping[str, str]
    ) -> tuple[Dialect, int, bytes]:
        """One exchange in the known dialect, or (``auto``) v2 first, then v1 if v2 is absent."""
        if self._dialect is not None:
            status, body = await self._exchange(self._dialect, command, params)
            return self._dialect, status, body
        v2 = Dialect("v2", self.connection.credentials)
        status, body = await self._exchange(v2, command, params)
        if lacks_v2(status, body):
            self._logger.info(
                "%s: no APIv2 (HTTP %d on /accessv2): using APIv1 from now on", self.name, status
            )
            self._dialect = Dialect("v1", self.connection.credentials)
            status, body = await self._exchange(self._dialect, command, params)
            return self._dialect, status, body
        if v2.is_envelope(body):
            self._dialect = v2
        return v2, status, body

    async def _exchange(
        self, dialect: Dialect, command: str, params: Mapping[str, str]
    ) -> tuple[int, bytes]:
        """Send one request and read its whole (size-capped) reply; map transport failures."""
        http = self._open_client()
        request = dialect.request(http, command, params)
        self._calls += 1
        self._log_request(request)
        started = time.monotonic()
        try:
            async with asyncio.timeout(self._timeout * 3):
                response = await http.send(request, stream=True)
                try:
                    body = await self._read_body(response, command)
                finally:
                    await response.aclose()
        except (httpx.TransportError, TimeoutError) as exc:
            raise self._transport_failure(exc, command) from None
        self._logger.debug(
            "%s ← HTTP %d, %d bytes in %.3f s",
            self.name,
            response.status_code,
            len(body),
            time.monotonic() - started,
        )
        return response.status_code, body

    def _open_client(self) -> httpx.AsyncClient:
        if self._http is None:
            raise LoadMasterError(
                self.name,
                f"the client of {self.name} is not open: use 'async with LoadMaster(...)'",
            )
        return self._http

    def _log_request(self, request: httpx.Request) -> None:
        if not self._logger.isEnabledFor(logging.DEBUG):
            return
        body = request.content.decode("utf-8", errors="replace") if request.content else ""
        self._logger.debug(
            "%s → %s %s %s(call %d)",
            self.name,
            request.method,
            scrub(str(request.url)),
            scrub(body) + " " if body else "",
            self._calls,
        )

    async def _read_body(self, response: httpx.Response, command: str) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_reply_bytes:
            raise self._too_large(command)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_reply_bytes:
                raise self._too_large(command)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, command: str) -> MalformedReplyError:
        return MalformedReplyError(
            self.name,
            f"{self.name} answered {command} with more than {self._max_reply_bytes} bytes: "
            f"refused (raise max_reply_bytes if this appliance is really that large)",
            command=command,
        )

    def _transport_failure(self, exc: BaseException, command: str) -> LoadMasterError:
        problem = find_certificate_problem(exc)
        if problem is not None:
            return self._certificate_failure(problem)
        sent = not isinstance(exc, _UNSENT)
        if isinstance(exc, httpx.TimeoutException | TimeoutError):
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
                f"certificate was replaced on purpose, update tls.fingerprint_sha256 in the "
                f"inventory",
                expected=problem.expected,
                seen=problem.seen,
            )
        reason = getattr(problem, "verify_message", None) or str(problem)
        return CertificateError(
            self.name,
            f"the certificate of {self.name} could not be verified ({reason}). Nothing was sent. "
            f"Set tls.ca_file to the CA that signed it, or pin its SHA-256 fingerprint with "
            f"tls.fingerprint_sha256",
        )

    def _reply(self, dialect: Dialect, command: str, status: int, body: bytes) -> Reply:
        """The checked envelope of one answer; raises the mapped error for any failure."""
        if status >= 400:
            reason = None
            try:
                reason = dialect.parse(body).message
            except ReplyFormatError:
                reason = None
            raise error_for_status(self.name, command, status, reason)
        if not 200 <= status < 300:
            raise error_for_status(self.name, command, status, None)
        try:
            reply = dialect.parse(body)
        except ReplyFormatError as exc:
            raise MalformedReplyError(
                self.name,
                f"{self.name} answered {command} with a malformed reply: {exc}",
                command=command,
            ) from None
        if not reply.ok:
            raise error_for_status(self.name, command, reply.status, reply.message)
        return reply

    def _parsed(self, command: str, read: Callable[[], T]) -> T:
        """``read()`` of a reply's fields, with format problems reported as malformed replies."""
        try:
            return read()
        except ReplyFormatError as exc:
            raise MalformedReplyError(
                self.name,
                f"{self.name} answered {command} with a malformed reply: {exc}",
                command=command,
            ) from None
