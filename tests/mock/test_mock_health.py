"""``lmctl mock health``: a real server marked Down (or Up again) on a built-in ``mock://``
appliance, kept in its state file, so that the next ``lmctl status`` shows a failing Exchange
server; usage errors before anything is read, and real appliances refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lmctl.mock import MockAppliance
from lmctl.mock.persistence import StateStore
from lmctl_testkit import (
    PER_PROTOCOL_DIRECTORIES,
    Outcome,
    invoke,
    per_protocol_spec,
    write_spec_files,
)

INVENTORY = """\
appliances:
  lm-hq:
    url: mock://lm-hq
"""
# Beside the specs, so that apply and status (which read every appliance) never try it.
WITH_A_REAL_APPLIANCE = (
    INVENTORY
    + """\
  lm-dc1:
    url: https://10.0.0.5
    auth: {api_key: {env: LM_DC1_API_KEY}}
    tls: {insecure: true}
"""
)
EWS = "/ews/healthcheck.htm"
# per_protocol_spec's members: EX19-01 10.30.1.11, EX19-02 10.30.1.12.
EX19_02 = "10.30.1.12"
# The second line of --up or --clear where the mark of every port and check still holds.
STILL_DOWN_BY_THE_WHOLE_SERVER_MARK = (
    f"it is now Down in all 3 virtual services and SubVSs that have {EX19_02} as a real server "
    f'(a Down mark keeps it Down there: "{EX19_02}"; --clear removes every mark of {EX19_02})'
)


class Site:
    """A spec directory whose inventory names ``lm-hq`` as a ``mock://`` appliance, with the
    per-protocol array ``mail-2019`` (directories owa, ews, Microsoft-Server-ActiveSync)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs = root / "specs"
        self.state = root / "state"
        write_spec_files(
            self.specs, {"appliances.yaml": INVENTORY, "mail.yaml": per_protocol_spec()}
        )
        write_spec_files(root, {"real.yaml": WITH_A_REAL_APPLIANCE})

    def lmctl(self, *args: str) -> Outcome:
        return invoke(*args, "--state-dir", str(self.state))

    def health(self, *args: str, inventory: str = "specs/appliances.yaml") -> Outcome:
        return self.lmctl("mock", "health", *args, "--inventory", str(self.root / inventory))

    def applied(self) -> Site:
        """The array applied from empty, its certificate installed first."""
        inventory = str(self.specs / "appliances.yaml")
        installed = self.lmctl(
            "mock", "addcert", "mail-2019", "-a", "lm-hq", "--self-signed", "mail.example.com",
            "--inventory", inventory,
        )  # fmt: skip
        assert installed.exit_code == 0, installed.output
        applied = self.lmctl("apply", str(self.specs), "--auto-approve", "--no-backup")
        assert applied.exit_code == 0, applied.output
        return self

    def status(self) -> tuple[int, dict[str, str]]:
        """``lmctl status``'s exit code and each member's state per service
        (``https/ews EX19-02`` → ``down``)."""
        shown = self.lmctl("status", str(self.specs), "--format", "json")
        document: dict[str, Any] = json.loads(shown.stdout)
        states = {
            f"{service['service']} {member['member']}": member["state"]
            for array in document["arrays"]
            for service in array["services"]
            for member in service["members"]
        }
        return shown.exit_code, states

    def saved_marks(self) -> dict[str, str]:
        marks: dict[str, str] = json.loads((self.state / "mock-lm-hq.json").read_text())["health"]
        return marks


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_a_member_down_for_ews_only_degrades_https_ews_alone_and_up_restores_it(
    site: Site,
) -> None:
    site.applied()
    healthy, states = site.status()
    assert healthy == 0
    assert set(states.values()) == {"up"}

    marked = site.health(EX19_02, "-a", "lm-hq", "--check-url", EWS, "--down")
    assert marked.exit_code == 0, marked.output
    assert marked.stdout.splitlines() == [
        f"marked {EX19_02} Down on lm-hq: every port, only checks of {EWS}",
        f"it is now Down in 1 of the 3 virtual services and SubVSs that have {EX19_02} as a "
        "real server",
    ]
    degraded, states = site.status()
    assert degraded == 2  # docs/operations.md: degraded, still serving
    assert {key for key, state in states.items() if state != "up"} == {"https/ews EX19-02"}
    text = site.lmctl("status", str(site.specs))
    assert text.exit_code == 2
    assert "EX19-02 is Down in https/ews" in text.stdout

    restored = site.health(EX19_02, "-a", "lm-hq", "--check-url", EWS, "--up")
    assert restored.exit_code == 0, restored.output
    assert restored.stdout.splitlines() == [
        f"removed the Down mark of {EX19_02} on lm-hq: every port, only checks of {EWS}",
        f"it is now Up in all 3 virtual services and SubVSs that have {EX19_02} as a real server",
    ]
    assert site.saved_marks() == {}  # --up takes the mark off: no Up mark left behind
    again, states = site.status()
    assert again == 0
    assert set(states.values()) == {"up"}


