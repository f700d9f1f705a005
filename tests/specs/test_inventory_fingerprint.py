"""The inventory and the client read a pinned fingerprint by one rule (the client's own)."""

from __future__ import annotations

from pathlib import Path

import pytest
from spec_files import reported, run_lmctl, write_files

from lmctl.loadmaster.connection import normalise_fingerprint
from lmctl.specs import load_specs

HEX = "3fa2" + "00" * 29 + "9c"
# As some tools print it: a ``SHA256`` word, then space-separated upper-case pairs.
SPACED = "SHA256 " + " ".join(HEX.upper()[i : i + 2] for i in range(0, 64, 2))


def _inventory(fingerprint: str) -> str:
    return (
        "appliances:\n  lm-dc:\n    url: https://10.0.0.5:8443\n"
        "    auth: {api_key: {env: LM_DC_API_KEY}}\n"
        f"    tls: {{fingerprint: '{fingerprint}'}}\n"
    )


COLONS = ":".join(HEX.upper()[i : i + 2] for i in range(0, 64, 2))


@pytest.mark.parametrize(
    "spelling", [SPACED, "sha256:" + HEX, COLONS.lower(), "sha256 Fingerprint=" + COLONS]
)
def test_a_spelling_the_client_accepts_the_inventory_accepts_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.setenv("LM_DC_API_KEY", "k-123")
    write_files(tmp_path, {"appliances.yaml": _inventory(spelling)})

    connection = load_specs([tmp_path]).inventory.appliances["lm-dc"].connection()

    assert normalise_fingerprint(spelling) == HEX
    assert connection.tls.fingerprint_sha256 == HEX


def test_a_fingerprint_neither_accepts_names_file_line_and_field(tmp_path: Path) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"appliances.yaml": _inventory("sha1:" + HEX)})

    assert outcome.exit_code == 1, outcome.output
    assert reported(
        outcome,
        "appliances.yaml",
        5,
        "appliances.lm-dc.tls.fingerprint",
        f"not a SHA-256 fingerprint: 'sha1:{HEX}'; expected 64 hex digits (32 bytes)",
    ), outcome.output
