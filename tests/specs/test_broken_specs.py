"""Broken array specs and inventories through ``lmctl validate``: exit code 1 and a message that
names file, line and field, and says what is wrong and what is allowed."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest
from spec_files import (
    BRANCH_2016,
    HQ_2010,
    INVENTORY,
    reported,
    run_lmctl,
    without_notices,
    write_files,
)

from lmctl.exchange import expand
from lmctl.specs import load_specs
from lmctl_testkit import SpecFiles


class Broken(NamedTuple):
    """One broken input and the diagnostic it must produce."""

    files: SpecFiles
    file: str
    line: int | None
    field: str
    fragment: str


def edit(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced once (the old text must be there)."""
    assert old in text
    return text.replace(old, new, 1)


HQ = "hq.yaml"

BROKEN: dict[str, Broken] = {
    # --- YAML itself -------------------------------------------------------------------------
    "unclosed flow list": Broken(
        {HQ: edit(HQ_2010, "  - {name: HQ-CAS02, address: 10.10.1.12}", "  - [HQ-CAS02, 10.1")},
        HQ,
        10,
        "",
        "malformed YAML: did not find expected ',' or ']'; while parsing a flow sequence; "
        "the parser noticed it only on line 11",
    ),
    "key without a colon, comments below": Broken(
        {HQ: edit(HQ_2010, "appliance: lm-hq\n", "appliance lm-hq\n# the head office LM\n\n")},
        HQ,
        6,
        "",
        "malformed YAML: a key without ':' (write key: value); "
        "the parser noticed it only on line 7",
    ),
    "a tab indenting a list item": Broken(
        {HQ: edit(HQ_2010, "  - {name: HQ-CAS02", "\t- {name: HQ-CAS02")},
        HQ,
        10,
        "",
        "malformed YAML: a tab character; YAML indents with spaces only: replace the tab with "
        "spaces",
    ),
    "unclosed quote": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: 'HQ")},
        HQ,
        2,
        "",
        "malformed YAML: found unexpected end of stream; while scanning a quoted scalar; "
        "the parser noticed it only on line 11",
    ),
    "a list item one column too far left": Broken(
        {HQ: edit(HQ_2010, "  - {name: HQ-CAS02", " - {name: HQ-CAS02")},
        HQ,
        10,
        "",
        "malformed YAML: did not find expected key; while parsing a block mapping "
        "(in the block that starts on line 1)",
    ),
    "bad indentation": Broken(
        {HQ: edit(HQ_2010, "site: HQ", " site: HQ")}, HQ, 2, "", "malformed YAML"
    ),
    "mapping value in plain scalar": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: HQ: West")},
        HQ,
        2,
        "",
        "mapping values are not allowed",
    ),
    "tab indentation": Broken(
        {HQ: HQ_2010 + "overrides:\n\thttps: {}\n"}, HQ, 12, "", "malformed YAML"
    ),
    "duplicate top-level key": Broken(
        {HQ: HQ_2010 + "vip: 10.10.1.51\n"},
        HQ,
        11,
        "vip",
        "duplicate key 'vip' (first given on line 5)",
    ),
    "duplicate key inside a member": Broken(
        {
            HQ: edit(
                HQ_2010,
                "{name: HQ-CAS01, address: 10.10.1.11}",
                "{name: HQ-CAS01, address: 10.10.1.11, address: 10.10.1.19}",
            )
        },
        HQ,
        9,
        "members[0].address",
        "duplicate key 'address'",
    ),
    "two documents in one file": Broken(
        {HQ: HQ_2010 + "---\nname: other\n"}, HQ, 11, "", "more than one YAML document"
    ),
    "merge key": Broken(
        {HQ: HQ_2010 + "overrides:\n  https:\n    <<: {layer: 4}\n"},
        HQ,
        13,
        "overrides.https",
        "merge keys (<<) are not supported",
    ),
    "python object tag": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: !!python/object/apply:os.system [id]")},
        HQ,
        2,
        "site",
        "tag '!!python/object/apply:os.system' is not allowed",
    ),
    "unknown local tag": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: !site HQ")},
        HQ,
        2,
        "site",
        "the YAML tag '!site' is not allowed in a spec; write plain values",
    ),
    "binary tag": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: !!binary SFE=")},
        HQ,
        2,
        "site",
        "the YAML tag '!!binary' is not allowed",
    ),
    "unquoted impossible date": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: 2020-13-45")},
        HQ,
        2,
        "site",
        "the value is not a valid date; put it in quotes if it is meant as text",
    ),
    "explicit bool tag on a word": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: !!bool maybe")},
        HQ,
        2,
        "site",
        "the value is not true or false",
    ),
    "explicit int tag on a word": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: !!int HQ")},
        HQ,
        2,
        "site",
        "the value is not a whole number",
    ),
    "control character": Broken(
        {HQ: edit(HQ_2010, "site: HQ", "site: H\x07Q")},
        HQ,
        2,
        "",
        "the file holds the control character U+0007, which YAML does not allow; remove it",
    ),
    "recursive alias": Broken(
        {HQ: HQ_2010 + "services: &s [https, *s]\n"}, HQ, 11, "services", "nesting deeper than"
    ),
    "deep flow nesting": Broken(
        {HQ: HQ_2010 + "services: " + "[" * 2000 + "]" * 2000 + "\n"}, HQ, 11, "", "malformed YAML"
    ),
    "top level is a list": Broken(
        {HQ: "- name: hq-cas\n- site: HQ\n"}, HQ, 1, "", "expected a mapping at the top"
    ),
    "top level is text": Broken({HQ: "just some words\n"}, HQ, 1, "", "expected a mapping"),
    # --- wrong types, unknown and missing keys ----------------------------------------------
    "unknown top-level key with a typo": Broken(
        {HQ: HQ_2010 + "schedulng: rr\n"},
        HQ,
        11,
        "schedulng",
        "unknown key 'schedulng' (did you mean 'scheduling'?)",
    ),
    "unknown member key": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.11}", "address: 10.10.1.11, wieght: 2}")},
        HQ,
        9,
        "members[0].wieght",
        "allowed keys here: name, address, weight",
    ),
    "missing fqdn": Broken(
        {HQ: edit(HQ_2010, "fqdn: outlook-hq.corp.example.com\n", "")},
        HQ,
        1,
        "fqdn",
        "required key 'fqdn' is missing: the FQDN: for 2010 the CAS array FQDN that Outlook",
    ),
    "missing member address": Broken(
        {HQ: edit(HQ_2010, "{name: HQ-CAS02, address: 10.10.1.12}", "{name: HQ-CAS02}")},
        HQ,
        10,
        "members[1].address",
        "required key 'address' is missing: the server's IP address, e.g. 10.10.1.11",
    ),
    "member without name": Broken(
        {HQ: edit(HQ_2010, "{name: HQ-CAS02, address: 10.10.1.12}", "{address: 10.10.1.12}")},
        HQ,
        10,
        "members[1].name",
        "required key 'name' is missing",
    ),
    "members is text": Broken(
        {HQ: edit(HQ_2010, "members:\n", "members: HQ-CAS01\nx_members:\n")},
        HQ,
        8,
        "members",
        "expected a list, got text",
    ),
    "no members": Broken(
        {HQ: HQ_2010.split("members:")[0] + "members: []\n"},
        HQ,
        8,
        "members",
        "an array needs at least one member",
    ),
    "weight is a word": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.12}", "address: 10.10.1.12, weight: heavy}")},
        HQ,
        10,
        "members[1].weight",
        "expected a whole number from 1 to 65530 (got 'heavy')",
    ),
    "weight too large": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.12}", "address: 10.10.1.12, weight: 70000}")},
        HQ,
        10,
        "members[1].weight",
        "expected a whole number from 1 to 65530 (got 70000)",
    ),
    "enabled is not a flag": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.12}", "address: 10.10.1.12, enabled: maybe}")},
        HQ,
        10,
        "members[1].enabled",
        "expected true or false (got 'maybe')",
    ),
    "vip is not an address": Broken(
        {HQ: edit(HQ_2010, "vip: 10.10.1.50", "vip: 10.10.1.300")},
        HQ,
        5,
        "vip",
        "'10.10.1.300' is not an IP address",
    ),
    "vip is a list": Broken(
        {HQ: edit(HQ_2010, "vip: 10.10.1.50", "vip: [10.10.1.50]")},
        HQ,
        5,
        "vip",
        "expected text, got a list",
    ),
    "array name with capitals": Broken(
        {HQ: edit(HQ_2010, "name: hq-cas", "name: HQ_CAS")},
        HQ,
        1,
        "name",
        "expected lower-case letters, digits and hyphens",
    ),
    "exchange version without service pack": Broken(
        {HQ: edit(HQ_2010, "exchange: 2010 SP3", "exchange: 2010")},
        HQ,
        3,
        "exchange",
        "add the service pack or cumulative update",
    ),
    "2010 has no cumulative updates": Broken(
        {HQ: edit(HQ_2010, "exchange: 2010 SP3", "exchange: 2010 CU5")},
        HQ,
        3,
        "exchange",
        "'CU5' is not a release of Exchange 2010: its releases are RTM and SP1 to SP3",
    ),
    "2016 has no service packs": Broken(
        {HQ: edit(HQ_2010, "exchange: 2010 SP3", "exchange: 2016 SP1")},
        HQ,
        3,
        "exchange",
        "'SP1' is not a release of Exchange 2016: its releases are RTM and CU1 to CU23",
    ),
    "unsupported Exchange version": Broken(
        {HQ: edit(HQ_2010, "exchange: 2010 SP3", "exchange: 2007 SP3")},
        HQ,
        3,
        "exchange",
        "Exchange 2007 is not supported; allowed versions: 2010, 2013",
    ),
    "unknown service": Broken(
        {HQ: HQ_2010 + "services: [rpc, https, owa]\n"},
        HQ,
        11,
        "services[2]",
        "'owa' is not allowed; allowed: 'rpc', 'https'",
    ),
    "override of an unknown service": Broken(
        {HQ: HQ_2010 + "overrides:\n  ews: {idle_timeout: 600}\n"},
        HQ,
        12,
        "overrides.ews",
        "'ews' is not allowed as a key here",
    ),
    "override key typo": Broken(
        {HQ: HQ_2010 + "overrides:\n  https: {persistance: src}\n"},
        HQ,
        12,
        "overrides.https.persistance",
        "did you mean 'persistence'?",
    ),
    "unknown persistence mode": Broken(
        {HQ: HQ_2010 + "overrides:\n  https: {persistence: sticky}\n"},
        HQ,
        12,
        "overrides.https.persistence",
        "'sticky' is not allowed; allowed: 'none', 'src'",
    ),
    "layer 5": Broken(
        {HQ: HQ_2010 + "overrides:\n  https: {layer: 5}\n"},
        HQ,
        12,
        "overrides.https.layer",
        "allowed: 4 or 7",
    ),
    "idle timeout above a day": Broken(
        {HQ: HQ_2010 + "overrides:\n  https: {idle_timeout: 90000}\n"},
        HQ,
        12,
        "overrides.https.idle_timeout",
        "expected a whole number from 0 to 86400 (got 90000)",
    ),
    "health check url without slash": Broken(
        {HQ: HQ_2010 + "overrides:\n  https:\n    health_check: {url: owa/auth/logon.aspx}\n"},
        HQ,
        13,
        "overrides.https.health_check.url",
        "expected a path starting with /",
    ),
    "rpc port is text": Broken(
        {HQ: edit(HQ_2010, "client_access: 60000", "client_access: sixty")},
        HQ,
        7,
        "rpc_ports.client_access",
        "expected a whole number from 1 to 65535 (got 'sixty')",
    ),
    # --- the validation table ----------------------------------------------------------------
    "scheduling method the appliance does not know": Broken(
        {HQ: HQ_2010 + "scheduling: leastconn\n"},
        HQ,
        11,
        "scheduling",
        "'leastconn' is not allowed; allowed: 'rr', 'wrr', 'lc', 'wlc'",
    ),
    "two 2010 arrays in one site": Broken(
        {
            HQ: HQ_2010,
            "hq2.yaml": edit(
                edit(
                    edit(
                        edit(
                            HQ_2010.replace("10.10.1.", "10.10.9."), "name: hq-cas", "name: hq-cas2"
                        ),
                        "fqdn: outlook-hq",
                        "fqdn: outlook-hq2",
                    ),
                    "HQ-CAS01",
                    "HQ-CAS21",
                ),
                "HQ-CAS02",
                "HQ-CAS22",
            ),
        },
        "hq2.yaml",
        2,
        "site",
        "/hq2.yaml:2); a site has one CAS array (New-ClientAccessArray -Site)",
    ),
    "member on another Exchange version": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.12}", "address: 10.10.1.12, exchange: 2013 CU23}")},
        HQ,
        10,
        "members[1].exchange",
        "runs Exchange 2013 CU23 but the array is Exchange 2010 SP3",
    ),
    "member on another service pack": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.11}", "address: 10.10.1.11, exchange: 2010 SP2}")},
        HQ,
        9,
        "members[0].exchange",
        "cannot mix versions or service packs",
    ),
    "member build of another service pack": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.11}", "address: 10.10.1.11, exchange: 14.2.247.5}")},
        HQ,
        9,
        "members[0].exchange",
        "member HQ-CAS01 runs Exchange 2010 SP2 but the array is Exchange 2010 SP3",
    ),
    "member build of Exchange 2016": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.11}", "address: 10.10.1.11, exchange: 15.1.2507.6}")},
        HQ,
        9,
        "members[0].exchange",
        "member HQ-CAS01 runs Exchange 2016 CU23 but the array is Exchange 2010 SP3",
    ),
    "member build lmctl does not know": Broken(
        {
            HQ: edit(
                BRANCH_2016,
                "address: 10.20.1.11}",
                "address: 10.20.1.11, exchange: 'Version 15.1 (Build 9999.1)'}",
            )
        },
        HQ,
        8,
        "members[0].exchange",
        "'Version 15.1 (Build 9999.1)' is not the build of an Exchange 2016 release lmctl knows "
        "(RTM is 15.1.225, the latest CU23 is 15.1.2507); write the release instead",
    ),
    "member in another site": Broken(
        {HQ: edit(HQ_2010, "address: 10.10.1.12}", "address: 10.10.1.12, site: Branch}")},
        HQ,
        10,
        "members[1].site",
        "member HQ-CAS02 is in AD site 'Branch' but the array is in",
    ),
    "server in two arrays by name": Broken(
        {HQ: HQ_2010, "z-branch.yaml": edit(BRANCH_2016, "BR-EX02", "hq-cas01")},
        "z-branch.yaml",
        9,
        "members[1].name",
        "server name 'hq-cas01' is already a member of",
    ),
    "server in two arrays by address": Broken(
        {HQ: HQ_2010, "z-branch.yaml": edit(BRANCH_2016, "10.20.1.12", "10.10.1.12")},
        "z-branch.yaml",
        9,
        "members[1].address",
        "a server belongs to one array only",
    ),
    "server listed twice in one array": Broken(
        {
            HQ: edit(
                HQ_2010,
                "{name: HQ-CAS02, address: 10.10.1.12}",
                "{name: HQ-CAS02, address: 10.10.1.11}",
            )
        },
        HQ,
        10,
        "members[1].address",
        "listed twice (also members[0])",
    ),
    "vip is a member's address": Broken(
        {HQ: edit(HQ_2010, "vip: 10.10.1.50", "vip: 10.10.1.12")},
        HQ,
        5,
        "vip",
        "VIP 10.10.1.12 is the address of server HQ-CAS02",
    ),
    "two arrays on one VIP and appliance": Broken(
        {
            HQ: HQ_2010,
            "z-branch.yaml": edit(
                edit(BRANCH_2016, "vip: 10.20.1.50", "vip: 10.10.1.50"),
                "appliance: lm-branch",
                "appliance: lm-hq",
            ),
        },
        "z-branch.yaml",
        5,
        "vip",
        "service 'https' listens on 10.10.1.50:443/tcp on appliance",
    ),
    "fqdn is not a host name": Broken(
        {HQ: edit(HQ_2010, "fqdn: outlook-hq.corp.example.com", "fqdn: outlook_hq.corp")},
        HQ,
        4,
        "fqdn",
        "'outlook_hq.corp' is not a valid host name",
    ),
    **{
        f"client host name {label}": Broken(
            {HQ: HQ_2010 + f"client_hostnames: [mail.corp.example.com, {name}]\n"},
            HQ,
            HQ_2010.count("\n") + 1,
            "client_hostnames[1]",
            "is not a valid host name",
        )
        for label, name in {
            "with a header after CRLF": '"mail.corp.example.com\\r\\nX-Evil: injected"',
            "with a space": "'a b.example.com'",
            "with rich markup": "'[bold red]evil[/]'",
            "with a 70-character label": "a" * 70 + ".corp.example.com",
            "with non-ASCII and an empty label": "mäil..corp.example.com",
        }.items()
    },
    "fqdn used by two arrays": Broken(
        {HQ: HQ_2010, "z-branch.yaml": edit(BRANCH_2016, "mail-branch", "OUTLOOK-HQ")},
        "z-branch.yaml",
        4,
        "fqdn",
        "is already the FQDN of array 'hq-cas'",
    ),
    "fqdn is a published client host name": Broken(
        {HQ: HQ_2010 + "client_hostnames: [mail.corp.example.com, outlook-hq.corp.example.com]\n"},
        HQ,
        4,
        "fqdn",
        "is also a published client host name",
    ),
    "rpc ports equal": Broken(
        {HQ: edit(HQ_2010, "address_book: 60001", "address_book: 60000")},
        HQ,
        7,
        "rpc_ports.address_book",
        "must be two different ports",
    ),
    "rpc port 135": Broken(
        {HQ: edit(HQ_2010, "client_access: 60000", "client_access: 135")},
        HQ,
        7,
        "rpc_ports.client_access",
        "port 135 is the RPC endpoint mapper",
    ),
    "rpc port below 1024": Broken(
        {HQ: edit(HQ_2010, "address_book: 60001", "address_book: 80")},
        HQ,
        7,
        "rpc_ports.address_book",
        "port 80 is outside 1024-65535",
    ),
    "rpc port on another service's port": Broken(
        {HQ: edit(HQ_2010, "address_book: 60001", "address_book: 80")},
        HQ,
        7,
        "rpc_ports",
        "services 'rpc' and 'http-redirect' of this array both listen on 10.10.1.50:80/tcp; "
        "choose static RPC ports that no other service uses",
    ),
    "member with other static rpc ports": Broken(
        {
            HQ: edit(
                HQ_2010,
                "address: 10.10.1.12}",
                "address: 10.10.1.12, rpc_ports: {client_access: 60000, address_book: 60002}}",
            )
        },
        HQ,
        10,
        "members[1].rpc_ports",
        "every member must use the same static ports",
    ),
    "healthcheck.htm on 2010": Broken(
        {HQ: HQ_2010 + "overrides:\n  https:\n    health_check: {url: /owa/healthcheck.htm}\n"},
        HQ,
        13,
        "overrides.https.health_check.url",
        "Exchange 2010 has no healthcheck.htm",
    ),
    "rpc on 2016": Broken(
        {"z-branch.yaml": BRANCH_2016 + "services: [https, rpc]\n"},
        "z-branch.yaml",
        10,
        "services[1]",
        "Exchange 2016 has no RPC over TCP",
    ),
    "rpc ports on 2016": Broken(
        {"z-branch.yaml": BRANCH_2016 + "rpc_ports: {client_access: 60000, address_book: 60001}\n"},
        "z-branch.yaml",
        10,
        "rpc_ports",
        "static RPC ports exist only on Exchange 2010",
    ),
    "two arrays with one name": Broken(
        {HQ: HQ_2010, "z-branch.yaml": edit(BRANCH_2016, "name: branch-2016", "name: hq-cas")},
        "z-branch.yaml",
        1,
        "name",
        "name 'hq-cas' is already used by array 'hq-cas'",
    ),
    "override of an unpublished service": Broken(
        {HQ: HQ_2010 + "overrides:\n  imap4: {idle_timeout: 600}\n"},
        HQ,
        12,
        "overrides.imap4",
        "which the array does not publish",
    ),
    "redirect at layer 4": Broken(
        {HQ: HQ_2010 + "overrides:\n  http-redirect: {layer: 4}\n"},
        HQ,
        12,
        "overrides.http-redirect.layer",
        "needs layer 7",
    ),
    "empty service list": Broken(
        {HQ: HQ_2010 + "services: []\n"},
        HQ,
        11,
        "services",
        "the list is empty: name at least one service, or remove services: to publish the",
    ),
    "service listed twice": Broken(
        {HQ: HQ_2010 + "services: [rpc, https, https]\n"},
        HQ,
        11,
        "services[2]",
        "service 'https' is listed twice",
    ),
    "appliance not in the inventory": Broken(
        {HQ: edit(HQ_2010, "appliance: lm-hq", "appliance: lm-hq2")},
        HQ,
        6,
        "appliance",
        "appliance 'lm-hq2': the inventory",
    ),
    "no inventory at all": Broken(
        {HQ: HQ_2010, "appliances.yaml": None}, HQ, 6, "appliance", "no inventory was found"
    ),
    # --- the inventory ---------------------------------------------------------------------------
    "api key written in the file": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
            "    auth: {api_key: s3cr3t-Key}\n    tls: {insecure: true}\n"
        },
        "appliances.yaml",
        4,
        "appliances.lm-dc.auth.api_key",
        "a secret must not be written in the inventory",
    ),
    "password written in the file": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
            "    auth:\n      username: bal\n      password: hunter2\n"
        },
        "appliances.yaml",
        6,
        "appliances.lm-dc.auth.password",
        "{env: LM_DC_PASSWORD} (an environment variable) or "
        "{keyring: {service: lmctl, username: lm-dc}} (the OS keyring)",
    ),
    "plain http url": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: http://10.0.0.5\n"
            "    auth: {api_key: {env: LM_KEY}}\n"
        },
        "appliances.yaml",
        3,
        "appliances.lm-dc.url",
        "use https://",
    ),
    "real appliance without auth": Broken(
        {"appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"},
        "appliances.yaml",
        2,
        "appliances.lm-dc",
        "auth: is required for a real appliance",
    ),
    "api key and password both": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n    auth:\n"
            "      api_key: {env: K}\n      username: bal\n      password: {env: P}\n"
        },
        "appliances.yaml",
        4,
        "appliances.lm-dc.auth",
        "either api_key: or username:",
    ),
    "secret source with env and keyring": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n    auth:\n"
            "      api_key: {env: K, keyring: {service: lmctl, username: lm-dc}}\n"
        },
        "appliances.yaml",
        5,
        "appliances.lm-dc.auth.api_key",
        "exactly one of env: or keyring:",
    ),
    "fingerprint and insecure both": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
            "    auth: {api_key: {env: K}}\n    tls:\n      fingerprint: '" + "ab" * 32 + "'\n"
            "      insecure: true\n"
        },
        "appliances.yaml",
        5,
        "appliances.lm-dc.tls",
        "only one of ca_file:, fingerprint:",
    ),
    "fingerprint too short": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
            "    auth: {api_key: {env: K}}\n    tls: {fingerprint: 'AB:CD:EF'}\n"
        },
        "appliances.yaml",
        5,
        "appliances.lm-dc.tls.fingerprint",
        "expected 64 hex digits",
    ),
    "missing CA file": Broken(
        {
            "appliances.yaml": "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
            "    auth: {api_key: {env: K}}\n    tls: {ca_file: certs/nope.pem}\n"
        },
        "appliances.yaml",
        5,
        "appliances.lm-dc.tls.ca_file",
        "CA file 'certs/nope.pem' not found",
    ),
    "unknown dialect": Broken(
        {"appliances.yaml": "appliances:\n  lm-hq:\n    url: mock://\n    dialect: v3\n"},
        "appliances.yaml",
        4,
        "appliances.lm-hq.dialect",
        "allowed: 'v1', 'v2' or 'auto'",
    ),
    "unknown appliance key": Broken(
        {"appliances.yaml": "appliances:\n  lm-hq:\n    url: mock://\n    apikey: abc\n"},
        "appliances.yaml",
        4,
        "appliances.lm-hq.apikey",
        "unknown key 'apikey'",
    ),
    "appliance name with a space": Broken(
        {"appliances.yaml": "appliances:\n  lm-hq: {url: 'mock://'}\n  lm dc: {url: 'mock://'}\n"},
        "appliances.yaml",
        3,
        "appliances.lm dc",
        "'lm dc' is not allowed as a name: use letters, digits, '.', '_' and '-'",
    ),
    "appliances is a list": Broken(
        {"appliances.yaml": "appliances:\n  - lm-hq\n"},
        "appliances.yaml",
        1,
        "appliances",
        "expected a mapping",
    ),
    "two inventories": Broken(
        {"more.yaml": "appliances:\n  lm-x: {url: 'mock://'}\n"},
        "more.yaml",
        1,
        "appliances",
        "a second inventory",
    ),
}


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_broken_input_exits_1_naming_file_line_and_field(tmp_path: Path, case: Broken) -> None:
    outcome = run_lmctl(tmp_path / "arrays", case.files)

    assert outcome.exit_code == 1, outcome.output
    assert reported(outcome, case.file, case.line, case.field, case.fragment), outcome.output
    assert "Traceback" not in outcome.output
    assert outcome.output.rstrip().splitlines()[-1].startswith("invalid: ")


