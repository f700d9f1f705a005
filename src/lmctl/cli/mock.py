"""``lmctl mock serve``: run the mock LoadMaster until Ctrl-C; ``lmctl mock addcert``: install
a certificate on a built-in ``mock://`` appliance, as an admin installs one on a LoadMaster;
``lmctl mock health``: mark a real server of one Down, as the control API does, or take the
mark off again.

The mock modules (cryptography, http.server) are imported inside the command so that
``lmctl --help`` stays fast.
"""

from __future__ import annotations

import errno
import ipaddress
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from lmctl.cli.app import CommandError, LmctlCommands, app
from lmctl.cli.options import (
    DEFAULT_STATE_DIR,
    InventoryOption,
    RequestTimeoutOption,
    StateDirOption,
    appliance_name_option,
    make_console,
)
from lmctl.errors import LmctlError
from lmctl.text import excerpt, one_line

if TYPE_CHECKING:
    from rich.console import Console

    from lmctl.mock.appliance import HealthCheck, MockAppliance
    from lmctl.mock.server import MockServerHandle
    from lmctl.mock.state import MockState
    from lmctl.specs import ApplianceSpec, SpecSet

mock_app = typer.Typer(
    cls=LmctlCommands,
    help="A mock LoadMaster that speaks the real API (v1 XML, v2 JSON), for tests and rehearsals.",
    no_args_is_help=True,
)
app.add_typer(mock_app, name="mock")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _listen_hint(error: OSError) -> str:
    """What to change when the server cannot bind: the port when it is taken, else the host."""
    if error.errno in {errno.EADDRINUSE, errno.EACCES}:
        return "Choose another port with --port (0 picks a free one)."
    return "Check --host: it must be an address of this machine (default 127.0.0.1)."


def _print_banner(
    handle: MockServerHandle, generated: set[str], state: Path | None, seed: Path | None
) -> None:
    console = make_console()
    console.print(f"lmctl mock LoadMaster listening on {handle.url}")
    console.print(f"  URL:                 {handle.url}")
    console.print(f"  Port:                {handle.port}")
    if handle.fingerprint_sha256 is not None:
        console.print(f"  Certificate SHA-256: {handle.fingerprint_sha256}")
        console.print(f"  CA file:             {handle.ca_file}")
    console.print(f"  User:                {handle.username}")
    shown_password = handle.password if "password" in generated else "(as given)"
    shown_key = handle.api_key if "api_key" in generated else "(as given)"
    console.print(f"  Password:            {shown_password}")
    console.print(f"  API key:             {shown_key}")
    console.print(f"  State file:          {state if state is not None else '(memory only)'}")
    if seed is not None:
        console.print(f"  Seeded from:         {seed}")
    subnets = handle.appliance.local_subnets()
    shown_subnets = "every address" if subnets is None else ", ".join(subnets)
    console.print(f"  Local subnets:       {shown_subnets} (others need non_local=1)")
    console.print("  Control API:         <URL>/_mock/ (same credentials); see docs/mock.md")
    console.print("Press Ctrl-C to stop.")
    sys.stdout.flush()


def _stop_on_signal() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM; installed before the banner, so that a signal sent
    as soon as the banner is read stops the mock cleanly."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Explicit handlers: a job started in the background of a script inherits an ignored SIGINT.
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop


