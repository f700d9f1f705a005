"""An array moved to another appliance (``appliance:`` changed in its file), over HTTPS against two
served mocks: planned by its file or by the directory, the move is planned whole (made on the new
appliance, deleted on the old, behind the ``appliance-move`` rule), reading each appliance once;
apply makes the new appliance first and deletes on the old one only once that worked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmctl.mock.server import MockServerHandle, serve_in_thread
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    Outcome,
    array_spec,
    invoke,
    mock_inventory,
    run_process,
)

MEMBERS = {"MUC-CAS01": "10.20.1.11", "MUC-CAS02": "10.20.1.12"}
HQ_MEMBERS = {"HQ-CAS01": "10.10.1.11", "HQ-CAS02": "10.10.1.12"}
MOVE_RULE = (
    "  - lm-old: array 'branch' moves to lm-new: apply makes its virtual services there first, "
    "then deletes its 2 here; in between, both appliances hold its addresses (a duplicate "
    "address on the network): apply it in a maintenance window [appliance-move]"
)


def branch(appliance: str) -> str:
    return array_spec(
        "branch", "MUC", "2016 CU23", "10.20.1.50", appliance, MEMBERS,
        fqdn="mail-muc.corp.example.com", services=("https", "smtp"),
    )  # fmt: skip


class TwoAppliances:
    """Specs for two served mocks, lm-old and lm-new: array ``branch`` (on lm-old until moved)
    and array ``hq`` (on lm-new)."""

    def __init__(self, root: Path, old: MockServerHandle, new: MockServerHandle) -> None:
        self.root, self.old, self.new = root, old, new
        self.arrays = root / "arrays"
        self.arrays.mkdir()
        inventory = mock_inventory(old, "lm-old", "v2")
        inventory += mock_inventory(new, "lm-new", "v2").removeprefix("appliances:\n")
        (self.arrays / "appliances.yaml").write_text(inventory, encoding="utf-8")
        (self.arrays / "branch.yaml").write_text(branch("lm-old"), encoding="utf-8")
        hq = array_spec(
            "hq", "HQ", "2016 CU23", "10.10.1.50", "lm-new", HQ_MEMBERS,
            fqdn="mail.corp.example.com", services=("https",),
        )  # fmt: skip
        (self.arrays / "hq.yaml").write_text(hq, encoding="utf-8")

    def lmctl(self, *args: str) -> Outcome:
        return invoke(*args, "--state-dir", str(self.root / ".lmctl"), catch_exceptions=False)

    def move_branch(self) -> None:
        (self.arrays / "branch.yaml").write_text(branch("lm-new"), encoding="utf-8")
        self.old.calls.clear()
        self.new.calls.clear()

    def nicknames(self, server: MockServerHandle) -> set[str]:
        services = server.appliance.snapshot()["services"]
        return {str(service["settings"].get("NickName", "")) for service in services}

    def reads(self) -> dict[str, int]:
        """``listvs`` calls per appliance since the move."""
        return {
            name: sum(call.command == "listvs" for call in server.calls.records())
            for name, server in (("lm-old", self.old), ("lm-new", self.new))
        }


@pytest.fixture
def site(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TwoAppliances]:
    """Both arrays applied, then branch moved from lm-old to lm-new in its file (same VIP)."""
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    monkeypatch.chdir(tmp_path)
    with serve_in_thread(password=mock_server.password) as new:
        site = TwoAppliances(tmp_path, mock_server, new)
        applied = site.lmctl("apply", "arrays", "--auto-approve")
        assert applied.exit_code == 0, applied.output
        site.move_branch()
        yield site


@pytest.mark.parametrize("paths", [["arrays/branch.yaml"], ["arrays"]])
def test_a_moved_array_is_planned_whole_reading_each_appliance_once(
    site: TwoAppliances, paths: list[str]
) -> None:
    planned = site.lmctl("plan", *paths, "--detailed-exitcode")

    assert planned.exit_code == 3, planned.output
    lines = planned.output.splitlines()
    old = lines.index(
        "Appliance lm-old  (Plan: 0 to create, 0 to update, 2 to delete (virtual services); "
        "0 to add, 0 to change, 0 to remove (real servers).)"
    )
    assert lines[old + 3].startswith(
        "      - delete virtual service 10.20.1.50:443/tcp (NickName 'lmctl.branch.https'"
    )
    new = lines.index(
        "Appliance lm-new  (Plan: 2 to create, 0 to update, 0 to delete (virtual services); "
        "4 to add, 0 to change, 0 to remove (real servers).)"
    )
    assert "      + create virtual service 10.20.1.50:443/tcp" in lines[new:]
    assert MOVE_RULE in lines
    assert "array-deleted" not in planned.output
    assert site.reads() == {"lm-old": 1, "lm-new": 1}
    allowed = site.lmctl("plan", *paths, "--detailed-exitcode", "--allow", "appliance-move")
    assert allowed.exit_code == 2, allowed.output


def test_apply_makes_the_new_appliance_first_then_deletes_on_the_old(
    site: TwoAppliances,
) -> None:
    refused = site.lmctl("apply", "arrays/branch.yaml", "--auto-approve")
    assert refused.exit_code == 3, refused.output
    assert [call for call in site.new.calls.records() if call.write] == []

    applied = site.lmctl(
        "apply", "arrays/branch.yaml", "--auto-approve", "--allow", "appliance-move"
    )

    assert applied.exit_code == 0, applied.output
    made = [call for call in site.new.calls.records() if call.applied_write]
    deleted = [call for call in site.old.calls.records() if call.applied_write]
    assert [call.command for call in deleted] == ["delvs", "delvs"]
    assert len(made) == 6
    assert max(call.time for call in made) < min(call.time for call in deleted)
    assert site.nicknames(site.old) == set()
    assert {"lmctl.branch.https", "lmctl.branch.smtp", "lmctl.hq.https"} <= site.nicknames(site.new)
    again = site.lmctl("plan", "arrays", "--detailed-exitcode")
    assert again.exit_code == 0, again.output


def test_a_failed_write_on_the_new_appliance_keeps_the_array_on_the_old_one(
    site: TwoAppliances,
) -> None:
    with site.new.control() as control:
        # The second addrs fails, and so does its one resend (the client reads it back first).
        control.add_fault("http500", command="addrs", nth=2)
        control.add_fault("http500", command="addrs", nth=3)

    applied = site.lmctl(
        "apply", "arrays/branch.yaml", "--auto-approve", "--allow", "appliance-move"
    )

    assert applied.exit_code == 4, applied.output
    assert (
        "  refused: lm-old: branch moves to lm-new, where not every write was made: its virtual "
        "services here are not deleted (they keep serving); fix that, then run lmctl apply again"
    ) in applied.output.splitlines()
    assert [call.command for call in site.old.calls.records() if call.write] == []
    assert site.nicknames(site.old) == {"lmctl.branch.https", "lmctl.branch.smtp"}
    converged = site.lmctl(
        "apply", "arrays/branch.yaml", "--auto-approve", "--allow", "appliance-move"
    )
    assert converged.exit_code == 0, converged.output
    assert site.nicknames(site.old) == set()


def test_two_arrays_trading_appliances_apply_one_appliance_at_a_time(
    site: TwoAppliances,
) -> None:
    hq = (site.arrays / "hq.yaml").read_text(encoding="utf-8")
    (site.arrays / "hq.yaml").write_text(hq.replace("lm-new", "lm-old"), encoding="utf-8")

    # Each appliance's deletes wait for the other's creates: with one slot, the wait gives it
    # up. A process, so that a deadlock fails the test (killed after PROCESS_TIMEOUT) instead
    # of hanging the suite.
    applied = run_process(
        site.root,
        {PASSWORD_VARIABLE: site.old.password},
        "apply", "arrays", "--auto-approve", "--allow", "appliance-move", "--parallel", "1",
        "--state-dir", str(site.root / ".lmctl"),
    )  # fmt: skip

    assert applied.exit_code == 0, applied.output
    assert site.nicknames(site.old) == {"lmctl.hq.https"}
    assert site.nicknames(site.new) == {"lmctl.branch.https", "lmctl.branch.smtp"}


def test_restoring_a_backup_from_before_the_move_is_refused_without_allow(
    site: TwoAppliances,
) -> None:
    moved = site.lmctl("apply", "arrays", "--auto-approve", "--allow", "appliance-move")
    assert moved.exit_code == 0, moved.output
    listed = site.lmctl("backups", "--appliance", "lm-old", "--format", "json")
    before_move = json.loads(listed.stdout)[0]  # newest first: the one before the move
    site.old.calls.clear()

    refused = site.lmctl("restore", before_move["name"], "--auto-approve")

    assert refused.exit_code == 3, refused.output
    # The preview shows each VS brought back with its real servers.
    assert (
        "  + 10.20.1.50:443/tcp (NickName 'lmctl.branch.https') with 2 real servers"
    ) in refused.output.splitlines()
    assert (
        "  - lm-old: the restore brings back array 'branch' (10.20.1.50:25/tcp, "
        "10.20.1.50:443/tcp), which the specs now put on lm-new: both appliances would hold "
        "its addresses (a duplicate address on the network) [appliance-move]"
    ) in refused.output.splitlines()
    assert "which lm-new holds marked as 10.20.1.50:443/tcp (NickName 'lmctl.branch.https')" in (
        refused.output
    )
    assert "--allow appliance-move" in refused.output
    assert [call.command for call in site.old.calls.records() if call.write] == []
    assert site.nicknames(site.old) == set()

    allowed = site.lmctl(
        "restore", before_move["name"], "--auto-approve", "--allow", "appliance-move"
    )
    assert allowed.exit_code == 0, allowed.output
    assert site.nicknames(site.old) == {"lmctl.branch.https", "lmctl.branch.smtp"}


def test_status_names_the_appliance_an_array_left_while_it_still_holds_it(
    site: TwoAppliances,
) -> None:
    made = site.lmctl("apply", "arrays", "--appliance", "lm-new", "--auto-approve")
    assert made.exit_code == 0, made.output
    assert site.nicknames(site.old) == {"lmctl.branch.https", "lmctl.branch.smtp"}

    checked = site.lmctl("status", "--array", "branch", "--format", "json")

    assert checked.exit_code == 2, checked.output  # docs/operations.md: not InSync is degraded
    (branch,) = json.loads(checked.stdout)["arrays"]
    (in_sync,) = [c for c in branch["conditions"] if c["type"] == "InSync"]
    assert (in_sync["status"], in_sync["reason"]) == ("False", "MarkedElsewhere")
    assert in_sync["message"] == (
        "its virtual services are also on an appliance its spec no longer names, which holds "
        "its addresses too until `lmctl apply` deletes them there: lm-old: 10.20.1.50:443/tcp "
        "(NickName 'lmctl.branch.https', 2 real servers), 10.20.1.50:25/tcp (NickName "
        "'lmctl.branch.smtp', 2 real servers)"
    )
    text = site.lmctl("status", "--array", "branch")
    assert "lm-old" in text.output
    hq = site.lmctl("status", "--array", "hq")
    assert hq.exit_code == 0, hq.output
