"""``exchange_script``: the Exchange Management Shell script that makes clients use an array.

Pure: an ``ArraySpec`` in, PowerShell text out. The script is idempotent (every setting is read
first and written only when it differs), takes ``-WhatIf`` and ``-Confirm`` (the script is an
advanced script, ``SupportsShouldProcess``: each write asks ``$PSCmdlet.ShouldProcess``), ends
with a verification section that reads every setting back, and prints a checklist of what it
does not do. Which cmdlets, parameters, registry paths and value types, per release, and the
Microsoft pages they come from: ``docs/operations.md`` ("The Exchange side of a cutover").
It sets the URLs, Outlook Anywhere and Autodiscover of the virtual directories the array's load
balancer serves (``served_directories``) and leaves the others as they are, saying so
(``left_unchanged``): clients are handed those URLs, and one nothing serves strands them.

Every value from the spec appears once, near the top, as a single-quoted PowerShell string
(``ps_string``: no expansion inside, a quote doubled), each non-ASCII character a ``[char]``
outside the quotes, so the script is ASCII and reads the same in any code page; the rest of the
script names variables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, assert_never

from lmctl.errors import LmctlError
from lmctl.exchange.directories import PARENT_SERVICE
from lmctl.releases import SERVICE_PORTS, ExchangeVersion, VirtualDirectory
from lmctl.specs.array import ArraySpec
from lmctl.text import is_hidden, one_line

INDENT = "    "

RPC_PARAMETERS_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\MSExchangeRPC\ParametersSystem"
ADDRESS_BOOK_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\MSExchangeAB\Parameters"
TCPIP_KEY = r"HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters"
# The services that read the static ports (their registry keys are named after them).
RPC_SERVICES = ("MSExchangeRPC", "MSExchangeAB")


class ScriptError(LmctlError):
    """A spec value that no PowerShell string literal can hold (a control character)."""


def ps_string(value: str) -> str:
    """``value`` as a PowerShell string expression in ASCII alone: its ASCII runs single-quoted
    (nothing in them is expanded, a single quote doubled), each other character a
    ``[char]0xNNNN`` concatenated outside the quotes (a character beyond U+FFFF as its UTF-16
    surrogate pair), e.g. ``('Moskva' + [char]0x0451)``.

    Windows PowerShell 5.1 reads a script without a byte order mark in the ANSI code page: the
    UTF-8 bytes of a non-ASCII character would be read as other characters there, some of them
    quotes (cp1252 0x91-0x94), and end the string early. ASCII reads the same in every code
    page. A control character is refused: nothing a spec names holds one."""
    for character in value:
        if is_hidden(character):
            raise ScriptError(
                f"'{one_line(value)}' holds the control character {character!r}: "
                "no PowerShell script is generated from it"
            )
    if value.isascii():
        return _quoted(value)
    # The first term is a string, so + concatenates (a [char] first would add code points).
    parts = [_quoted(run) if run.isascii() else _chars(run) for run in _RUNS.findall(value)]
    if not value[0].isascii():
        parts.insert(0, "''")
    return "(" + " + ".join(parts) + ")"


# Runs of ASCII and of other characters.
_RUNS = re.compile(r"[\x00-\x7f]+|[^\x00-\x7f]+")


def _quoted(ascii_text: str) -> str:
    return "'" + ascii_text.replace("'", "''") + "'"


def _chars(text: str) -> str:
    """``text`` as ``[char]`` terms, one per UTF-16 code unit."""
    units = text.encode("utf-16-be")
    return " + ".join(
        f"[char]0x{int.from_bytes(units[i : i + 2]):04X}" for i in range(0, len(units), 2)
    )


SettingKind = Literal["url", "outlook-anywhere", "autodiscover"]


@dataclass(frozen=True, slots=True)
class ClientSetting:
    """What the script sets for one of lmctl's virtual directories (``lmctl.releases``): the
    ``kind`` of setting (a virtual directory's internal and external URL, Outlook Anywhere's
    host names, the Autodiscover URI of the SCP), the noun of its Get-/Set- cmdlets, the path
    of its URL under the namespace, and its name for people."""

    directory: VirtualDirectory
    kind: SettingKind
    noun: str
    path: str
    label: str


# The one map from lmctl's directory names to what the script sets for each (every name of
# ``lmctl.releases.VIRTUAL_DIRECTORIES`` once). Microsoft, "Configure mail flow and client
# access on Exchange servers": the URL of each virtual directory under the namespace, and
# ``/Autodiscover/Autodiscover.xml`` for the Autodiscover URI.
CLIENT_SETTINGS: tuple[ClientSetting, ...] = (
    ClientSetting("owa", "url", "OwaVirtualDirectory", "/owa", "Outlook on the web"),
    ClientSetting("ecp", "url", "EcpVirtualDirectory", "/ecp", "Exchange admin center"),
    ClientSetting(
        "ews", "url", "WebServicesVirtualDirectory", "/EWS/Exchange.asmx", "Exchange Web Services"
    ),
    ClientSetting(
        "Microsoft-Server-ActiveSync",
        "url",
        "ActiveSyncVirtualDirectory",
        "/Microsoft-Server-ActiveSync",
        "ActiveSync",
    ),
    ClientSetting("oab", "url", "OabVirtualDirectory", "/OAB", "Offline address book"),
    ClientSetting("mapi", "url", "MapiVirtualDirectory", "/mapi", "MAPI over HTTP"),
    ClientSetting("rpc", "outlook-anywhere", "OutlookAnywhere", "/rpc", "Outlook Anywhere"),
    ClientSetting(
        "autodiscover",
        "autodiscover",
        "AutoDiscoverServiceInternalUri",
        "/Autodiscover/Autodiscover.xml",
        "Autodiscover (the SCP)",
    ),
)
# Releases before these have no such cmdlet (MAPI over HTTP came with Exchange 2013 SP1;
# Exchange 2010 has none at all).
_FIRST_RELEASE: dict[tuple[int, str], str] = {(2013, "MapiVirtualDirectory"): "SP1"}
_NEVER: frozenset[tuple[int, str]] = frozenset({(2010, "MapiVirtualDirectory")})
# Set-ClientAccessService exists from Exchange 2016 on; 2010 and 2013 have
# Set-ClientAccessServer.
_CLIENT_ACCESS_NOUN: dict[int, str] = {2010: "ClientAccessServer", 2013: "ClientAccessServer"}


def namespace_host(spec: ArraySpec) -> str:
    """The name HTTPS clients use: 2013+ the namespace (the FQDN); 2010 the first client host
    name (the CAS array FQDN is for RPC only), the FQDN when the spec lists none."""
    if spec.exchange.family.has_cas_array and spec.client_hostnames:
        return spec.client_hostnames[0]
    return spec.fqdn


def https_host_variable(spec: ArraySpec) -> str | None:
    """The script's variable holding the name HTTPS clients use (``namespace_host``): 2013+
    ``$Fqdn``; 2010 ``$HttpsHostname``, the first client host name (never the CAS array FQDN,
    which is for RPC only), None when the spec lists none."""
    if not spec.exchange.family.has_cas_array:
        return "$Fqdn"
    return "$HttpsHostname" if spec.client_hostnames else None


def served_directories(spec: ArraySpec) -> tuple[VirtualDirectory, ...]:
    """The virtual directories the array's load balancer serves at its namespace: with the
    ``https`` service, its published directories (per-protocol: the spec's ``directories``;
    single-service: all); without it, none."""
    if PARENT_SERVICE not in spec.enabled_services:
        return ()
    return spec.published_directories


def _setting(directory: VirtualDirectory) -> ClientSetting:
    return next(s for s in CLIENT_SETTINGS if s.directory == directory)


def _exists(spec: ArraySpec, setting: ClientSetting) -> bool:
    """Whether the release has the setting at all (a missing SP is warned about)."""
    return (spec.exchange.major, setting.noun) not in _NEVER


def left_unchanged(spec: ArraySpec) -> tuple[ClientSetting, ...]:
    """The settings of the release the script leaves as they are because the array does not
    serve their directory: a client handed a URL (by Autodiscover, or the SCP) under a name
    whose load balancer does not serve its path would reach nothing there."""
    served = served_directories(spec)
    return tuple(s for s in CLIENT_SETTINGS if _exists(spec, s) and s.directory not in served)


def unserved_reason(spec: ArraySpec) -> str:
    """Why the array serves no more than ``served_directories``, in the spec's words."""
    if PARENT_SERVICE not in spec.enabled_services:
        return f"its services do not include {PARENT_SERVICE}"
    return "its directories list " + ", ".join(spec.published_directories)


