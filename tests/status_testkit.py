"""Test scaffolding shared by the status and maintenance tests (``tests/status``,
``tests/maintenance``):

- hand-built desired and observed values for the pure tests (no appliance, no specs), and an
  array's status from them, matched as ``lmctl status`` matches an appliance;
- ``prepare_arrays``: two arrays on the session's served mock, written as specs in a temporary
  directory and created with ``lmctl apply``, every member Up:
  ``two`` (Exchange 2010 SP3): rpc, https, http-redirect; members CAS-A1, CAS-A2;
  ``three`` (Exchange 2016 CU23): https, http-redirect; members EX-B1, EX-B2, EX-B3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from lmctl.appliance.loadmaster import appliance_state, connections_of
from lmctl.appliance.state import ApplianceState, Connections, Owner
from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import (
    Statistics,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceSettings,
    VirtualServiceStats,
)
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.match import ArrayScope, match_appliance
from lmctl.status.conditions import array_status
from lmctl.status.model import ArrayStatus
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    Outcome,
    SpecFiles,
    array_spec,
    invoke,
    write_mock_inventory,
    write_spec_files,
)

# -- hand-built values -----------------------------------------------------------------------

VIP = "10.20.0.10"
HQ_MEMBERS = {"cas01": "10.20.0.21", "cas02": "10.20.0.22", "cas03": "10.20.0.23"}


def desired_service(
    service: str,
    port: int,
    members: Sequence[str],
    *,
    array: str = "hq",
    index_port: int | None = None,
    enable: Mapping[str, bool | None] | None = None,
    **settings: Any,
) -> DesiredVirtualService:
    """A desired VS of ``array`` on ``VIP:port`` with the named members as real servers."""
    base: dict[str, Any] = {
        "NickName": Owner(array, service).marker(),
        "VStype": "gen",
        "Schedule": "rr",
        "Persist": "src",
        "PersistTimeout": 7200,
        "Idletime": 7200,
    }
    base.update(settings)
    return DesiredVirtualService(
        appliance="lm-hq",
        array=array,
        service=service,
        key=VirtualServiceKey(address=VIP, port=str(port)),
        settings=VirtualServiceSettings.model_validate(base),
        real_servers=tuple(
            DesiredRealServer(
                member=name,
                address=HQ_MEMBERS[name],
                port=index_port or port,
                enable=(enable or {}).get(name),
            )
            for name in members
        ),
    )


def observed_service(
    desired: DesiredVirtualService,
    index: int,
    *,
    members: Mapping[str, tuple[str, bool]] | None = None,
    status: str | None = None,
    **overrides: Any,
) -> VirtualService:
    """The live VS an appliance would report for ``desired``.

    ``members`` maps member name → (RS Status, Enable); by default every desired member is Up
    and enabled. A member left out of an explicit mapping is missing from the VS.
    """
    states = (
        members if members is not None else {rs.member: ("Up", True) for rs in desired.real_servers}
    )
    rows = []
    for rs_index, real_server in enumerate(desired.real_servers, start=1):
        if real_server.member not in states:
            continue
        rs_status, enabled = states[real_server.member]
        rows.append(
            {
                "Status": rs_status,
                "VSIndex": index,
                "RsIndex": rs_index,
                "Addr": real_server.address,
                "Port": real_server.port,
                "Weight": 1000,
                "Forward": "nat",
                "Enable": "Y" if enabled else "N",
            }
        )
    any_up = any(rs_status == "Up" and enabled for rs_status, enabled in states.values())
    fields: dict[str, Any] = desired.settings.model_dump(by_alias=True)
    fields.update(
        {
            # A VS with no real servers by design (the redirect) answers itself.
            "Status": status or ("Up" if any_up or not desired.real_servers else "Down"),
            "Index": index,
            "VSAddress": desired.key.address,
            "VSPort": desired.key.port,
            "Protocol": desired.key.protocol,
            "Rs": rows,
        }
    )
    fields.update(overrides)
    return VirtualService.model_validate(fields)


def statistics(connections: Mapping[tuple[int, str, int], int]) -> Statistics:
    """``stats`` with ``ActivConns`` per (VS index, member name, RS port)."""
    rows = [
        {"VSIndex": vs_index, "Addr": HQ_MEMBERS[member], "Port": port, "ActivConns": count}
        for (vs_index, member, port), count in connections.items()
    ]
    return Statistics.model_validate({"real_servers": rows})


def two_member_array() -> list[DesiredVirtualService]:
    """An Exchange 2010 array ``hq``: rpc and https with cas01/cas02, an http redirect."""
    return [
        desired_service("rpc", 135, ["cas01", "cas02"], ExtraPorts="60000,60001"),
        desired_service("https", 443, ["cas01", "cas02"], PersistTimeout=2700, Idletime=1800),
        desired_service(
            "http-redirect",
            80,
            [],
            VStype="http",
            Persist=None,
            PersistTimeout=0,
            Idletime=0,
            ErrorCode=302,
            ErrorUrl="https://%h%s",
        ),
    ]


def table_rows(text: str) -> list[list[str]]:
    """Each line of a rendered status as its cells (runs of 2+ spaces separate cells)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