# The options of ``serve``, named once here so the command's signature reads as a list.
_Host = Annotated[
    str, typer.Option(metavar="ADDRESS", help="Address to bind (loopback unless told).")
]
_Port = Annotated[int, typer.Option(help="TCP port; 0 picks a free one.", min=0, max=65535)]
_Tls = Annotated[bool, typer.Option("--tls/--no-tls", help="HTTPS (default) or HTTP.")]
_StateFile = Annotated[
    Path | None,
    typer.Option(
        "--state",
        metavar="FILE",
        help=(
            "JSON state file (loaded, saved on change); the TLS certificate and key are kept "
            "beside it, so a restart keeps the fingerprint."
        ),
    ),
]
_NewCertificate = Annotated[
    bool,
    typer.Option(
        "--new-certificate",
        help="Replace the certificate kept beside --state (clients must pin the new one).",
    ),
]
_SeedListvs = Annotated[
    Path | None,
    typer.Option(
        "--seed-listvs",
        metavar="FILE",
        help=(
            "Start from the virtual services of a captured listvs reply (APIv1 XML or APIv2 "
            "JSON, as an appliance sent it) instead of an empty appliance. With --state, the "
            "state file must not exist yet (it is then written from the capture)."
        ),
    ),
]
_LatencyMs = Annotated[
    float, typer.Option("--latency-ms", metavar="MS", help="Delay added to every API call.", min=0)
]
_User = Annotated[str | None, typer.Option("--user", help="Admin user (default bal).")]
_Password = Annotated[
    str | None,
    typer.Option(envvar="LMCTL_MOCK_PASSWORD", help="Admin password (default: made up)."),
]
_ApiKey = Annotated[
    str | None,
    typer.Option(envvar="LMCTL_MOCK_API_KEY", help="API key (default: made up)."),
]


def _subnets(values: list[str] | None) -> list[str] | None:
    """Each ``--local-subnet`` as a network (``10.10.0.5/16`` is ``10.10.0.0/16``)."""
    if not values:
        return None
    try:
        return [str(ipaddress.ip_network(value.strip(), strict=False)) for value in values]
    except ValueError as error:
        raise typer.BadParameter(f"{error} (use CIDR, e.g. 10.10.0.0/16)") from None


_LocalSubnets = Annotated[
    list[str] | None,
    typer.Option(
        "--local-subnet",
        metavar="CIDR",
        callback=_subnets,
        help=(
            "A subnet of the appliance's own (repeatable; saved in --state): a real server "
            "outside them is refused unless added with non_local=1. Default: every address "
            "is local."
        ),
    ),
]


def _made_up_secrets(password: str | None, api_key: str | None) -> set[str]:
    """The secrets the mock makes up: only those are printed, never one the user gave."""
    return {name for name, value in (("password", password), ("api_key", api_key)) if not value}


def _start_or_exit(host: str, port: int, start: Callable[[], MockServerHandle]) -> MockServerHandle:
    """Start the mock; an unusable state file, certificate or address ends the command with what
    to fix."""
    errors = make_console(stderr=True)
    try:
        return start()
    except LmctlError as error:
        errors.print(f"error: {error}")
        raise typer.Exit(1) from None
    except OSError as error:
        errors.print(f"error: cannot listen on {host}:{port}: {error.strerror or error}")
        errors.print(_listen_hint(error))
        raise typer.Exit(1) from None


def _seeded(capture: Path | None, state: Path | None) -> MockState | None:
    """The appliance a captured ``listvs`` shows (``lmctl.mock.seed``), or None without one; a
    capture that cannot be read, or a state file it would replace, ends the command."""
    if capture is None:
        return None
    from lmctl.files import read_regular_file
    from lmctl.mock.seed import state_from_listvs

    errors = make_console(stderr=True)
    if state is not None and (state.exists() or state.is_symlink()):
        errors.print(
            f"error: --seed-listvs starts a new appliance, but the state file {state} exists; "
            "give another --state, or remove it"
        )
        raise typer.Exit(1)
    try:
        return state_from_listvs(read_regular_file(capture))
    except OSError as error:
        errors.print(f"error: cannot read --seed-listvs {capture}: {error.strerror or error}")
    except (ValueError, RecursionError) as error:
        errors.print(f"error: --seed-listvs {capture} is no listvs reply lmctl can serve: {error}")
    raise typer.Exit(1)


