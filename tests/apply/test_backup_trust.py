"""What vouches for a backup and its record: only lmctl's own files (0600, owned by the user, in
a 0700 backups directory) are restored, listed as restorable or counted by retention; a record
that cannot be read, disagrees with its backup or is too large is refused; a backup without one
is restored only on request and never called verified. Through the CLI against the served mock.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import mock_inventory
from mock_site import APPLIANCE, Array, Site

MEMBERS = ["10.0.20.11", "10.0.20.12"]
HQ = Array("hq", "10.0.10.50", MEMBERS)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes and owners are POSIX")


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, HQ)


def _taken(site: Site, scheduling: str) -> str:
    """Apply a change (so a backup is taken before it); the backup's name."""
    site.write(Array("hq", "10.0.10.50", MEMBERS, scheduling=scheduling))
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    (path,) = re.findall(r"backup: (\S+\.bak)", applied.output)
    return Path(path).name


def _restore(site: Site, name: str, *args: str) -> Any:
    inventory = str(site.arrays_dir / "appliances.yaml")
    return site.lmctl("restore", name, "--inventory", inventory, "--auto-approve", *args)


def _restores(control: MockControl) -> int:
    return len([c for c in control.calls() if c.command == "restore"])


def _record(site: Site, name: str) -> Path:
    return site.state_dir / "backups" / name.replace(".bak", ".json")


def _listed(site: Site) -> list[dict[str, Any]]:
    listed = site.lmctl("backups", "--format", "json")
    assert listed.exit_code == 0, listed.output
    documents: list[dict[str, Any]] = json.loads(listed.stdout)
    return documents


@posix_only
def test_a_backup_shipped_by_a_repository_is_listed_as_not_lmctls_and_never_restored(
    site: Site, mock_control: MockControl
) -> None:
    """git checks files out 0644: a cloned .lmctl/backups/*.bak with a matching record."""
    assert site.apply().exit_code == 0
    taken = _taken(site, "lc")
    backups = site.state_dir / "backups"
    shipped = f"{APPLIANCE}-29990101T000000.000000Z.bak"
    (backups / shipped).write_bytes((backups / taken).read_bytes())
    record = json.loads(_record(site, taken).read_text())
    (backups / shipped.replace(".bak", ".json")).write_text(
        json.dumps(record | {"taken_at": "2999-01-01T00:00:00Z"})
    )
    for name in (shipped, shipped.replace(".bak", ".json")):
        (backups / name).chmod(0o644)

    refused = _restore(site, shipped)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: {backups / shipped} is not a backup lmctl kept (mode 0644; lmctl writes them "
        "0600, owned by you): a repository or another user may have put it there; remove it\n"
    )
    assert _restores(mock_control) == 0

    shown = {b["name"]: b for b in _listed(site)}
    assert shown[shipped]["problem"] == "not lmctl's (mode 0644)"
    assert shown[shipped]["restorable"] is False
    assert shown[taken]["restorable"] is True
    text = site.lmctl("backups").stdout
    assert "? not lmctl's (mode 0644)" in next(
        line for line in text.splitlines() if shipped in line
    )

    # A record shipped beside lmctl's own backup vouches for nothing either.
    _record(site, taken).chmod(0o644)
    assert "its record" in _restore(site, taken).stderr
    assert "is not lmctl's (mode 0644)" in _restore(site, taken).stderr
    assert _restores(mock_control) == 0


@posix_only
def test_a_backups_directory_not_private_is_refused_by_backups_and_restore(site: Site) -> None:
    assert site.apply().exit_code == 0
    taken = _taken(site, "lc")
    backups = site.state_dir / "backups"
    backups.chmod(0o755)
    for refused in (site.lmctl("backups"), _restore(site, taken)):
        assert refused.exit_code == 1
        assert refused.stderr.startswith(
            f"error: the backups directory {backups} is not lmctl's (mode 0755)"
        )
        assert refused.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("garbage", "cannot be read (not a backup record)"),
        ("link", "is not lmctl's (a symbolic link)"),
        ("appliance", "its record names a backup of lm-other taken"),
        ("time", "not what the file name says"),
        ("huge", "is too large (17825792 bytes, more than the 16777216 lmctl reads)"),
    ],
)
def test_a_record_that_cannot_be_trusted_refuses_the_restore(
    site: Site, mock_control: MockControl, tmp_path: Path, damage: str, problem: str
) -> None:
    """Before: the SHA-256 check and the preview were skipped and the restore went on."""
    assert site.apply().exit_code == 0
    taken = _taken(site, "lc")
    record = _record(site, taken)
    held = json.loads(record.read_text())
    match damage:
        case "garbage":
            record.write_text("{not json")
        case "link":
            (tmp_path / "elsewhere.json").write_text(record.read_text())
            record.unlink()
            record.symlink_to(tmp_path / "elsewhere.json")
        case "appliance":
            record.write_text(json.dumps(held | {"appliance": "lm-other"}))
        case "time":
            record.write_text(json.dumps(held | {"taken_at": "2020-01-01T00:00:00Z"}))
        case "huge":
            with record.open("r+b") as stream:
                stream.truncate(17 * 1024 * 1024)
    refused = _restore(site, taken)
    assert refused.exit_code == 1, refused.output
    assert refused.stderr.startswith(f"error: {record.with_suffix('.bak')} will not be restored")
    assert problem in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert "Restore complete" not in refused.output
    assert _restores(mock_control) == 0