def test_secret_written_in_the_inventory_is_never_echoed(tmp_path: Path) -> None:
    inventory = (
        "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
        "    auth:\n      username: bal\n      password: Hunter2-Secret\n"
    )
    outcome = run_lmctl(tmp_path / "arrays", {"appliances.yaml": inventory})

    assert outcome.exit_code == 1
    assert "Hunter2-Secret" not in outcome.output
    directory = str(outcome.directory)
    json_outcome = run_lmctl(outcome.directory, {}, "validate", directory, "--format", "json")
    assert "Hunter2-Secret" not in json_outcome.output


def test_broken_inventory_is_reported_once_not_on_every_array(tmp_path: Path) -> None:
    inventory = "appliances:\n  lm-hq: {url: 'mock://', colour: blue}\n"

    outcome = run_lmctl(tmp_path / "arrays", {"appliances.yaml": inventory, "hq.yaml": HQ_2010})

    assert outcome.exit_code == 1
    assert reported(outcome, "appliances.yaml", 2, "appliances.lm-hq.colour", "unknown key")
    assert "no inventory was found" not in outcome.output
    assert "invalid: 1 error, 0 warnings" in outcome.output


def test_unquoted_date_is_explained(tmp_path: Path) -> None:
    outcome = run_lmctl(
        tmp_path / "arrays", {"hq.yaml": edit(HQ_2010, "site: HQ", "site: 2010-01-01")}
    )

    assert outcome.exit_code == 1
    assert reported(
        outcome,
        "hq.yaml",
        2,
        "site",
        "expected text, got a date (2010-01-01); put the value in quotes if it is meant as text",
    )