def test_up_leaves_no_mark_so_a_later_whole_server_down_takes_every_service_down(
    site: Site,
) -> None:
    """--down then --up for EWS, then --down for the whole server: Down everywhere, EWS too
    (an Up mark for EWS once outranked it, with no word why)."""
    site.applied()
    assert site.health(EX19_02, "-a", "lm-hq", "--check-url", EWS, "--down").exit_code == 0
    assert site.health(EX19_02, "-a", "lm-hq", "--check-url", EWS, "--up").exit_code == 0
    whole = site.health(EX19_02, "-a", "lm-hq", "--down")
    assert whole.exit_code == 0, whole.output
    assert whole.stdout.splitlines()[1] == (
        f"it is now Down in all 3 virtual services and SubVSs that have {EX19_02} as a real server"
    )
    assert site.saved_marks() == {EX19_02: "Down"}
    _, states = site.status()
    assert {key for key, state in states.items() if state != "up"} == {
        f"https/{directory} EX19-02" for directory in PER_PROTOCOL_DIRECTORIES
    }


def test_a_down_that_a_more_specific_up_mark_overrules_names_that_mark(site: Site) -> None:
    """An Up mark (the control API's, or one an older lmctl left) wins over a wider Down: the
    line says which, and --up with its scope takes it off."""
    site.applied()
    MockAppliance(store=StateStore(site.state / "mock-lm-hq.json")).mark_health(
        EX19_02, None, "Up", EWS
    )
    whole = site.health(EX19_02, "-a", "lm-hq", "--down")
    assert whole.exit_code == 0, whole.output
    assert whole.stdout.splitlines()[1] == (
        f"it is now Down in 2 of the 3 virtual services and SubVSs that have {EX19_02} as a "
        f'real server (in 1 of them a more specific Up mark wins: "{EX19_02} {EWS}"; --up '
        "with its --port and --check-url removes it)"
    )
    removed = site.health(EX19_02, "-a", "lm-hq", "--check-url", EWS, "--up")
    assert removed.stdout.splitlines() == [
        f"removed the Up mark of {EX19_02} on lm-hq: every port, only checks of {EWS}",
        STILL_DOWN_BY_THE_WHOLE_SERVER_MARK,
    ]
    assert site.saved_marks() == {EX19_02: "Down"}


