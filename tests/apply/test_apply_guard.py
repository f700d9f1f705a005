"""The concurrency guard: the per-appliance apply lock (two processes) and the optimistic
re-read before the first write, over HTTPS against served mocks."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.apply.execute import ApplianceResult, ApplyEvent, ApplyOptions, apply_plan
from lmctl.apply.report import render_report
from lmctl.exchange import expand_all
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.mock.wire import CommandResult
from lmctl.plan.document import Plan, make_plan
from lmctl.specs import load_specs
from lmctl.statedir import appliance_lock, lock_path
from mock_site import APPLIANCE, Array, Site

A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12"])
HTTPS = VirtualServiceKey(address="10.1.1.50", port="443")


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    return Site.open(tmp_path, mock_server, monkeypatch, A1, A2)


async def plan_and_apply(site: Site, between: str | None = None) -> list[ApplianceResult]:
    """Plan with a client, optionally change the appliance, then apply that plan."""
    spec_set = load_specs([site.arrays_dir])
    events: list[ApplyEvent] = []
    async with LoadMasterAppliance(APPLIANCE, LoadMaster(site.connection())) as appliance:
        observed = {APPLIANCE: await appliance.observe()}
        plan: Plan = make_plan(expand_all(spec_set), observed, specs_digest=spec_set.digest)
        if between == "drift":
            await appliance.client.modify_virtual_service(HTTPS, {"Schedule": "wlc"})
        options = ApplyOptions(state_dir=site.state_dir, backup=False)
        if between == "locked":
            with appliance_lock(site.state_dir, APPLIANCE):
                return await apply_plan(plan, {APPLIANCE: appliance}, options, events.append)
        return await apply_plan(plan, {APPLIANCE: appliance}, options, events.append)


def test_optimistic_check_refuses_when_a_touched_object_changed(
    site: Site, mock_control: MockControl
) -> None:
    site.lmctl("apply", str(site.arrays_dir), "--auto-approve")
    site.write(Array("a1", A1.vip, A1.members, scheduling="lc"))
    mock_control.clear_log()
    (result,) = asyncio.run(plan_and_apply(site, between="drift"))
    assert (
        result.refused == "lm-test: the appliance changed since it was planned; nothing was written"
    )
    assert [str(d) for d in result.drift] == [
        "lm-test: 10.1.1.50:443/tcp Schedule: expected 'rr', found 'wlc'"
    ]
    assert result.done == []
    assert mock_control.write_count() == 1  # the test's own modvs only


def test_apply_refused_while_another_holds_the_lock(site: Site, mock_control: MockControl) -> None:
    (result,) = asyncio.run(plan_and_apply(site, between="locked"))
    assert result.refused is not None
    assert result.refused.startswith("lm-test: another lmctl apply is writing to it (pid ")
    assert f"pid {os.getpid()} on " in result.refused
    assert result.done == []
    assert mock_control.write_count() == 0
    (again,) = asyncio.run(plan_and_apply(site))
    assert again.ok
    assert len(again.done) == 12


def apply_command(site: Site) -> list[str]:
    """``lmctl apply`` of the site's specs, as a separate process."""
    return [
        sys.executable,
        "-c",
        "from lmctl.cli import main; main()",
        "apply",
        str(site.arrays_dir),
        "--auto-approve",
        "--no-backup",
        "--state-dir",
        str(site.state_dir),
        "--request-timeout",
        "60",
    ]