@mock_app.command(
    help="Serve a mock LoadMaster; print its URL, certificate fingerprint and credentials.\n\n"
    "Exit codes: 0 stopped (Ctrl-C or SIGTERM); 1 error (an unusable state file, "
    "certificate, --seed-listvs capture or address); 64 usage error. See docs/mock.md."
)
def serve(
    host: _Host = "127.0.0.1",
    port: _Port = 8443,
    tls: _Tls = True,
    state: _StateFile = None,
    latency_ms: _LatencyMs = 0,
    user: _User = None,
    password: _Password = None,
    api_key: _ApiKey = None,
    local_subnet: _LocalSubnets = None,
    new_certificate: _NewCertificate = False,
    seed_listvs: _SeedListvs = None,
) -> None:
    """Serve a mock LoadMaster; print its URL, certificate fingerprint and credentials."""
    from lmctl.mock.server import serve_in_thread

    seed = _seeded(seed_listvs, state)

    if not _is_loopback(host):
        make_console(stderr=True).print(
            f"warning: binding {host}: the mock is reachable from other machines"
        )
    handle = _start_or_exit(
        host,
        port,
        lambda: serve_in_thread(
            host,
            port,
            tls,
            state,
            latency_ms,
            user,
            password,
            api_key,
            local_subnet,
            keep_certificate=state is not None,
            new_certificate=new_certificate,
            seed=seed,
        ),
    )
    with handle:
        stop = _stop_on_signal()
        _print_banner(handle, _made_up_secrets(password, api_key), state, seed_listvs)
        while not stop.wait(0.5):
            pass
    make_console().print("mock LoadMaster stopped")


# -- the commands on a built-in mock:// appliance ------------------------------------------


def _mock_appliance(
    inventory: Path | None, appliance: str, nothing: str, refusal: str
) -> tuple[SpecSet, ApplianceSpec]:
    """The inventory and its ``mock://`` appliance ``appliance``; ``CommandError`` when it has
    none of that name (``nothing``: what was not done) or it is a real appliance (``refusal``:
    what lmctl does not do there, and how it is done on a LoadMaster), before anything is read
    from the appliance or its state."""
    from lmctl.cli.specload import load_inventory_reporting

    spec_set = load_inventory_reporting(inventory, make_console(stderr=True))
    spec = spec_set.inventory.appliance(appliance)
    if spec is None:
        known = ", ".join(spec_set.inventory.appliances) or "none"
        raise CommandError(
            f"no appliance named {one_line(appliance)} in the inventory (known: {known}); {nothing}"
        )
    if not spec.is_mock:
        raise CommandError(
            f"{one_line(appliance)} is a real appliance ({one_line(spec.url)}): {refusal}"
        )
    return spec_set, spec


# -- lmctl mock addcert ---------------------------------------------------------------------

# A certificate with its key and chain is a few kilobytes; more is no PEM an admin uploads.
_PEM_MAX_BYTES = 1024 * 1024


def _certificate_name(value: str) -> str:
    from lmctl.specs.array import CERTIFICATE_NAME_CHARACTERS, certificate_name_problem

    problem = certificate_name_problem(value)
    if problem is not None:
        raise typer.BadParameter(
            f"{excerpt(value)!r} is no certificate name: {problem}; use "
            f"{CERTIFICATE_NAME_CHARACTERS} (the name a spec's certificate: gives)"
        )
    return value


def _host_names(values: list[str] | None) -> list[str] | None:
    """Each ``--self-signed`` HOST, without a trailing dot, once (the first spelling of a name
    given twice in another case); ``BadParameter`` naming the first that is no host name."""
    from lmctl.specs.rules import is_host_name

    if not values:
        return None
    hosts: dict[str, str] = {}
    for value in values:
        host = value.rstrip(".")
        # A top-level label is never all digits (RFC 3696, 2): 10.1.1.1 is an address, which
        # a DNS subject alternative name cannot carry.
        if not is_host_name(host) or host.rsplit(".", 1)[-1].isdigit():
            raise typer.BadParameter(
                f"{excerpt(value)!r} is no host name: expected the namespace the certificate "
                "is for, e.g. mail.example.com"
            )
        hosts.setdefault(host.casefold(), host)
    return list(hosts.values())


def _pem_file(pem: Path) -> bytes:
    """The PEM file ``--pem`` names, once lmctl has found in it a certificate and that
    certificate's private key (``lmctl.mock.tls.upload_problem``); else ``CommandError`` saying
    what is wrong, before anything is uploaded."""
    from lmctl.files import read_regular_file
    from lmctl.mock.tls import upload_problem

    shown = one_line(str(pem))
    try:
        data = read_regular_file(pem, max_size=_PEM_MAX_BYTES)
    except OSError as error:
        raise CommandError(
            f"cannot read --pem {shown}: {error.strerror or error}; nothing was installed"
        ) from None
    problem = upload_problem(data)
    if problem is not None:
        raise CommandError(
            f"--pem {shown} is no certificate with its private key: {problem}; nothing was "
            "installed"
        )
    return data


