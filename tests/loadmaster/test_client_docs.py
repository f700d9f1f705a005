"""The example in docs/client.md runs as written against the served mock."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def test_the_documented_example_works(
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    [example, *_] = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert mock_server.fingerprint_sha256 is not None
    monkeypatch.setenv("LM_URL", mock_server.url)
    monkeypatch.setenv("LM_API_KEY", mock_server.api_key)
    monkeypatch.setenv("LM_FINGERPRINT", mock_server.fingerprint_sha256)
    exec(compile(example, str(DOC), "exec"), {"__name__": "docs_example"})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "firmware 7.2.59.0.22007"
    assert printed[1].startswith(
        "10.0.0.50:443/tcp Up [('10.0.1.21', 443, True), ('10.0.1.22', 443, True)]"
    )
    assert printed[2] == "active on 10.0.1.21: 0"
    assert printed[3] == "API calls: 8"
    assert [call.command for call in mock_control.calls()][-1] == "delvs"
