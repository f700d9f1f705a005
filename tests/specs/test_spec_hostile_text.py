"""Spec values on their way to the appliance and the terminal (issue 11, findings 4 and 6):
strings that reach the appliance are printable ASCII, site and appliance names printable, file
names printed escaped; a VIP or a member no client can reach (unspecified, broadcast, loopback,
multicast, link-local, an IPv6 zone ID) is refused by validate, and apply writes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from spec_files import HQ_2010, reported, run_lmctl

from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl_testkit import PROCESS_TIMEOUT
from mock_site import EXAMPLE_ARRAYS, Array, Site, install_example_certificate

RAW_CONTROLS = ("\x1b", "\x07", "\u202e", "\x00")


def raw_controls_in(text: str) -> list[str]:
    return [c for c in RAW_CONTROLS if c in text]


# --- spec strings --------------------------------------------------------------------------


def with_health_check_url(url: str) -> str:
    return HQ_2010 + f'overrides:\n  https:\n    health_check: {{url: "{url}"}}\n'


@pytest.mark.parametrize(
    "url",
    ["/owa\\e]0;x\\a\\e[2J", "/owa\\0", "/owa/auth logon.aspx", "/owa\\u202e", "/öwa"],
)
def test_a_health_check_url_must_be_printable_ascii(tmp_path: Path, url: str) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": with_health_check_url(url)})

    assert outcome.exit_code == 1, outcome.output
    assert reported(
        outcome, "hq.yaml", 13, "overrides.https.health_check.url", "printable ASCII without spaces"
    ), outcome.output
    assert raw_controls_in(outcome.output) == []


@pytest.mark.parametrize("value", ["HQ\\e[2J", "HQ\\u202e", "HQ\\0"])
@pytest.mark.parametrize(("field", "line"), [("site", 2), ("appliance", 6)])
def test_site_and_appliance_names_must_be_printable(
    tmp_path: Path, field: str, line: int, value: str
) -> None:
    spec = "\n".join(
        f'{field}: "{value}"' if text.startswith(f"{field}:") else text
        for text in HQ_2010.splitlines()
    )
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": spec + "\n"})

    assert outcome.exit_code == 1, outcome.output
    assert reported(outcome, "hq.yaml", line, field, "control character"), outcome.output
    assert raw_controls_in(outcome.output) == []


def test_a_spec_file_name_with_controls_is_printed_escaped(tmp_path: Path) -> None:
    name = "hq\x1b]0;owned\x07.yaml"
    outcome = run_lmctl(tmp_path / "arrays", {name: "name: [unclosed\n"})

    assert outcome.exit_code == 1
    assert raw_controls_in(outcome.output) == []
    assert "hq\\x1b]0;owned" in outcome.output


def _lmctl_bytes(cwd: Path, *args: str) -> tuple[int, bytes, bytes]:
    """``python -m lmctl ARGS`` as a real process (a terminal gets bytes): exit code, stdout
    and stderr as bytes."""
    done = subprocess.run(
        [sys.executable, "-m", "lmctl", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.items() for s in _strings(list(item))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_a_file_name_that_is_not_utf8_is_printed_escaped_and_json_stays_valid(
    tmp_path: Path,
) -> None:
    # Byte 0x9b is the 8-bit CSI: raw, a terminal takes it for the start of "ESC [".
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    (Path(os.fsdecode(bytes(arrays) + b"/hq\x9b2J.yaml"))).write_text("name: [unclosed\n")
    shown = "hq\\udc9b2J.yaml"

    for args in (("validate",), ("plan", "--state-dir", str(tmp_path / "state"))):
        code, out, err = _lmctl_bytes(tmp_path, *args, str(arrays))
        output = out + err
        assert code == 1, output
        assert b"\x9b" not in output and b"Traceback" not in output, output
        assert shown.encode() in output, output

    for args in (("validate",), ("plan", "--state-dir", str(tmp_path / "state"))):
        code, out, err = _lmctl_bytes(tmp_path, *args, str(arrays), "--format", "json")
        assert code == 1 and b"Traceback" not in err, err
        document = json.loads(out.decode("utf-8"))  # strict UTF-8
        strings = _strings(document)
        assert not [s for s in strings if any(unicodedata.category(c) == "Cs" for c in s)]
        assert any(shown in s for s in strings), document


def test_a_plan_of_specs_in_a_directory_not_named_in_utf8_is_valid_json(tmp_path: Path) -> None:
    arrays = Path(os.fsdecode(bytes(tmp_path) + b"/arrays\x9b"))
    shutil.copytree(EXAMPLE_ARRAYS, arrays)  # built-in mock:// appliances
    install_example_certificate(arrays, tmp_path / "s")

    code, out, err = _lmctl_bytes(
        tmp_path, "plan", str(arrays), "--format", "json", "--state-dir", str(tmp_path / "s")
    )
    assert code == 0 and b"Traceback" not in err, err
    plan = json.loads(out.decode("utf-8"))  # strict UTF-8
    assert plan["spec_paths"] == [str(tmp_path / "arrays\\udc9b")]


# --- addresses -----------------------------------------------------------------------------

UNUSABLE = {
    "0.0.0.0": "the unspecified address",  # noqa: S104
    "::": "the unspecified address",
    "255.255.255.255": "the broadcast address",
    "127.0.0.1": "a loopback address",
    "::1": "a loopback address",
    "224.0.0.5": "a multicast address",
    "ff02::1": "a multicast address",
    "169.254.10.1": "a link-local address",
    "fe80::50": "a link-local address",
    "::ffff:127.0.0.1": "a loopback address",
    "0.1.2.3": "in 0.0.0.0/8",
    "240.0.0.1": "in a reserved range",
    "::127.0.0.1": "in a reserved range",
    "::ffff:0:7f00:1": "in a reserved range",
}


# (the text the address replaces, its line, the field reported)
PLACES = {
    "vip": ("vip: 10.10.1.50", 5, "vip"),
    "member": ("address: 10.10.1.12}", 10, "members[1].address"),
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize(("address", "reason"), UNUSABLE.items())
def test_an_address_no_client_can_reach_is_refused(
    tmp_path: Path, address: str, reason: str, place: str
) -> None:
    old, line, field = PLACES[place]
    key, _, rest = old.partition(": ")
    closing = "}" if rest.endswith("}") else ""
    spec = HQ_2010.replace(old, f'{key}: "{address}"{closing}')
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": spec})

    assert outcome.exit_code == 1, outcome.output
    assert reported(outcome, "hq.yaml", line, field, reason), outcome.output


@pytest.mark.parametrize(
    "address", ["fe80::50%eth0", "fe80::50%eth0 \\n", "2001:db8::50%1", "10.1.3.50%eth0"]
)
def test_a_zone_id_is_refused_for_vips_and_members(tmp_path: Path, address: str) -> None:
    spec = HQ_2010.replace("vip: 10.10.1.50", f'vip: "{address}"').replace(
        "address: 10.10.1.12}", f'address: "{address}"}}'
    )
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": spec})

    assert outcome.exit_code == 1, outcome.output
    assert reported(outcome, "hq.yaml", 5, "vip", "has a zone ID"), outcome.output
    assert reported(outcome, "hq.yaml", 10, "members[1].address", "has a zone ID")
    assert "\n'" not in outcome.output  # the newline in the zone is shown escaped


def test_apply_writes_nothing_when_a_vip_is_unusable(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = Site.open(
        tmp_path,
        mock_server,
        monkeypatch,
        Array("good", "10.1.1.50", ["10.1.1.11", "10.1.1.12"]),
        Array("bad", "0.0.0.0", ["10.1.2.11", "10.1.2.12"]),  # noqa: S104
    )
    outcome = site.apply()

    assert outcome.exit_code == 1, outcome.output
    assert "vip: 0.0.0.0 is the unspecified address" in outcome.output
    assert [call for call in mock_control.calls() if call.applied_write] == []
    assert site.read() == []
