"""The certificates a plan needs on its appliances, and which of them an appliance lacks.

A per-protocol array's parent VS terminates TLS with the certificate its spec names
(``CertFile``), and the appliance refuses an ``addvs``/``modvs`` naming one it does not hold:
in the middle of an apply, after other writes. So plan and apply read the installed
certificates (``lmctl.appliance.base.certificates_of``, one ``listcert``) of only the
appliances where a service names one, and stop before any write when one is missing. The
decisions here are pure: which appliances to read, and what is missing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from lmctl.appliance.changes import Change, CreateVirtualService, UpdateVirtualService
from lmctl.exchange.desired import DesiredVirtualService


@dataclass(frozen=True, order=True)
class NeededCertificate:
    """The certificate ``name`` that the array ``array`` needs installed on ``appliance``."""

    appliance: str
    array: str
    name: str


@dataclass(frozen=True)
class MissingCertificate:
    """A needed certificate the appliance does not hold, with the names it does hold."""

    needed: NeededCertificate
    installed: tuple[str, ...]


def _names(cert_file: object) -> list[str]:
    # ``CertFile`` names one certificate or several, space-separated (as the appliance lists
    # them).
    return str(cert_file).split() if cert_file else []


def needed_by_specs(desired: Iterable[DesiredVirtualService]) -> tuple[NeededCertificate, ...]:
    """The certificates the desired services name (a per-protocol array's parent)."""
    needed = (
        NeededCertificate(service.appliance, service.array, name)
        for service in desired
        for name in _names(service.settings.cert_file)
    )
    return tuple(sorted(set(needed)))


def _written(change: Change) -> list[str]:
    """The certificates a change writes into ``CertFile``."""
    if isinstance(change, CreateVirtualService):
        return _names(change.settings.cert_file)
    if isinstance(change, UpdateVirtualService):
        return [name for f in change.fields if f.field == "cert_file" for name in _names(f.new)]
    return []  # no other change writes CertFile


def needed_by_changes(
    changes_by_appliance: Mapping[str, Iterable[Change]],
) -> tuple[NeededCertificate, ...]:
    """The certificates a saved plan's changes write, per appliance: what it needs installed
    when it runs (the specs may have changed since it was made)."""
    needed = (
        NeededCertificate(appliance, change.array, name)
        for appliance, changes in changes_by_appliance.items()
        for change in changes
        for name in _written(change)
    )
    return tuple(sorted(set(needed)))


def appliances_to_read(needed: Iterable[NeededCertificate], opened: Collection[str]) -> list[str]:
    """The appliances, of those ``opened``, whose certificates must be read: those a needed
    certificate is on (none: no ``listcert`` at all)."""
    return sorted({c.appliance for c in needed if c.appliance in opened})


def missing_certificates(
    needed: Iterable[NeededCertificate], installed: Mapping[str, Collection[str]]
) -> tuple[MissingCertificate, ...]:
    """The needed certificates that their appliance's ``installed`` names lack (exact names,
    as ``CertFile`` takes them); an appliance not in ``installed`` was not read (not planned
    now) and lacks nothing."""
    return tuple(
        MissingCertificate(certificate, tuple(sorted(installed[certificate.appliance])))
        for certificate in sorted(set(needed))
        if certificate.appliance in installed
        and certificate.name not in installed[certificate.appliance]
    )
