"""``lmctl import --format json`` over HTTPS against the mock: what was written and skipped,
with reasons, as the versioned document its schema describes (``lmctl schema --kind import``,
committed as ``docs/schema/import.schema.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from test_import import import_command, site  # noqa: F401  (the fixture)

from lmctl.mock.control import MockControl
from lmctl_testkit import invoke
from mock_site import APPLIANCE, Site

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "schema" / "import.schema.json"


def printed_schema() -> dict[str, Any]:
    result = invoke("schema", "--kind", "import")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_committed_import_schema_equals_lmctl_schema_kind_import() -> None:
    committed = json.loads(COMMITTED.read_text())
    assert committed == printed_schema(), "regenerate: lmctl schema --kind import > docs/schema/"
    assert "docs/schema/import.schema.json" in (REPO / "docs" / "adoption.md").read_text()


def test_import_json_says_what_was_written_and_skipped_and_why(
    site: Site,  # noqa: F811
    mock_control: MockControl,
) -> None:
    mock_control.clear_log()

    result = site.lmctl(*import_command(site), "--format", "json", "--site", "HQ")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)  # stdout holds the document alone
    jsonschema.validate(document, printed_schema())
    assert (document["format_version"], document["kind"]) == (1, "lmctl-import")
    assert document["appliance"] == APPLIANCE
    written = {spec["array"]: spec for spec in document["written"]}
    assert sorted(written) == ["vip-10-1-1-50", "vip-10-1-2-50"]
    first = written["vip-10-1-1-50"]
    assert first["file"] == str(site.arrays_dir / "vip-10-1-1-50.yaml")
    assert Path(first["file"]).is_file()
    assert (first["vip"], first["services"], first["members"]) == (
        "10.1.1.50",
        ["https", "smtp"],
        2,
    )
    assert {vs["port"] for vs in first["virtual_services"]} == {"443", "25"}
    assert any(note.startswith("release: ") for note in first["notes"])
    assert document["skipped"] == [
        {
            "key": {"address": "10.1.9.9", "port": "3389", "protocol": "tcp"},
            "nickname": "rdp",
            "reason": "port 3389 is no Exchange service lmctl publishes",
        }
    ]
    adopt = "--adopt vip-10-1-1-50 --adopt vip-10-1-2-50"
    assert document["next"] == [
        f"lmctl validate {site.arrays_dir}",
        f"lmctl plan {site.arrays_dir} {adopt}",
    ]
    assert not any(call.write for call in mock_control.calls())


def test_import_json_with_nothing_to_import_and_no_markdown(site: Site) -> None:  # noqa: F811
    result = site.lmctl(*import_command(site), "--vip", "10.1.9.9", "--format", "json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, printed_schema())
    assert (document["written"], document["next"]) == ([], [])
    assert [s["key"]["port"] for s in document["skipped"]] == ["3389"]

    markdown = site.lmctl(*import_command(site), "--format", "markdown")
    assert markdown.exit_code == 1
    assert "lmctl import prints text or json (--format text|json), not markdown" in (
        markdown.stderr
    )
