"""The Markdown lmctl prints for a merge-request comment (``plan --format markdown``, ``validate
--format markdown``, plan's failure document; CI posts them, see docs/ci-pipelines.md) renders
nothing that lmctl did not write: an appliance's message, a spec file name or a spec value
holding newlines, a code fence, a heading, a link, an image, HTML or an @mention stays text in
code, one line, and the text output forges no line either (issue 11).

The comment is rendered here by a CommonMark parser with GFM tables (markdown-it-py), as GitHub
and GitLab render it; mentions and links are what the forges make of text outside code.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from hostile_appliance import hostile_appliance
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import array_spec, invoke, write_mock_inventory
from mock_site import APPLIANCE, Array, Site

INJECTED = (
    "\n```\n# Pwned\n![pixel](https://evil.example/p.png) [click](https://evil.example) @all\n"
    "<img src=https://evil.example/i.png> | cell \\| cell \\\\| cell\n"
)
PUNCTUATION = frozenset(string.punctuation)
_RENDER = MarkdownIt("commonmark").enable("table")
_CODE = re.compile(r"<(code|pre)>.*?</\1>", re.DOTALL)


def rendered(markdown: str) -> str:
    """The comment as a forge renders it (HTML)."""
    html: str = _RENDER.render(markdown)
    return html


def outside_code(html: str) -> str:
    """What the rendered comment shows outside code: where a forge makes links and mentions."""
    return _CODE.sub("", html)


def assert_inert(markdown: str) -> None:
    """Nothing of ``INJECTED`` renders: no heading, link, image, HTML or mention, and its lines
    stay one line of code."""
    html = rendered(markdown)
    shown = outside_code(html)
    for rendered_as_markup in ("<img", "<a ", "<h1>", "Pwned", "evil.example", "@all"):
        assert rendered_as_markup not in shown, markdown
    assert "# Pwned" not in markdown.splitlines()


def cells(row: str) -> int:
    """The cells of a table row as cmark-gfm (GitHub) and comrak (GitLab) split it: at every
    pipe but one escaped, a backslash pairing with the punctuation character after it."""
    pipes, position = 0, 0
    while position < len(row):
        if row[position] == "\\" and position + 1 < len(row) and row[position + 1] in PUNCTUATION:
            position += 2
            continue
        pipes += row[position] == "|"
        position += 1
    return pipes - 1


def one_line_of_text(text: str) -> None:
    """No line of text output starts with what the injection put after a newline."""
    for line in text.splitlines():
        assert not line.startswith(("```", "# Pwned", "![pixel]", "<img")), text


# --- (a) an appliance's message ------------------------------------------------------------


def refusal(dialect: str, body: bytes) -> bytes:
    """The appliance refuses listvs with a message written to break out of the comment."""
    return json.dumps({"code": 422, "status": "fail", "message": "Unknown VS" + INJECTED}).encode()


def test_an_appliance_message_stays_in_the_failure_document_code(
    tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = Site.open(tmp_path, mock_server, monkeypatch, Array("hq", "10.40.0.10", ["10.40.0.21"]))
    with hostile_appliance(mock_server, refusal) as appliance:
        (site.arrays_dir / "appliances.yaml").write_text(appliance.inventory(APPLIANCE, "v2"))
        planned = site.plan("--format", "markdown")
    assert planned.exit_code == 1, planned.output
    assert planned.stdout.startswith("## lmctl plan: failed\n"), planned.stdout
    assert "Unknown VS\\n```\\n# Pwned" in planned.stdout  # quoted, one line
    assert_inert(planned.stdout)
    one_line_of_text(planned.stderr)


# --- (b) a spec file's name, (c) a spec value ----------------------------------------------

HOSTILE_NAME = "hq" + INJECTED.replace("/", "_") + ".yaml"


@pytest.fixture
def hostile_specs(tmp_path: Path, mock_server: MockServerHandle) -> Path:
    """Specs with an invalid file whose name breaks out of a fence or a table, and a valid
    array whose FQDN is written to render an image and a mention."""
    arrays = tmp_path / "arrays"
    write_mock_inventory(arrays, mock_server, APPLIANCE, "v2")
    (arrays / HOSTILE_NAME).write_text("name: [\n")
    members = {"hq-cas1": "10.40.0.21", "hq-cas2": "10.40.0.22"}
    spec = array_spec(
        "branch",
        "BRANCH",
        "2016 CU23",
        "10.40.0.10",
        APPLIANCE,
        members,
        fqdn='"![pixel](https://evil.example/p.png) @all"',
    )
    (arrays / "branch.yaml").write_text(spec)
    return arrays


def test_validate_markdown_keeps_file_names_and_values_in_their_cells(hostile_specs: Path) -> None:
    validated = invoke("validate", str(hostile_specs), "--format", "markdown")
    assert validated.exit_code == 1, validated.output
    assert_inert(validated.stdout)
    html = rendered(validated.stdout)
    # One row per diagnostic, each of five cells: no name or value ended a row or added one.
    diagnostics = invoke("validate", str(hostile_specs), "--format", "json")
    rows = html.count("<tr>") - 1
    assert rows == diagnostics.stdout.count('"severity"') >= 2
    assert html.count("<td>") == 5 * rows
    table = [line for line in validated.stdout.splitlines() if line.startswith("|")]
    assert [cells(row) for row in table] == [5] * (rows + 2)
    assert "<code>'![pixel](https://evil.example/p.png) @al" in html  # shown, as code


def test_plan_markdown_keeps_a_file_name_in_the_failure_document_code(
    hostile_specs: Path, tmp_path: Path
) -> None:
    planned = invoke(
        "plan", str(hostile_specs), "--format", "markdown", "--state-dir", str(tmp_path)
    )
    assert planned.exit_code == 1, planned.output
    assert_inert(planned.stdout)


def test_a_file_name_forges_no_line_of_text_output(hostile_specs: Path, tmp_path: Path) -> None:
    validated = invoke("validate", str(hostile_specs))
    planned = invoke("plan", str(hostile_specs), "--state-dir", str(tmp_path))
    for outcome in (validated, planned):
        assert outcome.exit_code == 1, outcome.output
        one_line_of_text(outcome.output)
        assert "hq\\n```\\n# Pwned" in outcome.output
