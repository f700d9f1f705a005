"""``lmctl exchange script``: the generated PowerShell, golden per release, and its structure.

The golden files under ``golden/`` are the scripts an admin gets; regenerate them with
``LMCTL_UPDATE_GOLDEN=1 pytest tests/cutover/test_exchange_script.py`` and read the diff.
The structure tests read the script as PowerShell does (``powershell.py``): blocks balanced,
every command one Microsoft documents (or the script's own), every spec value inside a
single-quoted string and nowhere else.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from cutover_specs import (
    BRANCH_2010_DYNAMIC,
    HQ_2010_STATIC,
    NAMESPACE_2016,
    PER_PROTOCOL_SUBSET,
    SPECS,
    write_specs,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from powershell import (
    assigned,
    commands,
    defined_functions,
    segments,
    string_expression,
    unbalanced,
)

from lmctl.cutover.script import CLIENT_SETTINGS, ScriptError, ps_string
from lmctl.releases import VIRTUAL_DIRECTORIES
from lmctl_testkit import Outcome, invoke

GOLDEN = Path(__file__).resolve().parent / "golden"

# Every command the scripts may call, each checked against Microsoft's documentation
# (docs/operations.md, "The Exchange side of a cutover", lists the pages).
DOCUMENTED = {
    # Exchange Management Shell
    "Get-ExchangeServer",
    "Get-ClientAccessArray",
    "New-ClientAccessArray",
    "Get-MailboxDatabase",
    "Set-MailboxDatabase",
    "Get-OwaVirtualDirectory",
    "Set-OwaVirtualDirectory",
    "Get-EcpVirtualDirectory",
    "Set-EcpVirtualDirectory",
    "Get-WebServicesVirtualDirectory",
    "Set-WebServicesVirtualDirectory",
    "Get-ActiveSyncVirtualDirectory",
    "Set-ActiveSyncVirtualDirectory",
    "Get-OabVirtualDirectory",
    "Set-OabVirtualDirectory",
    "Get-MapiVirtualDirectory",
    "Set-MapiVirtualDirectory",
    "Get-OutlookAnywhere",
    "Set-OutlookAnywhere",
    "Get-ClientAccessService",
    "Set-ClientAccessService",
    "Get-ClientAccessServer",
    "Set-ClientAccessServer",
    # Windows PowerShell
    "Get-Command",
    "Set-StrictMode",
    "Invoke-Command",
    "Test-Path",
    "Get-Item",
    "New-Item",
    "New-ItemProperty",
    "New-Object",
    "Restart-Service",
    "Write-Host",
    "Write-Warning",
    "Out-Null",
    "Where-Object",
    "ForEach-Object",
    "Format-Table",
}


def script_of(tmp_path: Path, name: str, text: str) -> str:
    specs = write_specs(tmp_path / "arrays", **{name: text})
    outcome = invoke("exchange", "script", name, str(specs))
    assert outcome.exit_code == 0, outcome.output
    return outcome.stdout


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_script_of_each_release_is_the_golden_one(tmp_path: Path, name: str) -> None:
    script = script_of(tmp_path, name, SPECS[name])
    golden = GOLDEN / f"{name}.ps1"
    if os.environ.get("LMCTL_UPDATE_GOLDEN"):
        golden.write_text(script, encoding="utf-8")
    assert script == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_script_is_well_formed_powershell(tmp_path: Path, name: str) -> None:
    script = script_of(tmp_path, name, SPECS[name])
    assert unbalanced(script) == []
    assert commands(script) - DOCUMENTED - defined_functions(script) == set()
    # "$Name:" in a double-quoted string reads as a drive-qualified variable: a parse error.
    for segment in segments(script):
        if segment.kind == "double":
            assert re.findall(r"\$(?!script:)\w+:", segment.text) == [], segment.text


def spec_values(text: str) -> list[str]:
    """The string values of a spec's YAML the script uses: the names (array and members), the
    site, the FQDN, the VIP, the client host names (member addresses it does not need)."""
    values = re.findall(r"(?:name|site|fqdn|vip): ([^,}\n]+)", text)
    values += re.findall(r"\[([^\]]+)\]", text.split("client_hostnames:")[1].split("\n")[0])
    return [v.strip() for value in values for v in value.split(",") if len(v.strip()) > 2]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_spec_value_is_inside_a_single_quoted_string(tmp_path: Path, name: str) -> None:
    script = script_of(tmp_path, name, SPECS[name])
    values = spec_values(SPECS[name])
    assert values
    outside = [
        (value, segment.kind, segment.text)
        for segment in segments(script)
        if segment.kind != "single"
        for value in values
        if value in segment.text
    ]
    assert outside == []
    literals = {s.value for s in segments(script) if s.kind == "single"}
    for value in values:
        assert value in literals or any(value in literal for literal in literals)


def test_hostile_spec_text_stays_a_string(tmp_path: Path) -> None:
    # A site name may hold any printable text: quotes of every kind, a subexpression.
    site = 'O\'Brien \u2018HQ\u2019 $(Remove-Item C:\\) "x" `n'
    text = HQ_2010_STATIC.replace("site: HQ", f"site: '{site.replace(chr(39), chr(39) * 2)}'")
    script = script_of(tmp_path, "hq-cas", text)
    assert assigned(script, "Site") == site
    pieces = segments(script)
    assert not any("Remove-Item" in s.text for s in pieces if s.kind != "single")
    assert unbalanced(script) == []
    assert commands(script) - DOCUMENTED - defined_functions(script) == set()


def test_non_ascii_spec_text_cannot_break_out_in_the_ansi_code_page(tmp_path: Path) -> None:
    # Windows PowerShell 5.1 reads a script without a BOM (saved with "> file.ps1") in the
    # ANSI code page: the UTF-8 of "\u0451" is D1 91, and cp1252 0x91 is a single quote to it.
    site = "Moskva\u0451; Start-Process calc.exe #"
    text = HQ_2010_STATIC.replace("site: HQ", f"site: '{site}'")
    script = script_of(tmp_path, "hq-cas", text)
    assert script.isascii()
    assert "$Site = ('Moskva' + [char]0x0451 + '; Start-Process calc.exe #')" in script
    assert assigned(script, "Site") == site
    assert commands(script) - DOCUMENTED - defined_functions(script) == set()


def test_a_control_character_is_refused_not_scripted(tmp_path: Path) -> None:
    text = NAMESPACE_2016.replace(
        "client_hostnames: [autodiscover.corp.example.com]",
        'client_hostnames: ["autodiscover.corp.example.com\\u001b]0;x\\u0007"]',
    )
    specs = write_specs(tmp_path / "arrays", **{"mail-2016": text})
    outcome = invoke("exchange", "script", "mail-2016", str(specs))
    assert outcome.exit_code == 1
    assert outcome.stdout == ""
    assert "client_hostnames[0]: 'autodiscover.corp.example.com\\x1b]0;x" in outcome.stderr
    assert "\x1b" not in outcome.output
    # Behind validation, the script itself refuses what no string literal can hold.
    with pytest.raises(ScriptError, match="control character"):
        ps_string("a\x1bb")


def test_without_static_ports_the_script_says_what_it_cannot_set(tmp_path: Path) -> None:
    script = script_of(tmp_path, "branch-cas", BRANCH_2010_DYNAMIC)
    assert "'TCP/IP Port'" not in script
    assert "RpcTcpPort" not in script
    assert "Restart-Service" not in script
    warnings = [line for line in script.splitlines() if line.startswith("Write-Warning")]
    assert "The spec sets no static RPC ports (rpc_ports): this script sets none." in warnings[0]
    # What it can set it still sets: the array, the databases, the keep-alive (900 s in ms).
    assert "New-ClientAccessArray -Name $ArrayName -Fqdn $Fqdn -Site $Site" in script
    assert "$KeepAliveTimeMs = 900000" in script


# The lines that change something: Exchange's Set-/New- cmdlets and the services' restart.
WRITE = re.compile(
    r"\s*(Set-(?!StrictMode|MemberRegistryValue)|New-(?!Object|Item)"
    r"|Invoke-Command -ComputerName \$server -ScriptBlock \{ Restart)"
)


def test_every_write_asks_should_process(tmp_path: Path) -> None:
    # -WhatIf reaches every write: each Set-/New- call and each restart sits under a
    # ShouldProcess in the lines before it (the script is an advanced script).
    for name, text in SPECS.items():
        script = script_of(tmp_path / name, name, text)
        assert "[CmdletBinding(SupportsShouldProcess = $true)]" in script.splitlines()
        lines = script.splitlines()
        writes = [index for index, line in enumerate(lines) if WRITE.match(line)]
        assert writes, name
        for index in writes:
            assert "ShouldProcess" in lines[index - 1], (name, lines[index])


def checklist(script: str) -> str:
    """The script's closing part: what it does not do, to check by hand."""
    return script.split("# -- What this script does not do.")[1]


