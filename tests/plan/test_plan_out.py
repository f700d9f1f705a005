"""``plan --out`` to a place that cannot take the plan: refused before any appliance is read,
and a failed save leaves no partial file behind."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.document import make_plan
from lmctl.plan.planfile import PlanFileError, save_plan
from mock_site import Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, A1)


@pytest.mark.parametrize("kind", ["under-a-file", "a-directory"])
def test_plan_out_that_cannot_be_written_is_refused_before_reading(
    site: Site, mock_control: MockControl, kind: str
) -> None:
    notes = site.root / "notes.txt"
    notes.write_text("not a directory\n")
    out = notes / "plan.json" if kind == "under-a-file" else site.root
    reason = (
        f"{notes} is not a directory"
        if kind == "under-a-file"
        else f"is a directory: name a file, e.g. --out {site.root / 'plan.json'}"
    )
    mock_control.clear_log()
    result = site.plan("--out", str(out))
    assert result.exit_code == 1, result.output
    assert f"error: --out {out}" in result.stderr
    assert f"{reason}; nothing was read or written" in result.stderr
    assert "Traceback" not in result.output
    assert mock_control.calls() == []


def test_a_failed_save_raises_a_clear_error_and_leaves_no_partial_file(tmp_path: Path) -> None:
    plan = make_plan({}, {}, specs_digest="sha256:x", now=datetime(2026, 11, 26, tzinfo=UTC))
    target = tmp_path / "plan.json"
    target.mkdir()  # os.replace onto a directory fails after the partial file was written
    with pytest.raises(PlanFileError) as caught:
        save_plan(plan, target)
    assert str(caught.value).startswith(f"cannot save the plan to {target}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"]
    assert list(target.iterdir()) == []
