"""``lmctl import`` (issue 13): specs written from what an appliance holds, so that ``plan
--adopt`` then holds only adoptions; real captures imported or skipped with reasons; nothing
written to the appliance, no spec file overwritten unless told to."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shlex
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lmctl.appliance.changes import AdoptVirtualService
from lmctl.appliance.state import ApplianceState, RealServerState, VirtualServiceState
from lmctl.exchange import DesiredVirtualService, expand
from lmctl.importing import (
    ImportedArray,
    ImportFileError,
    ImportOptions,
    import_state,
    spec_text,
    write_specs,
)
from lmctl.importing.recognise import array_name
from lmctl.loadmaster.client import LoadMaster
from lmctl.loadmaster.connection import ApplianceConnection
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings, settings_params
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from lmctl.plan.document import plan_appliance
from lmctl.specs import ArraySpec, SpecError, load_specs
from lmctl_testkit import invoke, write_spec_files
from mock_site import APPLIANCE, Array, Site

SITE, FQDN = "HQ", "mail.corp.example.com"


def unmarked_state(services: tuple[DesiredVirtualService, ...]) -> ApplianceState:
    """What a hand-built appliance holds for ``services``: the same VSs, without the marker."""
    return {
        want.key: VirtualServiceState(
            key=want.key,
            settings=want.settings.model_copy(update={"nickname": f"Exch {want.service}"}),
            real_servers=tuple(
                RealServerState(rs.address, rs.port, rs.weight, rs.forward)
                for rs in want.real_servers
            ),
            index=n,
        )
        for n, want in enumerate(services, start=1)
    }


CHECKS = {"https": ["https", "http", "tcp"], "smtp": ["smtp", "tcp"]}
URLS = {"2010": ["/owa/auth/logon.aspx", "/ews/exchange.asmx"], "2016": ["/ews/healthcheck.htm"]}
INVENTORY = "appliances:\n  lm-hq:\n    url: mock://lm-hq\n"


@st.composite
def override_values(draw: st.DrawFn, service: str, release: str) -> dict[str, Any]:
    """Overrides of one service, each key present or not."""
    override: dict[str, Any] = {}
    if service == "http-redirect":
        return override
    if draw(st.booleans()):
        override["persistence"] = draw(st.sampled_from(["none", "src"]))
        if override["persistence"] == "src" and draw(st.booleans()):
            override["persistence_timeout"] = draw(st.integers(1, 604800))
    if draw(st.booleans()):
        override["idle_timeout"] = draw(st.integers(0, 86400))
    if draw(st.booleans()):
        override["layer"] = draw(st.sampled_from([4, 7]))
    if draw(st.booleans()):
        override["transparent"] = draw(st.booleans())
    if service in ("smtp", "submission") and draw(st.booleans()):
        hubs = draw(st.lists(st.integers(11, 40), unique=True, min_size=2, max_size=3))
        override["members"] = [{"name": f"HUB{n}", "address": f"10.10.2.{n}"} for n in hubs]
    if draw(st.booleans()):
        check: dict[str, Any] = {"type": draw(st.sampled_from(CHECKS.get(service, ["tcp"])))}
        if check["type"] in ("http", "https"):
            check["url"] = draw(st.sampled_from(URLS[release[:4]]))
        if draw(st.booleans()):
            check["port"] = draw(st.integers(1, 65535))
        override["health_check"] = check
    return override


def valid_by_the_rules(document: dict[str, Any]) -> bool:
    """True when lmctl validate accepts ``document`` beside an inventory (warnings allowed)."""
    with tempfile.TemporaryDirectory() as root:
        spec = yaml.safe_dump(document, sort_keys=False)
        write_spec_files(Path(root), {"appliances.yaml": INVENTORY, "hq.yaml": spec})
        try:
            load_specs([root])
        except SpecError:
            return False
    return True


@st.composite
def arrays(draw: st.DrawFn) -> ArraySpec:
    """A valid array (lmctl's rules hold): a release, services it offers (one with real servers
    at least), members with weights, scheduling and random overrides."""
    release = draw(st.sampled_from(["2010 SP3", "2016 CU23"]))
    offered = (
        ["rpc", "https", "http-redirect", "imap4s", "pop3", "smtp", "submission"]
        if release.startswith("2010")
        else ["https", "http-redirect", "imap4", "pop3s", "smtp", "submission"]
    )
    services = draw(st.lists(st.sampled_from(offered), unique=True, min_size=1, max_size=4))
    if services == ["http-redirect"]:
        services.append("https")
    addresses = draw(st.lists(st.integers(11, 40), unique=True, min_size=2, max_size=4))
    document: dict[str, Any] = {
        "name": "hq",
        "site": SITE,
        "exchange": release,
        "fqdn": FQDN,
        "vip": "10.10.1.50",
        "appliance": "lm-hq",
        "scheduling": draw(st.sampled_from(["rr", "wrr", "lc", "wlc"])),
        "members": [
            {"name": f"CAS{n}", "address": f"10.10.1.{n}", "weight": draw(st.integers(1, 65530))}
            for n in addresses
        ],
        "services": services,
        "overrides": {service: draw(override_values(service, release)) for service in services},
    }
    if "rpc" in services and draw(st.booleans()):
        document["rpc_ports"] = {"client_access": 60000, "address_book": 60001}
    assume(valid_by_the_rules(document))
    return ArraySpec.model_validate(document)


@settings(max_examples=60, deadline=None)
@given(array=arrays())
def test_import_then_plan_adopt_holds_only_adoptions(array: ArraySpec) -> None:
    hand_built = unmarked_state(expand(array))
    # Named as --vip: a random array may hold no sign of Exchange (https alone, say).
    options = ImportOptions(
        appliance="lm-hq", vips=(array.vip,), site=SITE, exchange=str(array.exchange), fqdn=FQDN
    )

    result = import_state(hand_built, options)

    assert result.skipped == ()
    (imported,) = result.arrays
    assert not [note for note in imported.notes if "first apply" in note], imported.notes
    spec = ArraySpec.model_validate(imported.document)
    planned = plan_appliance("lm-hq", expand(spec), hand_built, adopting=(spec.name,))
    assert len(planned.changes) == len(hand_built)
    for change in planned.changes:
        assert isinstance(change, AdoptVirtualService), change
        assert [f.field for f in change.fields] == ["nickname"]
    assert planned.conflicts == ()


A1 = Array("a1", "10.1.1.50", ["10.1.1.11", "10.1.1.12"], scheduling="lc")
A2 = Array("a2", "10.1.2.50", ["10.1.2.11", "10.1.2.12"])


@pytest.fixture
def site(tmp_path: Path, mock_server: MockServerHandle, monkeypatch: pytest.MonkeyPatch) -> Site:
    """The served mock holding a1 and a2 as a hand-built appliance would: no marker, and an
    unrelated service beside them."""
    site = Site.open(tmp_path, mock_server, monkeypatch, A1, A2)
    assert site.apply().exit_code == 0
    for vs in site.read():
        assert vs.key is not None
        site.restore_with(vs.key, {"NickName": f"Exchange-{vs.port}"})
    other = VirtualServiceKey(address="10.1.9.9", port="3389", protocol="tcp")
    site.raw([("add_virtual_service", (other,), {"params": {"NickName": "rdp"}})])
    site.remove("a1")
    site.remove("a2")
    return site


def import_command(site: Site) -> list[str]:
    """``lmctl import`` of the served mock into the site's spec directory."""
    inventory, out = str(site.arrays_dir / "appliances.yaml"), str(site.arrays_dir)
    return ["import", "--appliance", APPLIANCE, "--inventory", inventory, "--out", out]


