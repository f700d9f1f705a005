"""The rules and profiles Microsoft's and Kemp's Exchange guidance asks for, through the CLI:
what the guidance allows validates, what it forbids fails with the reason, and ``show`` gives
the values for long-lived Exchange connections. Each test names the rule it checks; the sources
are cited in docs/specs.md."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from spec_files import (
    BRANCH_2016,
    HQ_2010,
    INVENTORY,
    SpecOutcome,
    reported,
    run_lmctl,
    without_notices,
)

from lmctl_testkit import array_spec

HQ = "hq.yaml"


def namespace_2016(name: str, fqdn: str, vip: str, members: dict[str, str]) -> str:
    return array_spec(name, "HQ", "2016 CU23", vip, "lm-hq", members, fqdn=fqdn)


EX16 = {"HQ-EX16-01": "10.10.2.11", "HQ-EX16-02": "10.10.2.12"}


def validate(tmp_path: Path, files: Mapping[str, str | None], *args: str) -> SpecOutcome:
    return run_lmctl(tmp_path / "arrays", {"appliances.yaml": INVENTORY, **files}, *args)


def messages(output: str, file: str) -> list[str]:
    """The diagnostic lines of ``file`` (errors, warnings and notices)."""
    return [line for line in output.splitlines() if f"/{file}:" in line]


# -- what Microsoft's guidance allows ---------------------------------------------------------


def test_two_2016_namespaces_in_one_site_over_the_same_servers_validate(tmp_path: Path) -> None:
    # 2013+ has no CAS array object: a site may publish one namespace (and VIP) per protocol,
    # served by the same servers (Microsoft, load balancing in Exchange 2016).
    files = {
        "mail.yaml": namespace_2016("mail", "mail.corp.example.com", "10.10.2.50", EX16),
        "eas.yaml": namespace_2016("eas", "eas.corp.example.com", "10.10.2.51", EX16),
    }

    result = validate(tmp_path, files)

    assert result.exit_code == 0, result.output
    assert without_notices(result.output).strip() == (
        "valid: 2 arrays, 2 appliances in 3 files (0 errors, 0 warnings)"
    )


def test_a_2016_namespace_on_two_cus_warns_naming_the_servers(tmp_path: Path) -> None:
    # A rolling upgrade: members on different CUs of one release are normal, not an error.
    spec = namespace_2016("mail", "mail.corp.example.com", "10.10.2.50", EX16).replace(
        "address: 10.10.2.11}", "address: 10.10.2.11, exchange: 2016 CU22}"
    )

    result = validate(tmp_path, {"mail.yaml": spec})

    assert result.exit_code == 0, result.output
    assert reported(
        result,
        "mail.yaml",
        8,
        "members[0].exchange",
        "the members run different cumulative updates of Exchange 2016 "
        "(CU22: HQ-EX16-01; CU23: HQ-EX16-02); normal during a rolling upgrade",
        "warning",
    ), result.output


@pytest.mark.parametrize("written", ["SE RTM", "Exchange Server SE RTM", "15.2.2562.17"])
def test_an_exchange_se_namespace_validates_by_name_and_by_build(
    tmp_path: Path, written: str
) -> None:
    # Exchange Server SE (GA July 2025) continues 2019's builds: 15.2.2562.x is SE RTM.
    spec = array_spec(
        "mail-se", "HQ", f"'{written}'", "10.10.3.50", "lm-hq", EX16, fqdn="mail.corp.example.com"
    )

    result = validate(tmp_path, {"mail.yaml": spec})
    shown = run_lmctl(tmp_path / "arrays", {}, "show", "mail-se", str(tmp_path / "arrays"))

    assert result.exit_code == 0, result.output
    # SE is in support (Modern Lifecycle): no notice.
    assert result.output.strip() == "valid: 1 array, 2 appliances in 2 files (0 errors, 0 warnings)"
    assert shown.output.startswith("mail-se: Exchange SE RTM, site HQ, mail.corp.example.com")


# Exchange Server supportability matrix (coexistence), 2019 CU15's and SE's setup refusing
# Exchange 2013, and 2010's own CAS array: a member on another version than its namespace.
COEXISTENCE = {
    "2013 CU23 behind 2016": (
        "2016 CU23",
        "'15.0.1497.2'",
        "warning",
        "member HQ-EX16-02 runs Exchange 2013 CU23 behind an Exchange 2016 CU23 namespace: "
        "Microsoft supports this during a migration (Exchange 2013 CU10 or later",
    ),
    "2013 CU5 behind 2016": (
        "2016 CU23",
        "2013 CU5",
        "error",
        "member HQ-EX16-02 runs Exchange 2013 CU5, but Exchange 2016 coexists only with "
        "Exchange 2013 CU10 or later",
    ),
    "2013 CU23 behind 2019 CU14": ("2019 CU14", "2013 CU23", "warning", "Exchange 2013 CU21"),
    "2013 CU23 behind 2019 CU15": (
        "2019 CU15",
        "2013 CU23",
        "error",
        "and Exchange 2019 CU15 no longer coexists with Exchange 2013",
    ),
    "2019 CU14 behind SE": ("SE RTM", "2019 CU14", "warning", "Exchange 2019 CU14 or later"),
    "2019 CU13 behind SE": (
        "SE RTM",
        "2019 CU13",
        "error",
        "Exchange SE coexists only with Exchange 2019 CU14 or later",
    ),
    "2010 behind 2016": (
        "2016 CU23",
        "2010 SP3",
        "error",
        "which has CAS arrays and cannot serve an Exchange 2016 namespace",
    ),
}


@pytest.mark.parametrize(
    ("namespace", "member", "severity", "fragment"), COEXISTENCE.values(), ids=COEXISTENCE.keys()
)
def test_a_member_of_another_version_follows_microsofts_coexistence_rules(
    tmp_path: Path, namespace: str, member: str, severity: str, fragment: str
) -> None:
    spec = (
        namespace_2016("mail", "mail.corp.example.com", "10.10.2.50", EX16)
        .replace("2016 CU23", namespace)
        .replace("address: 10.10.2.12}", f"address: 10.10.2.12, exchange: {member}}}")
    )

    result = validate(tmp_path, {"mail.yaml": spec})

    assert result.exit_code == (1 if severity == "error" else 0), result.output
    assert reported(result, "mail.yaml", 9, "members[1].exchange", fragment, severity), (
        result.output
    )


# -- what it forbids ---------------------------------------------------------------------------


def test_2019_cu99_is_not_a_release(tmp_path: Path) -> None:
    spec = namespace_2016("mail", "mail.corp.example.com", "10.10.2.50", EX16).replace(
        "2016 CU23", "2019 CU99"
    )

    result = validate(tmp_path, {"mail.yaml": spec})

    assert result.exit_code == 1
    assert reported(
        result,
        "mail.yaml",
        3,
        "exchange",
        "'CU99' is not a release of Exchange 2019: its releases are RTM and CU1 to CU15 (the "
        "last cumulative update Microsoft has released)",
    ), result.output


def test_se_cu1_is_refused_until_microsoft_releases_it(tmp_path: Path) -> None:
    spec = array_spec(
        "mail-se", "HQ", "SE CU1", "10.10.3.50", "lm-hq", EX16, fqdn="mail.corp.example.com"
    )

    result = validate(tmp_path, {"mail.yaml": spec})

    assert result.exit_code == 1
    assert "'CU1' is not a release of Exchange SE: its only release is RTM" in result.output


def test_a_2010_array_fqdn_equal_to_another_specs_client_host_name_is_refused(
    tmp_path: Path,
) -> None:
    # Microsoft: the CAS array FQDN is internal and none of the OWA/EWS/EAS/Autodiscover names.
    branch = BRANCH_2016 + "client_hostnames: [outlook-hq.corp.example.com]\n"

    result = validate(tmp_path, {HQ: HQ_2010, "branch.yaml": branch})

    assert result.exit_code == 1
    assert reported(
        result,
        HQ,
        4,
        "fqdn",
        "the array FQDN 'outlook-hq.corp.example.com' is a client host name of namespace "
        "'branch-2016'",
    ), result.output
    assert (
        "must differ from the OWA/EWS/ActiveSync/Autodiscover/Outlook Anywhere names"
        in result.output
    )


def test_messages_about_a_2016_namespace_never_say_array_or_rpc_endpoint(tmp_path: Path) -> None:
    # For 2013+ the fqdn is the namespace itself; the 2010 array's words do not apply.
    single = {"HQ-EX16-01": "10.10.2.11"}
    first = namespace_2016("mail", "mail.corp.example.com", "10.10.2.50", single)
    second = (
        namespace_2016("mail", "mail.corp.example.com", "10.10.2.50", single)
        + "client_hostnames: [mail.corp.example.com]\n"
        + "overrides:\n  imap4: {idle_timeout: 600}\n"
    )

    result = validate(tmp_path, {"a.yaml": first, "b.yaml": second})

    lines = messages(result.output, "b.yaml")
    assert result.exit_code == 1
    assert len(lines) >= 4, result.output  # name, fqdn, VIP ports, the unpublished override
    for line in lines:
        assert " array" not in line.split(": ", 3)[-1] and "RPC endpoint" not in line, line
    assert "each namespace needs its own" in result.output


def test_smtp_members_go_only_on_transport_services(tmp_path: Path) -> None:
    spec = HQ_2010 + "overrides:\n  https:\n    members: [{name: HUB01, address: 10.10.1.21}]\n"

    result = validate(tmp_path, {HQ: spec})

    assert result.exit_code == 1
    assert "only smtp and submission may name members of their own" in result.output


def test_2010_rtm_with_static_ports_warns_about_the_address_book_port(tmp_path: Path) -> None:
    spec = HQ_2010.replace("2010 SP3", "2010 RTM")

    result = validate(tmp_path, {HQ: spec})

    assert result.exit_code == 0, result.output
    assert reported(
        result,
        HQ,
        7,
        "rpc_ports",
        "installing SP1 drops it: set it again afterwards as MSExchangeAB\\Parameters "
        "'RpcTcpPort' (REG_SZ)",
        "warning",
    ), result.output


# -- profiles for long-lived Exchange connections ----------------------------------------------


HQ_2010_IMAP = HQ_2010 + "services: [rpc, https, http-redirect, imap4s, imap4, pop3]\n"


def show_json(tmp_path: Path, spec: str) -> dict[str, dict[str, Any]]:
    outcome = run_lmctl(
        tmp_path / "arrays",
        {"appliances.yaml": INVENTORY, HQ: spec},
        "show",
        "hq-cas",
        str(tmp_path / "arrays"),
        "--format",
        "json",
    )
    assert outcome.exit_code == 0, outcome.output
    services = json.loads(outcome.stdout)["virtual_services"]
    return {vs["service"]: vs["settings"] for vs in services}


@pytest.mark.parametrize("keepalive", [None, 900, 7200])
def test_show_2010_long_lived_services_outlive_the_keepalive(
    tmp_path: Path, keepalive: int | None
) -> None:
    # Microsoft (HealthChecker, KeepAliveTime): the load balancer's idle timeout must exceed
    # the servers' keep-alive; ActiveSync's Direct Push heartbeat reaches 59 minutes.
    spec = HQ_2010_IMAP + (f"keepalive_time: {keepalive}\n" if keepalive else "")

    services = show_json(tmp_path, spec)

    declared = keepalive or 1800
    for name in ("rpc", "https"):
        assert int(services[name]["Idletime"]) > max(declared, 3540), services[name]
    # RPC is checked on the static RPC Client Access port, not the endpoint mapper.
    assert (services["rpc"]["CheckType"], services["rpc"]["CheckPort"]) == ("tcp", 60000)
    # Exchange ends an idle IMAP4/POP3 session after 30 minutes: the LoadMaster not before.
    for name in ("imap4s", "imap4", "pop3"):
        assert int(services[name]["Idletime"]) >= 1800, services[name]
    # Kemp's imap and pop3 checks on the plain ports; a TCP connect on the TLS port.
    checks = {name: services[name]["CheckType"] for name in ("imap4", "pop3", "imap4s")}
    assert checks == {"imap4": "imap", "pop3": "pop3", "imap4s": "tcp"}


@pytest.mark.parametrize(
    ("override", "field", "fragment"),
    [
        (
            "https: {idle_timeout: 1200}",
            "overrides.https.idle_timeout",
            "idle timeout 1200 s on https is not above the members' TCP keep-alive (1800 s",
        ),
        (
            "https: {idle_timeout: 3000}",
            "overrides.https.idle_timeout",
            "idle timeout 3000 s on https is not above ActiveSync's longest Direct Push "
            "heartbeat (3540 s)",
        ),
        (
            "imap4s: {idle_timeout: 0}",
            "overrides.imap4s.idle_timeout",
            "idle timeout 0 (the appliance's 660 s) on imap4s is not above Exchange's 1800 s "
            "idle session timeout",
        ),
        (
            "pop3: {idle_timeout: 1800}",
            "overrides.pop3.idle_timeout",
            "idle timeout 1800 s on pop3 is not above Exchange's 1800 s idle session timeout",
        ),
    ],
)
def test_an_idle_timeout_override_below_what_exchange_keeps_open_warns(
    tmp_path: Path, override: str, field: str, fragment: str
) -> None:
    spec = HQ_2010_IMAP + f"overrides:\n  {override}\n"

    result = validate(tmp_path, {HQ: spec})

    assert result.exit_code == 0, result.output
    assert reported(result, HQ, 13, field, fragment, "warning"), result.output


def test_end_of_support_is_a_notice_in_text_and_json_that_fails_nothing(tmp_path: Path) -> None:
    files = {HQ: HQ_2010, "branch.yaml": BRANCH_2016}

    result = validate(tmp_path, files)
    json_result = validate(tmp_path, files, "validate", str(tmp_path / "arrays"), "-f", "json")

    assert result.exit_code == json_result.exit_code == 0, result.output
    assert reported(
        result,
        HQ,
        3,
        "exchange",
        "Exchange 2010 (hq-cas) reached the end of Microsoft's support on 13 October 2020: no "
        "more security updates; move to Exchange 2016 CU23 (2019 and SE cannot coexist with "
        "2010), then Exchange Server SE",
        "notice",
    ), result.output
    assert result.output.rstrip().endswith("(0 errors, 0 warnings, 2 notices)")
    report = json.loads(json_result.output)
    assert (report["valid"], report["errors"], report["warnings"], report["notices"]) == (
        True,
        0,
        0,
        2,
    )


def test_a_non_local_member_of_a_transparent_service_is_refused(tmp_path: Path) -> None:
    # Kemp: "Transparency cannot be used with non-local Real Servers" (at layer 7 too).
    spec = (
        HQ_2010.replace("address: 10.10.1.12}", "address: 10.10.1.12, non_local: true}")
        + "services: [rpc, https, http-redirect, smtp]\n"
        + "overrides:\n  smtp: {transparent: true}\n"
    )

    result = validate(tmp_path, {HQ: spec})

    assert result.exit_code == 1
    assert reported(
        result,
        HQ,
        10,
        "members[1]",
        "member HQ-CAS02 is non-local (non_local: true), and smtp is transparent (transparent: "
        "true): the appliance cannot use transparency with non-local real servers; remove "
        "transparent: true",
    ), result.output


def test_a_member_on_a_version_past_its_support_gets_the_notice_with_a_move_microsoft_allows(
    tmp_path: Path,
) -> None:
    spec = BRANCH_2016.replace("address: 10.20.1.12}", "address: 10.20.1.12, exchange: 2013 CU23}")

    result = validate(tmp_path, {"branch.yaml": spec})

    assert result.exit_code == 0, result.output
    assert reported(
        result,
        "branch.yaml",
        9,
        "members[1].exchange",
        "Exchange 2013 (branch-2016) reached the end of Microsoft's support on 11 April 2023: "
        "no more security updates; move to Exchange 2016 CU23 or 2019 CU14 (SE's setup refuses "
        "Exchange 2013)",
        "notice",
    ), result.output