def left_unchanged_note(spec: ArraySpec) -> list[str]:
    """What ``lmctl exchange script`` tells the admin besides the script: each setting left
    unchanged (``left_unchanged``) by lmctl's directory name, and why; none when it sets all."""
    unchanged = left_unchanged(spec)
    if not unchanged:
        return []
    lines = [
        f"note: the script leaves {len(unchanged)} setting(s) unchanged: array {spec.name} "
        f"does not publish their directories at {namespace_host(spec)} "
        f"({unserved_reason(spec)}):"
    ]
    for setting in unchanged:
        match setting.kind:
            case "url":
                what = f"InternalUrl and ExternalUrl of {setting.noun}"
            case "outlook-anywhere":
                what = "the Outlook Anywhere host names"
            case "autodiscover":
                what = f"{setting.noun} (the SCP domain-joined Outlook finds Autodiscover by)"
            case _:
                assert_never(setting.kind)
        lines.append(f"  {setting.directory}: {what}")
    return lines


def _sets(spec: ArraySpec, directory: VirtualDirectory) -> bool:
    """Whether the script sets ``directory``'s setting (the release has it, the array serves
    it)."""
    return _exists(spec, _setting(directory)) and directory in served_directories(spec)


def _url_settings(spec: ArraySpec) -> list[ClientSetting]:
    """The virtual directories whose URLs the script sets."""
    return [s for s in CLIENT_SETTINGS if s.kind == "url" and _sets(spec, s.directory)]


