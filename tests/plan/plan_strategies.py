"""Hypothesis strategies of desired and observed appliance states, for the property tests."""

from __future__ import annotations

from hypothesis import strategies as st
from plan_builders import desired, key, observed_from, unmarked

from lmctl.exchange import DesiredRealServer, DesiredVirtualService
from lmctl.loadmaster.models import VirtualService

ADDRESSES = ("10.0.1.10", "10.0.1.11")
PORTS = ("25", "80", "443")
PROTOCOLS = ("tcp", "tcp", "udp")  # a service changing protocol is a create plus a delete
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
            st.tuples(
                st.sampled_from(ADDRESSES), st.sampled_from(PORTS), st.sampled_from(PROTOCOLS)
            ),
            unique=True,
            min_size=len(chosen),
            max_size=len(chosen),
        )
    )
    return [
        desired(
            array,
            service,
            at=key(address, port, protocol),
            real_servers=draw(member_sets()),
            schedule=draw(st.sampled_from(("rr", "lc"))),
            idle_time=draw(st.sampled_from((1800, 660))),
        )
        for (array, service), (address, port, protocol) in zip(chosen, keys, strict=True)
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