def test_a_namespace_without_client_host_names_names_its_fqdn_to_resolve(tmp_path: Path) -> None:
    # 2013+: the namespace itself must resolve to the VIP; the checklist never joins an empty
    # list ("resolves to 10.10.2.50: " and nothing after it).
    text = NAMESPACE_2016.replace("client_hostnames: [autodiscover.corp.example.com]\n", "")
    script = script_of(tmp_path, "mail-2016", text)
    todo = checklist(script)
    assert "$ClientNames = @(\n    'mail.corp.example.com'\n)" in todo
    assert (
        "[ ] DNS: each name clients use resolves to ${Vip}: $($ClientNames -join ', ') "
        "(lmctl exchange check tests it)." in todo
    )
    assert "[ ] Certificate on every member: $($ClientNames -join ', ')." in todo
    assert "$ClientHostnames" not in todo
    assert unbalanced(script) == []


def test_the_names_to_resolve_are_the_fqdn_then_each_other_client_host_name_once(
    tmp_path: Path,
) -> None:
    text = NAMESPACE_2016.replace(
        "client_hostnames: [autodiscover.corp.example.com]",
        "client_hostnames: [MAIL.corp.example.com, autodiscover.corp.example.com]",
    )
    todo = checklist(script_of(tmp_path, "mail-2016", text))
    assert (
        "$ClientNames = @(\n    'mail.corp.example.com',\n    'autodiscover.corp.example.com'\n)"
        in todo
    )