def _get_options(spec: ArraySpec) -> str:
    # -ADPropertiesOnly (no IIS metabase read) is documented for Exchange 2013 and later.
    return "" if spec.exchange.family.has_cas_array else " -ADPropertiesOnly"


# The Address Book's RpcTcpPort registry value is read from Exchange 2010 SP1 on.
_ADDRESS_BOOK_REGISTRY_FROM = "SP1"


def has_release(version: ExchangeVersion, level: str) -> bool:
    """True when ``version`` is ``level`` of its family or later."""
    return version.position >= version.family.position(level)


class _Script:
    """Lines with indentation; ``block`` opens a ``{`` and closes it."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 0

    def add(self, *lines: str) -> None:
        for line in lines:
            self.lines.append(f"{INDENT * self.depth}{line}" if line else "")

    @contextmanager
    def block(self, opener: str, closer: str = "}") -> Iterator[None]:
        self.add(f"{opener} {{")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1
            self.add(closer)

    def say(self, text: str) -> None:
        """A line the script prints (text lmctl wrote; ``$Variables`` in it are expanded)."""
        self.add(f'Write-Host "{text}"')

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def exchange_script(spec: ArraySpec) -> str:
    """The Exchange Management Shell script of ``spec``'s release (see the module)."""
    script = _Script()
    family = spec.exchange.family
    _header(script, spec)
    _spec_values(script, spec)
    _helpers(script)
    if family.has_cas_array:
        _cas_array(script, spec)
        _static_rpc_ports(script, spec)
    _namespace_urls(script, spec)
    _keepalive(script)
    _verification(script, spec)
    _checklist(script, spec)
    return script.text()


def _header(script: _Script, spec: ArraySpec) -> None:
    noun = spec.exchange.family.noun
    script.add(
        "<#",
        ".SYNOPSIS",
        f"{INDENT}The Exchange side of a load-balanced {noun} (Exchange {spec.exchange}),",
        f"{INDENT}generated by lmctl from its spec.",
        ".DESCRIPTION",
        f"{INDENT}Run it in the Exchange Management Shell as an Exchange administrator.",
        f"{INDENT}Idempotent: every setting is read first and written only when it differs,",
        f"{INDENT}so it can run again at any time. -WhatIf shows each write without making it;",
        f"{INDENT}-Confirm asks before each one. Registry values are read and written on each",
        f"{INDENT}member through PowerShell remoting (Invoke-Command). The verification section",
        f"{INDENT}at the end reads every setting back; the checklist after it lists what this",
        f"{INDENT}script does not do.",
        "#>",
        "[CmdletBinding(SupportsShouldProcess = $true)]",
        "param()",
        "",
        "Set-StrictMode -Version 2.0",
        "$ErrorActionPreference = 'Stop'",
        "",
    )


def _list(script: _Script, name: str, values: Sequence[str]) -> None:
    if not values:
        script.add(f"${name} = @()")
        return
    script.add(f"${name} = @(")
    script.depth += 1
    script.add(*(f"{ps_string(v)}{',' * (i < len(values) - 1)}" for i, v in enumerate(values)))
    script.depth -= 1
    script.add(")")


def _spec_values(script: _Script, spec: ArraySpec) -> None:
    script.add("# The spec, as lmctl read it: single-quoted, so nothing in it is expanded.")
    script.add(f"$ArrayName = {ps_string(spec.name)}")
    script.add(f"$Site = {ps_string(spec.site)}")
    script.add(f"$Fqdn = {ps_string(spec.fqdn)}")
    script.add(f"$Vip = {ps_string(spec.vip)}")
    _list(script, "Members", [m.name for m in spec.members])
    _list(script, "ClientHostnames", list(spec.client_hostnames))
    _list(script, "ServicePorts", [str(p) for p in _service_ports(spec)])
    script.add(f"$KeepAliveTimeMs = {spec.keepalive_time * 1000}")
    certificate = _terminating_certificate(spec)
    if certificate is not None:
        script.add(f"$Certificate = {ps_string(certificate)}")
    if spec.rpc_ports is not None:
        script.add(f"$RpcClientAccessPort = {spec.rpc_ports.client_access}")
        # RpcTcpPort is a string value (REG_SZ), not a DWORD.
        script.add(f"$AddressBookPort = {ps_string(str(spec.rpc_ports.address_book))}")
    host = namespace_host(spec) if https_host_variable(spec) is not None else None
    if host is not None:
        if spec.exchange.family.has_cas_array:
            script.add("# HTTPS clients use the first client host name, not the CAS array FQDN.")
            script.add(f"$HttpsHostname = {ps_string(host)}")
        for setting in _url_settings(spec):
            script.add(f"${setting.noun}Url = {ps_string(_url(host, setting.path))}")
        if _sets(spec, "autodiscover"):
            autodiscover = _setting("autodiscover").path
            script.add(f"$AutodiscoverUrl = {ps_string(_url(host, autodiscover))}")
    script.add("")