def imported(site: Site, vip: str, fqdn: str, *more: str) -> Any:
    return site.lmctl(
        *import_command(site),
        "--vip",
        vip,
        "--site",
        fqdn.split(".")[0].upper(),
        "--exchange",
        "2016 CU23",
        "--fqdn",
        fqdn,
        *more,
    )


def test_import_over_https_then_adopt_applies_one_write_per_vs(
    site: Site, mock_control: MockControl
) -> None:
    before = {vs.key: vs for vs in site.read()}
    mock_control.clear_log()

    first = imported(site, A1.vip, "a1.corp.example.com")
    second = imported(site, A2.vip, "a2.corp.example.com")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert [c.command for c in mock_control.calls()] == ["listvs", "listvs"]
    assert "wrote " in first.stdout and "vip-10-1-1-50.yaml: array vip-10-1-1-50" in first.stdout
    assert "skipped 10.1.9.9:3389/tcp (NickName 'rdp'): port 3389 is no Exchange service" in (
        imported(site, "10.1.9.9", "x.corp.example.com").stdout
    )
    spec = yaml.safe_load((site.arrays_dir / "vip-10-1-1-50.yaml").read_text())
    assert spec["scheduling"] == "lc"
    assert [m["address"] for m in spec["members"]] == A1.members
    assert invoke("validate", str(site.arrays_dir)).exit_code == 0

    conflicts = site.plan()
    assert conflicts.exit_code == 1, conflicts.output
    document = json.loads(
        site.plan("--adopt", "vip-10-1-1-50", "--adopt", "vip-10-1-2-50", "--format", "json").stdout
    )
    changes = [c for a in document["appliances"] for c in a["changes"]]
    assert len(changes) == 4
    assert {c["action"] for c in changes} == {"adopt_vs"}
    assert all([f["field"] for f in c["fields"]] == ["nickname"] for c in changes)

    mock_control.clear_log()
    applied = site.apply("--adopt", "vip-10-1-1-50", "--adopt", "vip-10-1-2-50")

    assert applied.exit_code == 0, applied.output
    assert [c.command for c in mock_control.calls() if c.write] == ["modvs"] * 4
    assert site.plan().exit_code == 0
    after = {vs.key: vs for vs in site.read()}
    assert after.keys() == before.keys()
    assert after[VirtualServiceKey(address="10.1.9.9", port="3389")].nickname == "rdp"


