"""Property tests: over random desired and observed states, a plan converges and never breaks.

Applying the plan (in memory) yields the desired state on marked objects, leaves every unmarked
VS as it was, a second plan is empty, and after every single write each service that serves
before and after still has an enabled member.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from reconcile_builders import desired, key, observed_from, unmarked

from lmctl.desired import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import VirtualService
from lmctl.reconcile.diff import diff
from lmctl.reconcile.simulate import break_before_make, simulate
from lmctl.reconcile.state import ApplianceState, appliance_state

ADDRESSES = ("10.0.1.10", "10.0.1.11")
PORTS = ("25", "80", "443")
MEMBERS = ("10.0.1.21", "10.0.1.22", "10.0.1.23")
SERVICES = (("hq", "https"), ("hq", "smtp"), ("branch", "https"), ("gone", "https"))


@st.composite
def member_sets(draw: st.DrawFn) -> tuple[DesiredRealServer, ...]:
    chosen = draw(st.lists(st.sampled_from(MEMBERS), unique=True, max_size=3))
    return tuple(
        DesiredRealServer(
            member=f"cas{n}",
            address=address,
            port=draw(st.sampled_from((443, 444))),
            weight=draw(st.sampled_from((1000, 500))),
            enable=draw(st.sampled_from((None, None, True, False))),
        )
        for n, address in enumerate(chosen)
    )


@st.composite
def vs_specs(draw: st.DrawFn, owners: tuple[tuple[str, str], ...]) -> list[DesiredVirtualService]:
    """Services at distinct keys, each owner at most once."""
    chosen = draw(st.lists(st.sampled_from(owners), unique=True, max_size=len(owners)))
    keys = draw(
        st.lists(
            st.tuples(st.sampled_from(ADDRESSES), st.sampled_from(PORTS)),
            unique=True,
            min_size=len(chosen),
            max_size=len(chosen),
        )
    )
    return [
        desired(
            array,
            service,
            at=key(address, port),
            real_servers=draw(member_sets()),
            schedule=draw(st.sampled_from(("rr", "lc"))),
            idle_time=draw(st.sampled_from((1800, 660))),
        )
        for (array, service), (address, port) in zip(chosen, keys, strict=True)
    ]


@st.composite
def observed_states(draw: st.DrawFn) -> list[VirtualService]:
    """Marked VSs (some drained members), plus unmarked VSs on keys left free."""
    marked = draw(vs_specs(SERVICES))
    found = [
        observed_from(
            vs,
            index=n,
            rs_enable={rs.address: draw(st.booleans()) for rs in vs.real_servers},
        )
        for n, vs in enumerate(marked, start=1)
    ]
    taken = {vs.key for vs in marked}
    for n, (address, port) in enumerate(
        draw(st.lists(st.tuples(st.sampled_from(ADDRESSES), st.sampled_from(PORTS)), max_size=2))
    ):
        if key(address, port) not in taken:
            found.append(unmarked(address, port, index=50 + n))
            taken.add(key(address, port))
    return found


def assert_desired(final: ApplianceState, want: DesiredVirtualService) -> None:
    vs = final[want.key]
    assert vs.settings == want.settings
    got = {rs.member_key: rs for rs in vs.real_servers}
    assert set(got) == {(rs.address, rs.port) for rs in want.real_servers}
    for rs in want.real_servers:
        member = got[(rs.address, rs.port)]
        assert (member.weight, member.forward) == (rs.weight, rs.forward)
        if rs.enable is not None:
            assert member.enable == rs.enable


@settings(max_examples=300, deadline=None)
@given(wanted=vs_specs(SERVICES[:3]), observed=observed_states())
def test_plan_converges_keeps_unmarked_and_never_breaks(
    wanted: list[DesiredVirtualService], observed: list[VirtualService]
) -> None:
    state = appliance_state(observed)
    first = diff(wanted, state)
    final = simulate(state, first.changes)
    conflicted = {(c.array, c.service) for c in first.conflicts}
    for want in wanted:
        if (want.array, want.service) not in conflicted:
            assert_desired(final, want)
    for vs_key, vs in state.items():
        if vs.owner is None:
            assert final[vs_key] == vs
    for vs in final.values():
        assert (
            vs.owner is None
            or (vs.owner.array, vs.owner.service)
            in {(w.array, w.service) for w in wanted} | conflicted
        )
    assert break_before_make(state, first.changes) == []
    second = diff(wanted, final)
    # Only a service blocked by a conflict with a VS deleted by this plan can still move.
    assert all((c.array, c.service) in conflicted for c in second.changes)
    if not first.conflicts:
        assert second.changes == ()
