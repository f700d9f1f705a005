"""The mock's state as JSON: the optional state file (written atomically) and ``backup`` files.

The same JSON document is what ``GET /_mock/state`` shows, what the state file holds and, gzipped,
what ``backup`` returns and ``restore`` takes.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lmctl.errors import LmctlError
from lmctl.mock.state import (
    Connections,
    MockRealServer,
    MockState,
    MockVirtualService,
    default_parameters,
    local_networks,
)
from lmctl.mock.tables import VS_FIELD_BY_NAME, FieldValue, Opts

STATE_FORMAT = 1


class StateFileError(LmctlError):
    """The state file exists but cannot be read as a mock state, or cannot be written."""


def _settings_to_json(settings: dict[str, FieldValue]) -> dict[str, Any]:
    return {
        name: list(value) if isinstance(value, Opts) else value for name, value in settings.items()
    }


def _settings_from_json(settings: dict[str, Any]) -> dict[str, FieldValue]:
    restored: dict[str, FieldValue] = {}
    for name, value in settings.items():
        spec = VS_FIELD_BY_NAME.get(name)
        if spec is None or spec.computed:
            continue
        restored[name] = Opts(value) if spec.kind == "opts" and value is not None else value
    return restored


def state_to_json(state: MockState) -> dict[str, Any]:
    """The state as a JSON-compatible dict."""
    services = []
    for service in state.services.values():
        entry = asdict(service)
        entry["settings"] = _settings_to_json(service.settings)
        services.append(entry)
    return {
        "format": STATE_FORMAT,
        "parameters": dict(state.parameters),
        "services": services,
        "next_index": state.next_index,
        "next_rs_index": state.next_rs_index,
        "last_change": state.last_change,
        "health": dict(state.health),
        "drain_seconds": state.drain_seconds,
        "local_subnets": state.local_subnets,
    }


def _real_server_from_json(entry: dict[str, Any]) -> MockRealServer:
    connections = Connections(**entry.get("connections", {}))
    fields = {key: value for key, value in entry.items() if key != "connections"}
    return MockRealServer(**fields, connections=connections)


def _service_from_json(entry: dict[str, Any]) -> MockVirtualService:
    return MockVirtualService(
        index=int(entry["index"]),
        address=entry["address"],
        port=str(entry["port"]),
        protocol=entry["protocol"],
        settings=_settings_from_json(entry["settings"]),
        master_index=int(entry.get("master_index", 0)),
        row_rs_index=int(entry.get("row_rs_index", 0)),
        row_options=dict(entry.get("row_options", {})),
        real_servers=[_real_server_from_json(rs) for rs in entry.get("real_servers", [])],
        sub_services=[int(index) for index in entry.get("sub_services", [])],
    )


def _local_subnets_from_json(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise TypeError("local_subnets must be a list of subnets or null")
    return local_networks(str(subnet) for subnet in value)


def state_from_json(document: dict[str, Any]) -> MockState:
    """A state from ``state_to_json`` output; ``ValueError`` if it is not one."""
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise ValueError("not an lmctl mock state (missing or unknown 'format')")
    try:
        services = [_service_from_json(entry) for entry in document["services"]]
        parameters = default_parameters()
        parameters.update({str(k): str(v) for k, v in document.get("parameters", {}).items()})
        return MockState(
            parameters=parameters,
            services={service.index: service for service in services},
            next_index=int(document["next_index"]),
            next_rs_index=int(document["next_rs_index"]),
            last_change=int(document.get("last_change", 0)),
            health={str(k): str(v) for k, v in document.get("health", {}).items()},
            drain_seconds=float(document.get("drain_seconds", 30.0)),
            local_subnets=_local_subnets_from_json(document.get("local_subnets")),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed lmctl mock state: {error}") from None


class StateStore:
    """Loads the state at start, saves it after every change, never leaves a half-written file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> MockState | None:
        """The saved state, or None when there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateFileError(f"cannot read mock state file {self.path}: {error}") from None
        try:
            return state_from_json(json.loads(text))
        except ValueError as error:
            raise StateFileError(
                f"mock state file {self.path} is not a valid lmctl mock state ({error}); "
                "delete it to start from an empty appliance"
            ) from None

    def save(self, state: MockState) -> None:
        """Write the state next to the target, then atomically replace the target."""
        text = json.dumps(state_to_json(state), indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
        except OSError as error:
            raise StateFileError(
                f"cannot write mock state file {self.path}: {error.strerror or error}"
            ) from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