def test_import_never_overwrites_without_overwrite(site: Site, mock_control: MockControl) -> None:
    mock_control.clear_log()
    assert imported(site, A1.vip, "a1.corp.example.com").exit_code == 0
    path = site.arrays_dir / "vip-10-1-1-50.yaml"
    path.write_text("# mine\n")

    refused = imported(site, A1.vip, "a1.corp.example.com")

    assert refused.exit_code == 1
    assert f"error: {path} already exists; nothing was written (give --overwrite" in refused.stderr
    assert path.read_text() == "# mine\n"
    assert imported(site, A1.vip, "a1.corp.example.com", "--overwrite").exit_code == 0
    assert path.read_text().startswith("# yaml-language-server")
    # A link at the target is replaced, never written through.
    elsewhere = site.root / "elsewhere.txt"
    elsewhere.write_text("keep\n")
    path.unlink()
    path.symlink_to(elsewhere)
    assert imported(site, A1.vip, "a1.corp.example.com").exit_code == 1
    assert imported(site, A1.vip, "a1.corp.example.com", "--overwrite").exit_code == 0
    assert elsewhere.read_text() == "keep\n"
    assert not path.is_symlink()
    assert not any(call.write for call in mock_control.calls())


def test_what_import_cannot_know_is_refused_by_validate_until_filled_in(site: Site) -> None:
    result = site.lmctl(*import_command(site), "--vip", A2.vip)
    assert result.exit_code == 0, result.output
    text = (site.arrays_dir / "vip-10-1-2-50.yaml").read_text()
    assert "# - release: the https health check requests /owa/healthcheck.htm" in text
    checked = invoke("validate", str(site.arrays_dir))
    assert checked.exit_code == 1
    errors = [line for line in checked.stdout.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[1].split(":")[0] for line in errors] == [
        "site",
        "exchange",
        "fqdn",
    ]
    assert "the Active Directory site of the array, e.g. HQ (left to fill in by lmctl import)" in (
        checked.stdout
    )


def test_import_refuses_a_bad_release_or_vip_before_reading(
    site: Site, mock_control: MockControl
) -> None:
    mock_control.clear_log()
    release = site.lmctl("import", "--appliance", APPLIANCE, "--exchange", "2011 SP9")
    assert release.exit_code == 1
    assert release.stderr.startswith("error: --exchange: ")
    address = site.lmctl("import", "--appliance", APPLIANCE, "--vip", "10.1.1")
    assert address.exit_code == 1
    assert "error: --vip '10.1.1' is not an IP address" in address.stderr
    assert mock_control.calls() == []


async def hand_build(
    connection: ApplianceConnection, services: Sequence[DesiredVirtualService]
) -> None:
    """Create ``services`` on the served mock as an admin would by hand: no marker."""
    async with LoadMaster(connection) as lm:
        for want in services:
            unmarked = want.settings.model_copy(update={"nickname": f"Exch-{want.service}"})
            await lm.add_virtual_service(want.key, settings_params(unmarked))
            for rs in want.real_servers:
                await lm.add_real_server(want.key, rs.address, rs.port, weight=rs.weight)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(array=arrays())
