"""Backups kept and pruned, listed (``lmctl backups``), restored (``lmctl restore``) and the
journal (``lmctl history``), through the CLI over HTTPS against the served mock."""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest

import lmctl.cli.backups
from lmctl.apply.backups import keep_backup, prune_backups
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.statedir import backups_in
from lmctl_testkit import PASSWORD_VARIABLE, mock_inventory, run_process
from mock_site import APPLIANCE, Array, Site

MEMBERS = ["10.0.20.11", "10.0.20.12", "10.0.20.13"]
HQ = Array("hq", "10.0.10.50", MEMBERS)


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, HQ)


def _keep(site: Site, count: int, dialect: str = "v2") -> None:
    inventory = mock_inventory(site.server, APPLIANCE, dialect) + f"    keep_backups: {count}\n"
    (site.arrays_dir / "appliances.yaml").write_text(inventory)


def _backup_taken(output: str) -> str:
    (path,) = re.findall(r"backup: (\S+\.bak)", output)
    return Path(path).name


def _listed(site: Site, *args: str) -> list[dict[str, Any]]:
    listed = site.lmctl("backups", "--format", "json", *args)
    assert listed.exit_code == 0, listed.output
    documents: list[dict[str, Any]] = json.loads(listed.stdout)
    return documents


def _history(site: Site, *args: str) -> list[dict[str, Any]]:
    shown = site.lmctl("history", "--format", "json", *args)
    assert shown.exit_code == 0, shown.output
    entries: list[dict[str, Any]] = json.loads(shown.stdout)
    return entries


def _restore(site: Site, name: str, *args: str) -> Any:
    inventory = str(site.arrays_dir / "appliances.yaml")
    return site.lmctl("restore", name, "--inventory", inventory, *args)


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_restore_brings_the_appliance_back_to_its_state_at_backup(
    site: Site, mock_control: MockControl, dialect: str
) -> None:
    _keep(site, 10, dialect)
    assert site.apply().exit_code == 0
    at_backup = mock_control.state()
    site.write(Array("hq", "10.0.10.50", [*MEMBERS, "10.0.20.14"], scheduling="lc"))
    changed = site.apply()
    assert changed.exit_code == 0, changed.output
    taken = _backup_taken(changed.output)
    assert mock_control.state()["services"] != at_backup["services"]

    newest = _listed(site)[0]
    assert newest["name"] == taken
    assert newest["appliance"] == APPLIANCE
    assert newest["taken_before"] == "apply"
    assert newest["plan"]["summary"]["update_vs"] == 2
    assert newest["plan"]["summary"]["add_rs"] == 2
    assert newest["size"] == (site.state_dir / "backups" / taken).stat().st_size

    archive = (site.state_dir / "backups" / taken).read_bytes()
    # A real process: -vv logging is set up for the whole process.
    restored = run_process(
        site.root,
        {},
        "-vv",
        "restore",
        taken,
        "--inventory",
        str(site.arrays_dir / "appliances.yaml"),
        "--auto-approve",
        "--state-dir",
        str(site.state_dir),
    )
    assert restored.exit_code == 0, restored.output
    # The request is logged, never the backup it carries (it holds the appliance's keys).
    assert f"<file of {len(archive)} bytes>" in restored.output
    assert base64.b64encode(archive).decode() not in restored.output
    assert "~ 10.0.10.50:443/tcp Schedule: 'lc' → 'rr'" in restored.output
    assert "- 10.0.10.50:443/tcp real server 10.0.20.14:443" in restored.output
    assert "Restore: 0 to bring back, 2 to remove, 2 to change" in restored.output
    assert f"Restore complete: {APPLIANCE} holds {taken}." in restored.output
    # Raw mock state: the virtual services exactly as when the backup was taken.
    after = mock_control.state()
    assert after["services"] == at_backup["services"]
    assert after["parameters"] == at_backup["parameters"]
    assert site.plan().exit_code == 2  # the specs still want the change the restore undid

    last = _history(site)[-1]
    assert (last["action"], last["outcome"], last["restored"]) == ("restore", "ok", taken)
    before_restore = _listed(site)[0]
    assert before_restore["taken_before"] == "restore"
    assert before_restore["restoring"] == taken
    assert last["backup"] == before_restore["name"]


