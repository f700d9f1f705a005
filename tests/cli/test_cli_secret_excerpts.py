"""An error quotes the head of what the appliance sent; the head is taken after the whole text is
scrubbed of secrets, so a cut through a secret never leaves its prefix behind (issue 11).

A hostile appliance (``hostile_appliance``) in front of a mock whose API key is ``SECRET``
answers ``listvs`` with a body that echoes the key just where the quoted excerpt ends. lmctl runs
as a real process at ``-vv``, in each output format: no prefix of the key of 4 characters or
more appears in anything it prints. (Every other place that quotes a reply is covered, without
a process, by ``tests/loadmaster/test_client_redaction.py``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hostile_appliance import Rewrite, hostile_appliance
from lmctl.mock.server import MockServerHandle, serve_in_thread
from lmctl_testkit import array_spec, run_process

SECRET = "s3cr3t-K3Y-LONGSECRET-0123456789"
KEY_VARIABLE = "LM_KEY"
ARRAY = array_spec(
    "hq",
    "HQ",
    "2016 CU23",
    "10.40.0.10",
    "lm-test",
    {"HQ-CAS01": "10.40.0.21"},
    fqdn="mail.corp.example.com",
)


def body(text: str) -> Rewrite:
    """Answer ``listvs`` with ``text`` (in either dialect)."""
    return lambda dialect, reply: text.encode()


CASES = {
    # The tester's reply: invalid JSON whose first 60 characters end inside the key.
    "v2 not JSON": ("v2", body('{"code":200,"VS":[' + "1" * 30 + " " + SECRET + "}")),
    "v1 not XML": (
        "v1",
        body('<Response stat="200" code="ok"><Success><Data>' + "1" * 3 + " " + SECRET + "<"),
    ),
}


@pytest.fixture(scope="module")
def keyed_mock() -> Iterator[MockServerHandle]:
    """A mock LoadMaster whose API key is ``SECRET``."""
    with serve_in_thread(api_key=SECRET) as handle:
        yield handle


def prefixes(secret: str) -> list[str]:
    return [secret[:length] for length in range(4, len(secret) + 1)]


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_prefix_of_the_key_in_any_output_of_a_quoted_reply(
    tmp_path: Path, keyed_mock: MockServerHandle, case: str
) -> None:
    dialect, rewrite = CASES[case]
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    (arrays / "hq.yaml").write_text(ARRAY)
    with hostile_appliance(keyed_mock, rewrite) as appliance:
        inventory = appliance.inventory("lm-test", dialect, api_key_variable=KEY_VARIABLE)
        (arrays / "appliances.yaml").write_text(inventory)
        runs = [
            run_process(tmp_path, {KEY_VARIABLE: SECRET}, "-vv", "plan", "arrays", *options)
            for options in ([], ["--format", "json"], ["--format", "markdown"])
        ]
    for run in runs:
        assert run.exit_code == 1, run.output
        assert "lm-test answered listvs with a malformed reply" in run.output
        assert "***" in run.output, "the excerpt shows where the key was"
        leaked = [prefix for prefix in prefixes(SECRET) if prefix in run.output]
        assert not leaked, run.output


@pytest.mark.parametrize("dialect", ["v1", "v2"])
def test_no_prefix_of_the_key_in_the_error_on_an_address_that_is_no_address(
    tmp_path: Path, dialect: str
) -> None:
    # A VS whose VSAddress the appliance fills with the key, where a 60-character cut of the
    # address would run through it.
    forged = ("9" * 50 + " " + SECRET).encode()
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    (arrays / "hq.yaml").write_text(ARRAY)
    with (
        serve_in_thread(api_key=SECRET) as mock,
        hostile_appliance(
            mock, lambda _dialect, reply: reply.replace(b"10.40.0.99", forged)
        ) as appliance,
    ):
        mock.appliance.execute("addvs", {"vs": "10.40.0.99", "port": "443", "prot": "tcp"})
        inventory = appliance.inventory("lm-test", dialect, api_key_variable=KEY_VARIABLE)
        (arrays / "appliances.yaml").write_text(inventory)
        run = run_process(tmp_path, {KEY_VARIABLE: SECRET}, "-vv", "plan", "arrays")
    assert run.exit_code == 1, run.output
    assert "not an IP address" in run.output
    leaked = [prefix for prefix in prefixes(SECRET) if prefix in run.output]
    assert not leaked, run.output