def test_random_arrays_round_trip_over_https(
    mock_server: MockServerHandle,
    mock_control: MockControl,
    connection_v1: ApplianceConnection,
    monkeypatch: pytest.MonkeyPatch,
    array: ArraySpec,
) -> None:
    mock_control.reset()
    services = expand(array)
    asyncio.run(hand_build(connection_v1, services))
    with tempfile.TemporaryDirectory() as root:
        site = Site.open(Path(root), mock_server, monkeypatch)
        options = ["--vip", array.vip, "--site", SITE, "--exchange", str(array.exchange)]
        options += ["--fqdn", FQDN]
        written = site.lmctl(*import_command(site), *options)
        assert written.exit_code == 0, written.output
        name = array_name(array.vip)
        planned = site.plan("--adopt", name, "--format", "json")
        assert planned.exit_code == 2, planned.output
        document = json.loads(planned.stdout)
        changes = document["appliances"][0]["changes"]
        assert [(c["action"], [f["field"] for f in c["fields"]]) for c in changes] == [
            ("adopt_vs", ["nickname"])
        ] * len(services)
        mock_control.clear_log()
        assert site.apply("--adopt", name).exit_code == 0
        assert [c.command for c in mock_control.calls() if c.write] == ["modvs"] * len(services)
        assert site.plan().exit_code == 0


def test_appliance_text_in_the_notes_stays_inside_its_comment() -> None:
    array = ArraySpec.model_validate(
        {
            "name": "hq",
            "site": SITE,
            "exchange": "2016 CU23",
            "fqdn": FQDN,
            "vip": "10.10.1.50",
            "appliance": "lm-hq",
            "members": [{"name": "CAS1", "address": "10.10.1.11"}],
            "services": ["https"],
        }
    )
    hand_built = unmarked_state(expand(array))
    (vs,) = hand_built.values()
    hostile = "/owa\nadopt: true\nsite: \x1b[2J#/healthcheck.htm"
    hand_built[vs.key] = replace(vs, settings=vs.settings.model_copy(update={"check_url": hostile}))
    options = ImportOptions(appliance="lm-hq", vips=(array.vip,), exchange="2010 SP3")

    (imported,) = import_state(hand_built, options).arrays
    text = spec_text(imported, "lm-hq", Path("arrays"))

    assert any("health check requests /owa\\nadopt: true" in line for line in text.splitlines())
    assert "\x1b" not in text
    document = yaml.safe_load(text)
    assert "adopt" not in document
    assert document["site"].startswith("FILL IN: ")


