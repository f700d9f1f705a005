"""The ``virtual-service-moved`` safety rule: an array's VIP change needs ``--force``."""

from __future__ import annotations

from datetime import UTC, datetime

from reconcile_builders import desired, key, members, observed_from

from lmctl.reconcile.planning import make_plan

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
THREE = members("10.0.1.21", "10.0.1.22", "10.0.1.23")


def test_moving_an_arrays_vip_is_one_violation_per_array_and_a_port_move_is_none() -> None:
    before = [
        desired("hq", service, at=key("10.0.1.10", port), real_servers=THREE)
        for service, port in (("https", "443"), ("smtp", "25"))
    ]
    after = [
        desired("hq", service, at=key("10.0.1.60", port), real_servers=THREE)
        for service, port in (("https", "443"), ("smtp", "25"))
    ]
    observed = [observed_from(vs, index=n) for n, vs in enumerate(before, start=1)]
    plan = make_plan({"lm-hq": after}, {"lm-hq": observed}, specs_digest="sha256:x", now=NOW)
    assert [(v.rule, v.message) for v in plan.violations] == [
        (
            "virtual-service-moved",
            "lm-hq: moving hq's VIP from 10.0.1.10 to 10.0.1.60 breaks every client until DNS "
            "(the array's namespace names) points at 10.0.1.60; re-run with --force once DNS "
            "is ready",
        )
    ]
    new_port = [desired("hq", "https", at=key("10.0.1.10", "444"), real_servers=THREE)]
    unmoved = make_plan(
        {"lm-hq": new_port}, {"lm-hq": observed[:1]}, specs_digest="sha256:x", now=NOW
    )
    assert unmoved.violations == ()