@pytest.mark.parametrize(
    ("old", "new", "line", "hint"),
    [
        (
            "  - {name: HQ-CAS02, address: 10.10.1.12}",
            "  - name: HQ-CAS02\n  address: 10.10.1.12",
            11,
            "; check the indentation of line 11: this list's items start with '- ' at column 3, "
            "and an item's other keys line up under its first one (column 5)",
        ),
        (
            "  - {name: HQ-CAS02",
            " - {name: HQ-CAS02",
            10,
            "; check the indentation of line 10: a mapping's keys line up at one column, and a "
            "list's items start with '- ' at one column",
        ),
        (
            "site: HQ",
            " site: HQ",
            2,
            "; put a value that holds ': ' in quotes, or check the indentation of line 2: a line "
            "indented deeper than the key above it continues that key's value",
        ),
        # Not indented at all: only the quotes can be the cause.
        ("site: HQ", "site: HQ: West", 2, "; put a value that holds ': ' in quotes"),
    ],
    ids=["a key at its list's '- '", "a list item too far left", "a key too far right", "a ':'"],
)
def test_a_yaml_indentation_mistake_says_what_lines_up(
    tmp_path: Path, old: str, new: str, line: int, hint: str
) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": edit(HQ_2010, old, new)})

    assert outcome.exit_code == 1
    [error] = [text for text in outcome.output.splitlines() if ": error: " in text]
    assert error.startswith(f"{tmp_path / 'arrays' / 'hq.yaml'}:{line}: error: malformed YAML: ")
    assert error.endswith(hint)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        (
            "https://bal:Hunter2-Secret@10.0.0.5",
            "the URL holds a user name or password (user:password@); write https://<address>",
        ),
        (
            "https://10.0.0.5/access?apikey=Hunter2-Secret",
            "not an appliance URL: expected https://<address>[:port] (no path or query) or mock://",
        ),
    ],
    ids=["password in the URL", "API key in a query"],
)
def test_a_url_holding_a_secret_is_refused_without_repeating_it(
    tmp_path: Path, url: str, complaint: str
) -> None:
    inventory = (
        f"appliances:\n  lm-dc:\n    url: {url}\n    auth: {{api_key: {{env: LM_DC_API_KEY}}}}\n"
    )

    outcome = run_lmctl(tmp_path / "arrays", {"appliances.yaml": inventory})

    assert outcome.exit_code == 1
    assert reported(outcome, "appliances.yaml", 3, "appliances.lm-dc.url", complaint)
    assert "Hunter2-Secret" not in outcome.output


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("https://127.0.0.1:999999", "the port must be a number 1-65535"),
        ("https://0.0.0.0", "the address names no single host to connect to"),
        ("https://[ff02::1]", "the address names no single host to connect to"),
        ("https://[::1]:0", "the port must be a number 1-65535"),
        ("https://10.0.0.5:", "the port must be a number 1-65535"),
        ("https://[::1", "the [ of the IPv6 address is not closed with ]"),
        ("https://[10.0.0.5]", "the address in [ ] is not an IPv6 address"),
        ("https://[::1]x", "only :<port> may follow the ] of an IPv6 address"),
        ("https://2001:db8::7", "an IPv6 address goes in brackets: https://[2001:db8::5]"),
        ("https://999.0.0.5", "the host is not an IPv4 address (four numbers 0-255"),
        ("https://lm..example.net", "the host is not a DNS name"),
        ("https://-lm.example.net", "the host is not a DNS name"),
    ],
)
def test_a_url_no_connection_can_be_made_to_is_refused_before_connecting(
    tmp_path: Path, url: str, complaint: str
) -> None:
    """Each passed validate, then plan and status crashed in httpx (InvalidURL) or the socket
    layer (OverflowError)."""
    inventory = f"appliances:\n  lm-hq:\n    url: '{url}'\n    auth: {{api_key: {{env: KEY}}}}\n"
    files = {"appliances.yaml": inventory, "hq.yaml": HQ_2010}

    for command in ("validate", "plan"):
        outcome = run_lmctl(tmp_path / "arrays", files, command, str(tmp_path / "arrays"))

        assert outcome.exit_code == 1, outcome.output
        assert "Traceback" not in outcome.output
        assert reported(outcome, "appliances.yaml", 3, "appliances.lm-hq.url", complaint)
        assert url.removeprefix("https://") not in outcome.output