def _upload(pem: Path | None, hosts: list[str] | None) -> Callable[[], bytes]:
    """What to upload: the file ``--pem`` names (read and checked now), or a new self-signed
    PEM for ``hosts``, made only when it is installed."""
    from lmctl.mock.tls import self_signed_pem

    if pem is None:
        assert hosts
        return lambda: self_signed_pem(*hosts)
    data = _pem_file(pem)
    return lambda: data


@dataclass(frozen=True)
class _Install:
    """How ``addcert`` installs: over one it finds (``replace``), where the mock keeps its
    state, how long each request may take."""

    replace: bool
    state_dir: Path
    request_timeout: float


async def _install_certificate(
    spec_set: SpecSet, appliance: str, name: str, upload: Callable[[], bytes], options: _Install
) -> bool:
    """Install ``name`` on ``appliance`` unless it is there (``replace``: in its place); True
    when it was written."""
    from lmctl.appliance.base import open_appliances

    async with open_appliances(
        spec_set, [appliance], state_dir=options.state_dir, timeout=options.request_timeout
    ) as appliances:
        opened = appliances[appliance]
        installed = name in await opened.certificates()
        if installed and not options.replace:
            return False
        await opened.install_certificate(name, upload(), replace=installed)
        return True


@mock_app.command(
    "addcert",
    help="Install a certificate and its private key on a built-in mock:// appliance, as an "
    "admin installs one on a LoadMaster (its addcert, the PEM as the body), so that a "
    "per-protocol array can name it (certificate: NAME).\n\n"
    "--pem FILE uploads your PEM (the certificate and its unencrypted key), checked first: "
    "an error says when it holds no certificate, no private key, or a key that is not the "
    "certificate's. --self-signed HOST makes a new key and a certificate for HOST signed by it "
    "(the key goes to the mock's state under --state-dir, and nowhere else: never printed); "
    "give it more than once for a certificate of several names (each HOST a subject "
    "alternative name, the first also the subject CN). A certificate of that name "
    "already installed is left as it is (--replace installs the new one in its place). "
    "Only mock:// appliances: lmctl does not install certificates on a real LoadMaster (use "
    "its web UI, Certificates & Security > SSL Certificates, or its API).\n\n"
    "Exit codes: 0 installed, or already installed; 1 error (an appliance not in the "
    "inventory or not mock://, a PEM that cannot be read or holds no certificate with its "
    "matching unencrypted key, or that the appliance refuses); 64 usage error. See "
    "docs/mock.md.",
)
def addcert(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME",
            callback=_certificate_name,
            help="The certificate's name on the appliance (a spec's certificate: names it).",
            show_default=False,
        ),
    ],
    appliance: Annotated[
        str, appliance_name_option("The mock:// appliance to install it on (its inventory name).")
    ],
    pem: Annotated[
        Path | None,
        typer.Option(
            "--pem",
            metavar="FILE",
            help="A PEM file holding the certificate and its private key.",
        ),
    ] = None,
    self_signed: Annotated[
        list[str] | None,
        typer.Option(
            "--self-signed",
            metavar="HOST",
            callback=_host_names,
            help="Make a new key and a self-signed certificate for HOST (e.g. the array's fqdn); "
            "repeatable: every HOST is a subject alternative name, the first also the subject "
            "CN (a temporary namespace and the final one, for a blue/green change).",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Replace a certificate of that name already installed."),
    ] = False,
    inventory: InventoryOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
    request_timeout: RequestTimeoutOption = 10.0,
) -> None:
    """``lmctl mock addcert NAME --appliance NAME (--pem FILE | --self-signed HOST...)``."""
    import asyncio

    from lmctl.cli.certificates import REAL_INSTALL

    if (pem is None) == (not self_signed):
        raise typer.BadParameter("give --pem FILE or --self-signed HOST (one of them)")
    console = make_console()
    spec_set, spec = _mock_appliance(
        inventory,
        appliance,
        "nothing was installed",
        "lmctl installs certificates only on a built-in mock:// appliance; nothing was "
        f"installed; on the LoadMaster, install it {REAL_INSTALL}",
    )
    upload = _upload(pem, self_signed)
    options = _Install(replace, state_dir, request_timeout)
    written = asyncio.run(_install_certificate(spec_set, appliance, name, upload, options))
    if not written:
        console.print(
            f"certificate {name} is already installed on {appliance}: nothing changed "
            "(--replace installs the new one in its place)"
        )
        return
    source = (
        f"self-signed for {', '.join(self_signed)}" if self_signed else f"from {one_line(str(pem))}"
    )
    console.print(f"installed certificate {name} on {appliance} ({spec.url}), {source}")


