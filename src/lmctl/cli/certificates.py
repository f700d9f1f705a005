"""The certificate check of ``plan`` and ``apply``: every certificate the specs (or a saved
plan's writes) name is installed on its appliance, or the command stops before any write.

The decision is ``lmctl.plan.certificates``'s; this module reads the appliances (one
``listcert`` each, only where a certificate is needed) and says what is missing, where it is
named, and how to install it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lmctl.cli.app import CommandError
from lmctl.cli.options import DEFAULT_STATE_DIR
from lmctl.cli.specload import DEFAULT_INVENTORY, trusted_inventory
from lmctl.text import meant, one_line, quoted_name

if TYPE_CHECKING:
    from lmctl.appliance.base import Appliance
    from lmctl.plan.certificates import MissingCertificate, NeededCertificate
    from lmctl.specs import SpecSet

# How many of the names an appliance holds a refusal shows.
SHOWN_CERTIFICATES = 8

# Where an admin installs a certificate on a LoadMaster (Progress Kemp: the AD FS and SAP
# deployment guides; RESTful API programmer guide, "Certificates"): see docs/layouts.md.
REAL_INSTALL = (
    "in its web UI under Certificates & Security > SSL Certificates (Import Certificate), or "
    "with the API's addcert (the PEM of the certificate and its private key as the body)"
)


def _held(installed: Sequence[str]) -> str:
    if not installed:
        return "it has no certificate"
    shown = ", ".join(quoted_name(name) for name in installed[:SHOWN_CERTIFICATES])
    more = len(installed) - SHOWN_CERTIFICATES
    return f"it has {shown}" + (f" and {more} more" if more > 0 else "")


def mock_addcert_command(
    name: str, appliance: str, host: str, spec_set: SpecSet, state_dir: Path
) -> str:
    """The ``lmctl mock addcert`` that installs ``name`` on the ``mock://`` appliance, with the
    inventory and state directory this command used when they are not the defaults."""
    arguments = ["lmctl", "mock", "addcert", name, "--appliance", appliance]
    inventory = spec_set.inventory_file
    if inventory is not None and trusted_inventory() is None and inventory != DEFAULT_INVENTORY:
        arguments += ["--inventory", str(inventory)]
    if state_dir != DEFAULT_STATE_DIR:
        arguments += ["--state-dir", str(state_dir)]
    return shlex.join([*arguments, "--self-signed", host])


def _folded(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def refusal(
    missing: MissingCertificate, spec_set: SpecSet, state_dir: Path, plan_file: Path | None
) -> str:
    """One line: where the certificate is named, what the appliance holds, to check the name
    against that (a typo is likelier than a certificate never installed), how to install it."""
    needed = missing.needed
    file = spec_set.location_of(needed.array, "certificate")
    where = f"{file}: array {needed.array}" if file else f"array {needed.array}"
    if plan_file is not None:
        where = f"{plan_file} (saved plan), {where}"
    escaped_names = [one_line(name) for name in missing.installed]
    # Certificate names differ by a year or a namespace ('mail-2016', 'mail-eu-2025'), which
    # no "did you mean" may paper over: only a name that is the same but for case or
    # punctuation ('Mail_2019' for 'mail-2019') is offered.
    same = [n for n in escaped_names if _folded(n) == _folded(one_line(needed.name))]
    hint = meant(same[0] if same else None)
    appliance = spec_set.inventory.appliance(needed.appliance)
    array = spec_set.array(needed.array)
    if appliance is not None and appliance.is_mock:
        host = array.fqdn if array is not None else needed.name
        command = mock_addcert_command(needed.name, needed.appliance, host, spec_set, state_dir)
        how = f"on this mock:// appliance: {command} (or --pem FILE for your own)"
    else:
        how = REAL_INSTALL
    advice = (
        "install it there first"
        if not missing.installed
        else "check the spec's certificate: against that list first (a mistyped name is the "
        "likelier cause: names are compared exactly, case too), else install it there"
    )
    return one_line(
        f"{where}: certificate: {quoted_name(needed.name)} is not installed on "
        f"{needed.appliance} ({_held(missing.installed)}){hint}; {advice}, {how}"
    )


async def check_certificates(
    needed: Sequence[NeededCertificate],
    appliances: Mapping[str, Appliance],
    spec_set: SpecSet,
    state_dir: Path,
    plan_file: Path | None = None,
) -> None:
    """Read the certificates of the appliances that need one (none: no read) and raise a
    ``CommandError`` naming each missing certificate."""
    from lmctl.appliance.base import certificates_of
    from lmctl.plan.certificates import appliances_to_read, missing_certificates

    names = appliances_to_read(needed, appliances.keys())
    if not names:
        return
    missing = missing_certificates(needed, await certificates_of(appliances, names))
    if missing:
        lines = [refusal(m, spec_set, state_dir, plan_file) for m in missing]
        raise CommandError(
            "; ".join(lines) + "; nothing was written", kind="certificate", details=lines
        )