def _url(host: str, path: str) -> str:
    return f"https://{host}{path}"


def _service_ports(spec: ArraySpec) -> list[int]:
    """The TCP ports clients reach the VIP on and the LoadMaster the members on: each service's
    with real servers (the LoadMaster answers the redirect itself), and the static RPC ports."""
    ports = [
        SERVICE_PORTS[service]
        for service in spec.enabled_services
        if spec.exchange.family.profile(service).has_real_servers
    ]
    if "rpc" in spec.enabled_services and spec.rpc_ports is not None:
        ports.extend(spec.rpc_ports.as_tuple())
    return ports


_HELPERS = r"""
if (-not (Get-Command -Name Get-ExchangeServer -ErrorAction SilentlyContinue)) {
    throw 'Run this script in the Exchange Management Shell (no Get-ExchangeServer here).'
}

function Write-Step {
    param([string]$Title)
    Write-Host ''
    Write-Host "== $Title"
}

function Get-MemberRegistryValue {
    # The value and its type on a member, or $null when the value is absent.
    param([string]$Server, [string]$Path, [string]$Name)
    Invoke-Command -ComputerName $Server -ArgumentList $Path, $Name -ScriptBlock {
        param($Path, $Name)
        if (-not (Test-Path -LiteralPath $Path)) { return $null }
        $key = Get-Item -LiteralPath $Path
        if ($key.GetValueNames() -notcontains $Name) { return $null }
        $kind = [string]$key.GetValueKind($Name)
        New-Object PSObject -Property @{ Value = $key.GetValue($Name); Kind = $kind }
    }
}

function Set-MemberRegistryValue {
    # Writes the value (creating its key) unless the member has it with this type already.
    # Returns $true when it wrote.
    [CmdletBinding(SupportsShouldProcess = $true)]
    param([string]$Server, [string]$Path, [string]$Name, [string]$Type, $Value)
    $current = Get-MemberRegistryValue -Server $Server -Path $Path -Name $Name
    if ($null -ne $current -and $current.Kind -eq $Type -and "$($current.Value)" -eq "$Value") {
        Write-Host "  $Server : $Name is $Value ($Type) already"
        return $false
    }
    if (-not $PSCmdlet.ShouldProcess("$Server $Path", "set $Name to $Value ($Type)")) {
        return $false
    }
    Invoke-Command -ComputerName $Server -ArgumentList $Path, $Name, $Type, $Value -ScriptBlock {
        param($Path, $Name, $Type, $Value)
        if (-not (Test-Path -LiteralPath $Path)) { New-Item -Path $Path -Force | Out-Null }
        New-ItemProperty -LiteralPath $Path -Name $Name -PropertyType $Type -Value $Value -Force |
            Out-Null
    }
    Write-Host "  $Server : $Name set to $Value ($Type)"
    return $true
}

function Get-ObjectName {
    # The name of an AD object a property refers to (an ADObjectId, or its text in a remote
    # session: the last part of the canonical name); '' for none.
    param($Object)
    if ($null -eq $Object) { return '' }
    if ($Object.PSObject.Properties['Name']) { return [string]$Object.Name }
    return ([string]$Object).Split('/')[-1]
}

$script:Checks = New-Object System.Collections.ArrayList
function Add-Check {
    # One row of the verification table.
    param([string]$Where, [string]$Setting, [string]$Expected, [string]$Actual)
    $row = New-Object PSObject -Property @{
        Where = $Where; Setting = $Setting; Expected = $Expected; Actual = $Actual
        Ok = ($Expected -eq $Actual)
    }
    [void]$script:Checks.Add($row)
}
""".strip("\n")


def _helpers(script: _Script) -> None:
    script.add(*_HELPERS.splitlines(), "")