def test_values_under_auth_are_never_echoed(tmp_path: Path) -> None:
    inventory = (
        "appliances:\n  lm-dc:\n    url: https://10.0.0.5\n"
        "    auth: {username: 987654321, password: {env: 'not a variable 4242'}}\n"
    )

    outcome = run_lmctl(tmp_path / "arrays", {"appliances.yaml": inventory})

    assert outcome.exit_code == 1
    assert reported(
        outcome, "appliances.yaml", 4, "appliances.lm-dc.auth.username", "expected text"
    )
    assert reported(outcome, "appliances.yaml", 4, "appliances.lm-dc.auth.password.env", "")
    assert "987654321" not in outcome.output
    assert "4242" not in outcome.output


@pytest.mark.parametrize(
    ("inventory", "line", "fragment"),
    [
        (
            "appliances:\n  lm-hq: {url: 'mock://'}\n  lm-hq: {url: 'mock://'}\n",
            3,
            "duplicate key 'lm-hq' (first given on line 2)",
        ),
        ("# the LoadMasters\nappliances:\n  lm-hq: {url: 'mock://'\n", 3, "malformed YAML"),
        ("- lm-hq\n- lm-branch\n", 1, "expected a mapping at the top of the file"),
    ],
    ids=["duplicate key", "unclosed flow mapping", "a list"],
)
def test_inventory_that_fails_to_load_reports_only_its_own_error(
    tmp_path: Path, inventory: str, line: int, fragment: str
) -> None:
    files = {"appliances.yaml": inventory, "hq.yaml": HQ_2010, "branch.yaml": BRANCH_2016}

    outcome = run_lmctl(tmp_path / "arrays", files)

    assert outcome.exit_code == 1
    assert reported(outcome, "appliances.yaml", line, "", fragment) or reported(
        outcome, "appliances.yaml", line, "appliances.lm-hq", fragment
    ), outcome.output
    assert "no inventory was found" not in outcome.output
    assert (
        without_notices(outcome.output).rstrip().splitlines()[-1] == "invalid: 1 error, 0 warnings"
    )


