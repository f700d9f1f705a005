"""What the plan shows, as an admin reads it (issue 14, plan output): creates with only the
settings they set, members by name, over real HTTPS against the served mock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmctl.mock.server import MockServerHandle
from mock_site import Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12", "10.1.1.13"])
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12", "10.1.2.13"])


@pytest.fixture
def site(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    site = Site.open(tmp_path, mock_server, monkeypatch, A1, A2)
    yield site


def _create_lines(plan_text: str, key: str) -> list[str]:
    """The detail lines under ``create virtual service KEY``."""
    lines = plan_text.splitlines()
    start = lines.index(f"      + create virtual service {key}") + 1
    details = []
    for line in lines[start:]:
        if not line.startswith("          + "):
            break
        details.append(line.strip())
    return details


def test_a_create_shows_only_the_settings_it_sets(site: Site) -> None:
    result = site.plan()

    assert result.exit_code == 2, result.output
    assert "(unset)" not in result.stdout
    smtp = _create_lines(result.stdout, "10.1.1.50:25/tcp")
    # An SMTP service has no persistence, no check URL, no extra ports, no error URL.
    assert [line.split(":")[0] for line in smtp] == [
        "+ NickName",
        "+ Enable",
        "+ VStype",
        "+ Schedule",
        "+ PersistTimeout",
        "+ Idletime",
        "+ CheckType",
        "+ CheckPort",
        "+ Layer",
        "+ Transparent",
        "+ SubnetOriginating",
        "+ ErrorCode",
    ]
    assert "+ NickName: lmctl.a1.smtp" in smtp
    # The plan document keeps every setting, unset ones as null: addvs writes them all.
    document = json.loads(site.plan("--format", "json").stdout)
    (create,) = [
        change
        for change in document["appliances"][0]["changes"]
        if change["action"] == "create_vs"
        and change["key"]["port"] == "25"
        and change["array"] == "a1"
    ]
    assert create["settings"]["persist"] is None
    assert create["settings"]["check_url"] is None


def test_a_removed_real_server_is_shown_by_the_name_the_specs_know_it_by(site: Site) -> None:
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    # 10.1.1.13 moves to array a2 (named a2-cas3 there); 10.1.1.12 leaves every spec.
    site.write(
        Array("a1", A1.vip, ["10.1.1.11"]),
        Array("a2", A2.vip, ["10.1.2.11", "10.1.2.12", "10.1.1.13"]),
    )

    result = site.plan()

    assert "      - remove real server a2-cas3 10.1.1.13:443" in result.stdout, result.output
    assert "      - remove real server 10.1.1.12:443" in result.stdout
    assert "      + add real server a2-cas3 10.1.1.13:443" in result.stdout
    document = json.loads(site.plan("--format", "json").stdout)
    removed = {
        change["address"]: change["member"]
        for change in document["appliances"][0]["changes"]
        if change["action"] == "remove_rs"
        and change["service"] == "https"
        and change["array"] == "a1"
    }
    assert removed == {"10.1.1.13": "a2-cas3", "10.1.1.12": None}

    # apply's progress in a pipe names each member too.
    done = site.apply("--force")
    assert done.exit_code == 0, done.output
    assert "delrs a2-cas3 10.1.1.13:443 in 10.1.1.50:443/tcp (a1/https): ok" in done.stdout
    assert "delrs 10.1.1.12:443 in 10.1.1.50:443/tcp (a1/https): ok" in done.stdout
    assert "addrs a2-cas3 10.1.1.13:443 in 10.1.2.50:443/tcp (a2/https): ok" in done.stdout


def _diff_block(markdown: str) -> list[str]:
    lines = markdown.splitlines()
    start = lines.index("```diff") + 1
    return lines[start : lines.index("```", start)]


def test_the_markdown_plan_marks_every_line_the_way_forges_highlight_a_diff(site: Site) -> None:
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    site.write(Array("a1", A1.vip, ["10.1.1.11", "10.1.1.12"], scheduling="lc"))

    result = site.plan("--format", "markdown")

    assert result.exit_code == 2, result.output
    block = _diff_block(result.stdout)
    # GitHub and GitLab colour +, - and ! lines of a diff; neither knows ~.
    assert {line[0] for line in block} <= {" ", "+", "-", "!"}
    assert "!     update virtual service 10.1.1.50:443/tcp" in block
    assert "!         Schedule: rr → lc" in block
    assert "-     remove real server 10.1.1.13:443" in block
