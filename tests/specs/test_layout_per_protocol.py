"""The per-protocol layout in the specs: validation, expansion and ``lmctl show``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from lmctl.releases import VIRTUAL_DIRECTORIES
from lmctl.specs.loader import json_schema
from lmctl_testkit import (
    array_spec,
    invoke,
    write_spec_files,
)

INVENTORY = "appliances:\n  lm-hq:\n    url: mock://lm-hq\n"
MEMBERS = {"EX19-01": "10.30.1.11", "EX19-02": "10.30.1.12"}


def spec(exchange: str = "2019 CU14", extra: str = "") -> str:
    """A 2019 namespace (by default) with the per-protocol layout and ``extra`` lines."""
    base = array_spec(
        "mail-2019", "HQ", exchange, "10.30.1.50", "lm-hq", MEMBERS, fqdn="mail.example.com"
    )
    return base + "layout: per-protocol\ncertificate: mail-2019\n" + extra


def write(directory: Path, text: str) -> Path:
    write_spec_files(directory, {"appliances.yaml": INVENTORY, "mail.yaml": text})
    return directory


def test_show_nests_a_subvs_per_directory_under_the_tls_parent(tmp_path: Path) -> None:
    specs = write(tmp_path, spec(extra="directories: [owa, ews, Microsoft-Server-ActiveSync]\n"))
    outcome = invoke("show", "mail-2019", str(specs), "--format", "json")
    assert outcome.exit_code == 0, outcome.output
    https = json.loads(outcome.stdout)["virtual_services"][0]
    parent = https["settings"]
    assert (parent["Layer"], parent["SSLAcceleration"], parent["CertFile"]) == (
        7,
        True,
        "mail-2019",
    )
    assert parent["SSLReencrypt"] is True and parent["Persist"] is None
    assert https["real_servers"] == []
    subs = https["sub_services"]
    assert [sub["directory"] for sub in subs] == ["owa", "ews", "Microsoft-Server-ActiveSync"]
    ews = subs[1]
    assert ews["settings"]["NickName"] == "lmctl.mail-2019.https.ews"
    assert ews["settings"]["CheckUrl"] == "/ews/healthcheck.htm"
    assert ews["settings"]["CheckHost"] == "mail.example.com"
    assert ews["settings"]["CheckUse1.1"] is True and ews["settings"]["Persist"] is None
    assert [rs["address"] for rs in ews["real_servers"]] == list(MEMBERS.values())
    assert ews["rule"] == {
        "name": "lmctl.mail-2019.https.ews",
        "pattern": "/^\\/ews(\\/|$)/",
        "match_type": "regex",
        "nocase": True,
    }
    table = invoke("show", "mail-2019", str(specs))
    assert "https/ews" in table.stdout and "/ews/healthcheck.htm" in table.stdout
    assert "TLS mail-2019 re-encrypted" in table.stdout


def test_the_parents_check_names_a_directory_the_array_publishes(tmp_path: Path) -> None:
    # Without OWA the parent does not name /owa/healthcheck.htm (it holds no real servers,
    # so its check decides nothing, but an admin reads it).
    specs = write(tmp_path, spec(extra="directories: [ews, mapi]\n"))
    outcome = invoke("show", "mail-2019", str(specs), "--format", "json")
    assert outcome.exit_code == 0, outcome.output
    https = json.loads(outcome.stdout)["virtual_services"][0]
    assert https["settings"]["CheckUrl"] == "/ews/healthcheck.htm"
    assert "owa" not in invoke("show", "mail-2019", str(specs)).stdout


def test_all_eight_directories_by_default(tmp_path: Path) -> None:
    outcome = invoke("show", "mail-2019", str(write(tmp_path, spec())), "--format", "json")
    subs = json.loads(outcome.stdout)["virtual_services"][0]["sub_services"]
    assert [sub["directory"] for sub in subs] == list(VIRTUAL_DIRECTORIES)
    assert len(subs) == 8


def test_settings_the_layout_sets_itself_may_be_repeated(tmp_path: Path) -> None:
    extra = "overrides:\n  https:\n    layer: 7\n    transparent: false\n    persistence: none\n"
    outcome = invoke("validate", str(write(tmp_path, spec(extra=extra))))
    assert outcome.exit_code == 0, outcome.output


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (spec(exchange="2010 SP3"), 10, "no healthcheck.htm per virtual directory"),
        (spec().replace("certificate: mail-2019\n", ""), 10, "name its certificate"),
        (spec(extra="services: [http-redirect]\n"), 10, "add https"),
        (spec(extra="directories: [ews, ews]\n"), 12, "directory 'ews' is listed twice"),
        (spec(extra="directories: [webdav]\n"), 12, "directories"),
        (
            spec().replace("certificate: mail-2019", "certificate: bad name"),
            11,
            "'bad name' cannot name a certificate",
        ),
        (
            spec(extra="overrides:\n  https:\n    health_check: {url: /owa/healthcheck.htm}\n"),
            14,
            "remove health_check",
        ),
        (
            spec().replace("layout: per-protocol\n", ""),
            10,
            "certificate belongs to layout: per-protocol",
        ),
        # Settings the layout fixes are refused rather than dropped without a word.
        (
            spec(extra="overrides:\n  https:\n    transparent: true\n"),
            14,
            "the parent re-encrypts to the members, which a transparent VS cannot; remove "
            "transparent here",
        ),
        (
            spec(extra="overrides:\n  https:\n    persistence: src\n"),
            14,
            "no SubVS persists; remove persistence here",
        ),
        (
            spec(extra="overrides:\n  https:\n    persistence_timeout: 600\n"),
            14,
            "remove persistence_timeout here",
        ),
    ],
)
def test_validate_refuses_a_layout_it_cannot_build(
    tmp_path: Path, text: str, line: int | None, message: str
) -> None:
    outcome = invoke("validate", str(write(tmp_path, text)))
    assert outcome.exit_code != 0
    assert message in outcome.output
    if line is not None:
        assert f"mail.yaml:{line}" in outcome.output


def refused(tmp_path: Path, text: str) -> list[str]:
    """The error lines of ``lmctl validate`` over ``text``, which must refuse it (exit 1)."""
    outcome = invoke("validate", str(write(tmp_path, text)))
    assert outcome.exit_code == 1, outcome.output
    return [line for line in outcome.output.splitlines() if ": error: " in line]


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ("transparent: true", "overrides.https.transparent: with layout: per-protocol the parent"),
        ("layer: 4", "overrides.https.layer: with layout: per-protocol content switching"),
        ("{layer: 4, transparent: false}", "overrides.https.layer: with layout: per-protocol"),
    ],
)
def test_a_refused_transparency_override_gets_the_error_alone(
    tmp_path: Path, override: str, error: str
) -> None:
    # The layout runs https at layer 7, not transparent: no warning about the members' default
    # gateway (nor a non-local member's error), as if the refused setting applied.
    setting = override if override.startswith("{") else "{" + override + "}"
    text = spec(extra=f"overrides:\n  https: {setting}\n").replace(
        "address: 10.30.1.12}", "address: 10.30.1.12, non_local: true}"
    )
    assert "non_local: true" in text
    outcome = invoke("validate", str(write(tmp_path, text)))
    assert outcome.exit_code == 1, outcome.output
    problems = [
        line for line in outcome.output.splitlines() if ": error: " in line or ": warning: " in line
    ]
    assert len(problems) == 1, problems
    assert error in problems[0]
    assert "default gateway" not in outcome.output


def test_an_empty_directories_list_says_what_to_write_instead(tmp_path: Path) -> None:
    assert refused(tmp_path, spec(extra="directories: []\n")) == [
        f"{tmp_path / 'mail.yaml'}:12: error: directories: the list is empty: name at least "
        "one virtual directory (owa, ecp, ews, mapi, rpc, oab, Microsoft-Server-ActiveSync, "
        "autodiscover), or remove directories: to publish them all"
    ]


def test_directories_in_any_case_are_published_as_lmctl_spells_them(tmp_path: Path) -> None:
    # IIS ignores the case of a virtual directory; admins write EWS and OWA.
    text = spec(extra="directories: [EWS, Owa, microsoft-server-activesync]\n")
    specs = write(tmp_path, text)
    assert invoke("validate", str(specs)).exit_code == 0
    outcome = invoke("show", "mail-2019", str(specs), "--format", "json")
    subs = json.loads(outcome.stdout)["virtual_services"][0]["sub_services"]
    assert [sub["directory"] for sub in subs] == ["ews", "owa", "Microsoft-Server-ActiveSync"]
    ews = subs[0]
    assert ews["settings"]["NickName"] == "lmctl.mail-2019.https.ews"
    assert ews["settings"]["CheckUrl"] == "/ews/healthcheck.htm"
    assert ews["rule"]["name"] == "lmctl.mail-2019.https.ews"
    # The schema an editor checks the file with agrees.
    listed = {"directories": ["EWS", "Owa", "microsoft-server-activesync"]}
    schema = {**json_schema("array"), "required": []}
    jsonschema.validate(listed, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"directories": ["powershell"]}, schema)


def test_a_directory_in_two_spellings_is_listed_twice(tmp_path: Path) -> None:
    assert refused(tmp_path, spec(extra="directories: [ews, EWS]\n")) == [
        f"{tmp_path / 'mail.yaml'}:12: error: directories[1]: directory 'ews' is listed twice "
        "(as 'ews' and 'EWS': case does not matter); list each directory once"
    ]


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("activesync", "(did you mean 'Microsoft-Server-ActiveSync'?)"),
        ("ActiveSync", "(did you mean 'Microsoft-Server-ActiveSync'?)"),
        ("eas", "(did you mean 'Microsoft-Server-ActiveSync'?)"),
        ("/EWS", "(did you mean 'ews'?)"),
        # Any case, but ASCII: a look-alike letter (the long s) is not taken for its letter.
        ("Micro\u017foft-Server-ActiveSync", "(did you mean 'Microsoft-Server-ActiveSync'?)"),
        ("autodiscovr", "(did you mean 'autodiscover'?)"),
        ("webdav", "; allowed, in any case: 'owa', 'ecp', 'ews', 'mapi', 'rpc', 'oab', "),
    ],
)
def test_an_unknown_directory_names_the_one_it_likely_means(
    tmp_path: Path, written: str, message: str
) -> None:
    [line] = refused(tmp_path, spec(extra=f"directories: [{written}]\n"))
    assert line.startswith(
        f"{tmp_path / 'mail.yaml'}:12: error: directories[0]: '{written}' is not a virtual "
        "directory lmctl publishes"
    )
    assert message in line
    assert line.endswith("'Microsoft-Server-ActiveSync' or 'autodiscover'")


def test_powershell_is_refused_with_the_reason(tmp_path: Path) -> None:
    assert refused(tmp_path, spec(extra="directories: [powershell]\n")) == [
        f"{tmp_path / 'mail.yaml'}:12: error: directories[0]: 'powershell' is not published by "
        "lmctl: remote PowerShell is for administrators, who connect to one server "
        "(http://<server FQDN>/PowerShell/ with Kerberos), not through the client namespace; "
        "remove it"
    ]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        (
            "'mail 2019'",
            "'mail 2019' cannot name a certificate on the appliance: character 5 is a space",
        ),
        ("-mail", "'-mail' cannot name a certificate on the appliance: character 1 is '-'"),
        (
            "x" * 65,
            f"'{'x' * 40}…' cannot name a certificate on the appliance: it has 65 characters",
        ),
    ],
)
def test_a_bad_certificate_name_says_which_characters_are_allowed(
    tmp_path: Path, written: str, problem: str
) -> None:
    text = spec().replace("certificate: mail-2019", f"certificate: {written}")
    assert refused(tmp_path, text) == [
        f"{tmp_path / 'mail.yaml'}:11: error: certificate: {problem}; use letters, digits and "
        ". @ - _, starting with a letter or digit, at most 64, as the appliance's certificate "
        "list shows it (e.g. mail-2019)"
    ]
