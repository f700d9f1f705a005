"""``lmctl mock serve --seed-listvs FILE``: what it refuses to start from, each with one
``error:`` line and exit 1, never a traceback, never a state file overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from mock_wire_helpers import serve_fails

CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "loadmaster" / "fw7.2.5x-listvs.xml"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"<Response><Success>ok</Success></Response>", "not a listvs reply (no <Response>"),
        (b"<Response", "not XML"),
        (b"\xff\xfe", "neither XML nor JSON"),
        (b'{"VS": 3}', "not a listvs reply (no VS list)"),
        (
            b"<Response><Success><Data><VS><Index>1</Index><VSAddress>10.0.0.1</VSAddress>"
            b"<VSPort>99999</VSPort><Protocol>tcp</Protocol></VS></Data></Success></Response>",
            "services[0].port",
        ),
        (
            b"<Response><Success><Data><VS><Index>1</Index><VSAddress>10.0.0.1</VSAddress>"
            b"<VSPort>443</VSPort><Protocol>tcp</Protocol><Enable>maybe</Enable></VS></Data>"
            b"</Success></Response>",
            "Enable",
        ),
        (
            # A scoped IPv6 address (a zone index, RFC 4007) is no address a VS can listen on.
            b"<Response><Success><Data><VS><Index>1</Index><VSAddress>fe80::50%eth0</VSAddress>"
            b"<VSPort>443</VSPort><Protocol>tcp</Protocol></VS></Data></Success></Response>",
            "services[0].address must be an IPv4 or IPv6 address without a zone index",
        ),
    ],
)
def test_a_file_that_is_no_listvs_reply_is_refused_naming_the_problem(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    capture = tmp_path / "listvs.xml"
    capture.write_bytes(content)

    result = serve_fails("--port", "0", "--seed-listvs", str(capture))

    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(
        f"error: --seed-listvs {capture} is no listvs reply lmctl can serve: "
    )
    assert problem in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_missing_capture_and_an_existing_state_file_are_refused(tmp_path: Path) -> None:
    missing = serve_fails("--port", "0", "--seed-listvs", str(tmp_path / "none.xml"))
    assert missing.returncode == 1
    assert f"error: cannot read --seed-listvs {tmp_path / 'none.xml'}: " in missing.stderr

    state = tmp_path / "state.json"
    state.write_text("{}")
    kept = serve_fails("--port", "0", "--state", str(state), "--seed-listvs", str(CAPTURE))

    assert kept.returncode == 1
    assert f"but the state file {state} exists" in kept.stderr
    assert state.read_text() == "{}"