def test_a_2010_array_without_client_host_names_lists_none_to_resolve(tmp_path: Path) -> None:
    text = BRANCH_2010_DYNAMIC.replace("client_hostnames: [mail-muc.corp.example.com]\n", "")
    todo = checklist(script_of(tmp_path, "branch-cas", text))
    assert "$ClientHostnames -join" not in todo
    assert "[ ] DNS: $Fqdn resolves to $Vip (lmctl exchange check tests it)." in todo
    assert "the names HTTPS clients use (the spec lists no client_hostnames)," in todo


def test_a_per_protocol_array_checks_the_certificate_on_the_loadmaster(tmp_path: Path) -> None:
    # The LoadMaster terminates TLS with the spec's certificate: it must carry the namespace
    # (and, moving blue/green, the temporary name: docs/layouts.md).
    script = script_of(tmp_path, "mail-pp", PER_PROTOCOL_SUBSET)
    assert assigned(script, "Certificate") == "webmail"
    todo = checklist(script).splitlines()
    at = todo.index(
        """Write-Host "[ ] Certificate on the LoadMaster: $Certificate (the spec's certificate:) """
        """terminates TLS on ${Vip}: it must name $($ClientNames -join ', ')." """.rstrip()
    )
    assert "temporary namespace, docs/layouts.md: the temporary name too" in todo[at + 1]
    single = script_of(tmp_path / "single", "mail-2016", NAMESPACE_2016)
    assert "$Certificate" not in single
    assert "Certificate on the LoadMaster" not in single


def test_2013_before_sp1_has_no_mapi_and_uses_set_client_access_server(tmp_path: Path) -> None:
    text = NAMESPACE_2016.replace("exchange: 2016 CU23", "exchange: 2013 CU3")
    script = script_of(tmp_path, "mail-2016", text)
    assert "Set-MapiVirtualDirectory" not in script
    assert "has no MapiVirtualDirectory (it came with SP1)" in script
    assert "Set-ClientAccessServer -Identity $server -AutoDiscoverServiceInternalUri" in script
    assert "ClientAccessService" not in script
    sp1 = script_of(tmp_path / "sp1", "mail-2016", text.replace("2013 CU3", "2013 SP1"))
    assert "Set-MapiVirtualDirectory -Identity $directory.Identity" in sp1


def script_to(tmp_path: Path, target: Path, *options: str) -> Outcome:
    specs = write_specs(
        tmp_path / "arrays", **{"hq-cas": HQ_2010_STATIC.replace("site: HQ", "site: Zürich")}
    )
    return invoke("exchange", "script", "hq-cas", str(specs), "-o", str(target), *options)