def test_import_reads_the_trusted_inventory_when_lmctl_inventory_names_one(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    trusted = site.root / "trusted.yaml"
    (site.arrays_dir / "appliances.yaml").rename(trusted)
    monkeypatch.setenv("LMCTL_INVENTORY", str(trusted))
    out = site.root / "imported"
    result = site.lmctl("import", "--appliance", APPLIANCE, "--out", str(out), "--vip", A1.vip)
    assert result.exit_code == 0, result.output
    assert (out / "vip-10-1-1-50.yaml").is_file()


def https_vs(address: str, nickname: str) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    """The raw calls of an HTTPS VS with one real server at ``address``, made by hand."""
    key = VirtualServiceKey(address=address, port="443", protocol="tcp")
    return [
        ("add_virtual_service", (key,), {"params": {"NickName": nickname}}),
        ("add_real_server", (key, "10.1.1.11", 443), {}),
    ]


def run_or_release(site: Site, fifo: Path, *args: str) -> Any:
    """``lmctl ARGS`` in a thread; a run still blocked on ``fifo`` after 20 s is released (by
    opening its reading end) and reported as None."""
    outcome: list[Any] = []
    worker = threading.Thread(target=lambda: outcome.append(site.lmctl(*args)))
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        worker.join()
        os.close(reader)
        return None
    return outcome[0]


def test_import_never_writes_through_a_link_or_into_a_fifo_beside_its_targets(
    site: Site,
) -> None:
    victim = site.root / "victim.txt"
    victim.write_text("keep\n")
    link = site.arrays_dir / ".vip-10-1-1-50.yaml.partial"
    link.symlink_to(victim)
    fifo = site.arrays_dir / ".vip-10-1-2-50.yaml.partial"
    os.mkfifo(fifo)
    umask = os.umask(0o022)
    os.umask(umask)

    result = run_or_release(site, fifo, *import_command(site))

    assert victim.read_text() == "keep\n"
    assert result is not None, "import blocked on a FIFO"
    assert result.exit_code == 0, result.output
    for name in ("vip-10-1-1-50.yaml", "vip-10-1-2-50.yaml"):
        path = site.arrays_dir / name
        assert path.is_file() and not path.is_symlink()
        assert path.read_text().startswith("# yaml-language-server")
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not mkstemp's
    assert link.is_symlink() and fifo.is_fifo()
    assert sorted(p.name for p in site.arrays_dir.glob(".*.partial")) == sorted(
        [link.name, fifo.name]
    )


def test_every_vip_gets_an_array_name_of_its_own(site: Site) -> None:
    vips = [
        "fd00:1111:2222:3333:4444:5555:6666:7777",
        "fd00:1111:2222:3333:4444:5555:6666:7778",
        "10:10:1:50::",
        "10.10.1.50",
    ]
    site.raw([call for n, vip in enumerate(vips) for call in https_vs(vip, f"owa{n}")])
    out = site.root / "imported"
    named = [
        option for vip in vips for option in ("--vip", vip)
    ]  # https alone: no sign of Exchange

    result = site.lmctl(*import_command(site), "--out", str(out), *named)

    assert result.exit_code == 0, result.output
    documents = [yaml.safe_load(path.read_text()) for path in sorted(out.glob("*.yaml"))]
    assert {d["vip"] for d in documents} >= set(vips)
    assert len({d["name"] for d in documents}) == len(documents)
    assert all(f"{d['name']}.yaml" in result.stdout for d in documents)
    assert {array_name(vip) for vip in vips} == {d["name"] for d in documents if d["vip"] in vips}
    assert invoke("validate", str(out)).stdout.count("duplicate") == 0


def test_two_arrays_for_one_file_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    array = ImportedArray(name="vip-x", document={"vip": "10.0.0.1"}, notes=(), keys=())
    other = replace(array, document={"vip": "10.0.0.2"})

    with pytest.raises(ImportFileError, match=r"10\.0\.0\.1 and 10\.0\.0\.2 would both be written"):
        write_specs([array, other], tmp_path, "lm-hq", overwrite=True)

    assert list(tmp_path.iterdir()) == []


def test_a_failing_import_writes_nothing_and_leaves_no_temporary(site: Site) -> None:
    first = site.arrays_dir / "vip-10-1-1-50.yaml"
    first.write_text("# mine\n")
    (site.arrays_dir / "vip-10-1-2-50.yaml").mkdir()

    result = site.lmctl(*import_command(site), "--overwrite")

    assert result.exit_code == 1
    assert "vip-10-1-2-50.yaml is no file lmctl may replace; nothing was written" in result.stderr
    assert first.read_text() == "# mine\n"
    assert list(site.arrays_dir.glob(".*")) == []


def test_a_rename_that_fails_says_which_specs_were_written(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    renamed = os.replace

    def replace_but_the_second(source: Any, target: Any) -> None:
        if str(target).endswith("vip-10-1-2-50.yaml"):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))
        renamed(source, target)

    monkeypatch.setattr("lmctl.files.os.replace", replace_but_the_second)
    result = site.lmctl(*import_command(site))

    assert result.exit_code == 1
    first, second = site.arrays_dir / "vip-10-1-1-50.yaml", site.arrays_dir / "vip-10-1-2-50.yaml"
    assert f"; wrote only {first} (not written: {second})" in result.stderr
    assert first.is_file() and not second.exists()
    assert list(site.arrays_dir.glob(".*")) == []


def test_an_extra_ports_value_of_no_ascii_digits_skips_the_vs(site: Site) -> None:
    key = VirtualServiceKey(address="10.1.3.50", port="135", protocol="tcp")
    site.raw([("add_virtual_service", (key,), {"params": {"NickName": "rpc"}})])
    site.restore_with(key, {"ExtraPorts": "\u00b2,6002"})

    result = site.lmctl(*import_command(site), "--vip", key.address)

    assert result.exit_code == 0, result.output
    assert (
        "skipped 10.1.3.50:135/tcp (NickName 'rpc'): port 135 without the two static RPC ports"
        in result.stdout
    )