def test_restore_shows_the_preview_and_restores_nothing_without_confirmation(
    site: Site, mock_control: MockControl
) -> None:
    assert site.apply().exit_code == 0
    site.write(Array("hq", "10.0.10.50", MEMBERS, scheduling="lc"))
    taken = _backup_taken(site.apply().output)
    changed = mock_control.state()
    calls = len(mock_control.calls())

    refused = _restore(site, taken)
    assert refused.exit_code == 1
    lines = refused.output.splitlines()
    # The preview first (what the backup was taken before, not what restore does), then why not.
    assert re.fullmatch(
        rf"Restore {re.escape(taken)} to {APPLIANCE} \(taken .* UTC, taken before applying plan "
        r"[0-9a-f]{12} \(Plan: 0 to create, 2 to update, .*\)\)",
        lines[0],
    ), lines[0]
    assert "  ~ 10.0.10.50:443/tcp Schedule: 'lc' → 'rr'" in lines
    assert "refusing to restore without confirmation" in refused.output
    dry = _restore(site, taken, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "  ~ 10.0.10.50:443/tcp Schedule: 'lc' → 'rr'" in dry.output.splitlines()
    assert "Dry run: nothing was restored." in dry.output
    unknown = _restore(site, "lm-test-20200101T000000.000000Z.bak", "--auto-approve")
    assert unknown.exit_code == 1
    assert f"no backup lm-test-20200101T000000.000000Z.bak in {site.state_dir}" in unknown.output
    assert mock_control.state()["services"] == changed["services"]
    assert not [c for c in mock_control.calls()[calls:] if c.command == "restore"]


def test_a_backup_changed_on_disk_is_not_restored(site: Site, mock_control: MockControl) -> None:
    assert site.apply().exit_code == 0
    site.write(Array("hq", "10.0.10.50", MEMBERS, scheduling="lc"))
    taken = _backup_taken(site.apply().output)
    (site.state_dir / "backups" / taken).write_bytes(b"not the appliance's backup")
    refused = _restore(site, taken, "--auto-approve")
    assert refused.exit_code == 1
    assert "is not the file lmctl saved (its SHA-256 differs" in refused.output
    assert not [c for c in mock_control.calls() if c.command == "restore"]


def test_retention_keeps_the_newest_backups_and_never_the_one_just_taken(site: Site) -> None:
    _keep(site, 2)
    taken: list[str] = []
    for scheduling in ("rr", "lc", "rr", "lc"):
        site.write(Array("hq", "10.0.10.50", MEMBERS, scheduling=scheduling))
        applied = site.apply()
        assert applied.exit_code == 0, applied.output
        taken.append(_backup_taken(applied.output))
        assert [b["name"] for b in _listed(site)] == taken[::-1][:2]
    files = sorted(p.name for p in (site.state_dir / "backups").iterdir())
    kept = [name.removesuffix(".bak") for name in taken[-2:]]
    assert files == sorted(
        [".gitignore", *(f"{k}.bak" for k in kept), *(f"{k}.json" for k in kept)]
    )

    _keep(site, 1)
    site.write(Array("hq", "10.0.10.50", MEMBERS, scheduling="rr"))
    last = _backup_taken(site.apply().output)
    assert [b["name"] for b in _listed(site)] == [last]


def test_backups_lists_newest_first_per_appliance_in_text(site: Site) -> None:
    assert site.apply().exit_code == 0
    listed = site.lmctl("backups", "--appliance", APPLIANCE)
    assert listed.exit_code == 0, listed.output
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "APPLIANCE", "TAKEN", "SIZE", "BEFORE"]
    assert row.startswith(f"{APPLIANCE}-")
    assert "plan " in row and "Plan: 2 to create" in row
    other = site.lmctl("backups", "--appliance", "lm-other")
    assert other.stdout.strip() == f"No backup of lm-other in {site.state_dir / 'backups'}."