def test_marks_are_kept_in_the_state_file_and_listed_by_a_later_invocation(site: Site) -> None:
    assert site.health("-a", "lm-hq").stdout == (
        "no health marks on lm-hq: every real server passes its health check\n"
    )
    assert not site.state.exists()  # listing writes nothing
    assert site.health(EX19_02, "-a", "lm-hq", "--check-url", EWS, "--down").exit_code == 0
    assert site.health("10.30.1.11", "-a", "lm-hq", "--port", "443", "--down").exit_code == 0
    assert site.saved_marks() == {f"{EX19_02} {EWS}": "Down", "10.30.1.11:443": "Down"}
    listed = site.health("-a", "lm-hq")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines()[1:] == [
        "  Down  10.30.1.11:443",
        f"  Down  {EX19_02} {EWS}",
    ]
    # --up takes off the mark of that scope alone.
    assert site.health("10.30.1.11", "-a", "lm-hq", "--port", "443", "--up").exit_code == 0
    assert site.saved_marks() == {f"{EX19_02} {EWS}": "Down"}


def test_a_mark_on_no_real_server_yet_is_kept_for_those_that_will_have_it(site: Site) -> None:
    nowhere = site.health("10.30.1.99", "-a", "lm-hq", "--check-url", "/nowhere.htm", "--down")
    assert nowhere.exit_code == 0, nowhere.output
    assert "no virtual service has 10.30.1.99 as a real server yet" in nowhere.stdout
    assert site.saved_marks() == {"10.30.1.99 /nowhere.htm": "Down"}


@pytest.mark.parametrize(
    ("scope", "asked"),
    [
        (["--check-url", "/EWS/healthcheck.htm"], "requests /EWS/healthcheck.htm"),
        (["--port", "444"], "probes port 444"),
        (["--port", "444", "--check-url", EWS], f"requests {EWS} on port 444"),
    ],
)
def test_a_down_that_matches_no_check_of_the_server_is_refused_naming_its_checks(
    site: Site, scope: list[str], asked: str
) -> None:
    site.applied()
    before = site.saved_marks()
    refused = site.health(EX19_02, "-a", "lm-hq", *scope, "--down")
    assert refused.exit_code == 1
    assert refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"error: no check of the 3 virtual services and SubVSs that have {EX19_02} as a real "
        f"server {asked}: they request /Microsoft-Server-ActiveSync/healthcheck.htm, {EWS}, "
        "/owa/healthcheck.htm on port 443; nothing was marked on lm-hq"
    ]
    assert site.saved_marks() == before == {}


def test_up_where_there_is_no_mark_of_that_scope_changes_nothing_and_shows_the_marks(
    site: Site,
) -> None:
    site.applied()
    assert site.health(EX19_02, "-a", "lm-hq", "--down").exit_code == 0
    wider_up = site.health(EX19_02, "-a", "lm-hq", "--check-url", "/owa/healthcheck.htm", "--up")
    assert wider_up.exit_code == 0, wider_up.output
    assert wider_up.stdout.splitlines() == [
        f"no mark of {EX19_02} on lm-hq for every port, only checks of /owa/healthcheck.htm: "
        "nothing changed",
        f"the marks of {EX19_02} (--up with the same scope removes one):",
        f"  Down  {EX19_02}",
        STILL_DOWN_BY_THE_WHOLE_SERVER_MARK,
    ]
    assert site.saved_marks() == {EX19_02: "Down"}


def test_clear_takes_off_every_mark_of_the_address_or_every_mark(site: Site) -> None:
    nothing = site.health(EX19_02, "-a", "lm-hq", "--clear")
    assert nothing.exit_code == 0, nothing.output
    assert nothing.stdout == "no health marks on lm-hq: nothing changed\n"
    assert not site.state.exists()  # nothing to take off: nothing written
    site.applied()
    for scope in (["--check-url", EWS], ["--port", "443"], []):
        assert site.health(EX19_02, "-a", "lm-hq", *scope, "--down").exit_code == 0
    assert site.health("10.30.1.11", "-a", "lm-hq", "--down").exit_code == 0
    cleared = site.health(EX19_02, "-a", "lm-hq", "--clear")
    assert cleared.exit_code == 0, cleared.output
    assert cleared.stdout.splitlines() == [
        f"removed 3 health marks of {EX19_02} on lm-hq:",
        f"  Down  {EX19_02}",
        f"  Down  {EX19_02} {EWS}",
        f"  Down  {EX19_02}:443",
        f"it is now Up in all 3 virtual services and SubVSs that have {EX19_02} as a real server",
    ]
    assert site.saved_marks() == {"10.30.1.11": "Down"}
    everything = site.health("-a", "lm-hq", "--clear")
    assert everything.stdout.splitlines() == [
        "removed 1 health mark on lm-hq:",
        "  Down  10.30.1.11",
        "every real server passes its health check",
    ]
    assert site.saved_marks() == {}
    _, states = site.status()
    assert set(states.values()) == {"up"}


