"""``LoadMaster``: the typed async client of one appliance, both API dialects behind one interface.

>>> async with LoadMaster(connection) as lm:          # doctest: +SKIP
...     services = await lm.list_virtual_services()   # one listvs call, every VS with its RS

One ``httpx.AsyncClient`` per appliance (a reused connection pool, explicit timeouts:
``lmctl.loadmaster.transport``). Reads are retried on transport failures. Writes are serialised
(one in flight per appliance, shared by every client of it in the process) and never resent
blindly: after an ambiguous failure the object is read back and the outcome decided by the pure
verdicts below. Secrets are registered with ``lmctl.loadmaster.redact`` while the client is
open, so neither logs nor errors can show them.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Self, TypeVar, assert_never

import httpx
from pydantic import ValidationError

from lmctl.loadmaster import wire
from lmctl.loadmaster.connection import ApplianceConnection, url_host_problem
from lmctl.loadmaster.errors import (
    InvalidOperationError,
    LoadMasterError,
    MalformedReplyError,
    TransportError,
    UnknownObjectError,
    WriteOutcomeUnknownError,
)
from lmctl.loadmaster.models import (
    ContentRule,
    RealServer,
    Statistics,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceRef,
    VirtualServiceSettings,
    describe_vs,
    moved_key,
    real_server_params,
    rs_params,
    settings_params,
    vs_params,
    wire_value,
)
from lmctl.loadmaster.redact import scrub
from lmctl.loadmaster.transport import DEFAULT_MAX_REPLY_BYTES, ApiChannel, RetryPolicy
from lmctl.loadmaster.wire import ApiDialect, Reply, looks_like_xml

RESTORE_VIRTUAL_SERVICES = 2
"""``restore``'s ``type`` for the virtual services alone (1 base configuration, 4 GEO, 8 ESP
SSO: Kemp's ``Restore-LmConfiguration``)."""

# -- did an unanswered write take effect? -------------------------------------------------------
# After a write fails ambiguously (the connection dropped after sending, a timeout, a bare 5xx),
# the client reads the object again and asks these pure functions: ``APPLIED`` (report success
# with the observed object, send nothing more), ``NOT_APPLIED`` (safe to send the write once
# more) or ``UNKNOWN`` (stop and tell the user).


class Verdict(enum.Enum):
    """What a read-back says about an unanswered write."""

    APPLIED = "applied"
    NOT_APPLIED = "not applied"
    UNKNOWN = "unknown"


_VS_FIELD_BY_WIRE = {
    (info.alias or name).lower(): name for name, info in VirtualServiceSettings.model_fields.items()
}
_RS_FIELD_BY_WIRE = {
    (info.alias or name).lower(): name
    for name, info in RealServer.model_fields.items()
    if name in {"weight", "forward", "enable", "limit", "critical"}
}


def _wire_subset(params: Mapping[str, str], fields: Mapping[str, str]) -> dict[str, str]:
    """The params that set a known field, keyed by field name (parameter names are caseless)."""
    return {fields[name.lower()]: value for name, value in params.items() if name.lower() in fields}


def virtual_service_matches(params: Mapping[str, str], observed: VirtualService) -> bool:
    """True when every managed setting in ``params`` has the value sent."""
    sent = _wire_subset(params, _VS_FIELD_BY_WIRE)
    try:
        expected = VirtualServiceSettings.model_validate(sent)
    except ValidationError:
        return False
    return all(getattr(expected, field) == getattr(observed, field) for field in sent)


def real_server_matches(params: Mapping[str, str], observed: RealServer) -> bool:
    """True when every real-server setting in ``params`` has the value sent."""
    sent = _wire_subset(params, _RS_FIELD_BY_WIRE)
    try:
        expected = RealServer.model_validate(
            {"address": observed.address, "port": observed.port, **sent}
        )
    except ValidationError:
        return False
    return all(getattr(expected, field) == getattr(observed, field) for field in sent)


def creates_sub_service(params: Mapping[str, str]) -> bool:
    """True for a ``modvs`` that adds a SubVS: not idempotent, so never resent after a doubt."""
    return any(name.lower() == "createsubvs" for name in params)


def after_add(found: bool, matches: bool) -> Verdict:
    """``addvs``/``addrs``: there and as sent → applied; absent → not; there but different → ?"""
    if not found:
        return Verdict.NOT_APPLIED
    return Verdict.APPLIED if matches else Verdict.UNKNOWN