def _cas_array(script: _Script, spec: ArraySpec) -> None:
    script.add("# -- The CAS array object: one per AD site (New-ClientAccessArray only if absent).")
    script.add("Write-Step 'Client Access array'")
    script.add("$existing = @(Get-ClientAccessArray -Site $Site)")
    with script.block("if ($existing.Count -eq 0)"):
        action = '"create the CAS array $ArrayName with FQDN $Fqdn"'
        with script.block(f"if ($PSCmdlet.ShouldProcess($Site, {action}))"):
            script.add("New-ClientAccessArray -Name $ArrayName -Fqdn $Fqdn -Site $Site | Out-Null")
            script.say("  created $ArrayName ($Fqdn) in site $Site")
    with script.block("elseif ([string]$existing[0].Fqdn -ne $Fqdn)"):
        script.add(
            'throw "Site $Site has the CAS array $($existing[0].Name) with FQDN '
            "$($existing[0].Fqdn), not ${Fqdn}: lmctl does not change an array's FQDN \" +",
            f"{INDENT}'(every Outlook profile names it). Fix the spec, or Set-ClientAccessArray.'",
        )
    with script.block("else"):
        script.say("  $($existing[0].Name) ($Fqdn) exists in site $Site already")
    script.add("")
    script.add("# -- Mailbox databases of the site created before the array still name a server.")
    script.add("Write-Step 'Mailbox databases (RpcClientAccessServer)'")
    script.add(
        "$siteServers = @(Get-ExchangeServer |",
        f"{INDENT}Where-Object {{ (Get-ObjectName $_.Site) -eq $Site }} |",
        f"{INDENT}ForEach-Object {{ $_.Name }})",
    )
    script.add(
        "$databases = @(Get-MailboxDatabase | "
        "Where-Object { $siteServers -contains (Get-ObjectName $_.Server) })"
    )
    with script.block("foreach ($database in $databases)"):
        with script.block("if ([string]$database.RpcClientAccessServer -eq $Fqdn)"):
            script.say("  $($database.Name) uses $Fqdn already")
        with script.block(
            'elseif ($PSCmdlet.ShouldProcess($database.Name, "set RpcClientAccessServer to $Fqdn"))'
        ):
            script.add(
                "Set-MailboxDatabase -Identity $database.Identity -RpcClientAccessServer $Fqdn"
            )
            script.say("  $($database.Name) now uses $Fqdn")
    script.add("")


def _static_rpc_ports(script: _Script, spec: ArraySpec) -> None:
    script.add("# -- Static RPC ports on every member, then a restart of the two RPC services.")
    script.add("Write-Step 'Static RPC ports'")
    if spec.rpc_ports is None:
        for line in (
            "The spec sets no static RPC ports (rpc_ports): this script sets none.",
            "Outlook then reaches RPC Client Access and the Address Book on dynamic ports",
            "(6005-59530 on a 2010 CAS), and the rpc virtual service must take every port.",
            "Add rpc_ports to the spec and generate this script again to set them.",
        ):
            script.add(f"Write-Warning {ps_string(line)}")
        script.add("")
        return
    address_book = has_release(spec.exchange, _ADDRESS_BOOK_REGISTRY_FROM)
    with script.block("foreach ($server in $Members)"):
        script.add(
            f"$rpc = Set-MemberRegistryValue -Server $server -Path {ps_string(RPC_PARAMETERS_KEY)} "
            "-Name 'TCP/IP Port' -Type 'DWord' -Value $RpcClientAccessPort",
        )
        if address_book:
            script.add(
                "$ab = Set-MemberRegistryValue -Server $server "
                f"-Path {ps_string(ADDRESS_BOOK_KEY)} "
                "-Name 'RpcTcpPort' -Type 'String' -Value $AddressBookPort",
            )
        else:
            script.add("$ab = $false")
        services = ", ".join(ps_string(s) for s in RPC_SERVICES)
        with script.block("if ($rpc -or $ab)"):
            action = "'restart (drops its Outlook connections: drain it on the LoadMaster first)'"
            with script.block(
                f'if ($PSCmdlet.ShouldProcess("$server {" and ".join(RPC_SERVICES)}", {action}))'
            ):
                script.add(
                    "Invoke-Command -ComputerName $server -ScriptBlock "
                    f"{{ Restart-Service -Name {services} }}"
                )
                script.say(f"  $server : {' and '.join(RPC_SERVICES)} restarted")
    if not address_book:
        for line in (
            f"Exchange {spec.exchange} reads the Address Book port from",
            "microsoft.exchange.addressbook.service.exe.config, not from the registry: this",
            "script does not set it. Set it there by hand on every member (installing SP1",
            "drops that setting; from SP1 on it is the registry value RpcTcpPort).",
        ):
            script.add(f"Write-Warning {ps_string(line)}")
    script.add("")


def _namespace_urls(script: _Script, spec: ArraySpec) -> None:
    host = https_host_variable(spec)
    script.add("# -- The internal and external URL of every virtual directory, on every member.")
    if left_unchanged(spec):
        script.add(
            "# Only those of the directories this array publishes: clients are handed each URL",
            "# (by Autodiscover, or the SCP), and one under a name whose load balancer does not",
            "# serve its path would send them where nothing answers. The others are left as",
            "# the members have them.",
        )
    if host is None:
        for line in (
            "The spec lists no client host names (client_hostnames): this script sets no",
            "InternalUrl or ExternalUrl of OWA, ECP, EWS, ActiveSync and the OAB, no Outlook",
            "Anywhere host name and no AutoDiscoverServiceInternalUri (the CAS array FQDN is",
            "for RPC only). Add client_hostnames and generate this script again to set them.",
        ):
            script.add(f"Write-Warning {ps_string(line)}")
        script.add("")
        return
    for setting in CLIENT_SETTINGS:
        if not _exists(spec, setting):
            continue
        script.add(f"Write-Step {ps_string(_title(spec, setting))}")
        if setting.directory not in served_directories(spec):
            _left_alone(script, spec, setting)
        else:
            match setting.kind:
                case "url":
                    _virtual_directory_urls(script, spec, setting)
                case "outlook-anywhere":
                    _outlook_anywhere(script, spec, host)
                case "autodiscover":
                    _autodiscover(script, spec)
                case _:
                    assert_never(setting.kind)
        script.add("")