def test_a_state_file_written_before_health_marks_were_saved_still_loads(site: Site) -> None:
    site.state.mkdir()
    older = {"format": 1, "services": [], "next_index": 1, "next_rs_index": 1}
    (site.state / "mock-lm-hq.json").write_text(json.dumps(older))
    assert "no health marks on lm-hq" in site.health("-a", "lm-hq").stdout
    assert site.health(EX19_02, "-a", "lm-hq", "--down").exit_code == 0
    assert site.saved_marks() == {EX19_02: "Down"}


def test_a_real_appliance_is_refused_before_anything_is_read(site: Site) -> None:
    for arguments in ([EX19_02, "-a", "lm-dc1", "--down"], ["-a", "lm-dc1"]):
        refused = site.health(*arguments, inventory="real.yaml")
        assert refused.exit_code == 1
        assert "lm-dc1 is a real appliance (https://10.0.0.5)" in refused.stderr
        assert "health check fails" in refused.stderr
    unknown = site.health(EX19_02, "-a", "lm-nope", "--down", inventory="real.yaml")
    assert unknown.exit_code == 1
    assert "no appliance named lm-nope in the inventory (known: lm-hq, lm-dc1)" in unknown.stderr
    assert not site.state.exists()


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["10.30.1.999", "--down"], "'10.30.1.999' is not an IP address"),
        (["fe80::12%eth0", "--down"], "has a zone ID"),
        (["127.0.0.1", "--down"], "is a loopback address"),
        ([EX19_02, "--down", "--check-url", "ews/healthcheck.htm"], "is no check URL"),
        ([EX19_02, "--down", "--check-url", "/ews/health check.htm"], "is no check URL"),
        ([EX19_02, "--down", "--port", "0"], "'--port'"),
        ([EX19_02, "--down", "--port", "65536"], "'--port'"),
        ([EX19_02], f"give --down, --up or --clear for {EX19_02}"),
        ([EX19_02, "--up", "--down"], "give --down or --up, not both"),
        ([EX19_02, "--clear", "--down"], "give it without --down"),
        (["--clear", "--check-url", EWS], "give it without --down"),
        ([EX19_02, "--clear", "--port", "443"], "give it without --down"),
        (["--down"], "mark an ADDRESS"),
        (["--check-url", EWS], "mark an ADDRESS"),
    ],
)
def test_usage_errors_exit_64_with_the_reason_before_anything_is_read(
    site: Site, arguments: list[str], complaint: str
) -> None:
    refused = site.health(*arguments, "-a", "lm-hq")
    assert refused.exit_code == 64
    assert complaint in " ".join(refused.stderr.replace("│", " ").split())
    assert not site.state.exists()


@pytest.mark.parametrize(
    "arguments",
    [["10.30.1.1\x1b]0;owned\x07", "--down"], [EX19_02, "--down", "--check-url", "/ews/\x1b[2J"]],
)
def test_what_is_echoed_back_is_escaped(site: Site, arguments: list[str]) -> None:
    refused = site.health(*arguments, "-a", "lm-hq")
    assert refused.exit_code == 64
    assert "\x1b" not in refused.output and "\x07" not in refused.output
    assert "\\x1b" in refused.stderr