def test_vip_is_matched_as_the_appliance_holds_it_and_one_matching_nothing_is_refused(
    site: Site,
) -> None:
    mapped = site.lmctl(*import_command(site), "--vip", "::ffff:10.1.1.50")
    assert mapped.exit_code == 0, mapped.output
    assert (site.arrays_dir / "vip-10-1-1-50.yaml").is_file()

    missing = site.lmctl(*import_command(site), "--vip", "10.1.7.7", "--vip", A2.vip)

    assert missing.exit_code == 1
    assert f"--vip 10.1.7.7: no virtual service on appliance {APPLIANCE}" in missing.stderr
    assert not (site.arrays_dir / "vip-10-1-2-50.yaml").exists()


def test_appliance_text_is_written_escaped_and_without_secrets(site: Site) -> None:
    password = site.server.password
    hidden = "\u202e\u200b\u2028\x85"
    https = VirtualServiceKey(address=A1.vip, port="443", protocol="tcp")
    site.restore_with(https, {"CheckUrl": f"/owa/healthcheck.htm?{hidden}k={password}"})
    rdp = VirtualServiceKey(address="10.1.9.9", port="3389", protocol="tcp")
    site.restore_with(rdp, {"NickName": f"rdp {password}"})

    result = site.lmctl(*import_command(site))

    assert result.exit_code == 0, result.output
    assert password not in result.output
    assert "skipped 10.1.9.9:3389/tcp (NickName 'rdp ***')" in result.stdout
    text = (site.arrays_dir / "vip-10-1-1-50.yaml").read_text()
    assert text.isascii(), [c for c in text if not c.isascii()]
    assert password not in text
    spec = yaml.safe_load(text)
    url = spec["overrides"]["https"]["health_check"]["url"]
    assert url == f"/owa/healthcheck.htm?{hidden}k=***"


def test_overwrite_never_replaces_the_spec_of_another_vip(site: Site) -> None:
    path = site.arrays_dir / "vip-10-1-1-50.yaml"
    path.write_text("name: vip-10-1-1-50\nvip: '10:1:1:50::'\n")

    result = site.lmctl(*import_command(site), "--overwrite")

    assert result.exit_code == 1
    assert f"{path} (VIP 10:1:1:50::) holds the array of another VIP; nothing was written" in (
        result.stderr
    )
    assert path.read_text() == "name: vip-10-1-1-50\nvip: '10:1:1:50::'\n"
    assert not (site.arrays_dir / "vip-10-1-2-50.yaml").exists()


INTRANET = VirtualServiceKey(address="10.1.3.10", port="443", protocol="tcp")
INTRANET_8080 = VirtualServiceKey(address="10.1.3.10", port="8080", protocol="tcp")


def add_intranet_app(site: Site) -> None:
    """A web application on 443 (cookie persistence, no Exchange health check) and 8080."""
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
    for key, name in ((INTRANET, "intranet-app-https"), (INTRANET_8080, "intranet-app")):
        params = {"NickName": name, "Persist": "cookie", "CheckType": "https", "CheckUrl": "/"}
        calls.append(("add_virtual_service", (key,), {"params": params}))
        calls.append(("add_real_server", (key, "10.1.3.11", int(key.port)), {}))
    site.raw(calls)


def test_a_web_application_on_443_is_no_exchange_spec_unless_named(site: Site) -> None:
    add_intranet_app(site)
    target = site.arrays_dir / "vip-10-1-3-10.yaml"

    for more in ((), ("--overwrite",)):
        result = site.lmctl(*import_command(site), *more)
        assert result.exit_code == 0, result.output
        assert not target.exists()
        assert (
            "skipped 10.1.3.10:443/tcp (NickName 'intranet-app-https'): no sign of Exchange (no "
            "Exchange health check, no RPC, no mail ports): import it with --vip 10.1.3.10 if it "
            "is Exchange"
        ) in result.stdout
        hint = result.stdout[result.stdout.index("Next:") :]
        assert "vip-10-1-3-10" not in hint
        assert "--adopt vip-10-1-1-50" in hint

    named = site.lmctl(*import_command(site), "--vip", "10.1.3.10")

    assert named.exit_code == 0, named.output
    text = target.read_text()
    assert "# - no sign of Exchange (no Exchange health check, no RPC, no mail ports); " in text
    assert "imported because --vip named it; check it is Exchange" in text
    # The VS of the VIP left out is named in the spec's notes.
    assert "# - skipped 10.1.3.10:8080/tcp (NickName 'intranet-app'): port 8080 is no" in text