def test_broken_inventory_under_another_name_is_recognised_by_its_key(tmp_path: Path) -> None:
    inventory = "appliances:\n  lm-hq: {url: 'mock://'}\n  lm-hq: {url: 'mock://'}\n"
    files = {"appliances.yaml": None, "loadmasters.yaml": inventory, "hq.yaml": HQ_2010}

    outcome = run_lmctl(tmp_path / "arrays", files)

    assert reported(outcome, "loadmasters.yaml", 3, "appliances.lm-hq", "duplicate key")
    assert (
        without_notices(outcome.output).rstrip().splitlines()[-1] == "invalid: 1 error, 0 warnings"
    )


@pytest.mark.parametrize(
    "leftover", [".hq-cas-copy.yaml", ".#hq.yaml", "hq.yaml~", "#hq.yaml#", ".hq.yml"]
)
def test_hidden_and_editor_files_are_not_read_from_a_directory(
    tmp_path: Path, leftover: str
) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {"hq.yaml": HQ_2010, leftover: HQ_2010})

    assert outcome.exit_code == 0, outcome.output
    assert without_notices(outcome.output).strip() == (
        "valid: 1 array, 2 appliances in 2 files (0 errors, 0 warnings)"
    )


def test_a_hidden_file_named_explicitly_is_read(tmp_path: Path) -> None:
    directory = tmp_path / "arrays"
    outcome = run_lmctl(
        directory,
        {".hq-draft.yaml": HQ_2010},
        "validate",
        str(directory / ".hq-draft.yaml"),
    )

    assert outcome.exit_code == 0, outcome.output
    assert without_notices(outcome.output).strip().startswith("valid: 1 array, 2 appliances")


