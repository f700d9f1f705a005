"""What the plan shows, as an admin reads it (issue 14, plan output): creates with only the
settings they set, members by name, over real HTTPS against the served mock."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmctl.mock.server import MockServerHandle
from lmctl_testkit import invoke, run_process
from mock_site import Array, Site, example_site, lmctl

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


def test_a_removed_real_server_is_shown_by_the_name_the_specs_know_it_by(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
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

    # status names them as well (run from the site: arrays/ is read by default).
    monkeypatch.chdir(site.root)
    status = json.loads(site.lmctl("status", "--format", "json").stdout)
    (a1,) = [array for array in status["arrays"] if array["array"] == "a1"]
    in_sync = next(c for c in a1["conditions"] if c["type"] == "InSync")
    assert (
        "https: real servers not in the spec: 10.1.1.12:443, a2-cas3 10.1.1.13:443"
        in (in_sync["message"])
    )

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


# The example arrays, made to load hq-cas, mail-2016 (lm-hq), then branch-cas (lm-branch), with an
# inventory that lists lm-branch first: neither names nor the inventory give the specs' order.
SPECS_ORDER = [
    ("hq-cas", ["rpc", "https", "http-redirect", "imap4s"]),
    ("mail-2016", ["https", "http-redirect", "smtp"]),
    ("mail-2019", ["https", "http-redirect"]),
    ("branch-cas", ["rpc", "https", "http-redirect"]),
]


def _grouped(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    grouped: dict[str, list[str]] = {}
    for array, service in pairs:
        grouped.setdefault(array, []).append(service)
    return list(grouped.items())


def _plan_text_order(text: str) -> list[tuple[str, str]]:
    pairs, array = [], ""
    for line in text.splitlines():
        if line.startswith("  array "):
            array = line.split()[1]
        elif line.startswith("    service "):
            pairs.append((array, line.split()[1]))
    return pairs


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    arrays = example_site(tmp_path)
    (arrays / "branch-cas.yaml").rename(arrays / "z-branch-cas.yaml")
    inventory = arrays / "appliances.yaml"
    text = inventory.read_text()
    hq = "  lm-hq:\n    url: mock://lm-hq\n"
    assert hq in text
    branch = "    url: mock://lm-branch\n"
    inventory.write_text(text.replace(hq, "").replace(branch, branch + hq, 1))
    text = inventory.read_text()
    assert text.index("lm-branch:") < text.index("lm-hq:")
    # Status, validate and plan all read arrays/ here: no path needed, whatever the convention.
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_plan_status_and_validate_list_arrays_and_services_in_the_specs_order(
    example: Path,
) -> None:
    plan = lmctl(example, "plan")
    assert plan.exit_code == 0, plan.output
    assert _grouped(_plan_text_order(plan.stdout)) == SPECS_ORDER
    appliances = [line.split()[1] for line in plan.stdout.splitlines() if line.startswith("Appl")]
    assert appliances == ["lm-hq", "lm-branch"]

    markdown = lmctl(example, "plan", "--format", "markdown").stdout
    shown = [line for line in markdown.splitlines() if line.startswith(("  array", "    serv"))]
    assert _grouped(_plan_text_order("\n".join(shown))) == SPECS_ORDER

    document = json.loads(lmctl(example, "plan", "--format", "json").stdout)
    assert [a["name"] for a in document["appliances"]] == ["lm-hq", "lm-branch"]
    ordered = [(s["array"], s["service"]) for a in document["appliances"] for s in a["order"]]
    assert _grouped(ordered) == SPECS_ORDER
    # Write order: each appliance's arrays in the specs' order too.
    written = [c["array"] for a in document["appliances"] for c in a["changes"]]
    assert list(dict.fromkeys(written)) == [array for array, _ in SPECS_ORDER]

    assert lmctl(example, "apply", "--auto-approve").exit_code == 0
    status = json.loads(lmctl(example, "status", "--format", "json").stdout)
    # A per-protocol array's https is checked per directory (https/owa, https/ews, ...).
    checked = [
        (a["array"], s["service"].split("/")[0]) for a in status["arrays"] for s in a["services"]
    ]
    assert _grouped(list(dict.fromkeys(checked))) == SPECS_ORDER
    text = lmctl(example, "status").stdout
    headings = [line.split()[0] for line in text.splitlines() if " on lm-" in line]
    assert headings == [array for array, _ in SPECS_ORDER]

    validated = json.loads(invoke("validate", "--format", "json").stdout)
    assert validated["arrays"] == [array for array, _ in SPECS_ORDER]


_PROGRESS = re.compile(
    r"(?P<appliance>lm-hq|lm-branch): ("
    r"applying \d+ writes"
    r"|backup saved to \S+"
    r"|\[\d+/\d+\] (addvs \S+|addrs (?P<member>[A-Z0-9-]+) \S+ in \S+)"
    r" \([a-z0-9-]+/[a-z0-9-]+\): ok"
    r")"
)


def test_parallel_applies_in_a_pipe_print_whole_lines_each_naming_its_appliance(
    tmp_path: Path,
) -> None:
    # The single-service arrays: each write an addvs or an addrs.
    (example_site(tmp_path) / "mail-2019.yaml").unlink()

    outcome = run_process(tmp_path, {}, "apply", "--auto-approve", "--parallel", "2")

    assert outcome.exit_code == 0, outcome.output
    lines = outcome.stdout.splitlines()
    first = next(
        i
        for i, line in enumerate(lines)
        if line.endswith(": applying 24 writes") or line.endswith(": applying 7 writes")
    )
    last = max(i for i, line in enumerate(lines) if line.endswith(": ok"))
    progress = lines[first : last + 1]
    assert len(progress) == 2 + 2 + 24 + 7  # start and backup per appliance, one per write
    matches = [_PROGRESS.fullmatch(line) for line in progress]
    for line, match in zip(progress, matches, strict=True):
        assert match is not None, f"not one whole progress line: {line!r}"
    found = [match for match in matches if match is not None]
    assert {"HQ-CAS01", "HQ-EX16-04", "MUC-CAS02"} <= {m["member"] for m in found}
    assert {m["appliance"] for m in found} == {"lm-hq", "lm-branch"}
