"""``lmctl mock serve``: run the mock LoadMaster until Ctrl-C; ``lmctl mock addcert``: install
a certificate on a built-in ``mock://`` appliance, as an admin installs one on a LoadMaster.

The mock modules (cryptography, http.server) are imported inside the command so that
``lmctl --help`` stays fast.
"""

from __future__ import annotations

import errno
import ipaddress
import signal
import sys
import threading
from collections.abc import Callable
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
    from lmctl.mock.server import MockServerHandle
    from lmctl.mock.state import MockState
    from lmctl.specs import SpecSet

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


def _host_name(value: str | None) -> str | None:
    from lmctl.specs.rules import is_host_name

    if value is not None and not is_host_name(value.rstrip(".")):
        raise typer.BadParameter(
            f"{excerpt(value)!r} is no host name: expected the namespace the certificate is for, "
            "e.g. mail.example.com"
        )
    return value.rstrip(".") if value is not None else None


def _pem_of(pem: Path | None, host: str | None) -> bytes:
    """The PEM to upload: the file ``--pem`` names, or a new self-signed one for ``host``."""
    from lmctl.files import read_regular_file
    from lmctl.mock.tls import self_signed_pem

    if host is not None:
        return self_signed_pem(host)
    assert pem is not None
    try:
        return read_regular_file(pem, max_size=_PEM_MAX_BYTES)
    except OSError as error:
        raise CommandError(
            f"cannot read --pem {one_line(str(pem))}: {error.strerror or error}; nothing was "
            "installed"
        ) from None


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
    "--pem FILE uploads your PEM (the certificate and its unencrypted key); --self-signed HOST "
    "makes a new key and a certificate for HOST signed by it (the key goes to the mock's "
    "state under --state-dir, and nowhere else: never printed). A certificate of that name "
    "already installed is left as it is (--replace installs the new one in its place). "
    "Only mock:// appliances: lmctl does not install certificates on a real LoadMaster (use "
    "its web UI, Certificates & Security > SSL Certificates, or its API).\n\n"
    "Exit codes: 0 installed, or already installed; 1 error (an appliance not in the "
    "inventory or not mock://, a PEM that cannot be read or that the appliance refuses: no "
    "certificate with its matching key); 64 usage error. See docs/mock.md.",
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
        str | None,
        typer.Option(
            "--self-signed",
            metavar="HOST",
            callback=_host_name,
            help="Make a new key and a self-signed certificate for HOST (e.g. the array's fqdn).",
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
    """``lmctl mock addcert NAME --appliance NAME (--pem FILE | --self-signed HOST)``."""
    import asyncio

    from lmctl.cli.certificates import REAL_INSTALL
    from lmctl.cli.specload import load_inventory_reporting

    if (pem is None) == (self_signed is None):
        raise typer.BadParameter("give --pem FILE or --self-signed HOST (one of them)")
    console, errors = make_console(), make_console(stderr=True)
    spec_set = load_inventory_reporting(inventory, errors)
    spec = spec_set.inventory.appliance(appliance)
    if spec is None:
        known = ", ".join(spec_set.inventory.appliances) or "none"
        raise CommandError(
            f"no appliance named {appliance} in the inventory (known: {known}); nothing was "
            "installed"
        )
    if not spec.is_mock:
        raise CommandError(
            f"{appliance} is a real appliance ({one_line(spec.url)}): lmctl installs "
            "certificates only on a built-in mock:// appliance; nothing was installed; on the "
            f"LoadMaster, install it {REAL_INSTALL}"
        )
    options = _Install(replace, state_dir, request_timeout)
    written = asyncio.run(
        _install_certificate(spec_set, appliance, name, lambda: _pem_of(pem, self_signed), options)
    )
    if not written:
        console.print(
            f"certificate {name} is already installed on {appliance}: nothing changed "
            "(--replace installs the new one in its place)"
        )
        return
    source = f"self-signed for {self_signed}" if self_signed else f"from {one_line(str(pem))}"
    console.print(f"installed certificate {name} on {appliance} ({spec.url}), {source}")