def vip_state(*services: tuple[str, dict[str, Any]]) -> ApplianceState:
    """One VIP (10.20.3.10) with a VS per (port, settings), each with one real server."""
    state: ApplianceState = {}
    for index, (port, wire) in enumerate(services, start=1):
        key = VirtualServiceKey(address="10.20.3.10", port=port, protocol="tcp")
        servers = () if wire.get("ErrorCode") else (RealServerState("10.20.3.11", 443),)
        state[key] = VirtualServiceState(
            key=key,
            settings=VirtualServiceSettings.model_validate({"NickName": f"vs{port}", **wire}),
            real_servers=servers,
            index=index,
        )
    return state


HTTPS_COOKIE = ("443", {"Persist": "cookie", "CheckType": "https", "CheckUrl": "/"})
REDIRECT = ("80", {"ErrorCode": "302", "ErrorUrl": "https://%h%s"})


@pytest.mark.parametrize(
    ("state", "exchange"),
    [
        (vip_state(HTTPS_COOKIE), False),
        (vip_state(("443", {"CheckType": "https", "CheckUrl": "/app/healthcheck.htm"})), False),
        (vip_state(HTTPS_COOKIE, ("8080", {})), False),
        (vip_state(("443", {"CheckType": "https", "CheckUrl": "/owa/healthcheck.htm"})), True),
        (vip_state(("443", {"CheckType": "https", "CheckUrl": "/EWS/HealthCheck.htm"})), True),
        (vip_state(("443", {"CheckType": "https", "CheckUrl": "/owa/auth/logon.aspx"})), True),
        (vip_state(HTTPS_COOKIE, ("135", {"ExtraPorts": "60000,60001"})), True),
        (vip_state(HTTPS_COOKIE, ("993", {})), True),
        (vip_state(HTTPS_COOKIE, REDIRECT), True),
    ],
)
def test_only_a_vip_with_a_sign_of_exchange_becomes_a_spec(
    state: ApplianceState, exchange: bool
) -> None:
    result = import_state(state, ImportOptions(appliance="lm-hq"))

    assert bool(result.arrays) is exchange
    reasons = {s.reason for s in result.skipped if s.key.port in ("443", "135")}
    assert any(r.startswith("no sign of Exchange") for r in reasons) is not exchange


def test_exchange_2013_or_later_given_for_an_rpc_vip_skips_the_rpc_vs(
    site: Site, mock_control: MockControl, connection_v1: ApplianceConnection
) -> None:
    hq_2010 = ArraySpec.model_validate(
        {
            "name": "hq",
            "site": SITE,
            "exchange": "2010 SP3",
            "fqdn": FQDN,
            "vip": "10.1.4.50",
            "appliance": APPLIANCE,
            "rpc_ports": {"client_access": 60000, "address_book": 60001},
            "members": [{"name": "CAS1", "address": "10.1.4.11"}],
        }
    )
    asyncio.run(hand_build(connection_v1, expand(hq_2010)))

    for release in ("2016 CU23", "2019 CU14", "2013 CU23"):
        result = site.lmctl(
            *import_command(site), "--vip", "10.1.4.50", "--exchange", release, "--overwrite"
        )

        assert result.exit_code == 0, result.output
        reason = (
            f"skipped 10.1.4.50:135/tcp (NickName 'Exch-rpc'): --exchange {release} given, and "
            f"Exchange {release[:4]} has no rpc service (2013 and later have no RPC over TCP)"
        )
        assert reason in result.stdout
        text = (site.arrays_dir / "vip-10-1-4-50.yaml").read_text()
        assert f"# - {reason}" in text
        assert yaml.safe_load(text)["services"] == ["https", "http-redirect"]


RELEASES = [None, "2010 SP3", "2013 CU23", "2016 CU23", "2019 CU14", "SE RTM"]


