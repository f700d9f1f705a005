"""The per-protocol layout (2013+): one layer 7 HTTPS VS with a SubVS per virtual directory.

What Kemp's Exchange 2016/2019 templates build ("HTTPS Offloaded and Reencrypt without ESP",
MS Exchange 2016/2019 deployment guides) and Microsoft recommends (Managed Availability: each
virtual directory answers ``/<directory>/healthcheck.htm``, so a failing protocol takes one
server out of that protocol only): the parent terminates TLS with the array's certificate and
re-encrypts to the members; content matching rules on the URL path (case-insensitive) send each
directory to its SubVS; each SubVS checks its members with an HTTPS GET of its own
``healthcheck.htm`` over HTTP/1.1 with the namespace as ``Host``, without persistence (2013+ needs
no session affinity). See docs/layouts.md for the sources.
"""

from __future__ import annotations

import re

from lmctl.exchange.desired import DesiredContentRule, DesiredRealServer, DesiredSubService
from lmctl.loadmaster.models import VirtualServiceSettings
from lmctl.releases import ServiceName, ServiceProfile, directory_check_url
from lmctl.specs.array import ArraySpec

# The service whose VS becomes the parent: HTTPS on 443.
PARENT_SERVICE: ServiceName = "https"


def sub_service_marker(array: str, directory: str) -> str:
    """The NickName of a SubVS, and the name of its content rule: ``lmctl.<array>.https.<dir>``,
    in the characters Kemp documents for names (the array is a slug, the directory a fixed
    name)."""
    return f"lmctl.{array}.{PARENT_SERVICE}.{directory}"


def path_pattern(directory: str) -> str:
    """The rule's regular expression: the path is ``/<directory>`` or starts with
    ``/<directory>/``, in the appliance's ``/…/`` delimited form (Progress Kemp, content rules
    feature description, "Content Match on a Query"). Case is ignored by the rule (IIS's virtual
    directories are case-insensitive: clients send ``/EWS/`` and ``/ews/`` alike)."""
    return f"/^\\/{re.escape(directory)}(\\/|$)/"


def directory_rule(marker: str, directory: str) -> DesiredContentRule:
    """The content rule that sends ``directory``'s path to its SubVS, named like the SubVS
    (``marker``)."""
    return DesiredContentRule(name=marker, pattern=path_pattern(directory))


def parent_settings(array: ArraySpec, profile: ServiceProfile) -> VirtualServiceSettings:
    """The parent VS: layer 7, TLS terminated with ``certificate`` and re-encrypted to the
    members, no persistence. It holds no real servers, so its own check decides nothing (its
    SubVSs decide its status): it is the first published directory's, so that it never names
    a directory the array does not publish."""
    return _http_settings(
        array,
        profile,
        f"lmctl.{array.name}.{PARENT_SERVICE}",
        CheckType=profile.check_type,
        CheckUrl=directory_check_url(array.published_directories[0]),
        CheckPort=profile.check_port,
        SSLAcceleration=True,
        CertFile=array.certificate,
        SSLReencrypt=True,
    )


def _http_settings(
    array: ArraySpec, profile: ServiceProfile, nickname: str, **check: object
) -> VirtualServiceSettings:
    """What the parent and its SubVSs share: layer 7 HTTP, one-arm (not transparent, subnet
    originating), no persistence, the array's scheduling, the long-lived idle timeout."""
    return VirtualServiceSettings.model_validate(
        {
            "NickName": nickname,
            "Enable": True,
            "VStype": "http",
            "Schedule": array.scheduling,
            "Persist": None,
            "PersistTimeout": 0,
            "Idletime": profile.idle_timeout,
            "Layer": 7,
            "Transparent": False,
            "SubnetOriginating": True,
            **check,
        }
    )


def sub_services(
    array: ArraySpec, profile: ServiceProfile, members: tuple[DesiredRealServer, ...]
) -> tuple[DesiredSubService, ...]:
    """One SubVS per published virtual directory, in the spec's order, each with every member."""
    return tuple(
        DesiredSubService(
            directory=directory,
            settings=_sub_service_settings(array, profile, directory),
            real_servers=members,
            rule=directory_rule(sub_service_marker(array.name, directory), directory),
        )
        for directory in array.published_directories
    )


def _sub_service_settings(
    array: ArraySpec, profile: ServiceProfile, directory: str
) -> VirtualServiceSettings:
    return _http_settings(
        array,
        profile,
        sub_service_marker(array.name, directory),
        CheckType="https",
        CheckUrl=directory_check_url(directory),
        CheckPort=0,
        CheckHost=array.fqdn,
        **{"CheckUse1.1": True},
    )