def _title(spec: ArraySpec, setting: ClientSetting) -> str:
    match setting.kind:
        case "url":
            return f"{setting.label} ({setting.noun})"
        case "outlook-anywhere":
            return setting.label
        case "autodiscover":
            return f"Autodiscover (Set-{_client_access_noun(spec)} -{setting.noun})"
        case _:
            assert_never(setting.kind)


def _client_access_noun(spec: ArraySpec) -> str:
    return _CLIENT_ACCESS_NOUN.get(spec.exchange.major, "ClientAccessService")


def _left_alone(script: _Script, spec: ArraySpec, setting: ClientSetting) -> None:
    """A setting whose directory the array does not serve: said, and left as it is (clients are
    handed it by Autodiscover or the SCP: set to the namespace, it would send them where nothing
    answers)."""
    script.add("# Left as the members have it: this array's load balancer does not serve it.")
    script.add(
        "Write-Host "
        + ps_string(
            f"  left unchanged: this array does not publish {setting.directory} "
            f"({unserved_reason(spec)})"
        )
    )
    if setting.kind == "autodiscover":
        script.add(
            "Write-Host "
            + ps_string("  domain-joined Outlook keeps finding Autodiscover where the SCP says now")
        )


def _virtual_directory_urls(script: _Script, spec: ArraySpec, setting: ClientSetting) -> None:
    first = _FIRST_RELEASE.get((spec.exchange.major, setting.noun))
    if first is not None and not has_release(spec.exchange, first):
        note = (
            f"Exchange {spec.exchange} has no {setting.noun} (it came with {first}): "
            "nothing to set."
        )
        script.add(f"Write-Warning {ps_string(note)}")
        return
    url = f"${setting.noun}Url"
    with (
        script.block("foreach ($server in $Members)"),
        script.block(
            f"foreach ($directory in @(Get-{setting.noun} -Server $server{_get_options(spec)}))"
        ),
    ):
        with script.block(
            f"if ([string]$directory.InternalUrl -eq {url} -and "
            f"[string]$directory.ExternalUrl -eq {url})"
        ):
            script.say(f"  $($directory.Identity) uses {url} already")
        with script.block(
            "elseif ($PSCmdlet.ShouldProcess([string]$directory.Identity, "
            f'"set InternalUrl and ExternalUrl to {url}"))'
        ):
            script.add(
                f"Set-{setting.noun} -Identity $directory.Identity "
                f"-InternalUrl {url} -ExternalUrl {url}"
            )
            script.say(f"  $($directory.Identity) set to {url}")


def _autodiscover(script: _Script, spec: ArraySpec) -> None:
    noun = _client_access_noun(spec)
    with script.block("foreach ($server in $Members)"):
        script.add(f"$service = Get-{noun} -Identity $server")
        with script.block(
            "if ([string]$service.AutoDiscoverServiceInternalUri -eq $AutodiscoverUrl)"
        ):
            script.say("  $server uses $AutodiscoverUrl already")
        with script.block(
            "elseif ($PSCmdlet.ShouldProcess($server, "
            '"set AutoDiscoverServiceInternalUri to $AutodiscoverUrl"))'
        ):
            script.add(
                f"Set-{noun} -Identity $server -AutoDiscoverServiceInternalUri $AutodiscoverUrl"
            )
            script.say("  $server set to $AutodiscoverUrl")


def _outlook_anywhere(script: _Script, spec: ArraySpec, host: str) -> None:
    """Set-OutlookAnywhere: 2013+ both host names, SSL required inside and out; Exchange 2010's
    cmdlet has the external host name only (internal clients use RPC over TCP)."""
    with (
        script.block("foreach ($server in $Members)"),
        script.block(
            f"foreach ($directory in @(Get-OutlookAnywhere -Server $server{_get_options(spec)}))"
        ),
    ):
        if spec.exchange.family.has_cas_array:
            script.add(f"$same = [string]$directory.ExternalHostname -eq {host}")
            action, parameters = "the external host name", f"-ExternalHostname {host}"
        else:
            script.add(
                f"$same = [string]$directory.InternalHostname -eq {host} -and "
                f"[string]$directory.ExternalHostname -eq {host} -and",
                f"{INDENT}$directory.InternalClientsRequireSsl -and "
                "$directory.ExternalClientsRequireSsl",
            )
            action = "the internal and external host names"
            parameters = (
                f"-InternalHostname {host} -ExternalHostname {host} "
                "-InternalClientsRequireSsl $true -ExternalClientsRequireSsl $true"
            )
        with script.block("if ($same)"):
            script.say(f"  $($directory.Identity) uses {host} already")
        ssl = "" if spec.exchange.family.has_cas_array else ", SSL required"
        with script.block(
            "elseif ($PSCmdlet.ShouldProcess([string]$directory.Identity, "
            f'"set {action} to {host}{ssl}"))'
        ):
            script.add(f"Set-OutlookAnywhere -Identity $directory.Identity {parameters}")
            script.say(f"  $($directory.Identity) set to {host}")