def start_apply(site: Site) -> subprocess.Popen[bytes]:
    """Start an apply in another process; return once it holds the appliance's lock."""
    process = subprocess.Popen(
        apply_command(site), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    lock = lock_path(site.state_dir, APPLIANCE)
    deadline = time.monotonic() + 20
    while not (lock.is_file() and lock.read_text().startswith("pid ")):
        assert time.monotonic() < deadline, "the apply never took the lock"
        time.sleep(0.02)
    return process


@dataclass(frozen=True)
class HeldCall:
    """The first ``addrs`` the mock receives: ``arrived`` when it comes in, taken only once
    ``release`` is set, ``landed`` once the mock has taken it."""

    arrived: threading.Event
    release: threading.Event
    landed: threading.Event


@pytest.fixture
def held_addrs(
    mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HeldCall]:
    """The mock holds the first ``addrs`` until the test releases it (60 s at most): a write in
    flight for as long as the test needs, not for a guess at how slow the machine is."""
    held = HeldCall(threading.Event(), threading.Event(), threading.Event())
    execute = mock_server.appliance.execute

    def execute_when_released(
        name: str, params: Mapping[str, str], body: bytes | None = None
    ) -> CommandResult:
        if name != "addrs" or held.arrived.is_set():
            return execute(name, params, body)
        held.arrived.set()
        held.release.wait(60)
        try:
            return execute(name, params, body)
        finally:
            held.landed.set()

    monkeypatch.setattr(mock_server.appliance, "execute", execute_when_released)
    yield held
    # A failed test never leaves the call held, to land in the next test's mock.
    held.release.set()
    if held.arrived.is_set():
        held.landed.wait(10)


def test_two_processes_never_apply_to_one_appliance_at_once(
    site: Site, held_addrs: HeldCall
) -> None:
    # The first apply's first addrs is held on the appliance until the second process has
    # ended, so the first surely holds the lock while the second starts and plans, however busy
    # the machine (its timeout is raised so that the hold never times its write out).
    first = start_apply(site)
    try:
        second = subprocess.run(apply_command(site), capture_output=True, text=True, timeout=60)
    finally:
        held_addrs.release.set()
    first_output = first.communicate(timeout=60)[0].decode()
    assert first.returncode == 0, first_output
    assert second.returncode == 1, second.stdout + second.stderr
    assert f"lm-test: another lmctl apply is writing to it (pid {first.pid} on " in second.stdout
    # the second planned while the first was writing, then found the lock taken
    assert re.search(r"lm-test: 0 of \d+ writes done", second.stdout)
    assert "Apply complete: 12 writes made." in first_output
    assert site.plan().exit_code == 0


def test_read_after_applying_finds_a_vs_moved_meanwhile(
    site: Site, mock_server: MockServerHandle
) -> None:
    """Another writer moves a VS during the apply: the read after applying names it (exit 4's
    case), and the next apply moves it back."""
    writes: list[ApplyEvent] = []

    def move_after_last_write(event: ApplyEvent) -> None:
        writes.extend([event] if event.kind == "write" else [])
        if len(writes) == 12 and event.kind == "write":
            mock_server.appliance.execute("modvs", {**HTTPS.params(), "vsaddress": "10.1.1.99"})

    async def apply_moving() -> list[ApplianceResult]:
        spec_set = load_specs([site.arrays_dir])
        async with LoadMasterAppliance(APPLIANCE, LoadMaster(site.connection())) as appliance:
            observed = {APPLIANCE: await appliance.observe()}
            plan = make_plan(expand_all(spec_set), observed, specs_digest=spec_set.digest)
            options = ApplyOptions(state_dir=site.state_dir, backup=False)
            return await apply_plan(plan, {APPLIANCE: appliance}, options, move_after_last_write)

    (result,) = asyncio.run(apply_moving())
    assert len(result.done) == 12
    assert result.failed is None
    assert not result.ok
    assert [str(d) for d in result.remaining] == [
        "lm-test: 10.1.1.50:443/tcp virtual service: expected "
        "\"10.1.1.50:443/tcp (NickName 'lmctl.a1.https')\", found 'absent'"
    ]
    report = render_report([result]).plain
    assert "left different after applying: lm-test: 10.1.1.50:443/tcp virtual service" in report
    assert "Apply incomplete: 12 writes made; run `lmctl apply` again" in report
    moved_back = site.plan()
    assert moved_back.exit_code == 3  # moving a VIP, even back, needs --force
    assert "~ move virtual service 10.1.1.99:443/tcp → 10.1.1.50:443/tcp" in moved_back.output
    assert "[virtual-service-moved]" in moved_back.output
    assert site.apply("--force").exit_code == 0
    assert site.plan().exit_code == 0


def test_interrupted_apply_says_what_to_do_releases_the_lock_and_converges(
    site: Site, held_addrs: HeldCall
) -> None:
    running = start_apply(site)
    assert held_addrs.arrived.wait(30), "the apply never sent an addrs"  # a few writes in
    running.send_signal(signal.SIGINT)
    output = running.communicate(timeout=30)[0].decode()
    held_addrs.release.set()
    assert held_addrs.landed.wait(10)
    assert running.returncode == 130, output
    assert "apply interrupted: the writes shown as ok were made" in output
    assert "run `lmctl plan` to see what is left" in output
    assert "Traceback" not in output
    assert lock_path(site.state_dir, APPLIANCE).read_text() == ""
    (journal,) = json.loads(site.lmctl("history", "--format", "json").stdout)
    assert (journal["outcome"], journal["detail"]) == (
        "interrupted",
        "interrupted (Ctrl-C) while writing",
    )
    again = site.apply("--no-backup")
    assert again.exit_code == 0, again.output
    assert site.plan().exit_code == 0


def test_a_lock_file_that_is_a_link_is_refused_and_its_target_left_alone(
    site: Site, tmp_path: Path, mock_control: MockControl
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    lock = lock_path(site.state_dir, APPLIANCE)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.symlink_to(victim)

    outcome = site.apply()

    assert outcome.exit_code == 1, outcome.output  # refused before any write
    assert f"the apply lock {lock} is a symbolic link" in outcome.output
    assert victim.read_text() == "keep me\n"
    assert mock_control.write_count() == 0
