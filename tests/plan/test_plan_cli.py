"""``lmctl plan`` / ``lmctl apply`` end to end, over real HTTPS against the served mock.

Every scenario keeps two unmarked VSs on the appliance (one on another port of an array's VIP)
and checks at the end that they were never touched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from lmctl.cli.app import app
from lmctl.loadmaster.models import VirtualService, VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.diff import in_write_order
from lmctl.plan.document import Plan
from mock_site import Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12", "10.1.1.13"])
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12", "10.1.2.13"])
UNMARKED = (
    VirtualServiceKey(address="10.1.1.50", port="8443"),
    VirtualServiceKey(address="10.9.9.50", port="443"),
)


def key(array: Array, port: str) -> VirtualServiceKey:
    return VirtualServiceKey(address=array.vip, port=port)


@pytest.fixture
def site(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    site = Site.open(tmp_path, mock_server, monkeypatch)
    site.raw(
        [
            ("add_virtual_service", (k,), {"params": {"NickName": f"legacy-{k.port}"}})
            for k in UNMARKED
        ]
        + [("add_real_server", (UNMARKED[0], "10.1.1.99", 8443), {})]
    )
    before = unmarked(site.read())
    site.write(A1, A2)
    yield site
    assert unmarked(site.read()) == before, "an unmarked VS was changed"


def unmarked(services: list[VirtualService]) -> dict[VirtualServiceKey | None, object]:
    return {vs.key: (vs.settings(), vs.real_servers) for vs in services if vs.key in UNMARKED}


def by_key(site: Site) -> dict[VirtualServiceKey | None, VirtualService]:
    return {vs.key: vs for vs in site.read()}


def applied(site: Site) -> None:
    result = site.apply()
    assert result.exit_code == 0, result.output
    assert "Apply complete" in result.output


def converged(site: Site, control: MockControl) -> None:
    control.clear_log()
    result = site.plan()
    assert result.exit_code == 0, result.output
    assert "No changes: the appliances match the specs." in result.output
    assert control.write_count() == 0
    assert [c.command for c in control.calls()] == ["listvs"]


def test_from_empty_apply_creates_exactly_the_expansion(
    site: Site, mock_control: MockControl
) -> None:
    result = site.plan()
    assert result.exit_code == 2, result.output
    assert "Plan: 4 to create, 0 to update, 0 to delete (virtual services); 12 to add" in (
        result.output
    )
    result = site.apply()
    assert result.exit_code == 0, result.output
    assert "Apply complete: 16 writes made." in result.output
    ours = {k: vs for k, vs in by_key(site).items() if k not in UNMARKED}
    assert sorted(ours, key=str) == sorted(
        [key(A1, "25"), key(A1, "443"), key(A2, "25"), key(A2, "443")], key=str
    )
    https = ours[key(A1, "443")]
    assert https.nickname == "lmctl.a1.https"
    assert (https.schedule, https.check_type, https.check_url) == (
        "rr",
        "https",
        "/owa/healthcheck.htm",
    )
    assert sorted((rs.address, rs.port, rs.weight) for rs in https.real_servers) == [
        ("10.1.1.11", 443, 1000),
        ("10.1.1.12", 443, 1000),
        ("10.1.1.13", 443, 1000),
    ]
    (backup,) = site.state_dir.glob("backups/lm-test-*.bak")
    assert backup.stat().st_mode & 0o777 == 0o600
    assert f"lm-test: backup saved to {backup}" in result.output
    converged(site, mock_control)


def test_drift_is_shown_and_repaired(site: Site, mock_control: MockControl) -> None:
    applied(site)
    https = key(A1, "443")
    site.raw(
        [
            ("modify_virtual_service", (https, {"Schedule": "lc"}), {}),
            ("delete_real_server", (https, "10.1.1.12", 443), {}),
            ("add_real_server", (https, "10.1.1.77", 443), {}),
        ]
    )
    result = site.plan()
    assert result.exit_code == 2
    assert "update virtual service 10.1.1.50:443/tcp" in result.output
    assert "Schedule: lc → rr" in result.output
    assert "+ add real server a1-cas2 10.1.1.12:443" in result.output
    assert "- remove real server 10.1.1.77:443" in result.output
    applied(site)
    converged(site, mock_control)


def test_member_changes_scheduling_and_services(site: Site, mock_control: MockControl) -> None:
    applied(site)
    changed_a1 = Array("a1", A1.vip, ["10.1.1.11", "10.1.1.12", "10.1.1.14"], scheduling="lc")
    changed_a2 = Array("a2", A2.vip, A2.members, services=["https", "smtp", "imap4s"])
    site.write(changed_a1, changed_a2)
    result = site.plan()
    assert result.exit_code == 2
    for line in (
        "Schedule: rr → lc",
        "+ add real server a1-cas3 10.1.1.14:443",
        "- remove real server 10.1.1.13:25",
        "service imap4s (10.1.2.50:993/tcp)",
    ):
        assert line in result.output
    applied(site)
    converged(site, mock_control)
    site.write(A2)  # imap4s leaves the specs again: 1 of 7 managed VSs
    result = site.plan()
    assert result.exit_code == 2
    assert (
        "- delete virtual service 10.1.2.50:993/tcp (NickName 'lmctl.a2.imap4s', 3 real servers)"
        in result.output
    )
    applied(site)
    converged(site, mock_control)


def test_array_removed_is_blocked_without_force(site: Site, mock_control: MockControl) -> None:
    applied(site)
    site.remove("a2")
    result = site.plan()
    assert result.exit_code == 3
    assert "deletes every virtual service of array 'a2' (2)" in result.output
    assert "re-run with --allow array-deleted" in result.output
    refused = site.apply()
    assert refused.exit_code == 3
    assert len(by_key(site)) == 6
    forced = site.apply("--force")
    assert forced.exit_code == 0, forced.output
    assert key(A2, "443") not in by_key(site)
    converged(site, mock_control)


def test_member_removed_below_two_is_blocked(site: Site) -> None:
    applied(site)
    site.write(Array("a1", A1.vip, ["10.1.1.11"]))
    result = site.plan()
    assert result.exit_code == 3
    assert "array 'a1' is left with fewer than two members, no failover: " in result.output
    assert "https (10.1.1.50:443/tcp) 3 → 1" in result.output


def test_vip_moved_is_one_modvs_per_service(site: Site, mock_control: MockControl) -> None:
    applied(site)
    site.write(Array("a1", "10.1.1.60", A1.members))
    result = site.plan()
    assert result.exit_code == 3
    assert "~ move virtual service 10.1.1.50:443/tcp → 10.1.1.60:443/tcp" in result.output
    assert "moving a1's VIP from 10.1.1.50 to 10.1.1.60 breaks every client" in result.output
    mock_control.clear_log()
    blocked = site.apply()
    assert blocked.exit_code == 3
    assert "re-run with --allow virtual-service-moved once DNS is ready" in blocked.output
    assert mock_control.write_count() == 0
    forced = site.apply("--force")
    assert forced.exit_code == 0, forced.output
    writes = [c for c in mock_control.calls() if c.write]
    assert [(c.command, c.params.get("vsaddress")) for c in writes] == [
        ("modvs", "10.1.1.60"),
        ("modvs", "10.1.1.60"),
    ]
    assert key(A1, "443") not in by_key(site)
    assert by_key(site)[VirtualServiceKey(address="10.1.1.60", port="443")].nickname == (
        "lmctl.a1.https"
    )
    converged(site, mock_control)


def test_unmarked_vs_at_a_wanted_address_is_a_conflict(site: Site) -> None:
    site.write(Array("a1", A1.vip, A1.members, services=["https", "smtp", "imap4s"]))
    site.raw([("add_virtual_service", (key(A1, "993"),), {"params": {"NickName": "imap"}})])
    result = site.plan()
    assert result.exit_code == 1
    assert "conflict: a1/imap4s wants 10.1.1.50:993/tcp, which is held by the VS named 'imap'" in (
        result.output
    )
    refused = site.apply()
    assert refused.exit_code == 1
    assert "lmctl never takes one over" in refused.output
    assert by_key(site)[key(A1, "993")].nickname == "imap"


def test_json_plan_matches_its_schema_and_saved_plan_applies(
    site: Site, mock_control: MockControl
) -> None:
    saved = site.root / "plan.json"
    result = site.plan("--format", "json", "--out", str(saved))
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    jsonschema.validate(document, Plan.model_json_schema(mode="serialization"))
    assert document["format_version"] == 1
    assert document["summary"]["create_vs"] == 4
    assert json.loads(saved.read_text()) == document
    for secret in (site.server.password, site.server.api_key):
        assert secret not in saved.read_text()
        assert secret not in result.output
    # The URL is recorded (a saved plan applies only to the box it was made for).
    assert [a["url"] for a in document["appliances"]] == [site.server.url]
    applied_plan = site.lmctl("apply", str(saved), "--auto-approve")
    assert applied_plan.exit_code == 0, applied_plan.output
    converged(site, mock_control)


def test_saved_plan_finds_its_inventory_at_other_spec_paths(
    site: Site, mock_control: MockControl
) -> None:
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    moved = site.arrays_dir.rename(site.root / "checkout")
    lost = site.lmctl("apply", str(saved), "--auto-approve")
    assert lost.exit_code == 1
    assert str(site.arrays_dir) in lost.output
    assert f"or name the specs after the plan file: lmctl apply {saved} PATH ..." in lost.output
    found = site.lmctl("apply", str(saved), str(moved), "--auto-approve")
    assert found.exit_code == 0, found.output
    assert "Apply complete: 16 writes made." in found.output
    assert "warning: the specs changed" not in found.output
    mock_control.clear_log()
    assert site.lmctl("plan", str(moved), "--detailed-exitcode").exit_code == 0
    assert mock_control.write_count() == 0


def test_stale_saved_plan_is_refused_naming_object_and_field(site: Site) -> None:
    applied(site)
    site.write(Array("a1", A1.vip, A1.members, scheduling="lc"))
    saved = site.root / "plan.json"
    assert site.plan("--out", str(saved)).exit_code == 2
    site.raw([("modify_virtual_service", (key(A1, "443"), {"Idletime": "99"}), {})])
    result = site.lmctl("apply", str(saved), "--auto-approve")
    assert result.exit_code == 1
    assert "drifted: lm-test: 10.1.1.50:443/tcp Idletime: expected 3600, found 99" in result.output
    assert "is stale" in result.output
    assert by_key(site)[key(A1, "443")].schedule == "rr"


def test_markdown_plan_for_a_merge_request(site: Site) -> None:
    result = site.plan("--format", "markdown")
    assert result.exit_code == 2
    assert result.stdout.startswith("## lmctl plan\n")
    assert "### `lm-test`" in result.stdout
    assert (
        "```diff\n  array a1\n    service https (10.1.1.50:443/tcp)\n+     create" in result.stdout
    )


def test_apply_without_terminal_or_auto_approve_refuses(site: Site) -> None:
    result = site.lmctl("apply", str(site.arrays_dir))
    assert result.exit_code == 1
    assert "refusing to apply without confirmation" in result.output
    assert "--auto-approve" in result.output
    assert set(by_key(site)) == set(UNMARKED)


def test_drained_member_is_shown_and_left_drained(site: Site, mock_control: MockControl) -> None:
    applied(site)
    https = key(A1, "443")
    site.raw([("modify_real_server", (https, "10.1.1.12", 443, {"enable": "N"}), {})])
    result = site.plan()
    assert result.exit_code == 0
    assert (
        "! drained: a1-cas2 10.1.1.12:443 is disabled on the appliance and stays disabled "
        "(the spec does not set enable)"
    ) in result.output
    again = site.apply()
    assert again.exit_code == 0
    assert "Nothing to apply." in again.output
    drained = [rs for rs in by_key(site)[https].real_servers if rs.address == "10.1.1.12"]
    assert [rs.enable for rs in drained] == [False]


@pytest.mark.parametrize(("answer", "code"), [("y\n", 0), ("n\n", 1)])
def test_apply_asks_on_a_terminal(
    site: Site, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    monkeypatch.setattr("lmctl.cli.plan.can_ask", lambda: True)
    result = CliRunner().invoke(
        app,
        ["apply", str(site.arrays_dir), "--state-dir", str(site.state_dir)],
        input=answer,
    )
    assert result.exit_code == code, result.output
    assert "Apply these 16 writes to 1 appliance? [y/N]" in result.output
    if code:
        assert "Apply cancelled: nothing was written." in result.output
        assert set(by_key(site)) == set(UNMARKED)
    else:
        assert "Apply complete: 16 writes made." in result.output


def test_user_errors_are_one_clear_message(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LMCTL_TEST_MOCK_PASSWORD")
    result = site.plan()
    assert result.exit_code == 1
    # The credential wording belongs to the specs (with or without "appliance 'lm-test': ").
    assert re.fullmatch(
        r"error: lm-test: (appliance 'lm-test': )?the environment variable "
        r"LMCTL_TEST_MOCK_PASSWORD is not set; export LMCTL_TEST_MOCK_PASSWORD=\.\.\. before "
        r"running lmctl",
        result.output.strip(),
    ), result.output
    unknown = site.plan("--appliance", "lm-nowhere")
    assert unknown.exit_code == 1
    assert unknown.output.strip() == (
        "error: no appliance named lm-nowhere in the inventory (known: lm-test)"
    )
    (site.arrays_dir / "a1.yaml").write_text("name: a1\nvip: not-an-ip\n")
    result = site.plan()
    assert result.exit_code == 1
    assert "a1.yaml:2: error: vip:" in result.output
    assert "error: the specs have errors (see above); nothing was read or written" in result.output
    assert "Traceback" not in result.output


def test_a_write_order_that_empties_a_service_is_refused_even_with_force(
    site: Site, mock_control: MockControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(site)
    site.write(Array("a1", A1.vip, ["10.1.1.21", "10.1.1.22", "10.1.1.23"]))
    # Break the ordering on purpose: old members removed before the new ones are added.
    monkeypatch.setattr(
        "lmctl.plan.diff.in_write_order",
        lambda changes, order=None: tuple(reversed(in_write_order(changes, order))),
    )
    mock_control.clear_log()
    result = site.apply("--force")
    assert result.exit_code == 1, result.output
    assert (
        "lm-test: after write 3 (remove_rs 10.1.1.50:25/tcp), 10.1.1.50:25/tcp has no enabled "
        "member; refused even with --force"
    ) in result.output
    assert "after write 6 (remove_rs 10.1.1.50:443/tcp), 10.1.1.50:443/tcp" in result.output
    assert "refused even with --force; nothing was written" in result.output
    assert mock_control.write_count() == 0


@pytest.mark.parametrize(
    ("command", "codes"),
    [
        ("plan", ["0 no changes", "2 changes pending", "1 error", "3 blocked by a safety rule"]),
        ("apply", ["0 applied", "1 error, nothing written", "3 blocked", "4 partial failure"]),
    ],
)
def test_help_documents_the_exit_codes(command: str, codes: list[str]) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "2000"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for code in codes:
        assert code in text, code
    assert "docs/plan-apply.md" in text