def _keepalive(script: _Script) -> None:
    script.add("# -- TCP KeepAliveTime (milliseconds), below the LoadMaster's idle timeout.")
    script.add("Write-Step 'TCP KeepAliveTime'")
    with script.block("foreach ($server in $Members)"):
        script.add(
            f"$written = Set-MemberRegistryValue -Server $server -Path {ps_string(TCPIP_KEY)} "
            "-Name 'KeepAliveTime' -Type 'DWord' -Value $KeepAliveTimeMs"
        )
        with script.block("if ($written)"):
            script.add(
                'Write-Warning "$server : restart it (drained on the LoadMaster first) for TCP/IP '
                'to use the new KeepAliveTime."'
            )
    script.add("")


def _verification(script: _Script, spec: ArraySpec) -> None:
    script.add("# -- Verification: every setting read back (under -WhatIf: what is there now).")
    script.add("Write-Step 'Verification'")
    family = spec.exchange.family
    if family.has_cas_array:
        script.add("$array = @(Get-ClientAccessArray -Site $Site)")
        script.add(
            "$arrayFqdn = if ($array.Count -gt 0) { [string]$array[0].Fqdn } else { '(none)' }"
        )
        script.add(
            "Add-Check -Where $Site -Setting 'CAS array FQDN' -Expected $Fqdn -Actual $arrayFqdn"
        )
        with script.block("foreach ($database in $databases)"):
            script.add("$now = Get-MailboxDatabase -Identity $database.Identity")
            script.add(
                "Add-Check -Where $database.Name -Setting 'RpcClientAccessServer' "
                "-Expected $Fqdn -Actual ([string]$now.RpcClientAccessServer)"
            )
    with script.block("foreach ($server in $Members)"):
        if family.has_cas_array and spec.rpc_ports is not None:
            _check_registry(
                script, RPC_PARAMETERS_KEY, "TCP/IP Port", "DWord", "$RpcClientAccessPort"
            )
            if has_release(spec.exchange, _ADDRESS_BOOK_REGISTRY_FROM):
                _check_registry(
                    script, ADDRESS_BOOK_KEY, "RpcTcpPort", "String", "$AddressBookPort"
                )
        _check_registry(script, TCPIP_KEY, "KeepAliveTime", "DWord", "$KeepAliveTimeMs")
        host = https_host_variable(spec)
        if host is not None:
            _check_https(script, spec, host)
    script.add("$script:Checks | Format-Table -AutoSize Where, Setting, Expected, Actual, Ok")
    script.add("$differ = @($script:Checks | Where-Object { -not $_.Ok }).Count")
    with script.block("if ($differ -gt 0)"):
        script.add(
            'Write-Warning "$differ setting(s) differ from the spec (Ok False above); '
            'under -WhatIf that is what a real run would change."'
        )
    with script.block("else"):
        script.add("Write-Host 'Every setting above matches the spec.'")
    script.add("")


def _check_https(script: _Script, spec: ArraySpec, host: str) -> None:
    """The verification rows of the URLs, Outlook Anywhere and Autodiscover of one member."""
    options = _get_options(spec)
    for setting in _url_settings(spec):
        first = _FIRST_RELEASE.get((spec.exchange.major, setting.noun))
        if first is not None and not has_release(spec.exchange, first):
            continue
        url = f"${setting.noun}Url"
        with script.block(
            f"foreach ($directory in @(Get-{setting.noun} -Server $server{options}))"
        ):
            for which in ("InternalUrl", "ExternalUrl"):
                script.add(
                    f"Add-Check -Where ([string]$directory.Identity) -Setting '{which}' "
                    f"-Expected {url} -Actual ([string]$directory.{which})"
                )
    if _sets(spec, "rpc"):
        _check_outlook_anywhere(script, spec, host)
    if _sets(spec, "autodiscover"):
        script.add(
            "Add-Check -Where $server -Setting 'AutoDiscoverServiceInternalUri' "
            "-Expected $AutodiscoverUrl "
            f"-Actual ([string](Get-{_client_access_noun(spec)} -Identity $server)"
            ".AutoDiscoverServiceInternalUri)"
        )


