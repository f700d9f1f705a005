"""Bench: a ``layout: per-protocol`` array (Exchange 2019) through the CLI against a served mock.

One array with every virtual directory (eight SubVSs, eight content rules) and ``--members``
members (default 4) on one HTTPS mock LoadMaster (APIv2, certificate pinned) that answers every
call after ``--latency-ms`` (default 20 ms). The certificate is installed first, as an admin
does (``addcert`` with the PEM as the body). Each step runs ``lmctl`` as a new process, as an
admin or a pipeline runs it (start-up and spec loading included), and counts the API calls and
writes the mock received:

* apply from empty, then plan and ``plan --detailed-exitcode`` of the applied array;
* status;
* drain of one member (no live connections, so the wait ends at its first read) and undrain;
* a member added to the spec: plan and apply.

Run: ``python bench/bench_per_protocol.py [--members 4] [--latency-ms 20]``.
Targets: apply writes = the minimum (2 VS + 2 per SubVS + a real server per member and SubVS + 2
per rule); plan after apply writes nothing; drain and undrain write one ``modrs`` per SubVS.
"""

from __future__ import annotations

import argparse
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from lmctl.mock.server import MockServerHandle, serve_in_thread
from lmctl.mock.tls import generate_certificate
from lmctl.releases import VIRTUAL_DIRECTORIES

DIRECTORIES = VIRTUAL_DIRECTORIES
LOGIN_VARIABLE = "LMCTL_BENCH_LOGIN"


def write_specs(directory: Path, mock: MockServerHandle, members: int) -> None:
    """The array spec and an inventory naming the served mock."""
    rows = "".join(
        f"  - {{name: EX19-{m:02d}, address: 10.30.1.{10 + m}}}\n" for m in range(1, members + 1)
    )
    (directory / "mail-2019.yaml").write_text(
        "name: mail-2019\nsite: HQ\nexchange: 2019 CU14\nfqdn: mail.example.com\n"
        "vip: 10.30.1.50\nappliance: lm-hq\nlayout: per-protocol\ncertificate: mail-2019\n"
        f"directories: [{', '.join(DIRECTORIES)}]\nmembers:\n{rows}"
    )
    (directory / "appliances.yaml").write_text(
        f"appliances:\n  lm-hq:\n    url: {mock.url}\n    dialect: v2\n"
        f"    auth: {{username: {mock.username}, password: {{env: {LOGIN_VARIABLE}}}}}\n"
        f'    tls: {{fingerprint: "{mock.fingerprint_sha256}"}}\n'
    )


def install_certificate(mock: MockServerHandle, directory: Path) -> None:
    """``addcert?cert=mail-2019`` with a certificate and its key as the body."""
    files = generate_certificate(directory, host="mail.example.com", stem="exchange")
    assert mock.ca_file is not None
    reply = httpx.post(
        f"{mock.url}/access/addcert",
        params={"cert": "mail-2019"},
        content=files.cert_file.read_bytes() + files.key_file.read_bytes(),
        auth=(mock.username, mock.password),
        verify=ssl.create_default_context(cafile=str(mock.ca_file)),
    )
    reply.raise_for_status()
    mock.calls.clear()


def step(mock: MockServerHandle, directory: Path, *args: str) -> tuple[float, int, int, int]:
    """Seconds, API calls, writes and exit code of one ``lmctl`` process."""
    script = Path(sys.executable).with_name("lmctl")
    command = [str(script), *args, str(directory), "--state-dir", str(directory / "state")]
    started = time.perf_counter()
    finished = subprocess.run(command, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    records = mock.calls.records()
    mock.calls.clear()
    writes = sum(1 for record in records if record.write)
    return seconds, len(records), writes, finished.returncode


def main() -> None:
    """Serve the mock, run each step, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    options = parser.parse_args()
    login = secrets.token_urlsafe(12)
    os.environ[LOGIN_VARIABLE] = login
    members = options.members
    subs = len(DIRECTORIES)
    minimum = 2 + 2 * subs + members * subs + 2 * subs
    rows: list[tuple[str, tuple[float, int, int, int], str]] = []
    with tempfile.TemporaryDirectory() as temporary, ExitStack() as stack:
        directory = Path(temporary)
        mock = stack.enter_context(serve_in_thread(latency_ms=options.latency_ms, password=login))
        write_specs(directory, mock, members)
        install_certificate(mock, directory)
        apply = ("apply", "--auto-approve", "--no-backup")
        rows.append(("apply from empty", step(mock, directory, *apply), f"{minimum} writes"))
        rows.append(("plan after apply", step(mock, directory, "plan"), "0 writes"))
        rows.append(("status", step(mock, directory, "status"), "exit 0"))
        drain = ("--poll-interval", "0.05")
        rows.append(("drain EX19-01", step(mock, directory, "drain", "EX19-01", *drain), ""))
        rows.append(("undrain EX19-01", step(mock, directory, "undrain", "EX19-01", *drain), ""))
        write_specs(directory, mock, members + 1)
        rows.append(("plan, one member added", step(mock, directory, "plan"), "0 writes"))
        rows.append(("apply, one member added", step(mock, directory, *apply), f"{subs} writes"))
    print(
        f"1 array, layout per-protocol, {subs} SubVSs, {members} members, "
        f"{options.latency_ms:g} ms latency per request; each step an lmctl process"
    )
    print(f"{'step':<26} {'seconds':>8} {'API calls':>10} {'writes':>7} {'exit':>5}  target")
    for name, (seconds, calls, writes, code), target in rows:
        print(f"{name:<26} {seconds:>8.2f} {calls:>10} {writes:>7} {code:>5}  {target}")


if __name__ == "__main__":
    main()
