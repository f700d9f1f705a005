"""The one error boundary: every fault a user can run into ends ``lmctl plan``, ``apply``,
``drain`` and ``undrain`` with one ``error:`` line on stderr and the fault's exit code, never a
traceback; ``plan --format json`` prints the failure document on stdout too. ``status`` reports
an appliance it cannot read in its table (that array's conditions Unknown, the reason named) and
goes on with the others, so there the reason is asserted in its output.

Each fault is set up on a fresh site: the repository's example arrays (built-in ``mock://``
appliances, whose state lives in the state directory) or arrays on the served mock over HTTPS.
"""

from __future__ import annotations

import json
import os
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from lmctl.mock.persistence import state_to_json
from lmctl.mock.server import MockServerHandle
from lmctl.mock.state import MockState
from lmctl.mock.tls import generate_certificate
from lmctl_testkit import PASSWORD_VARIABLE, Outcome, invoke, run_process
from mock_site import APPLIANCE, Array, Site, example_site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])

# What each command is run with after the fault's own arguments.
COMMANDS = {
    "plan": ("plan",),
    "plan-json": ("plan", "--format", "json"),
    "apply": ("apply", "--auto-approve"),
    "status": ("status",),
    "drain": ("drain",),
    "undrain": ("undrain",),
    "ls": ("ls",),
}
# The commands that take a member before their spec paths.
MEMBER_FIRST = frozenset({"drain", "undrain"})


def command_line(command: str, arguments: list[str]) -> list[str]:
    """``lmctl <command>`` with the fault's arguments (spec directory first, then options)."""
    name, *options = COMMANDS[command]
    if command not in MEMBER_FIRST:
        return [name, *arguments, *options]
    return [name, first_member(Path(arguments[0])), *arguments, *options]