# -- lmctl mock health ----------------------------------------------------------------------


def _real_server_address(value: str | None) -> str | None:
    """ADDRESS as a member's address is written (``lmctl.specs.array.routable_address``)."""
    from lmctl.specs.array import routable_address

    if value is None:
        return None
    try:
        return routable_address(value)
    except ValueError as error:
        raise typer.BadParameter(f"{error}; expected a real server's address") from None


def _check_url(value: str | None) -> str | None:
    """A health check's URL as a spec's health_check: url may be (``CHECK_URL_PATTERN``)."""
    import re

    from lmctl.specs.array import CHECK_URL_MAX_LENGTH, CHECK_URL_PATTERN

    if value is not None and (
        re.fullmatch(CHECK_URL_PATTERN, value) is None or len(value) > CHECK_URL_MAX_LENGTH
    ):
        raise typer.BadParameter(
            f"'{excerpt(value)}' is no check URL: expected a path starting with /, printable "
            f"ASCII without spaces, at most {CHECK_URL_MAX_LENGTH} characters, e.g. "
            "/ews/healthcheck.htm"
        )
    return value


@dataclass(frozen=True)
class _Mark:
    """The scope of one health mark: its address, and the port and check URL it is kept for."""

    address: str
    port: int | None
    check_url: str | None

    def scope(self) -> str:
        ports = "every port" if self.port is None else f"port {self.port}"
        checks = "every check" if self.check_url is None else f"only checks of {self.check_url}"
        return f"{ports}, {checks}"


def _quoted_marks(keys: Iterable[str | None]) -> str:
    """Mark keys as a message names them: each quoted (a key with a URL has a space)."""
    return ", ".join(f'"{one_line(key)}"' for key in sorted({key for key in keys if key}))


def _checks_shown(checks: Sequence[HealthCheck]) -> str:
    """What the checks of an address request, by the port they probe:
    ``/ews/healthcheck.htm, /owa/healthcheck.htm on port 443; no URL on port 135``."""
    ports: dict[int, set[str]] = {}
    for check in checks:
        ports.setdefault(check.port, set()).add(one_line(check.url) if check.url else "")
    return "; ".join(
        f"{', '.join(url or 'no URL' for url in sorted(urls))} on port {port}"
        for port, urls in sorted(ports.items())
    )


def _effect(address: str, checks: Sequence[HealthCheck], marked_down: str | None = None) -> str:
    """What the appliance now shows of ``address``, and which mark decides where that is not
    what was asked: after a Down mark (``marked_down``, its key), the more specific Up marks
    that win over it; after a mark was removed, the Down marks that still hold."""
    if not checks:
        later = ": the mark applies to those that will" if marked_down is not None else ""
        return f"no virtual service has {address} as a real server yet{later}"
    down = sum(check.status == "Down" for check in checks)
    held = f"virtual services and SubVSs that have {address} as a real server"
    if down in {0, len(checks)}:
        shown = f"it is now {'Up' if down == 0 else 'Down'} in all {len(checks)} {held}"
    else:
        shown = f"it is now Down in {down} of the {len(checks)} {held}"
    if marked_down is not None:
        overruled = [c for c in checks if marked_down in c.keys and c.status == "Up"]
        if overruled:
            winners = _quoted_marks(check.mark for check in overruled)
            shown += (
                f" (in {len(overruled)} of them a more specific Up mark wins: {winners}; "
                "--up with its --port and --check-url removes it)"
            )
    elif down:
        holding = _quoted_marks(check.mark for check in checks if check.status == "Down")
        shown += (
            f" (a Down mark keeps it Down there: {holding}; --clear removes every mark of "
            f"{address})"
        )
    return shown


