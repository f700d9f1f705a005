"""Property tests: over random desired and observed states, a plan converges and never breaks.

Applying the plan (in memory, and over HTTPS to the served mock) yields the desired state on
marked objects, leaves every unmarked VS as it was, a second plan is empty, and after every
single write each service that serves before and after still has an enabled member.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from plan_strategies import SERVICES, observed_states, vs_specs

from lmctl.appliance.loadmaster import LoadMasterAppliance, appliance_state
from lmctl.appliance.state import ApplianceState
from lmctl.apply.execute import ApplyOptions, apply_plan
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualService, differing_fields, settings_params
from lmctl.mock.control import MockControl
from lmctl.plan.diff import ApplianceDiff, diff
from lmctl.plan.document import Plan, make_plan
from lmctl.plan.match import Conflict, match_appliance
from lmctl.plan.simulate import break_before_make, simulate


def diff_of(wanted: list[DesiredVirtualService], state: ApplianceState) -> ApplianceDiff:
    return diff(match_appliance(wanted, state))


def assert_desired(final: ApplianceState, want: DesiredVirtualService) -> None:
    vs = final[want.key]
    assert differing_fields(vs.settings, want.settings) == ()
    got = {rs.member_key: rs for rs in vs.real_servers}
    assert set(got) == {(rs.address, rs.port) for rs in want.real_servers}
    for rs in want.real_servers:
        member = got[(rs.address, rs.port)]
        assert (member.weight, member.forward) == (rs.weight, rs.forward)
        if rs.enable is not None:
            assert member.enable == rs.enable


def assert_converged(
    wanted: list[DesiredVirtualService],
    conflicts: Sequence[Conflict],
    before: ApplianceState,
    after: ApplianceState,
) -> set[tuple[str, str]]:
    """Desired state on every service not in conflict, unmarked VSs untouched; the conflicted."""
    conflicted = {(c.array, c.service) for c in conflicts}
    for want in wanted:
        if (want.array, want.service) not in conflicted:
            assert_desired(after, want)
    for vs_key, vs in before.items():
        if vs.owner is None:
            assert replace(after[vs_key], index=None) == replace(vs, index=None)
    return conflicted


@settings(max_examples=300, deadline=None)
@given(wanted=vs_specs(SERVICES[:3]), observed=observed_states())
def test_plan_converges_keeps_unmarked_and_never_breaks(
    wanted: list[DesiredVirtualService], observed: list[VirtualService]
) -> None:
    state = appliance_state(observed)
    first = diff_of(wanted, state)
    final = simulate(state, first.changes)
    conflicted = assert_converged(wanted, first.conflicts, state, final)
    for vs in final.values():
        assert (
            vs.owner is None
            or (vs.owner.array, vs.owner.service)
            in {(w.array, w.service) for w in wanted} | conflicted
        )
    assert break_before_make(state, first.changes) == []
    second = diff_of(wanted, final)
    # Only a service blocked by a conflict with a VS deleted by this plan can still move.
    assert all((c.array, c.service) in conflicted for c in second.changes)
    if not first.conflicts:
        assert second.changes == ()


async def seed(client: LoadMaster, observed: list[VirtualService]) -> None:
    """Put the observed state on the served mock, as an operator and earlier applies left it."""
    for vs in observed:
        assert vs.key is not None
        await client.add_virtual_service(vs.key, settings_params(vs.settings()))
        for rs in vs.real_servers:
            await client.add_real_server(
                vs.key, rs.address, rs.port, weight=rs.weight, forward=rs.forward, enable=rs.enable
            )


async def plan_apply_and_read(
    connection: ApplianceConnection,
    wanted: list[DesiredVirtualService],
    observed: list[VirtualService],
    state_dir: Path,
) -> tuple[ApplianceState, Plan, ApplianceState]:
    name = connection.name
    async with LoadMasterAppliance(name, LoadMaster(connection)) as appliance:
        await seed(appliance.client, observed)
        before = await appliance.observe()
        plan = make_plan({name: wanted}, {name: before}, specs_digest="sha256:test")
        options = ApplyOptions(state_dir=state_dir, backup=False)
        (result,) = await apply_plan(plan, {name: appliance}, options, lambda event: None)
        assert result.ok, (result.error, result.refused, result.remaining)
        after = await appliance.observe()
    return before, plan, after


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(wanted=vs_specs(SERVICES[:3]), observed=observed_states())
def test_plan_applied_over_https_converges(
    connection_v1: ApplianceConnection,
    mock_control: MockControl,
    tmp_path: Path,
    wanted: list[DesiredVirtualService],
    observed: list[VirtualService],
) -> None:
    mock_control.reset()
    before, plan, after = asyncio.run(
        plan_apply_and_read(connection_v1, wanted, observed, tmp_path)
    )
    (appliance,) = plan.appliances
    if not assert_converged(wanted, appliance.conflicts, before, after):
        assert diff_of(wanted, after).changes == ()