def test_history_records_every_apply_with_its_outcome_and_no_secret(
    site: Site, mock_server: MockServerHandle, mock_control: MockControl
) -> None:
    assert site.apply().exit_code == 0
    # A member on a subnet the appliance has no interface on: the appliance refuses it.
    mock_control.set_local_subnets(["10.0.0.0/16"])
    site.write(Array("hq", "10.0.10.50", [*MEMBERS, "10.9.9.9"]))
    assert site.apply().exit_code == 4

    first, failed = _history(site)
    user, host = first["user"], first["host"]
    assert (first["action"], first["appliance"], first["outcome"]) == ("apply", APPLIANCE, "ok")
    assert first["planned"] == len(first["writes"]) == 8
    assert first["writes"][0] == "addvs 10.0.10.50:443/tcp (hq/https)"
    assert len(first["plan_digest"]) == 64
    assert failed["outcome"] == "failed"
    assert failed["writes"] == []
    assert failed["detail"].startswith(
        "addrs hq-cas4 10.9.9.9:443 in 10.0.10.50:443/tcp (hq/https):"
    )

    text = site.lmctl("history", "--limit", "1", "--appliance", APPLIANCE)
    assert text.exit_code == 0, text.output
    (line,) = text.stdout.splitlines()
    assert f"  {APPLIANCE}  apply  failed  {user}@{host}  plan {failed['plan_digest'][:12]}" in line
    assert "0 of 2 writes: addrs hq-cas4 10.9.9.9:443" in line
    journal = site.state_dir / "journal" / "journal.jsonl"
    assert os.stat(journal).st_mode & 0o777 == 0o600
    assert mock_server.password not in journal.read_text()
    assert os.environ[PASSWORD_VARIABLE] not in journal.read_text()


def test_a_journal_that_is_a_link_is_not_written_through(site: Site, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    (site.state_dir / "journal").mkdir(parents=True, mode=0o700)
    (site.state_dir / "journal" / "journal.jsonl").symlink_to(target)
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    assert "the journal entry was not written: the journal" in applied.output
    assert target.read_text() == "untouched\n"


def test_restore_refused_when_the_appliance_changed_after_the_preview(
    site: Site, mock_control: MockControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert site.apply().exit_code == 0
    site.write(Array("hq", "10.0.10.50", MEMBERS, scheduling="lc"))
    taken = _backup_taken(site.apply().output)
    shown = lmctl.cli.backups._show_preview

    def show_then_change(*args: Any) -> None:
        shown(*args)
        # Someone changes the appliance between the preview and the restore.
        server = site.server
        assert server.ca_file is not None
        trust = ssl.create_default_context(cafile=str(server.ca_file))
        with httpx.Client(
            base_url=server.url, auth=(server.username, server.password), verify=trust
        ) as api:
            changed = api.get(
                "/access/modvs",
                params={"vs": "10.0.10.50", "port": "443", "prot": "tcp"} | {"Schedule": "wlc"},
            )
            assert changed.status_code == 200

    monkeypatch.setattr(lmctl.cli.backups, "_show_preview", show_then_change)
    refused = _restore(site, taken, "--auto-approve")
    assert refused.exit_code == 1, refused.output
    assert "refused: lm-test: the appliance changed since the preview; nothing was restored" in (
        refused.output
    )
    assert "10.0.10.50:443/tcp Schedule: expected 'lc', found 'wlc'" in refused.output
    assert not [c for c in mock_control.calls() if c.command == "restore"]
    assert _history(site)[-1]["outcome"] == "refused"


def test_history_of_a_journal_that_is_a_link_is_one_error_line(site: Site, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.jsonl"
    target.write_text("")
    (site.state_dir / "journal").mkdir(parents=True, mode=0o700)
    journal = site.state_dir / "journal" / "journal.jsonl"
    journal.symlink_to(target)
    shown = site.lmctl("history")
    assert shown.exit_code == 1
    assert shown.stderr == (
        f"error: the journal cannot be read: {journal} is a symbolic link, not a regular file\n"
    )


def test_pruning_counts_each_appliance_apart_when_one_name_extends_another(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / ".lmctl"
    saved = {
        name: [keep_backup(state_dir, name, b"archive", {}).path for _ in range(3)]
        for name in ("lm", "lm-hq")
    }
    removed = prune_backups(state_dir, "lm", 1, spare=saved["lm"][-1])
    assert removed == saved["lm"][:2]
    assert [b.path for b in backups_in(state_dir, "lm")] == saved["lm"][-1:]
    assert [b.path for b in backups_in(state_dir, "lm-hq")] == saved["lm-hq"]


def test_history_of_an_appliance_without_entries_names_those_with(site: Site) -> None:
    assert site.apply().exit_code == 0

    shown = site.lmctl("history", "--appliance", "nosuch")

    assert shown.exit_code == 0, shown.output
    assert shown.stdout == f"No entry for appliance nosuch (journal has: {APPLIANCE}).\n"
