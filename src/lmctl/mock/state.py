"""The mock appliance's state: virtual services, real servers, parameters and simulated health.

Plain dataclasses, serialised to and from JSON-compatible dicts for the state file and for
``backup``/``restore``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lmctl.mock.layout import VS_FIELD_BY_NAME, FieldValue, Opts

FIRMWARE_VERSION = "7.2.59.0.22007"
STATE_FORMAT = 1


def default_parameters() -> dict[str, str]:
    """The global parameters ``get``/``set`` know, as a new appliance has them (API enabled)."""
    return {"version": FIRMWARE_VERSION, "enableapi": "yes", "hostname": "lb100"}


@dataclass
class Connections:
    """Simulated active connections of one real server, draining linearly once it is disabled."""

    active: int = 0
    drain_from: int = 0
    drain_started: float | None = None


@dataclass
class MockRealServer:
    """A real server inside one virtual service."""

    rs_index: int
    address: str
    port: int
    forward: str = "nat"
    weight: int = 1000
    limit: int = 0
    enable: bool = True
    critical: bool = False
    connections: Connections = field(default_factory=Connections)


@dataclass
class MockVirtualService:
    """A virtual service or a SubVS (``master_index`` set, no address of its own)."""

    index: int
    address: str | None
    port: str
    protocol: str
    settings: dict[str, FieldValue]
    master_index: int = 0
    row_rs_index: int = 0
    row_options: dict[str, int | str | bool] = field(default_factory=dict)
    real_servers: list[MockRealServer] = field(default_factory=list)
    sub_services: list[int] = field(default_factory=list)

    @property
    def is_sub_service(self) -> bool:
        """True for a SubVS, reached only by its Index."""
        return self.master_index != 0


@dataclass
class ApplianceState:
    """Everything the mock remembers between calls (and, with a state file, between runs)."""

    parameters: dict[str, str] = field(default_factory=default_parameters)
    services: dict[int, MockVirtualService] = field(default_factory=dict)
    next_index: int = 1
    next_rs_index: int = 1
    last_change: int = 0
    health: dict[str, str] = field(default_factory=dict)
    drain_seconds: float = 30.0


def health_key(address: str, port: int | None) -> str:
    """The key of a health mark: ``address`` for every port, ``address:port`` for one."""
    return address if port is None else f"{address}:{port}"


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


def state_to_json(state: ApplianceState) -> dict[str, Any]:
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


def state_from_json(document: dict[str, Any]) -> ApplianceState:
    """A state from ``state_to_json`` output; ``ValueError`` if it is not one."""
    if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
        raise ValueError("not an lmctl mock state (missing or unknown 'format')")
    try:
        services = [_service_from_json(entry) for entry in document["services"]]
        parameters = default_parameters()
        parameters.update({str(k): str(v) for k, v in document.get("parameters", {}).items()})
        return ApplianceState(
            parameters=parameters,
            services={service.index: service for service in services},
            next_index=int(document["next_index"]),
            next_rs_index=int(document["next_rs_index"]),
            last_change=int(document.get("last_change", 0)),
            health={str(k): str(v) for k, v in document.get("health", {}).items()},
            drain_seconds=float(document.get("drain_seconds", 30.0)),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed lmctl mock state: {error}") from None