def ipv6_service(members: Mapping[str, str]) -> DesiredVirtualService:
    """``https`` of array ``hq`` on ``[2001:db8::10]:443`` with members name → IPv6 address."""
    desired = desired_service("https", 443, [])
    return desired.model_copy(
        update={
            "key": VirtualServiceKey(address="2001:db8::10", port="443"),
            "real_servers": tuple(
                DesiredRealServer(member=name, address=address, port=443)
                for name, address in members.items()
            ),
        }
    )


def reading(
    live: Sequence[VirtualService], stats: Statistics | None = None
) -> tuple[ApplianceState, Connections]:
    """What the LoadMaster backend reduces ``listvs`` (``live``) and ``stats`` to; the ``Vs``
    rows of ``stats`` (Index → key) are those of the live VSs."""
    rows = tuple(
        VirtualServiceStats.model_validate(
            {"Index": vs.index, "VSAddress": vs.address, "VSPort": vs.port, "VSProt": vs.protocol}
        )
        for vs in live
    )
    full = (stats or Statistics()).model_copy(update={"virtual_services": rows})
    return appliance_state(live), connections_of(full)


def status_of(
    desired: Sequence[DesiredVirtualService],
    live: Sequence[VirtualService],
    stats: Statistics | None = None,
    *,
    array: str = "hq",
    scope: ArrayScope = None,
) -> ArrayStatus:
    """``array`` on ``lm-hq`` as status sees it: the appliance (these live VSs and ``stats``)
    matched once with every desired service on it, of every array."""
    state, connections = reading(live, stats)
    return array_status(array, "lm-hq", match_appliance(desired, state, scope), connections)


# -- arrays on the served mock ---------------------------------------------------------------

# The members of the arrays below, by name.
MEMBERS = {
    "CAS-A1": "10.30.0.11",
    "CAS-A2": "10.30.0.12",
    "EX-B1": "10.30.1.11",
    "EX-B2": "10.30.1.12",
    "EX-B3": "10.30.1.13",
}

ARRAY_TWO = array_spec(
    "two",
    "HQ",
    "2010 SP3",
    "10.30.0.10",
    "lm-test",
    {member: MEMBERS[member] for member in ("CAS-A1", "CAS-A2")},
    fqdn="outlook-two.corp.example.com",
    rpc_ports=(60000, 60001),
)

ARRAY_THREE = array_spec(
    "three",
    "HQ",
    "2016 CU23",
    "10.30.1.10",
    "lm-test",
    {member: MEMBERS[member] for member in ("EX-B1", "EX-B2", "EX-B3")},
    fqdn="mail-three.corp.example.com",
    services=("https", "http-redirect"),
)

# Not applied by prepare_arrays (for tests of an array missing on its appliance).
ARRAY_FOUR = array_spec(
    "four",
    "DR",
    "2016 CU23",
    "10.30.2.10",
    "lm-test",
    {"EX-D1": "10.30.2.11", "EX-D2": "10.30.2.12"},
    fqdn="mail-four.corp.example.com",
    services=("https",),
)


RunLmctl = Callable[..., Outcome]


def prepare_arrays(
    request: pytest.FixtureRequest, dialect: str, files: SpecFiles | None = None
) -> RunLmctl:
    """Write arrays ``two`` and ``three`` (or ``files`` instead, which may replace the
    inventory) and create them with ``lmctl apply`` over API ``dialect`` (v1 or v2); returns
    ``run(*args)`` that runs lmctl in-process on those specs (the mock's call log starts empty).

    Uses the test's ``tmp_path`` (specs in ``tmp_path/arrays``, the working directory),
    ``mock_server``, ``mock_control`` and ``monkeypatch`` (the mock's password)."""
    tmp_path: Path = request.getfixturevalue("tmp_path")
    mock_server: MockServerHandle = request.getfixturevalue("mock_server")
    mock_control: MockControl = request.getfixturevalue("mock_control")
    monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
    specs = tmp_path / "arrays"
    write_mock_inventory(specs, mock_server, "lm-test", dialect)
    write_spec_files(specs, files or {"two.yaml": ARRAY_TWO, "three.yaml": ARRAY_THREE})
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Outcome:
        # Every command takes the spec paths as its last arguments.
        return invoke(*args, str(specs))

    applied = run("apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    mock_control.clear_log()
    return run
