"""The specs the cutover tests generate scripts from and check, written as an admin would."""

from __future__ import annotations

from pathlib import Path

from lmctl_testkit import write_spec_files

INVENTORY = "appliances:\n  lm-test:\n    url: mock://lm-test\n"

# Exchange 2010 SP3, static RPC ports, two client host names, IMAP over TLS.
HQ_2010_STATIC = """\
name: hq-cas
site: HQ
exchange: 2010 SP3
fqdn: outlook-hq.corp.example.com
vip: 10.10.1.50
appliance: lm-test
rpc_ports: {client_access: 60000, address_book: 60001}
client_hostnames: [mail.corp.example.com, autodiscover.corp.example.com]
members:
  - {name: HQ-CAS01, address: 10.10.1.11}
  - {name: HQ-CAS02, address: 10.10.1.12}
services: [rpc, https, http-redirect, imap4s]
"""

# Exchange 2010 SP2 without static RPC ports: the script must say what it cannot set.
BRANCH_2010_DYNAMIC = """\
name: branch-cas
site: Branch-MUC
exchange: 2010 SP2
fqdn: outlook-muc.corp.example.com
vip: 10.20.1.50
appliance: lm-test
client_hostnames: [mail-muc.corp.example.com]
keepalive_time: 900
members:
  - {name: MUC-CAS01, address: 10.20.1.11}
  - {name: MUC-CAS02, address: 10.20.1.12}
"""

# An Exchange 2016 namespace with SMTP.
NAMESPACE_2016 = """\
name: mail-2016
site: HQ
exchange: 2016 CU23
fqdn: mail.corp.example.com
vip: 10.10.2.50
appliance: lm-test
client_hostnames: [autodiscover.corp.example.com]
members:
  - {name: HQ-EX16-01, address: 10.10.2.11}
  - {name: HQ-EX16-02, address: 10.10.2.12}
services: [https, http-redirect, smtp]
"""

# An Exchange 2019 namespace in the per-protocol layout whose load balancer publishes three of
# the eight directories: the script must leave the others as they are.
PER_PROTOCOL_SUBSET = """\
name: mail-pp
site: HQ
exchange: SE RTM
fqdn: webmail.contoso.test
vip: 10.30.1.60
appliance: lm-test
layout: per-protocol
certificate: webmail
directories: [owa, ecp, ews]
client_hostnames: [webmail.contoso.test]
members:
  - {name: EX-01, address: 10.30.1.11}
  - {name: EX-02, address: 10.30.1.12}
"""

SPECS = {
    "hq-cas": HQ_2010_STATIC,
    "branch-cas": BRANCH_2010_DYNAMIC,
    "mail-2016": NAMESPACE_2016,
    "mail-pp": PER_PROTOCOL_SUBSET,
}


def write_specs(directory: Path, **arrays: str) -> Path:
    """Write the inventory and ``arrays`` (file stem → YAML) into ``directory``."""
    write_spec_files(
        directory,
        {"appliances.yaml": INVENTORY, **{f"{stem}.yaml": text for stem, text in arrays.items()}},
    )
    return directory