def first_member(arrays: Path) -> str:
    """The address of the first member of an array on the appliance each fault is about (the
    example site's lm-hq, or the served mock's)."""
    for path in sorted(arrays.glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        if document.get("appliance") in ("lm-hq", APPLIANCE):
            return str(document["members"][0]["address"])
    raise AssertionError(f"no array on lm-hq or {APPLIANCE} in {arrays}")


@dataclass(frozen=True)
class Context:
    """Where a fault is set up: a fresh directory, the served mock, the environment."""

    root: Path
    server: MockServerHandle
    monkeypatch: pytest.MonkeyPatch

    def example(self) -> Path:
        # Each fault stops lmctl before it reads the certificates: none is installed.
        return example_site(self.root, certificate=False)

    def site(self) -> Site:
        return Site.open(self.root, self.server, self.monkeypatch, A1)


Fault = Callable[[Context, str], list[str]]


# What lm-hq's state file holds in each "mock state" fault: none of them a mock state.
WRONG_SHAPE = (
    b'{"format": 1, "parameters": [1], "services": [], "next_index": 1, "next_rs_index": 1}'
)
MOCK_STATES = {"garbage": b"garbage\n", "not UTF-8": b"\xff", "wrong shape": WRONG_SHAPE}


def mock_state(content: str) -> Fault:
    """lm-hq's state file holds ``MOCK_STATES[content]``, or is a directory (``directory``)."""

    def set_up(context: Context, command: str) -> list[str]:
        arrays = context.example()
        state = context.root / ".lmctl"
        state.mkdir()
        if content == "directory":
            (state / "mock-lm-hq.json").mkdir()
        else:
            (state / "mock-lm-hq.json").write_bytes(MOCK_STATES[content])
        return [str(arrays), "--state-dir", str(state)]

    return set_up


def state_dir_is_a_file(context: Context, command: str) -> list[str]:
    arrays = context.example()
    state = context.root / "state"
    state.write_text("not a directory\n")
    return [str(arrays), "--state-dir", str(state)]


def state_dir_is_a_file_real_appliance(context: Context, command: str) -> list[str]:
    """Only apply keeps anything there (its locks) when no appliance is a mock:// one."""
    site = context.site()
    state = context.root / "state"
    state.write_text("not a directory\n")
    return [str(site.arrays_dir), "--state-dir", str(state)]


def unusable_plan_file(context: Context, command: str) -> list[str]:
    """apply's input is a plan of another format; plan's --out a directory."""
    site = context.site()
    state = ["--state-dir", str(site.state_dir)]
    if command == "apply":
        saved = context.root / "plan.json"
        saved.write_text('{"kind": "lmctl-plan", "format_version": 2}')
        return [str(saved), *state]
    return [str(site.arrays_dir), "--out", str(context.root), *state]


def appliance_unreachable(context: Context, command: str) -> list[str]:
    site = context.site()
    inventory = site.arrays_dir / "appliances.yaml"
    document = yaml.safe_load(inventory.read_text())
    document["appliances"][APPLIANCE]["url"] = "https://127.0.0.1:1"
    inventory.write_text(yaml.safe_dump(document))
    return [str(site.arrays_dir), "--state-dir", str(site.state_dir)]


def appliance_refuses_login(context: Context, command: str) -> list[str]:
    site = context.site()
    context.monkeypatch.setenv(PASSWORD_VARIABLE, "not-the-password")
    return [str(site.arrays_dir), "--state-dir", str(site.state_dir)]


# fault → how to set it up, and per command: (exit code, what the error line says; None: no
# error at all). A fault that means nothing to a command (a plan file to status) is left out.
WRITERS = ("plan", "plan-json", "apply", "drain", "undrain")
# status goes on with the other arrays; lm-branch's hold nothing yet: not serving (3).
UNUSABLE_MOCK_STATE: dict[str, tuple[int, str | None]] = {
    **dict.fromkeys((*WRITERS, "ls"), (1, "lm-hq: mock state file ")),
    "status": (3, "lm-hq could not be read: mock state file "),
}
FAULTS: dict[str, tuple[Fault, dict[str, tuple[int, str | None]]]] = {
    "corrupt mock state": (mock_state("garbage"), UNUSABLE_MOCK_STATE),
    "mock state not UTF-8": (mock_state("not UTF-8"), UNUSABLE_MOCK_STATE),
    "mock state of the wrong shape": (mock_state("wrong shape"), UNUSABLE_MOCK_STATE),
    "mock state is a directory": (mock_state("directory"), UNUSABLE_MOCK_STATE),
    "state dir is a file": (
        state_dir_is_a_file,
        dict.fromkeys((*WRITERS, "status", "ls"), (1, "the state directory ")),
    ),
    "state dir is a file, real appliance": (
        state_dir_is_a_file_real_appliance,
        # Only the writers keep anything there (their apply lock).
        {
            "plan": (0, None),
            "plan-json": (0, None),
            "ls": (0, None),
            "apply": (1, "the state directory "),
            "drain": (1, "the state directory "),
            "undrain": (1, "the state directory "),
        },
    ),
    "unusable plan file": (
        unusable_plan_file,
        {
            "plan": (1, " is a directory: name a file"),
            "plan-json": (1, " is a directory: name a file"),
            "apply": (1, "plan format_version 2; this lmctl reads version 1"),
        },
    ),
    "appliance unreachable": (
        appliance_unreachable,
        {
            **dict.fromkeys(("plan", "plan-json", "apply", "ls"), (1, "cannot read lm-test: ")),
            **dict.fromkeys(("drain", "undrain", "status"), (1, "listvs on lm-test failed")),
        },
    ),
    "appliance refuses login": (
        appliance_refuses_login,
        {
            **dict.fromkeys(("plan", "plan-json", "apply", "ls"), (1, "cannot read lm-test: ")),
            **dict.fromkeys(("drain", "undrain", "status"), (1, "lm-test refused the credentials")),
        },
    ),
}


def assert_one_error_line(outcome: Outcome, code: int, says: str | None) -> None:
    assert outcome.exit_code == code, outcome.output
    assert "Traceback" not in outcome.output
    errors = [line for line in outcome.stderr.splitlines() if line.startswith("error:")]
    if says is None:
        assert errors == [], outcome.output
        return
    assert len(errors) == 1, outcome.output
    assert outcome.stderr.splitlines()[-1] == errors[0]
    assert says in errors[0], errors[0]


@pytest.mark.parametrize(
    ("fault", "command"),
    [(fault, command) for fault in sorted(FAULTS) for command in sorted(FAULTS[fault][1])],
)
def test_every_fault_is_one_error_line_and_its_exit_code(
    tmp_path: Path,
    mock_server: MockServerHandle,
    monkeypatch: pytest.MonkeyPatch,
    fault: str,
    command: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    set_up, expected = FAULTS[fault]
    arguments = set_up(Context(tmp_path, mock_server, monkeypatch), command)
    outcome = invoke(*command_line(command, arguments), catch_exceptions=False)
    code, says = expected[command]
    if command == "status":
        assert (outcome.exit_code, "Traceback" in outcome.output) == (code, False), outcome.output
        assert says is not None and says in " ".join(outcome.output.split()), outcome.output
        return
    assert_one_error_line(outcome, code, says)
    if command == "plan-json" and says is not None:
        document = json.loads(outcome.stdout)
        assert (document["kind"], document["exit_code"]) == ("lmctl-plan-failure", code)
        assert says in document["error"]["message"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        (b"\xff", "not UTF-8 text"),
        (WRONG_SHAPE, "parameters must be an object, not a list"),
    ],
    ids=["not-json", "not-utf-8", "wrong-shape"],
)
def test_a_corrupt_mock_state_ends_a_real_process_with_one_line(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    """Through ``main()`` as the ``lmctl`` script runs it (each used to end in a traceback)."""
    example_site(tmp_path, certificate=False)
    (tmp_path / ".lmctl").mkdir()
    (tmp_path / ".lmctl" / "mock-lm-hq.json").write_bytes(content)
    for command in (["plan", "arrays"], ["apply", "arrays", "--auto-approve"]):
        outcome = run_process(tmp_path, {}, *command)
        assert outcome.exit_code == 1, outcome.output
        assert outcome.stderr.splitlines() == [
            "error: lm-hq: mock state file .lmctl/mock-lm-hq.json is not a valid lmctl mock "
            f"state ({problem}); delete it to start from an empty appliance"
        ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and symbolic links are POSIX's")
@pytest.mark.parametrize("kind", ["a FIFO", "a symbolic link"])
def test_a_mock_state_that_is_not_a_regular_file_is_refused_not_waited_on(
    tmp_path: Path, kind: str
) -> None:
    """A FIFO there made plan wait forever for a writer; a link is refused even to a good state."""
    example_site(tmp_path, certificate=False)
    (tmp_path / ".lmctl").mkdir()
    state_file = tmp_path / ".lmctl" / "mock-lm-hq.json"
    if kind == "a FIFO":
        os.mkfifo(state_file)
    else:
        elsewhere = tmp_path / "elsewhere.json"
        elsewhere.write_text(json.dumps(state_to_json(MockState())))
        state_file.symlink_to(elsewhere)
    outcome = run_process(tmp_path, {}, "plan", "arrays")
    assert outcome.exit_code == 1, outcome.output
    assert outcome.stderr.splitlines() == [
        f"error: lm-hq: mock state file .lmctl/mock-lm-hq.json is {kind}, not a regular file; "
        "remove it to start from an empty appliance"
    ]


class FixedReply(BaseHTTPRequestHandler):
    """An appliance that answers every API call with the same APIv2 body."""

    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads lmctl's output only."""


@contextmanager
def appliance_answering(body: bytes, directory: Path) -> Iterator[tuple[str, str]]:
    """An HTTPS appliance on loopback answering ``body``: its URL and certificate SHA-256."""
    certificate = generate_certificate(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_file, certificate.key_file)
    handler = type("Answering", (FixedReply,), {"body": body})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", certificate.fingerprint_sha256
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("code", ["Infinity", "-Infinity", "1e400", "NaN", "200.5"])
def test_a_reply_code_that_is_no_whole_number_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str
) -> None:
    """Python's JSON reads Infinity and 1e400 as an infinite float: int() of it raised an
    OverflowError through plan."""
    monkeypatch.setenv(PASSWORD_VARIABLE, "secret")
    body = f'{{"code": {code}, "status": "ok", "VS": []}}'.encode()
    with appliance_answering(body, tmp_path) as (url, fingerprint):
        arrays = tmp_path / "arrays"
        arrays.mkdir()
        (arrays / "a1.yaml").write_text(yaml.safe_dump(A1.spec(), sort_keys=False))
        (arrays / "appliances.yaml").write_text(
            f"appliances:\n  {APPLIANCE}:\n    url: {url}\n    dialect: v2\n"
            f"    auth: {{username: bal, password: {{env: {PASSWORD_VARIABLE}}}}}\n"
            f'    tls: {{fingerprint: "{fingerprint}"}}\n'
        )
        outcome = invoke("plan", str(arrays), "--state-dir", str(tmp_path / ".lmctl"))
    assert_one_error_line(outcome, 1, f"cannot read {APPLIANCE}: ")
    assert "with a malformed reply: the reply has a code that is not a whole number" in (
        outcome.stderr
    )