@pytest.mark.parametrize(
    ("appliance", "auth", "field", "suggestion"),
    [
        (
            "lm-dc1",
            "{api_key: k-123}",
            "api_key",
            "{env: LM_DC1_API_KEY} (an environment variable) or "
            "{keyring: {service: lmctl, username: lm-dc1}} (the OS keyring)",
        ),
        (
            "lab.loadmaster",
            "{username: bal, password: pw-123}",
            "password",
            "{env: LM_LAB_LOADMASTER_PASSWORD} (an environment variable) or "
            "{keyring: {service: lmctl, username: lab.loadmaster}} (the OS keyring)",
        ),
    ],
)
def test_secret_in_the_inventory_suggests_a_place_for_that_appliance_and_field(
    tmp_path: Path, appliance: str, auth: str, field: str, suggestion: str
) -> None:
    inventory = f"appliances:\n  {appliance}:\n    url: https://10.0.0.5\n    auth: {auth}\n"

    outcome = run_lmctl(tmp_path / "arrays", {"appliances.yaml": inventory})

    assert outcome.exit_code == 1
    field_path = f"appliances.{appliance}.auth.{field}"
    assert reported(outcome, "appliances.yaml", 4, field_path, suggestion), outcome.output
    assert "LM_API_KEY" not in outcome.output and "lm-hq" not in outcome.output