def _check_outlook_anywhere(script: _Script, spec: ArraySpec, host: str) -> None:
    options = _get_options(spec)
    with script.block(f"foreach ($directory in @(Get-OutlookAnywhere -Server $server{options}))"):
        names: tuple[str, ...] = ("ExternalHostname",)
        flags: tuple[str, ...] = ()
        if not spec.exchange.family.has_cas_array:
            names = ("InternalHostname", "ExternalHostname")
            flags = ("InternalClientsRequireSsl", "ExternalClientsRequireSsl")
        for which in names:
            script.add(
                f"Add-Check -Where ([string]$directory.Identity) -Setting '{which}' "
                f"-Expected {host} -Actual ([string]$directory.{which})"
            )
        for which in flags:
            script.add(
                f"Add-Check -Where ([string]$directory.Identity) -Setting '{which}' "
                f"-Expected 'True' -Actual ([string]$directory.{which})"
            )


def _check_registry(script: _Script, key: str, name: str, kind: str, expected: str) -> None:
    script.add(
        f"$value = Get-MemberRegistryValue -Server $server -Path {ps_string(key)} "
        f"-Name {ps_string(name)}"
    )
    script.add(
        "$actual = if ($null -eq $value) { '(absent)' } "
        'else { "$($value.Value) ($($value.Kind))" }'
    )
    script.add(
        f"Add-Check -Where $server -Setting {ps_string(name)} "
        f'-Expected "{expected} ({kind})" -Actual $actual'
    )


def _cas_array_names(script: _Script, spec: ArraySpec) -> None:
    """The 2010 checklist's client host names: DNS inside and the members' certificate."""
    if spec.client_hostnames:
        script.say(
            "[ ] DNS: each client host name resolves to $Vip inside: $($ClientHostnames -join ', ')"
        )
        script.say(
            "[ ] Certificate on every member: the client host names "
            "($($ClientHostnames -join ', ')),"
        )
    else:
        script.say(
            "[ ] Certificate on every member: the names HTTPS clients use (the spec lists no "
            "client_hostnames),"
        )
    script.say("    not the CAS array FQDN (Outlook's RPC over TCP to $Fqdn does not use TLS).")


def _terminating_certificate(spec: ArraySpec) -> str | None:
    """The certificate the LoadMaster terminates the array's TLS with (a per-protocol array
    publishing ``https``: its ``certificate:``), or None when the members terminate it."""
    if spec.layout != "per-protocol" or PARENT_SERVICE not in spec.enabled_services:
        return None
    return spec.certificate


def _client_names(spec: ArraySpec) -> tuple[str, ...]:
    """The names clients reach a 2013+ array by: its namespace (the FQDN), then its client
    host names, each once (compared without regard to case)."""
    names: dict[str, str] = {}
    for name in (spec.fqdn, *spec.client_hostnames):
        names.setdefault(name.rstrip(".").lower(), name)
    return tuple(names.values())


def _checklist(script: _Script, spec: ArraySpec) -> None:
    family = spec.exchange.family
    script.add("# -- What this script does not do.")
    if family.has_cas_array:
        script.add("Write-Step 'Not done by this script: check each by hand'")
        script.say("[ ] DNS: $Fqdn resolves to $Vip (lmctl exchange check tests it).")
        script.say("    The CAS array FQDN is internal only: no record for it in the public zone.")
        _cas_array_names(script, spec)
    else:
        script.add("# The names clients use: the namespace, then the client host names.")
        _list(script, "ClientNames", _client_names(spec))
        script.add("Write-Step 'Not done by this script: check each by hand'")
        script.say(
            "[ ] DNS: each name clients use resolves to ${Vip}: $($ClientNames -join ', ') "
            "(lmctl exchange check tests it)."
        )
        script.say("[ ] Certificate on every member: $($ClientNames -join ', ').")
    if _terminating_certificate(spec) is not None:
        script.say(
            "[ ] Certificate on the LoadMaster: $Certificate (the spec's certificate:) terminates "
            "TLS on ${Vip}: it must name $($ClientNames -join ', ')."
        )
        script.say(
            "    (Moving blue/green under a temporary namespace, docs/layouts.md: the temporary "
            "name too, while it is tested.)"
        )
    script.say(
        "[ ] Firewalls: clients to $Vip on TCP $($ServicePorts -join ', '); "
        "the LoadMaster to every member on the same ports."
    )
    if "http-redirect" in spec.enabled_services:
        script.say("    And clients to $Vip on TCP 80 (the LoadMaster redirects it to HTTPS).")
    unchanged = left_unchanged(spec)
    if unchanged:
        script.add(
            "Write-Host "
            + ps_string(
                "[ ] Left unchanged, as this array does not publish them: "
                + ", ".join(s.label for s in unchanged)
                + "."
            )
        )
        script.say("    Check on the members that each points at a name that serves it.")
    script.say(
        "[ ] The LoadMaster side: lmctl plan, then lmctl apply (this script never touches it)."
    )
    script.say("[ ] A restart of each member whose KeepAliveTime changed, one at a time, drained.")
