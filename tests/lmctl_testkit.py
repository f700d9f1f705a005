"""Test scaffolding shared by every test area: spec files on disk, an inventory for the served
mock, and lmctl run in-process (typer's CliRunner) or as a real process.

Each area keeps its own arrays; only the ways to write and run them live here.
"""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
from typer.testing import CliRunner

import lmctl.cli  # noqa: F401  (registers every command on the app)
from lmctl.cli.app import app
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.mock.tls import generate_certificate

# The inventory written by ``write_mock_inventory`` reads the mock's password from here.
PASSWORD_VARIABLE = "LMCTL_TEST_MOCK_PASSWORD"

# A process still running after this many seconds is killed, so a hang fails its test only.
PROCESS_TIMEOUT = 60
WATCHED_PROCESS_TIMEOUT = 30

SpecFiles = Mapping[str, str | bytes | None]


@dataclass(frozen=True)
class Outcome:
    """What one ``lmctl`` run printed and how it exited.

    ``output`` is what a terminal would show: stdout and stderr together.
    """

    exit_code: int
    stdout: str
    stderr: str
    output: str


def array_spec(
    name: str,
    site: str,
    exchange: str,
    vip: str,
    appliance: str,
    members: Mapping[str, str],
    *,
    fqdn: str,
    rpc_ports: tuple[int, int] | None = None,
    services: Sequence[str] = (),
) -> str:
    """The YAML text of an array spec, one line per field in the documented order: ``members``
    maps member name to address; ``rpc_ports`` is (client access, address book)."""
    lines = [
        f"name: {name}",
        f"site: {site}",
        f"exchange: {exchange}",
        f"fqdn: {fqdn}",
        f"vip: {vip}",
        f"appliance: {appliance}",
    ]
    if rpc_ports is not None:
        client_access, address_book = rpc_ports
        lines.append(f"rpc_ports: {{client_access: {client_access}, address_book: {address_book}}}")
    lines.append("members:")
    lines += [f"  - {{name: {member}, address: {address}}}" for member, address in members.items()]
    if services:
        lines.append(f"services: [{', '.join(services)}]")
    return "\n".join(lines) + "\n"


# The per-protocol array the layout's tests apply to the mock at ``lm-hq``.
PER_PROTOCOL_MEMBERS = {"EX19-01": "10.30.1.11", "EX19-02": "10.30.1.12"}
PER_PROTOCOL_DIRECTORIES = ("owa", "ews", "Microsoft-Server-ActiveSync")


def per_protocol_spec(
    members: Mapping[str, str] = PER_PROTOCOL_MEMBERS,
    directories: Sequence[str] = PER_PROTOCOL_DIRECTORIES,
) -> str:
    """A 2019 array ``mail-2019`` on 10.30.1.50 with ``layout: per-protocol``, the certificate
    ``mail-2019`` and ``directories``."""
    base = array_spec(
        "mail-2019", "HQ", "2019 CU14", "10.30.1.50", "lm-hq", members, fqdn="mail.example.com"
    )
    return (
        base
        + "layout: per-protocol\ncertificate: mail-2019\n"
        + f"directories: [{', '.join(directories)}]\n"
    )