def test_output_file_is_ascii_with_crlf(tmp_path: Path) -> None:
    target = tmp_path / "hq-cas.ps1"
    outcome = script_to(tmp_path, target)
    assert outcome.exit_code == 0, outcome.output
    data = target.read_bytes()
    assert data.isascii()
    assert b"$Site = ('Z' + [char]0x00FC + 'rich')\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_output_refuses_an_existing_file_and_a_link_unless_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "existing.ps1"
    existing.write_text("keep me\n")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me too\n")
    link = tmp_path / "link.ps1"
    link.symlink_to(victim)
    for target, kind in ((existing, "a regular file"), (link, "a symbolic link")):
        outcome = script_to(tmp_path, target)
        assert outcome.exit_code == 1
        assert outcome.stderr.endswith(
            f"\nerror: {target} already exists ({kind}); give --overwrite to replace it; "
            "nothing was written\n"
        )
    assert existing.read_text() == "keep me\n"
    assert victim.read_text() == "keep me too\n"
    # --overwrite replaces the file, and the link itself: what it points at stays untouched.
    for target in (existing, link):
        outcome = script_to(tmp_path, target, "--overwrite")
        assert outcome.exit_code == 0, outcome.output
        assert target.read_bytes().startswith(b"<#\r\n")
    assert not link.is_symlink()
    assert victim.read_text() == "keep me too\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_output_refuses_a_directory_even_with_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "dir.ps1"
    target.mkdir()
    outcome = script_to(tmp_path, target, "--overwrite")
    assert outcome.exit_code == 1
    assert f"{target} is a directory, no file lmctl may replace" in outcome.stderr


def test_output_dash_is_stdout(tmp_path: Path) -> None:
    outcome = script_to(tmp_path, Path("-"))
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.startswith("<#\n")
    assert not (Path.cwd() / "-").exists()


def test_an_unknown_array_is_an_error(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "arrays", **SPECS)
    outcome = invoke("exchange", "script", "nope", str(specs))
    assert outcome.exit_code == 1
    assert "error: no array named 'nope' in the specs; arrays: " in outcome.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp")), max_size=40))
def test_any_printable_text_is_ascii_and_reads_back_as_one_string(text: str) -> None:
    line = f"$Value = {ps_string(text)}\n"
    assert line.isascii()
    # ASCII: the bytes read the same as cp1252 (PowerShell 5.1 without a BOM) and as UTF-8.
    as_ansi = line.encode("utf-8").decode("cp1252")
    assert segments(as_ansi) == segments(line)
    # Only quoted strings, [char]s and the + between them outside the quotes.
    code = [p.text for p in segments(line) if p.kind == "code"]
    assert code[0] in ("$Value = ", "$Value = (")
    assert all(re.fullmatch(r"[() +]*(\[char\]0x[0-9A-F]{4}[ +]*)*\)?\n?", c) for c in code[1:])
    assert assigned(line, "Value") == text
    assert string_expression(ps_string(text)) == (text, len(ps_string(text)))


def test_2010_points_the_https_services_at_the_first_client_host_name(tmp_path: Path) -> None:
    script = script_of(tmp_path, "hq-cas", HQ_2010_STATIC)
    assert assigned(script, "HttpsHostname") == "mail.corp.example.com"
    assert assigned(script, "OwaVirtualDirectoryUrl") == "https://mail.corp.example.com/owa"
    assert assigned(script, "AutodiscoverUrl") == (
        "https://mail.corp.example.com/Autodiscover/Autodiscover.xml"
    )
    # The CAS array FQDN is for RPC only: no URL and no Outlook Anywhere name carries it.
    assert "https://outlook-hq" not in script
    for noun in ("Owa", "Ecp", "WebServices", "ActiveSync", "Oab"):
        assert (
            f"Set-{noun}VirtualDirectory -Identity $directory.Identity "
            f"-InternalUrl ${noun}VirtualDirectoryUrl -ExternalUrl ${noun}VirtualDirectoryUrl"
        ) in script
    assert (
        "Set-OutlookAnywhere -Identity $directory.Identity -ExternalHostname $HttpsHostname\n"
        in (script)
    )
    assert "Set-ClientAccessServer -Identity $server -AutoDiscoverServiceInternalUri" in script
    # Exchange 2010 has no MAPI over HTTP, and its Set-OutlookAnywhere no internal host name.
    assert "Mapi" not in script
    assert "InternalHostname" not in script