def after_modify(found: bool, matches: bool) -> Verdict:
    """``modvs``/``modrs``/``set``: as sent → applied; different → not (resending is idempotent)."""
    if not found:
        return Verdict.UNKNOWN
    return Verdict.APPLIED if matches else Verdict.NOT_APPLIED


def after_delete(found: bool) -> Verdict:
    """``delvs``/``delrs``: gone → applied; still there → not applied."""
    return Verdict.NOT_APPLIED if found else Verdict.APPLIED


# -- one write in flight per appliance ----------------------------------------------------------
# Two ``LoadMaster`` objects on the same appliance (``apply`` of two arrays that share a
# LoadMaster, or a drain next to an apply) share one lock, keyed by the appliance's address.
# ``asyncio.Lock`` belongs to one event loop, so the locks are kept per running loop and go away
# with it.

_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def appliance_address(url: str) -> str:
    """The appliance an API URL reaches: host and port, caseless (``lm-hq.example.net:443``)."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.host.lower()}:{port}"


def write_lock(url: str) -> asyncio.Lock:
    """The lock every client of the appliance at ``url`` holds while one of its writes runs."""
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(appliance_address(url), asyncio.Lock())


T = TypeVar("T")
ReadBack = Callable[[], Awaitable[tuple[Verdict, T]]]


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
        if not connection.url.lower().startswith("https://"):
            raise LoadMasterError(
                connection.name,
                # The URL is not repeated: a mistyped one may carry a user name and password.
                f"the URL of {connection.name} must start with https://: plain http would send "
                "the credentials in clear",
            )
        problem = url_host_problem(connection.url)
        if problem is not None:
            raise LoadMasterError(
                connection.name, f"the URL of {connection.name} cannot be used: {problem}"
            )
        self.connection = connection
        self.name = connection.name
        self._retry = RetryPolicy(
            attempts=read_attempts, deadline=read_deadline, backoff=retry_backoff
        )
        self._logger = logger or logging.getLogger("lmctl.loadmaster")
        self._channel = ApiChannel(
            connection,
            timeout=timeout,
            max_reply_bytes=max_reply_bytes,
            transport=transport,
            logger=self._logger,
        )

    def __repr__(self) -> str:
        return f"LoadMaster(name={self.name!r}, url={scrub(self.connection.url)!r})"

    @property
    def calls(self) -> int:
        """How many API requests this client has sent (retries and dialect probing included)."""
        return self._channel.calls

    @property
    def dialect(self) -> str | None:
        """``v1`` or ``v2`` once known (``auto`` decides on the first call), else None."""
        return self._channel.dialect

    async def __aenter__(self) -> Self:
        await self._channel.open()
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
        await self._channel.aclose()

    # -- reads -----------------------------------------------------------------------------

    async def version(self) -> str:
        """The firmware version, e.g. ``7.2.59.0.22007`` (also the usual liveness probe)."""
        return await self.get_parameter("version")

    async def list_virtual_services(self) -> list[VirtualService]:
        """Every VS and SubVS with their real servers: exactly one ``listvs`` call."""
        reply = await self._read("listvs", {})
        return self._channel.parsed("listvs", lambda: wire.virtual_services(reply.fields))

    async def show_virtual_service(self, vs: VirtualServiceRef) -> VirtualService:
        """One VS with its real servers; ``UnknownObjectError`` when it does not exist."""
        reply = await self._read("showvs", vs_params(vs))
        return self._channel.parsed("showvs", lambda: wire.virtual_service(reply.fields))

    async def show_real_server(self, vs: VirtualServiceRef, address: str, port: int) -> RealServer:
        """One real server of one VS."""
        reply = await self._read("showrs", {**vs_params(vs), **rs_params(address, port)})
        return self._real_server_in(reply, "showrs", vs, address, port)

    async def statistics(self) -> Statistics:
        """Live per-VS and per-RS connection counters (``stats``)."""
        reply = await self._read("stats", {})
        return self._channel.parsed("stats", lambda: wire.statistics(reply.fields))

    async def get_parameter(self, name: str) -> str:
        """A global parameter (``get?param=<name>``) as text."""
        reply = await self._read("get", {"param": name})
        return self._channel.parsed("get", lambda: wire.parameter(reply.fields, name))

    async def backup(self) -> bytes:
        """The appliance's configuration backup archive (binary in v1, base64 in v2)."""

        async def attempt() -> bytes:
            dialect, status, body = await self._channel.round_trip("backup", {})
            # A v1 archive is binary (gzip); anything starting like XML or HTML is a reply.
            if dialect.name == "v1" and status == 200 and not looks_like_xml(body):
                archive = body
            else:
                reply = self._channel.reply(dialect, "backup", status, body)
                archive = self._channel.parsed("backup", lambda: wire.backup_archive(reply.fields))
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
        self, key: VirtualServiceKey, params: VirtualServiceSettings | Mapping[str, str]
    ) -> VirtualService:
        """Create the VS at ``key``: with typed settings every managed field is sent explicitly
        (a new VS's defaults differ between firmware versions); raw parameters go as they are.
        """
        params = _as_params(params)

        async def read_back() -> tuple[Verdict, VirtualService | None]:
            observed = await self._find_virtual_service(key)
            matches = observed is not None and virtual_service_matches(params, observed)
            return after_add(observed is not None, matches), observed

        outcome = await self._write("addvs", {**key.params(), **params}, str(key), read_back)
        return await self._service_from(outcome, key, "addvs")

    async def modify_virtual_service(
        self, vs: VirtualServiceRef, params: VirtualServiceSettings | Mapping[str, str]
    ) -> VirtualService:
        """Change settings of a VS (typed settings: all managed fields; or raw parameters such
        as ``vsaddress``/``createsubvs``); returns the VS as the appliance now reports it."""
        params = _as_params(params)

        where_after = moved_key(vs, params)

        async def read_back() -> tuple[Verdict, VirtualService | None]:
            observed = await self._find_virtual_service(where_after)
            if creates_sub_service(params):
                # A new SubVS cannot be told from an old one, and resending would add another.
                return Verdict.UNKNOWN, observed
            matches = observed is not None and virtual_service_matches(params, observed)
            return after_modify(observed is not None, matches), observed

        outcome = await self._write(
            "modvs", {**vs_params(vs), **params}, describe_vs(vs), read_back
        )
        return await self._service_from(outcome, where_after, "modvs")

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
        found = None
        if "Rs" in outcome.fields:
            found = self._channel.parsed(
                "addrs", lambda: wire.real_server(outcome.fields, address, port)
            )
        # A reply without the new row (no data, or other rows only): read the one added.
        return found or await self.show_real_server(vs, address, port)

    async def modify_real_server(
        self,
        vs: VirtualServiceRef,
        address: str,
        port: int,
        params: Mapping[str, str],
        *,
        non_local: bool = False,
    ) -> None:
        """Change settings of one real server (``weight``, ``enable``, ``forward``, ...);
        ``non_local`` sends ``non_local=1`` for a real server outside the appliance's subnets."""
        params = {**params, **real_server_params(non_local=non_local)}

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

    # -- content switching and certificates (the per-protocol layout) -----------------------

    async def list_content_rules(self) -> list[ContentRule]:
        """Every content matching rule (``showrule``)."""
        reply = await self._read("showrule", {})
        return self._channel.parsed("showrule", lambda: wire.content_rules(reply.fields))

    async def list_certificates(self) -> list[str]:
        """The names of the installed SSL certificates (``listcert``)."""
        reply = await self._read("listcert", {})
        return self._channel.parsed("listcert", lambda: wire.certificate_names(reply.fields))

    async def add_content_rule(
        self, name: str, pattern: str, *, match_type: str = "regex", nocase: bool = False
    ) -> None:
        """Create a content matching rule on the URL path (``addrule``, every field explicit)."""
        await self._write_content_rule("addrule", name, pattern, match_type, nocase)

    async def modify_content_rule(
        self, name: str, pattern: str, *, match_type: str = "regex", nocase: bool = False
    ) -> None:
        """Redefine the content rule ``name`` (``modrule``, every field explicit, as
        ``addrule``)."""
        await self._write_content_rule("modrule", name, pattern, match_type, nocase)

    async def _write_content_rule(
        self, command: str, name: str, pattern: str, match_type: str, nocase: bool
    ) -> None:
        params = {
            "name": name,
            "type": "0",
            "pattern": pattern,
            "matchtype": match_type,
            "nocase": wire_value(nocase),
        }

        async def read_back() -> tuple[Verdict, None]:
            found = next((r for r in await self.list_content_rules() if r.name == name), None)
            same = found is not None and (found.pattern, found.match_type, found.nocase) == (
                pattern,
                match_type,
                nocase,
            )
            if command == "addrule":
                return after_add(found is not None, same), None
            return after_modify(found is not None, same), None

        await self._write(command, params, f"rule {name}", read_back)

    async def delete_content_rule(self, name: str) -> None:
        """Delete a content rule; the appliance takes it off every row it was assigned to."""

        async def read_back() -> tuple[Verdict, None]:
            names = {rule.name for rule in await self.list_content_rules()}
            return after_delete(name in names), None

        await self._write("delrule", {"name": name}, f"rule {name}", read_back)

    async def assign_sub_service_rule(
        self, parent: VirtualServiceRef, row_index: int, rule: str
    ) -> None:
        """Assign ``rule`` to the SubVS whose row in ``parent`` has RsIndex ``row_index``
        (``addrsrule rs=!<RsIndex>``: the PowerShell interface description's
        ``New-AdcRealServerRule -RSIndex``)."""
        await self._sub_service_rule("addrsrule", parent, row_index, rule, assigned=True)

    async def unassign_sub_service_rule(
        self, parent: VirtualServiceRef, row_index: int, rule: str
    ) -> None:
        """Take ``rule`` off the SubVS row ``row_index`` of ``parent`` (``delrsrule``)."""
        await self._sub_service_rule("delrsrule", parent, row_index, rule, assigned=False)

    async def _sub_service_rule(
        self, command: str, parent: VirtualServiceRef, row_index: int, rule: str, *, assigned: bool
    ) -> None:
        target = f"rule {rule} on SubVS row {row_index} of {describe_vs(parent)}"

        async def read_back() -> tuple[Verdict, None]:
            vs = await self._find_virtual_service(parent)
            row = (
                next((r for r in vs.sub_services if r.rs_index == row_index), None) if vs else None
            )
            has = row is not None and rule in row.match_rules
            if assigned:
                return after_add(has, has), None
            return after_delete(has), None

        params = {**vs_params(parent), "rs": f"!{row_index}", "rule": rule}
        await self._write(command, params, target, read_back)

    async def set_parameter(self, name: str, value: str) -> None:
        """Set a global parameter (``set?param=<name>&value=<value>``)."""

        async def read_back() -> tuple[Verdict, None]:
            current = await self.get_parameter(name)
            return after_modify(True, current.lower() == value.lower()), None

        await self._write("set", {"param": name, "value": value}, f"parameter {name}", read_back)

    async def restore(self, archive: bytes, kinds: int = RESTORE_VIRTUAL_SERVICES) -> None:
        """Restore a backup (``restore``, the archive as the POST body in v1, base64 ``data`` in
        v2); ``kinds`` is the appliance's bitmask: 1 base configuration, 2 virtual services,
        4 GEO, 8 ESP SSO. Never resent once it may have left: a restore whose answer was lost
        is ``WriteOutcomeUnknownError`` (read the appliance to see what it holds)."""
        await self._upload("restore", {"type": str(kinds)}, archive, "a backup")

    async def add_certificate(self, name: str, pem: bytes, *, replace: bool = False) -> None:
        """Install a certificate with its private key (``addcert?cert=NAME``, the PEM uploaded as
        ``restore`` uploads a backup: the POST body in v1, base64 ``data`` in v2; never logged);
        ``replace`` sends ``replace=1`` to overwrite one of that name. Never resent once it may
        have left: ``listcert`` shows whether it arrived."""
        params = {"cert": name, **({"replace": "1"} if replace else {})}
        await self._upload("addcert", params, pem, f"certificate {name}")

    # -- write machinery -------------------------------------------------------------------

    async def _upload(
        self, command: str, params: Mapping[str, str], file: bytes, target: str
    ) -> Reply:
        """One write that uploads ``file`` (a backup, a certificate and its key): resent only
        when the request certainly never left; a lost answer is ``WriteOutcomeUnknownError``."""
        async with write_lock(self.connection.url):
            retrying = self._retry.unsent_retrying(self._logger, self.name, command)
            try:
                exchange: tuple[ApiDialect, int, bytes] = await retrying(
                    self._channel.round_trip, command, params, file
                )
            except TransportError as failure:
                if not failure.request_sent:
                    raise
                raise self._unknown_outcome(command, target, str(failure)) from None
            dialect, status, body = exchange
            return self._channel.reply(dialect, command, status, body)

    async def _write(
        self, command: str, params: Mapping[str, str], target: str, read_back: ReadBack[T]
    ) -> Reply | T | None:
        """Send one write (one at a time); after an ambiguous failure, read back and decide."""
        async with write_lock(self.connection.url):
            try:
                return await self._send_write(command, params)
            except TransportError as failure:
                if not failure.request_sent:
                    raise
                doubt = str(failure)
            verdict, observed = await self._settle(command, target, doubt, read_back)
            match verdict:
                case Verdict.APPLIED:
                    return observed
                case Verdict.UNKNOWN:
                    raise self._unknown_outcome(command, target, doubt)
                case Verdict.NOT_APPLIED:
                    self._logger.warning(
                        "%s: %s of %s did not take effect; sending it once more",
                        self.name,
                        command,
                        target,
                    )
                    return await self._resend(command, params, target, read_back)
                case unknown:
                    assert_never(unknown)

    async def _resend(
        self, command: str, params: Mapping[str, str], target: str, read_back: ReadBack[T]
    ) -> Reply | T | None:
        """The one resend of a write that a read-back found not applied."""
        try:
            return await self._send_write(command, params)
        except InvalidOperationError as refusal:
            # The first write may have landed after the read-back: the resend meets its result
            # (a duplicate, an unknown object). Applied as sent is success; else the refusal.
            doubt = f"the resend was refused: {refusal.reason}"
            verdict, observed = await self._settle(command, target, doubt, read_back)
            if verdict is Verdict.APPLIED:
                return observed
            raise
        except TransportError as failure:
            if not failure.request_sent:
                raise
            doubt = str(failure)
        verdict, observed = await self._settle(command, target, doubt, read_back)
        match verdict:
            case Verdict.APPLIED:
                return observed
            case Verdict.NOT_APPLIED:
                raise TransportError(
                    self.name,
                    f"{command} of {target} on {self.name} failed twice ({doubt}); reading it "
                    f"back shows it did not take effect, so nothing changed: run the command "
                    f"again later",
                    command=command,
                )
            case Verdict.UNKNOWN:
                raise self._unknown_outcome(command, target, doubt)
            case unknown:
                assert_never(unknown)

    async def _send_write(self, command: str, params: Mapping[str, str]) -> Reply:
        """The write itself; resent only when the request certainly never left."""
        retrying = self._retry.unsent_retrying(self._logger, self.name, command)
        exchange: tuple[ApiDialect, int, bytes] = await retrying(
            self._channel.round_trip, command, params
        )
        dialect, status, body = exchange
        return self._channel.reply(dialect, command, status, body)

    async def _settle(
        self, command: str, target: str, why: str, read_back: ReadBack[T]
    ) -> tuple[Verdict, T | None]:
        """Read the object back after a doubtful write; a failed read-back means UNKNOWN."""
        self._logger.warning(
            "%s: %s of %s failed (%s); reading it back", self.name, command, target, why
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
        return self._channel.parsed(command, lambda: wire.virtual_service(outcome.fields))

    async def _find_virtual_service(self, vs: VirtualServiceRef) -> VirtualService | None:
        # Only "no such object" means absent: any other refusal of the read leaves it unknown.
        try:
            return await self.show_virtual_service(vs)
        except UnknownObjectError:
            return None

    def _real_server_in(
        self, reply: Reply, command: str, vs: VirtualServiceRef, address: str, port: int
    ) -> RealServer:
        """The row at ``address:port`` of a reply; ``UnknownObjectError`` when no row is."""
        found = self._channel.parsed(command, lambda: wire.real_server(reply.fields, address, port))
        if found is not None:
            return found
        seen = ", ".join(
            f"{rs.address}:{rs.port}"
            for rs in self._channel.parsed(command, lambda: wire.real_servers(reply.fields))
        )
        raise UnknownObjectError(
            self.name,
            f"{self.name} has no real server {address}:{port} in {describe_vs(vs)} "
            f"({command} answered with {seen})",
            command=command,
            reason="Unknown RS",
        )

    async def _find_real_server(
        self, vs: VirtualServiceRef, address: str, port: int
    ) -> RealServer | None:
        try:
            return await self.show_real_server(vs, address, port)
        except UnknownObjectError:
            return None

    # -- one call --------------------------------------------------------------------------

    async def _read(self, command: str, params: Mapping[str, str]) -> Reply:
        """A read, retried on transport failures (a bare 5xx included), as a checked reply."""

        async def attempt() -> Reply:
            dialect, status, body = await self._channel.round_trip(command, params)
            return self._channel.reply(dialect, command, status, body)

        return await self._retry.retrying(self._logger, self.name, command)(attempt)


def _as_params(params: VirtualServiceSettings | Mapping[str, str]) -> Mapping[str, str]:
    """Typed settings as the ``addvs``/``modvs`` parameters of every managed field."""
    return settings_params(params) if isinstance(params, VirtualServiceSettings) else params