class ServedMock(Protocol):
    """A served mock as an inventory names it (``MockServerHandle`` or ``ServedProcess``)."""

    @property
    def url(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def fingerprint_sha256(self) -> str | None: ...


def mock_inventory(server: ServedMock, appliance: str, dialect: str) -> str:
    """An inventory naming ``server`` as ``appliance``: certificate pinned by its SHA-256,
    password from the ``PASSWORD_VARIABLE`` environment variable."""
    return (
        "appliances:\n"
        f"  {appliance}:\n"
        f"    url: {server.url}\n"
        f"    dialect: {dialect}\n"
        f"    auth: {{username: {server.username}, password: {{env: {PASSWORD_VARIABLE}}}}}\n"
        f'    tls: {{fingerprint: "{server.fingerprint_sha256}"}}\n'
    )


def write_spec_files(directory: Path, files: SpecFiles) -> None:
    """Write ``files`` (name → text or bytes; None: leave it out) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            continue
        target = directory / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def write_mock_inventory(directory: Path, server: ServedMock, appliance: str, dialect: str) -> None:
    """Write ``appliances.yaml`` for ``server`` (see ``mock_inventory``) into ``directory``."""
    write_spec_files(directory, {"appliances.yaml": mock_inventory(server, appliance, dialect)})


def invoke(*args: str, catch_exceptions: bool = True) -> Outcome:
    """Run ``lmctl ARGS`` in-process (no terminal: plain output, stdin not a tty)."""
    result = CliRunner().invoke(app, list(args), catch_exceptions=catch_exceptions)
    return Outcome(result.exit_code, result.stdout, result.stderr, result.output)


def run_process(cwd: Path, environment: Mapping[str, str], *args: str) -> Outcome:
    """Run ``python -m lmctl ARGS`` as a new process in ``cwd`` with ``environment`` added
    (and NO_COLOR); wait for it to end."""
    done = subprocess.run(
        [sys.executable, "-m", "lmctl", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **environment},
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, done.stdout + done.stderr)


def run_on_terminal(cwd: Path, environment: Mapping[str, str], *args: str) -> Outcome:
    """Run ``python -m lmctl ARGS`` in ``cwd`` with stdout and stderr on a pseudo-terminal (so
    lmctl prints as on an admin's screen: rich, coloured, 200 columns); ``output`` is every byte
    the terminal received, decoded."""
    import pty

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "lmctl", *args],
            cwd=cwd,
            env={
                **{name: value for name, value in os.environ.items() if name != "NO_COLOR"},
                "TERM": "xterm-256color",
                "COLUMNS": "200",
                **environment,
            },
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=terminal,
        )
        os.close(terminal)
        received = bytearray()
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed its side
                break
            if not chunk:
                break
            received += chunk
        code = process.wait(timeout=PROCESS_TIMEOUT)
    finally:
        os.close(controller)
    output = received.decode("utf-8", errors="backslashreplace")
    return Outcome(code, output, "", output)


@contextmanager
def lmctl_process(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``lmctl ARGS`` as a new process (for Ctrl-C tests), stdout and stderr piped.

    A process still running after ``WATCHED_PROCESS_TIMEOUT`` s is killed, so a hang fails its
    test, not the suite.
    """
    lmctl = Path(sys.executable).with_name("lmctl")
    process = subprocess.Popen(
        [str(lmctl), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    guard = threading.Timer(WATCHED_PROCESS_TIMEOUT, process.kill)
    guard.start()
    try:
        yield process
    finally:
        guard.cancel()
        if process.poll() is None:
            process.kill()
            process.communicate()


def lmctl_command(*arguments: str) -> list[str]:
    """The command line of lmctl in this interpreter."""
    return [sys.executable, "-c", "from lmctl.cli import main; main()", *arguments]


def serve_process(*arguments: str, **environment: str) -> subprocess.Popen[str]:
    """``lmctl mock serve --port 0 ARGUMENTS`` in a child process, output piped."""
    return subprocess.Popen(
        lmctl_command("mock", "serve", "--port", "0", *arguments),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **environment},
    )


def read_banner(process: subprocess.Popen[str]) -> dict[str, str]:
    """The ``Name: value`` lines ``lmctl mock serve`` prints before ``Press Ctrl-C``."""
    banner: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Press Ctrl-C"):
            return banner
        match = re.match(r"\s+([A-Za-z0-9 -]+):\s+(.*)$", line)
        if match:
            banner[match.group(1)] = match.group(2).strip()
    raise AssertionError(f"lmctl mock serve exited early with {process.wait()}")


@dataclass(frozen=True)
class ServedProcess:
    """``lmctl mock serve`` running as a child process: where it listens, as its banner said."""

    url: str
    username: str
    password: str
    api_key: str
    fingerprint_sha256: str | None
    ca_file: str | None

    def control(self) -> MockControl:
        """The control API (call log, faults) of the served mock, certificate pinned."""
        return MockControl(
            self.url, self.username, self.password, fingerprint_sha256=self.fingerprint_sha256
        )


@contextmanager
def served_mock(*arguments: str) -> Iterator[ServedProcess]:
    """``lmctl mock serve --port 0 ARGUMENTS`` as a real process over HTTPS on loopback,
    stopped with Ctrl-C (SIGINT) at the end; a hang is killed after ``WATCHED_PROCESS_TIMEOUT``."""
    process = serve_process(*arguments)
    guard = threading.Timer(WATCHED_PROCESS_TIMEOUT, process.kill)
    guard.start()
    try:
        banner = read_banner(process)
        yield ServedProcess(
            banner["URL"],
            banner["User"],
            banner["Password"],
            banner["API key"],
            banner.get("Certificate SHA-256"),
            banner.get("CA file"),
        )
    finally:
        guard.cancel()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=PROCESS_TIMEOUT)


def certificate_pem(directory: Path, stem: str = "exchange") -> bytes:
    """A certificate and its private key in one PEM, as an admin uploads it with ``addcert``."""
    files = generate_certificate(directory, host="mail.example.com", stem=stem)
    return files.cert_file.read_bytes() + files.key_file.read_bytes()


def install_certificate(server: MockServerHandle, name: str, pem: bytes) -> None:
    """``addcert?cert=NAME`` with the PEM as the body (APIv1, as the programmer guide shows), the
    way an admin installs the certificate a spec then names."""
    assert server.ca_file is not None
    reply = httpx.post(
        f"{server.url}/access/addcert",
        params={"cert": name},
        content=pem,
        auth=(server.username, server.password),
        verify=ssl.create_default_context(cafile=str(server.ca_file)),
    )
    assert reply.status_code == 200, reply.text


def admin_call(server: MockServerHandle, command: str, params: Mapping[str, str]) -> httpx.Response:
    """``command`` made by an admin in the appliance's own API (APIv1, over the mock's HTTPS):
    what someone does on the appliance besides lmctl."""
    assert server.ca_file is not None
    return httpx.get(
        f"{server.url}/access/{command}",
        params=params,
        auth=(server.username, server.password),
        verify=ssl.create_default_context(cafile=str(server.ca_file)),
    )


def admin(server: MockServerHandle, command: str, **params: str) -> None:
    """``admin_call`` that the appliance must accept."""
    reply = admin_call(server, command, params)
    assert reply.status_code == 200, reply.text


# The parent VS of ``per_protocol_spec``'s array, as an admin names it in the API.
PER_PROTOCOL_PARENT = {"vs": "10.30.1.50", "port": "443", "prot": "tcp"}


def admins_sub_service(server: MockServerHandle, control: MockControl, nickname: str) -> int:
    """A SubVS an admin makes in the parent of ``per_protocol_spec``'s array and names
    ``nickname``, without real servers: its Index."""
    before = {vs["index"] for vs in control.state()["services"]}
    admin(server, "modvs", **PER_PROTOCOL_PARENT, createsubvs="")
    (index,) = {int(vs["index"]) for vs in control.state()["services"]} - before
    admin(server, "modvs", vs=str(index), NickName=nickname)
    return index


def run_in(directory: Path, *args: str) -> Outcome:
    """``lmctl ARGS DIRECTORY --state-dir DIRECTORY/state`` in-process."""
    return invoke(*args, str(directory), "--state-dir", str(directory / "state"))


def applied_per_protocol(tmp_path: Path, server: MockServerHandle) -> Path:
    """``per_protocol_spec`` applied to ``server`` at ``lm-hq`` (APIv2), its certificate
    installed first: the spec directory (state under its ``state``). The caller sets
    ``PASSWORD_VARIABLE``."""
    install_certificate(server, "mail-2019", certificate_pem(tmp_path))
    directory = tmp_path / "specs"
    write_spec_files(directory, {"mail.yaml": per_protocol_spec()})
    write_mock_inventory(directory, server, "lm-hq", "v2")
    applied = run_in(directory, "apply", "--auto-approve", "--no-backup")
    assert applied.exit_code == 0, applied.output
    return directory