def test_2010_without_client_host_names_says_what_it_cannot_set(tmp_path: Path) -> None:
    text = BRANCH_2010_DYNAMIC.replace("client_hostnames: [mail-muc.corp.example.com]\n", "")
    script = script_of(tmp_path, "branch-cas", text)
    assert "Set-OwaVirtualDirectory" not in script
    assert "Set-OutlookAnywhere" not in script
    warnings = [line for line in script.splitlines() if line.startswith("Write-Warning")]
    assert any("lists no client host names (client_hostnames)" in w for w in warnings)
    assert unbalanced(script) == []


def test_the_verification_reads_back_the_outlook_anywhere_ssl_flags(tmp_path: Path) -> None:
    script = script_of(tmp_path, "mail-2016", NAMESPACE_2016)
    for flag in ("InternalClientsRequireSsl", "ExternalClientsRequireSsl"):
        assert (
            f"Add-Check -Where ([string]$directory.Identity) -Setting '{flag}' "
            f"-Expected 'True' -Actual ([string]$directory.{flag})"
        ) in script


def test_only_the_requested_arrays_diagnostics_are_shown(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "arrays", **SPECS)
    outcome = invoke("exchange", "script", "hq-cas", str(specs))
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.stderr.splitlines()
    # hq-cas's own end-of-support notice, nothing of branch-cas (its warning) or mail-2016.
    assert len(lines) == 1, lines
    assert "hq-cas.yaml: notice: exchange: Exchange 2010 (hq-cas) reached the end" in lines[0]


def test_a_spec_error_says_no_script_was_generated(tmp_path: Path) -> None:
    specs = write_specs(tmp_path / "arrays", **{"hq-cas": HQ_2010_STATIC.replace("vip:", "vipp:")})
    outcome = invoke("exchange", "script", "hq-cas", str(specs))
    assert outcome.exit_code == 1
    assert outcome.stderr.endswith(
        "error: the specs have errors (see above); no script was generated\n"
    )


@pytest.mark.parametrize("command", ["script", "check"])
def test_the_help_lists_the_exit_codes(command: str) -> None:
    outcome = invoke("exchange", command, "--help")
    text = " ".join(outcome.stdout.split())
    assert "Exit codes: 0 " in text
    assert "; 1 error (bad specs, unknown array" in text
    assert "; 64 usage error (a bad option)." in text


# What the script sets per directory the array publishes: (lmctl's name, its Set- command, the
# variable holding its URL, or None when it takes a host name).
SET_BY_DIRECTORY = {
    "owa": ("Set-OwaVirtualDirectory", "OwaVirtualDirectoryUrl"),
    "ecp": ("Set-EcpVirtualDirectory", "EcpVirtualDirectoryUrl"),
    "ews": ("Set-WebServicesVirtualDirectory", "WebServicesVirtualDirectoryUrl"),
    "Microsoft-Server-ActiveSync": (
        "Set-ActiveSyncVirtualDirectory",
        "ActiveSyncVirtualDirectoryUrl",
    ),
    "oab": ("Set-OabVirtualDirectory", "OabVirtualDirectoryUrl"),
    "mapi": ("Set-MapiVirtualDirectory", "MapiVirtualDirectoryUrl"),
    "rpc": ("Set-OutlookAnywhere", None),
    "autodiscover": ("Set-ClientAccessService", "AutodiscoverUrl"),
}


def script_outcome(tmp_path: Path, name: str, text: str) -> Outcome:
    specs = write_specs(tmp_path / "arrays", **{name: text})
    outcome = invoke("exchange", "script", name, str(specs))
    assert outcome.exit_code == 0, outcome.output
    return outcome