@settings(max_examples=30, deadline=None)
@given(array=arrays(), named=st.booleans())
def test_import_never_raises_for_any_release_given(array: ArraySpec, named: bool) -> None:
    hand_built = unmarked_state(expand(array))
    for release in RELEASES:
        vips = (array.vip,) if named else ()
        options = ImportOptions(appliance="lm-hq", vips=vips, exchange=release)

        result = import_state(hand_built, options)

        taken = {key for imported in result.arrays for key in imported.keys}
        assert taken | {s.key for s in result.skipped} == set(hand_built)
        assert not taken & {s.key for s in result.skipped}


def next_commands(output: str) -> list[list[str]]:
    """The commands the ``Next:`` hint of ``lmctl import`` prints, as arguments."""
    hint = output[output.index("Next:") :].splitlines()[1:]
    return [shlex.split(line)[1:] for line in hint if line.startswith("  lmctl ")]


def run_next(site: Site, output: str) -> dict[str, Any]:
    """Run the hint's validate and plan as printed; the plan's JSON document."""
    validate, plan = next_commands(output)
    assert validate[0] == "validate" and plan[0] == "plan"
    checked = invoke(*validate)
    assert checked.exit_code == 0, checked.output
    planned = site.lmctl(*plan, "--format", "json", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.output
    document: dict[str, Any] = json.loads(planned.stdout)
    return document


def only_adoptions(document: dict[str, Any], count: int) -> None:
    changes = [c for a in document["appliances"] for c in a["changes"]]
    assert [(c["action"], c["array"]) for c in changes] == [("adopt_vs", "vip-10-1-2-50")] * count


@pytest.mark.parametrize("trusted", [False, True])
def test_the_next_commands_of_an_import_into_a_new_directory_work_and_plan_only_it(
    site: Site, monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    site.write(A1)
    assert site.apply("--adopt", "a1").exit_code == 0
    inventory = site.arrays_dir / "appliances.yaml"
    if trusted:
        monkeypatch.setenv("LMCTL_INVENTORY", str(inventory))
    new = site.arrays_dir / "new"
    options = ["--site", "HQ", "--exchange", "2016 CU23", "--fqdn", "a2.corp.example.com"]

    result = site.lmctl(
        "import", "--appliance", APPLIANCE, "--inventory", str(inventory), "--out", str(new),
        "--vip", A2.vip, *options,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    spec = str(new / "vip-10-1-2-50.yaml")
    validate, plan = next_commands(result.stdout)
    assert validate == ["validate", *([] if trusted else [str(inventory)]), spec]
    assert plan == ["plan", *validate[1:], "--adopt", "vip-10-1-2-50"]
    # Only the imported array's adoptions: a1's VSs on the same appliance are not deleted.
    only_adoptions(run_next(site, result.stdout), 2)


def test_the_next_commands_of_an_import_beside_the_inventory_name_the_directory(
    site: Site,
) -> None:
    options = ["--site", "HQ", "--exchange", "2016 CU23", "--fqdn", "a2.corp.example.com"]

    result = site.lmctl(*import_command(site), "--vip", A2.vip, *options)

    assert result.exit_code == 0, result.output
    validate, plan = next_commands(result.stdout)
    assert validate == ["validate", str(site.arrays_dir)]
    assert plan == ["plan", str(site.arrays_dir), "--adopt", "vip-10-1-2-50"]
    only_adoptions(run_next(site, result.stdout), 2)


def test_a_vip_without_a_virtual_service_is_an_error(site: Site) -> None:
    target = site.arrays_dir / "vip-10-1-1-50.yaml"

    result = site.lmctl(*import_command(site), "--vip", A1.vip, "--vip", "10.1.99.9")

    assert result.exit_code == 1
    assert (
        "error: --vip 10.1.99.9: no virtual service on appliance lm-test has this address; "
        "nothing was written"
    ) in (result.stderr)
    assert not target.exists()


def test_the_imported_specs_editor_hint_reaches_the_repositorys_schema(site: Site) -> None:
    # As lmctl init lays a spec repository out: schema/ beside arrays/ (never lmctl's docs/).
    schema = site.root / "schema" / "array.schema.json"
    schema.parent.mkdir()
    schema.write_text("{}")
    result = site.lmctl(*import_command(site))

    assert result.exit_code == 0, result.output
    for spec in site.arrays_dir.glob("vip-*.yaml"):
        hint = spec.read_text().splitlines()[0]
        assert hint == "# yaml-language-server: $schema=../schema/array.schema.json"
        assert (spec.parent / hint.partition("$schema=")[2]).resolve() == schema.resolve()