def _list_marks(console: Console, appliance: str, marks: dict[str, str]) -> None:
    if not marks:
        console.print(f"no health marks on {appliance}: every real server passes its health check")
        return
    console.print(
        f"health marks on {appliance} (the most specific one wins; a real server without one "
        "is Up):"
    )
    _print_marks(console, marks)


def _print_marks(console: Console, marks: dict[str, str]) -> None:
    for key, status in sorted(marks.items()):
        console.print(f"  {one_line(status):<4}  {one_line(key)}")


def _mark_down(console: Console, mock: MockAppliance, appliance: str, mark: _Mark) -> None:
    """Mark ``mark``'s scope Down, unless it is no check of an address that has some: then
    ``CommandError`` naming the checks there are, and nothing is stored."""
    key = mock.health_mark_key(mark.address, mark.port, mark.check_url)
    checks = mock.health_checks(mark.address)
    if checks and not any(key in check.keys for check in checks):
        held = f"virtual services and SubVSs that have {mark.address} as a real server"
        if mark.check_url is None:
            asked = f"probes port {mark.port}"
        else:
            asked = f"requests {mark.check_url}" + (
                "" if mark.port is None else f" on port {mark.port}"
            )
        raise CommandError(
            f"no check of the {len(checks)} {held} {asked}: they request "
            f"{_checks_shown(checks)}; nothing was marked on {appliance}"
        )
    mock.mark_health(mark.address, mark.port, "Down", mark.check_url)
    console.print(f"marked {mark.address} Down on {appliance}: {mark.scope()}")
    console.print(_effect(mark.address, mock.health_checks(mark.address), marked_down=key))


def _remove_mark(console: Console, mock: MockAppliance, appliance: str, mark: _Mark) -> None:
    """Remove the mark of exactly ``mark``'s scope (``--up``): its checks fall back to the next
    mark, or Up."""
    removed = mock.remove_health_mark(mark.address, mark.port, mark.check_url)
    if removed is not None:
        console.print(
            f"removed the {one_line(removed)} mark of {mark.address} on {appliance}: {mark.scope()}"
        )
    else:
        console.print(
            f"no mark of {mark.address} on {appliance} for {mark.scope()}: nothing changed"
        )
        others = mock.health_marks(mark.address)
        if others:
            console.print(f"the marks of {mark.address} (--up with the same scope removes one):")
            _print_marks(console, others)
    console.print(_effect(mark.address, mock.health_checks(mark.address)))


def _clear_marks(
    console: Console, mock: MockAppliance, appliance: str, address: str | None
) -> None:
    """Remove every mark of ``address`` (``--clear``), or every mark without one."""
    removed = mock.clear_health_marks(address)
    of = "" if address is None else f" of {address}"
    if not removed:
        console.print(f"no health marks{of} on {appliance}: nothing changed")
    else:
        count = f"{len(removed)} health mark{'s' if len(removed) > 1 else ''}"
        console.print(f"removed {count}{of} on {appliance}:")
        _print_marks(console, removed)
    if address is None:
        console.print("every real server passes its health check")
    else:
        console.print(_effect(address, mock.health_checks(address)))