PARTNER_2016 = (
    BRANCH_2016.replace("name: branch-2016", "# the partner namespace\nname: partner-2016")
    .replace("mail-branch", "partner")
    .replace("10.20.1.", "10.20.2.")
    .replace("BR-EX0", "BR-PX0")
)


def test_two_2016_namespaces_in_one_site_validate(tmp_path: Path) -> None:
    # Microsoft: 2013+ has no CAS array object; a site may publish several namespaces (one
    # namespace and VIP per protocol is one of its load-balancing scenarios).
    directory = tmp_path / "arrays"
    write_files(directory, {"branch.yaml": BRANCH_2016, "aaa-partner.yaml": PARTNER_2016})

    outcome = run_lmctl(directory, {"appliances.yaml": INVENTORY})

    assert outcome.exit_code == 0, outcome.output
    assert without_notices(outcome.output).strip() == (
        "valid: 2 arrays, 2 appliances in 3 files (0 errors, 0 warnings)"
    )


HQ_2016_V6 = """\
name: hq-2016
site: HQ
exchange: 2016 CU23
fqdn: mail.corp.example.com
vip: 2001:DB8:10:0::50
appliance: lm-hq
members:
  - {name: HQ-EX01, address: 2001:DB8:10::11}
  - {name: HQ-EX02, address: '2001:0db8:0010:0000:0000:0000:0000:0012'}
"""


