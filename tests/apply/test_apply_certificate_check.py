"""The certificate a per-protocol array names is checked before any write, over HTTPS against
the mock: plan, apply and a saved plan's apply stop (exit 1) when the appliance lacks it, and
name the spec, the array, the field, the appliance, what it holds and how to install it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import (
    PASSWORD_VARIABLE,
    PER_PROTOCOL_MEMBERS,
    Outcome,
    array_spec,
    certificate_pem,
    install_certificate,
    invoke,
    per_protocol_spec,
    write_mock_inventory,
    write_spec_files,
)


class Site:
    """Specs naming the served mock as ``lm-hq``, and lmctl run over them."""

    def __init__(self, root: Path, server: MockServerHandle) -> None:
        self.root = root
        self.specs = root / "specs"
        self.server = server

    def write(self, **files: str) -> None:
        write_spec_files(self.specs, files)
        write_mock_inventory(self.specs, self.server, "lm-hq", "v2")

    def run(self, *args: str) -> Outcome:
        return invoke(*args, "--state-dir", str(self.root / "state"))

    def install(self, name: str) -> None:
        install_certificate(self.server, name, certificate_pem(self.root, stem=name))


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.setenv(PASSWORD_VARIABLE, mock_server.password)
    made = Site(tmp_path, mock_server)
    made.write(**{"mail.yaml": per_protocol_spec()})
    return made


def writes(control: MockControl) -> list[str]:
    return [call.command for call in control.calls() if call.write]


def test_plan_names_the_missing_certificate_and_reads_only_listcert(
    site: Site, mock_control: MockControl
) -> None:
    site.install("autodiscover-2016")
    mock_control.clear_log()
    outcome = site.run("plan", str(site.specs))
    assert outcome.exit_code == 1, outcome.output
    error = outcome.stderr
    line = per_protocol_spec().splitlines().index("certificate: mail-2019") + 1
    assert f"{site.specs / 'mail.yaml'}:{line}: array mail-2019: certificate: 'mail-2019'" in error
    assert "is not installed on lm-hq (it has 'autodiscover-2016')" in error
    # A mistyped name is likelier than a certificate never installed: that advice comes first.
    check = error.index(
        "; check the spec's certificate: against that list first (a mistyped name is the "
        "likelier cause: names are compared exactly, case too), else install it there, in its "
        "web UI under Certificates & Security > SSL Certificates"
    )
    assert check < error.index("addcert")
    assert "nothing was written" in error
    # The check comes before the appliance's VSs are read: one listcert, nothing else.
    assert [call.command for call in mock_control.calls()] == ["listcert"]


def test_apply_writes_nothing_without_the_certificate_then_applies_once_it_is_installed(
    site: Site, mock_control: MockControl
) -> None:
    refused = site.run("apply", "--auto-approve", "--no-backup", str(site.specs))
    assert refused.exit_code == 1, refused.output
    # With no certificate there, no name can be mistyped: the advice is to install it.
    assert "(it has no certificate); install it there first, in its web UI" in refused.stderr
    assert writes(mock_control) == []
    site.install("mail-2019")
    applied = site.run("apply", "--auto-approve", "--no-backup", str(site.specs))
    assert applied.exit_code == 0, applied.output


def test_a_saved_plan_is_checked_again_before_it_writes(
    site: Site, mock_control: MockControl
) -> None:
    site.install("mail-2019")
    saved = site.root / "mail.plan.json"
    assert site.run("plan", "--out", str(saved), str(site.specs)).exit_code == 0
    site.server.appliance.execute("delcert", {"cert": "mail-2019"})
    mock_control.clear_log()
    outcome = site.run("apply", "--auto-approve", "--no-backup", str(saved), str(site.specs))
    assert outcome.exit_code == 1, outcome.output
    assert f"{saved} (saved plan), {site.specs / 'mail.yaml'}:" in outcome.stderr
    assert ": array mail-2019: certificate: 'mail-2019'" in outcome.stderr
    assert "certificate: 'mail-2019' is not installed on lm-hq" in outcome.stderr
    assert writes(mock_control) == []


def test_the_json_failure_document_lists_each_missing_certificate(
    site: Site, mock_control: MockControl
) -> None:
    for index in range(10):
        site.install(f"other-{index}")
    outcome = site.run("plan", "--format", "json", str(site.specs))
    assert outcome.exit_code == 1
    failure = json.loads(outcome.stdout)["error"]
    assert failure["kind"] == "certificate"
    (detail,) = failure["details"]
    # What the appliance holds is shortened: the first names and how many more.
    assert "'other-0', 'other-1'" in detail and "and 2 more" in detail


def test_an_appliance_without_a_certificate_to_check_costs_no_listcert(
    site: Site, mock_control: MockControl
) -> None:
    single = array_spec(
        "hq", "HQ", "2019 CU14", "10.30.2.50", "lm-hq", PER_PROTOCOL_MEMBERS, fqdn="hq.example.com"
    )
    site.write(**{"mail.yaml": single})
    mock_control.clear_log()
    assert site.run("plan", str(site.specs)).exit_code == 0
    assert "listcert" not in [call.command for call in mock_control.calls()]


def test_plan_json_and_markdown_name_a_missing_certificate_not_an_unopenable_appliance(
    site: Site,
) -> None:
    site.install("autodiscover-2016")

    as_json = site.run("plan", "--format", "json", str(site.specs))
    as_markdown = site.run("plan", "--format", "markdown", str(site.specs))

    assert (as_json.exit_code, as_markdown.exit_code) == (1, 1)
    failure = json.loads(as_json.stdout)
    assert failure["kind"] == "lmctl-plan-failure"
    assert failure["error"]["kind"] == "certificate"
    (detail,) = failure["error"]["details"]
    assert "certificate: 'mail-2019' is not installed on lm-hq" in detail
    heading = (
        "**No plan was made: a TLS certificate a virtual service needs is not installed on its "
        "appliance.** Nothing was written."
    )
    assert heading in as_markdown.stdout
    assert "cannot be opened" not in as_markdown.stdout


@pytest.mark.parametrize(
    ("installed", "hint"),
    [
        # Another namespace's or year's certificate is no typo of this one: no suggestion.
        (("mail-2016", "mail-eu-2025"), None),
        # The same name but for case or punctuation is.
        (("mail-2018", "Mail-2019"), "Mail-2019"),
        (("mail_2019",), "mail_2019"),
    ],
)
def test_only_a_close_certificate_name_is_suggested(
    site: Site, installed: tuple[str, ...], hint: str | None
) -> None:
    for name in installed:
        site.install(name)
    outcome = site.run("plan", str(site.specs))
    assert outcome.exit_code == 1, outcome.output
    text = " ".join(outcome.stderr.split())
    if hint is None:
        assert "did you mean" not in text
    else:
        assert f"(did you mean '{hint}'?)" in text