def test_a_backup_without_record_is_restored_only_on_request_and_not_called_verified(
    site: Site, mock_control: MockControl
) -> None:
    assert site.apply().exit_code == 0
    taken = _taken(site, "lc")
    _record(site, taken).unlink()

    refused = _restore(site, taken)
    assert refused.exit_code == 1
    assert "has no record beside it" in refused.stderr
    assert "--without-record" in refused.stderr
    assert _restores(mock_control) == 0

    restored = _restore(site, taken, "--without-record")
    assert restored.exit_code == 0, restored.output
    assert _restores(mock_control) == 1
    assert "Restore complete" not in restored.output
    assert f"Restore sent: {APPLIANCE} accepted {taken}; it has no record" in restored.output


def test_a_path_outside_the_backups_directory_is_refused(
    site: Site, mock_control: MockControl, tmp_path: Path
) -> None:
    """Before: /elsewhere/NAME.bak silently restored the state directory's NAME.bak."""
    assert site.apply().exit_code == 0
    taken = _taken(site, "lc")
    elsewhere = tmp_path / "other" / taken
    refused = _restore(site, str(elsewhere))
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"error: {elsewhere} is not in {site.state_dir / 'backups'}")
    assert _restores(mock_control) == 0
    inside = _restore(site, str(site.state_dir / "backups" / taken))
    assert inside.exit_code == 0, inside.output


@posix_only
def test_retention_counts_and_prunes_only_lmctls_backups_and_says_what_it_pruned(
    site: Site,
) -> None:
    """Before: future-dated files pushed the real backups out, silently."""
    (site.arrays_dir / "appliances.yaml").write_text(
        (site.arrays_dir / "appliances.yaml").read_text() + "    keep_backups: 1\n"
    )
    assert site.apply().exit_code == 0
    backups = site.state_dir / "backups"
    planted = {
        f"{APPLIANCE}-29990101T000000.000000Z.bak": 0o644,  # a repository's
        f"{APPLIANCE}-29990102T000000.000000Z.bak": 0o600,  # no record
    }
    for name, mode in planted.items():
        (backups / name).write_bytes(b"junk")
        (backups / name).chmod(mode)
    first = _taken(site, "lc")
    site.write(Array("hq", "10.0.10.50", MEMBERS, scheduling="rr"))
    second = site.apply()
    assert second.exit_code == 0, second.output
    (latest,) = (Path(p).name for p in re.findall(r"backup: (\S+\.bak)", second.output))
    assert f"pruned (keep_backups): {first}" in second.output
    names = sorted(p.name for p in backups.iterdir() if p.suffix == ".bak")
    assert names == sorted([latest, *planted])


def test_history_refuses_a_journal_directory_that_is_a_link(site: Site, tmp_path: Path) -> None:
    """Before: history read through a linked journal/ that apply refuses to write through."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "journal.jsonl").write_text("")
    site.state_dir.mkdir(mode=0o700)
    (site.state_dir / "journal").symlink_to(elsewhere)
    shown = site.lmctl("history")
    assert shown.exit_code == 1
    assert shown.stderr.startswith(
        f"error: the journal directory {site.state_dir / 'journal'} is a symbolic link"
    )
    assert shown.stderr.count("\n") == 1


def test_a_journal_too_large_to_read_is_one_error_line(site: Site) -> None:
    """Before: a journal of gigabytes was read whole (MemoryError traceback)."""
    journal = site.state_dir / "journal" / "journal.jsonl"
    journal.parent.mkdir(parents=True, mode=0o700)
    with journal.open("wb") as stream:
        stream.truncate(257 * 1024 * 1024)  # sparse: no disk used
    shown = site.lmctl("history")
    assert shown.exit_code == 1
    assert shown.stderr == (
        f"error: the journal cannot be read: {journal} is too large (269484032 bytes, more than "
        "the 268435456 lmctl reads); move it aside (the next apply starts a new one) and read it "
        "with other tools\n"
    )


def test_plan_and_apply_warn_of_an_appliance_the_state_dir_knows_and_the_inventory_dropped(
    site: Site,
) -> None:
    """Before: the arrays were planned on the appliance left, silently (duplicate VIPs)."""
    assert site.apply().exit_code == 0
    _taken(site, "lc")  # its record holds array hq on lm-test
    (site.arrays_dir / "appliances.yaml").write_text(
        mock_inventory(site.server, "lm-new", "v2"), encoding="utf-8"
    )
    spec = site.arrays_dir / "hq.yaml"
    spec.write_text(spec.read_text().replace(f"appliance: {APPLIANCE}", "appliance: lm-new"))
    (last,) = [e for e in json_history(site) if e["appliance"] == APPLIANCE][-1:]
    when = last["time"].replace("T", " ")[:19]
    warning = (
        f"warning: {APPLIANCE} held arrays hq (journal, {when} UTC) and is no longer in the "
        "inventory: its VSs still answer unless deleted there; delete them there or add it back "
        "to plan the move\n"
    )
    for outcome in (site.plan(), site.apply()):
        assert warning in outcome.stderr, outcome.output


def json_history(site: Site) -> list[dict[str, Any]]:
    shown = site.lmctl("history", "--format", "json")
    assert shown.exit_code == 0, shown.output
    entries: list[dict[str, Any]] = json.loads(shown.stdout)
    return entries