@mock_app.command(
    "health",
    help="Mark a real server Down (its health check fails) on a built-in mock:// appliance, "
    "as a failing Exchange server shows on a LoadMaster, or take the mark off again; without "
    "ADDRESS, list the marks.\n\n"
    "The mark is kept in the appliance's state under --state-dir, so the next lmctl status, "
    "drain or undrain sees it; it covers every port of ADDRESS, or --port N (the port a "
    "check probes); with --check-url, only the checks of virtual services and SubVSs that "
    "request that URL (one directory of a per-protocol array: /ews/healthcheck.htm). The most "
    "specific mark wins. --up removes the mark of exactly that ADDRESS, --port and "
    "--check-url (those checks fall back to a wider mark, or Up); --clear removes every mark "
    "of ADDRESS, or every mark without ADDRESS. A --down that matches no check of a virtual "
    "service having ADDRESS as a real server (a mistyped --check-url) is refused, naming "
    "the checks there are. The same marks as the control API's POST /_mock/health of lmctl "
    "mock serve. Only mock:// appliances: on a LoadMaster a real server is Down when its own "
    "health check fails.\n\n"
    "Exit codes: 0 marked, removed (or nothing to remove), or listed; 1 error (an appliance "
    "not in the inventory or not mock://, a --down that matches no check of ADDRESS, a state "
    "file that cannot be read or written); 64 usage error (an ADDRESS that is no real "
    "server's address, a --check-url that is no path, a --port outside 1-65535, ADDRESS "
    "without --down, --up or --clear, --clear with another of them). See docs/mock.md.",
)
def health(
    appliance: Annotated[
        str, appliance_name_option("The mock:// appliance to mark it on (its inventory name).")
    ],
    address: Annotated[
        str | None,
        typer.Argument(
            metavar="ADDRESS",
            callback=_real_server_address,
            help="The real server's IP address (a member's address:), e.g. 10.10.3.12.",
            show_default=False,
        ),
    ] = None,
    down: Annotated[
        bool,
        typer.Option("--down", help="Its health check fails.", show_default=False),
    ] = False,
    up: Annotated[
        bool,
        typer.Option(
            "--up",
            help="Remove that mark (its check passes again unless a wider Down mark holds).",
            show_default=False,
        ),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            min=1,
            max=65535,
            help="Only the checks that probe this port (default: every port).",
            show_default=False,
        ),
    ] = None,
    check_url: Annotated[
        str | None,
        typer.Option(
            "--check-url",
            metavar="URL",
            callback=_check_url,
            help="Only the checks that request this URL, e.g. /ews/healthcheck.htm.",
            show_default=False,
        ),
    ] = None,
    clear: Annotated[
        bool,
        typer.Option(
            "--clear",
            help="Remove every mark of ADDRESS (every port and URL), or every mark without it.",
        ),
    ] = False,
    inventory: InventoryOption = None,
    state_dir: StateDirOption = DEFAULT_STATE_DIR,
) -> None:
    """``lmctl mock health [ADDRESS (--down | --up) [--port N] [--check-url URL]] [--clear]
    --appliance NAME``."""
    if down and up:
        raise typer.BadParameter("give --down or --up, not both")
    status = True if down else False if up else None
    if clear and (status is not None or port is not None or check_url is not None):
        raise typer.BadParameter(
            "--clear removes every mark of ADDRESS (or every mark): give it without --down, "
            "--up, --port and --check-url"
        )
    if address is None and (status is not None or port is not None or check_url is not None):
        raise typer.BadParameter(
            "--down, --up, --port and --check-url mark an ADDRESS: give the real server's "
            "address (without one, the marks are listed)"
        )
    if address is not None and status is None and not clear:
        raise typer.BadParameter(f"give --down, --up or --clear for {address}")
    console = make_console()
    _, spec = _mock_appliance(
        inventory,
        appliance,
        "nothing was changed",
        "lmctl marks health only on a built-in mock:// appliance, where it stands in for a "
        "failing server; nothing was changed; a LoadMaster takes a real server Down when its "
        "own health check fails",
    )
    from lmctl.mock.embedded import embedded_state, state_file_for
    from lmctl.mock.persistence import StateStore
    from lmctl.statedir import private_dir

    name = one_line(appliance)
    if status is not True:  # listing, --up and --clear write nothing where there is no state
        saved = StateStore(state_file_for(spec.mock_name, state_dir)).load()
        if address is None and not clear:
            _list_marks(console, name, saved.health if saved is not None else {})
            return
        if saved is None:
            console.print(f"no health marks on {name}: nothing changed")
            return
    private_dir(state_dir)  # before the mock saves its state there
    mock = embedded_state(spec.mock_name, state_dir)
    if clear:
        _clear_marks(console, mock, name, address)
        return
    assert address is not None
    mark = _Mark(address, port, check_url)
    if status:
        _mark_down(console, mock, name, mark)
    else:
        _remove_mark(console, mock, name, mark)
