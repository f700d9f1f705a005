"""``MockAppliance``: the in-memory LoadMaster, usable in-process or behind ``lmctl.mock.server``.

Every command runs under one lock, so concurrent requests see a consistent appliance. Parameter
names are matched case-insensitively and unknown parameters are ignored, as on a real appliance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lmctl.mock.commands import (
    COMMANDS,
    KNOWN_COMMANDS,
    ApiRefusal,
    invalid,
    parse_address,
    parse_number,
    restore,
)
from lmctl.mock.content import BODY_COMMANDS, CONTENT_COMMANDS
from lmctl.mock.persistence import StateStore, state_to_json
from lmctl.mock.state import (
    MockState,
    active_connections,
    deciding_mark,
    health_key,
    health_keys,
    local_networks,
    marks_of_address,
    probed_port,
    real_server_status,
    set_active_connections,
)
from lmctl.mock.wire import CommandResult

UNKNOWN_COMMAND = "Unknown command"


@dataclass(frozen=True)
class HealthCheck:
    """How one VS or SubVS checks one of its real servers, and what the marks make of it."""

    vs_index: int
    # The port the check probes and the URL it requests (None: the VS sets none).
    port: int
    url: str | None
    # The keys of the marks that can decide it, the most specific first.
    keys: tuple[str, ...]
    # The key of the mark that decides it (None: no mark does, so it is Up), and the status.
    mark: str | None
    status: str


class MockAppliance:
    """An in-memory LoadMaster: command dispatch plus the simulation knobs of the control API."""

    def __init__(
        self,
        state: MockState | None = None,
        *,
        store: StateStore | None = None,
        clock: Callable[[], float] = time.time,
        local_subnets: Iterable[str] | None = None,
    ) -> None:
        """``local_subnets`` replaces the subnets the state has (None: keep them; a new state
        has none, so every address is local); ``ValueError`` if one is not a subnet."""
        loaded = store.load() if store is not None and state is None else None
        self._state = state or loaded or MockState()
        self._store = store
        self._clock = clock
        self._lock = threading.RLock()
        if local_subnets is not None:
            self._state.local_subnets = local_networks(local_subnets)
        # What a reset goes back to: the appliance's network as it started.
        self._started_with = self._state.local_subnets
        if store is not None and (loaded is None or local_subnets is not None):
            self._save()  # a state file that cannot be written is reported now, not mid-request

    @property
    def api_enabled(self) -> bool:
        """False after ``set enableapi=no``: every API URL then answers 404."""
        with self._lock:
            return self._state.parameters.get("enableapi") == "yes"

    def execute(
        self, command: str, params: Mapping[str, str], body: bytes | None = None
    ) -> CommandResult:
        """Run one API command; ``ApiRefusal`` carries the status code when it fails."""
        name = command.lower()
        lowered = {key.lower(): value for key, value in params.items()}
        if name not in KNOWN_COMMANDS | CONTENT_COMMANDS.keys() | BODY_COMMANDS.keys():
            raise ApiRefusal(405, UNKNOWN_COMMAND)
        with self._lock:
            now = self._clock()
            if name == "restore":
                result = restore(self._state, lowered, now, body)
            elif name in BODY_COMMANDS:
                result = BODY_COMMANDS[name](self._state, lowered, now, body)
            elif name in CONTENT_COMMANDS:
                result = CONTENT_COMMANDS[name](self._state, lowered, now)
            else:
                result = COMMANDS[name](self._state, lowered, now)
            if result.changed:
                self._save()
            return result

    def _save(self) -> None:
        if self._store is not None:
            self._store.save(self._state)

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-compatible data (what the state file holds)."""
        with self._lock:
            return state_to_json(self._state)

    def reset(self) -> None:
        """Back to a new appliance: no VS, API enabled, no health marks, the local subnets it
        started with."""
        with self._lock:
            self._state = MockState(local_subnets=self._started_with)
            self._save()

    def local_subnets(self) -> list[str] | None:
        """The appliance's own subnets (None: every address is local)."""
        with self._lock:
            subnets = self._state.local_subnets
            return None if subnets is None else list(subnets)

    def set_local_subnets(self, subnets: Iterable[str] | None) -> None:
        """Change the appliance's subnets (None: every address is local); ``ValueError`` if one
        is not a subnet."""
        networks = None if subnets is None else local_networks(subnets)
        with self._lock:
            self._state.local_subnets = networks
            self._save()

    def set_api_enabled(self, enabled: bool) -> None:
        """Turn the API on or off (the web UI's switch on a real appliance)."""
        with self._lock:
            self._state.parameters["enableapi"] = "yes" if enabled else "no"
            self._save()

    @staticmethod
    def health_mark_key(address: str, port: int | None, check_url: str | None = None) -> str:
        """The key of the mark of a real server address (every port, or the one a check
        probes, 1-65535), for every check or only those that request ``check_url``; 422 when
        one of them is not valid."""
        if check_url is not None and (not check_url.startswith("/") or " " in check_url):
            raise invalid(f"Invalid check URL {check_url!r} (a path such as /ews/healthcheck.htm)")
        canonical_port = None if port is None else parse_number("port", str(port), 1, 65535)
        return health_key(parse_address(address), canonical_port, check_url)

    def mark_health(
        self, address: str, port: int | None, status: str, check_url: str | None = None
    ) -> None:
        """Mark a real server address (every port, or one) ``Up`` or ``Down``; with
        ``check_url``, only for the checks of VSs (SubVSs) that request that URL. The port is
        the one a check probes: a VS's ``CheckPort`` may be any of 1-65535, where a real
        server's own port is 3-65530."""
        if status not in {"Up", "Down"}:
            raise invalid(f"Invalid health status {status!r} (use Up or Down)")
        key = self.health_mark_key(address, port, check_url)
        with self._lock:
            self._state.health[key] = status
            self._save()

    def remove_health_mark(
        self, address: str, port: int | None, check_url: str | None = None
    ) -> str | None:
        """Remove the mark of exactly this address, port and URL (not a wider or narrower one),
        so that the checks it decided fall back to the next mark, or Up; the status it had, or
        None when there was none (nothing is saved then)."""
        key = self.health_mark_key(address, port, check_url)
        with self._lock:
            removed = self._state.health.pop(key, None)
            if removed is not None:
                self._save()
            return removed

    def clear_health_marks(self, address: str | None = None) -> dict[str, str]:
        """Remove every mark of ``address`` (every port and URL), or every mark at all; the
        marks removed (key → status)."""
        with self._lock:
            health = self._state.health
            keys = (
                list(health)
                if address is None
                else marks_of_address(self._state, parse_address(address))
            )
            removed = {key: health.pop(key) for key in keys}
            if removed:
                self._save()
            return removed

    def health_checks(self, address: str) -> list[HealthCheck]:
        """How each VS and SubVS with ``address`` as a real server checks it (one entry per
        real server of that address), by VS Index."""
        canonical = parse_address(address)
        with self._lock:
            state = self._state
            checks = []
            for service in sorted(state.services.values(), key=lambda vs: vs.index):
                url = service.settings.get("CheckUrl")
                for rs in service.real_servers:
                    if rs.address != canonical:
                        continue
                    checks.append(
                        HealthCheck(
                            vs_index=service.index,
                            port=probed_port(service, rs),
                            url=url if isinstance(url, str) and url else None,
                            keys=tuple(health_keys(service, rs)),
                            mark=deciding_mark(state, service, rs),
                            status=real_server_status(state, service, rs),
                        )
                    )
            return checks

    def set_drain_seconds(self, seconds: float) -> None:
        """How long a disabled real server takes to drain its connections to 0."""
        if seconds < 0:
            raise invalid("drain_seconds must be 0 or more")
        with self._lock:
            self._state.drain_seconds = seconds
            self._save()

    def set_connections(self, address: str, port: int | None, active: int) -> int:
        """Set active connections of every RS with this address (and port); returns how many."""
        if active < 0:
            raise invalid("active connections must be 0 or more")
        canonical = parse_address(address)
        with self._lock:
            now = self._clock()
            matched = [
                rs
                for service in self._state.services.values()
                for rs in service.real_servers
                if rs.address == canonical and (port is None or rs.port == port)
            ]
            if not matched:
                raise invalid(f"No real server {canonical}{'' if port is None else f':{port}'}")
            for rs in matched:
                set_active_connections(rs, active, now)
            self._save()
            return len(matched)

    def connection_rows(self) -> list[dict[str, Any]]:
        """Every real server with its enable flag, health and live connection count."""
        with self._lock:
            now = self._clock()
            state = self._state
            return [
                {
                    "vs_index": service.index,
                    "rs_index": rs.rs_index,
                    "address": rs.address,
                    "port": rs.port,
                    "enable": rs.enable,
                    "status": real_server_status(state, service, rs),
                    "active": active_connections(rs, state.drain_seconds, now),
                }
                for service in sorted(state.services.values(), key=lambda vs: vs.index)
                for rs in service.real_servers
            ]

    def health_marks(self, address: str | None = None) -> dict[str, str]:
        """The health marks (``address``, ``address:port``, either with `` URL`` → Up/Down): of
        ``address`` only, or every one."""
        with self._lock:
            health = self._state.health
            if address is None:
                return dict(health)
            return {
                key: health[key] for key in marks_of_address(self._state, parse_address(address))
            }

    def drain_seconds(self) -> float:
        """The configured drain time."""
        with self._lock:
            return self._state.drain_seconds