def test_per_protocol_sets_only_the_directories_the_array_publishes(tmp_path: Path) -> None:
    # directories: [owa, ecp, ews]: the load balancer serves nothing else at the namespace.
    outcome = script_outcome(tmp_path, "mail-pp", PER_PROTOCOL_SUBSET)
    script = outcome.stdout
    for directory in ("owa", "ecp", "ews"):
        command, variable = SET_BY_DIRECTORY[directory]
        assert command in commands(script)
        assert variable is not None
        assert assigned(script, variable).startswith("https://webmail.contoso.test/")
    left = ("Microsoft-Server-ActiveSync", "oab", "mapi", "rpc", "autodiscover")
    for directory in left:
        command, variable = SET_BY_DIRECTORY[directory]
        assert command not in commands(script), directory
        if variable is not None:
            assert f"${variable}" not in script, directory
        # Named in the script's output, with the reason.
        assert (
            f"Write-Host '  left unchanged: this array does not publish {directory} "
            "(its directories list owa, ecp, ews)'"
        ) in script
        # And on the terminal, apart from the script.
        assert f"  {directory}: " in outcome.stderr
    for path in ("/OAB", "/mapi", "/Microsoft-Server-ActiveSync", "/Autodiscover"):
        assert f"https://webmail.contoso.test{path}" not in script
    # Nor does the verification expect them.
    assert "AutoDiscoverServiceInternalUri" not in "".join(
        line for line in script.splitlines() if line.lstrip().startswith("Add-Check")
    )
    assert "Get-OabVirtualDirectory" not in script
    assert (
        "note: the script leaves 5 setting(s) unchanged: array mail-pp does not publish their "
        "directories at webmail.contoso.test (its directories list owa, ecp, ews):"
    ) in outcome.stderr
    assert "Left unchanged, as this array does not publish them: ActiveSync" in script


def test_per_protocol_with_every_directory_is_the_single_service_script(tmp_path: Path) -> None:
    every = PER_PROTOCOL_SUBSET.replace("directories: [owa, ecp, ews]\n", "")
    listed = PER_PROTOCOL_SUBSET.replace(
        "[owa, ecp, ews]", "[" + ", ".join(VIRTUAL_DIRECTORIES) + "]"
    )
    single = every.replace("layout: per-protocol\ncertificate: webmail\n", "")
    expected = script_outcome(tmp_path / "single", "mail-pp", single)
    for text in (every, listed):
        outcome = script_outcome(tmp_path / str(len(text)), "mail-pp", text)
        # Only the certificate the LoadMaster terminates TLS with is the layout's own.
        lines = outcome.stdout.splitlines(keepends=True)
        own = [i for i, line in enumerate(lines) if "$Certificate" in line]
        assert len(own) == 2
        assert "temporary namespace" in lines[own[1] + 1]
        del lines[own[1] : own[1] + 2], lines[own[0]]
        assert "".join(lines) == expected.stdout
        assert "left unchanged" not in outcome.output
    script = expected.stdout
    for directory, (command, variable) in SET_BY_DIRECTORY.items():
        assert command in commands(script), directory
        if variable is not None:
            assert assigned(script, variable).startswith("https://webmail.contoso.test/")
    assert assigned(script, "AutodiscoverUrl") == (
        "https://webmail.contoso.test/Autodiscover/Autodiscover.xml"
    )


def test_without_autodiscover_the_scp_is_left_and_said(tmp_path: Path) -> None:
    text = PER_PROTOCOL_SUBSET.replace("[owa, ecp, ews]", "[owa, ews, mapi, rpc, oab]")
    outcome = script_outcome(tmp_path, "mail-pp", text)
    assert "Set-ClientAccessService" not in commands(outcome.stdout)
    assert "Set-OutlookAnywhere" in commands(outcome.stdout)
    assert "domain-joined Outlook keeps finding Autodiscover where the SCP says now" in (
        outcome.stdout
    )
    assert "  autodiscover: AutoDiscoverServiceInternalUri" in outcome.stderr
    assert "  ecp: InternalUrl and ExternalUrl of EcpVirtualDirectory" in outcome.stderr


def test_every_directory_of_lmctl_maps_to_one_setting_of_the_script() -> None:
    assert sorted(s.directory for s in CLIENT_SETTINGS) == sorted(VIRTUAL_DIRECTORIES)


def test_an_array_without_https_sets_no_url_and_says_why(tmp_path: Path) -> None:
    text = NAMESPACE_2016.replace("services: [https, http-redirect, smtp]", "services: [smtp]")
    outcome = script_outcome(tmp_path, "mail-2016", text)
    assert {command for command, _ in SET_BY_DIRECTORY.values()} & commands(outcome.stdout) == set()
    assert "https://mail.corp.example.com/" not in outcome.stdout
    assert "(its services do not include https)" in outcome.stderr
    assert "note: the script leaves 8 setting(s) unchanged" in outcome.stderr