def test_ipv6_array_validates_and_expands_in_normalised_form(tmp_path: Path) -> None:
    directory = tmp_path / "arrays"
    write_files(directory, {"hq.yaml": HQ_2016_V6})

    (vs, redirect) = expand(load_specs([directory]).arrays[0])
    outcome = run_lmctl(directory, {}, "show", "hq-2016", str(directory))

    assert (vs.key.address, vs.key.port, redirect.key.port) == ("2001:db8:10::50", "443", "80")
    assert [(rs.address, rs.port) for rs in vs.real_servers] == [
        ("2001:db8:10::11", 443),
        ("2001:db8:10::12", 443),
    ]
    assert outcome.exit_code == 0, outcome.output
    assert "[2001:db8:10::50]:443/tcp" in outcome.output
    assert "HQ-EX02 [2001:db8:10::12]:443 w1000" in outcome.output


@pytest.mark.parametrize(
    ("files", "file", "line", "field", "fragment"),
    [
        (
            {"hq.yaml": edit(HQ_2016_V6, "vip: 2001:DB8:10:0::50", "vip: 2001:db8:10:0:0::12")},
            "hq.yaml",
            5,
            "vip",
            "VIP 2001:db8:10::12 is the address of server HQ-EX02",
        ),
        (
            {"hq.yaml": edit(HQ_2016_V6, "0000:0000:0000:0012'", "0000:0000:0000:0011'")},
            "hq.yaml",
            9,
            "members[1].address",
            "member address '2001:db8:10::11' is listed twice (also members[0])",
        ),
        (
            {
                "hq.yaml": HQ_2016_V6,
                # A 2010 CAS serves its array only (a 2013+ server may serve several
                # namespaces, so the second spec is a 2010 array).
                "z-branch.yaml": edit(
                    edit(BRANCH_2016, "10.20.1.12", "2001:db8:10:0:0:0:0:11"),
                    "2016 CU23",
                    "2010 SP3",
                ),
            },
            "z-branch.yaml",
            9,
            "members[1].address",
            "server address '2001:db8:10::11' is already a member of namespace 'hq-2016'",
        ),
        (
            {
                "hq.yaml": HQ_2010,
                "z-branch.yaml": edit(BRANCH_2016, "10.20.1.12", "'::ffff:10.10.1.12'"),
            },
            "z-branch.yaml",
            9,
            "members[1].address",
            "server address '10.10.1.12' is already a member of array 'hq-cas'",
        ),
        (
            {
                "hq.yaml": HQ_2016_V6,
                "z-hq2.yaml": edit(
                    edit(edit(HQ_2016_V6, "name: hq-2016", "name: hq2"), "site: HQ", "site: HQ2"),
                    "fqdn: mail.",
                    "fqdn: mail2.",
                )
                .replace("HQ-EX0", "HQ2-EX0")
                .replace("10::1", "20::1")
                .replace("0010:0000", "0020:0000")
                .replace("2001:DB8:10:0::50", "2001:0DB8:0010::0050"),
            },
            "z-hq2.yaml",
            5,
            "vip",
            "listens on 2001:db8:10::50:443/tcp on appliance 'lm-hq'",
        ),
    ],
    ids=[
        "vip is a member (other spelling)",
        "member listed twice (other spelling)",
        "server in two arrays (other spelling)",
        "ipv4-mapped member is the same server",
        "vip shared by two arrays (other spelling)",
    ],
)
def test_addresses_are_compared_as_addresses_not_text(
    tmp_path: Path, files: SpecFiles, file: str, line: int, field: str, fragment: str
) -> None:
    outcome = run_lmctl(tmp_path / "arrays", files)

    assert outcome.exit_code == 1
    assert reported(outcome, file, line, field, fragment), outcome.output


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("site: HQ", "Site: HQ", 2, "Site"),
        ("address: 10.10.1.12}", "adress: 10.10.1.12}", 10, "members[1].adress"),
    ],
)
def test_a_mistyped_required_key_is_one_error_at_the_typo(
    tmp_path: Path, old: str, new: str, line: int, field: str
) -> None:
    outcome = run_lmctl(tmp_path / "arrays", {HQ: edit(HQ_2010, old, new)})

    assert outcome.exit_code == 1, outcome.output
    assert reported(outcome, HQ, line, field, "did you mean"), outcome.output
    assert "is missing" not in outcome.output
    assert without_notices(outcome.output).rstrip().splitlines()[-1] == (
        "invalid: 1 error, 0 warnings"
    )
