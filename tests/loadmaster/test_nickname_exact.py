"""A NickName reaches the ownership check exactly as the appliance sent it, in both dialects: a
name that only resembles lmctl's marker (whitespace, a no-break space, a control character
around it) is foreign, so plan reports a conflict and writes nothing to it."""

from __future__ import annotations

import json
from typing import Literal
from xml.sax.saxutils import escape

import pytest
from loadmaster_fakes import SETTINGS_JSON, SETTINGS_XML, ScriptedAppliance, client, reply_for

from lmctl.appliance.loadmaster import appliance_state
from lmctl.appliance.state import Owner, owner_of
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings
from lmctl.plan.diff import diff
from lmctl.plan.match import match_appliance

KEY = VirtualServiceKey(address="10.10.1.50", port="443", protocol="tcp")
LOOK_ALIKES = [
    " lmctl.hq.https",
    "lmctl.hq.https ",
    "lmctl.hq.https\n",
    "\tlmctl.hq.https",
    "\u00a0lmctl.hq.https\u2003",
    "\x1clmctl.hq.https\x1d",
    "lmctl:hq/https\n",
]


def listvs(dialect: str, nickname: str) -> bytes:
    """A ``listvs`` reply of one VS at ``KEY`` named ``nickname``, as each dialect sends it."""
    if dialect == "v2":
        row = {
            "Status": "Up",
            "Index": 7,
            "VSAddress": KEY.address,
            "VSPort": KEY.port,
            "Protocol": "tcp",
            "NickName": nickname,
            **SETTINGS_JSON,
        }
        return json.dumps({"code": 200, "status": "ok", "VS": [row]}).encode()
    name = escape(nickname).replace("\n", "&#10;").replace("\t", "&#9;")
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Response stat="200" code="ok"><Success><Data>'
        f"<VS><Status>Up</Status><Index>7</Index><VSAddress>{KEY.address}</VSAddress>"
        f"<VSPort>{KEY.port}</VSPort><Protocol>tcp</Protocol><NickName>{name}</NickName>"
        f"{SETTINGS_XML}</VS></Data></Success></Response>"
    ).encode()


def wanted() -> DesiredVirtualService:
    owner = Owner(array="hq", service="https")
    return DesiredVirtualService(
        appliance="lm-hq",
        array="hq",
        service="https",
        key=KEY,
        settings=VirtualServiceSettings(NickName=owner.marker()),
    )


def xml_can_carry(text: str) -> bool:
    """XML 1.0 cannot carry most C0 controls, even as character references."""
    return all(ord(c) >= 0x20 or c in "\t\n" for c in text)


@pytest.mark.parametrize(
    ("dialect", "nickname"),
    [("v2", n) for n in LOOK_ALIKES] + [("v1", n) for n in LOOK_ALIKES if xml_can_carry(n)],
)
async def test_a_look_alike_nickname_is_read_as_sent_and_planned_as_a_conflict(
    dialect: Literal["v1", "v2"], nickname: str
) -> None:
    appliance = ScriptedAppliance().on("listvs", reply_for(dialect, listvs(dialect, nickname)))
    async with client(appliance, dialect) as lm:
        (read,) = await lm.list_virtual_services()

    assert read.nickname == nickname
    assert owner_of(read.nickname) is None
    found = diff(match_appliance([wanted()], appliance_state([read])))
    assert found.changes == ()
    (conflict,) = found.conflicts
    assert conflict.holder_nickname == nickname
    assert repr(nickname) in conflict.message


@pytest.mark.parametrize(
    "nickname",
    ["lmctl.hq.legacyapp", "lmctl.hq.https.x", f"lmctl.{'a' * 41}.https", "LMCTL.hq.https"],
)
def test_only_a_known_service_of_a_valid_array_name_is_a_marker(nickname: str) -> None:
    assert owner_of(nickname) is None


def test_both_marker_forms_name_their_owner() -> None:
    assert owner_of("lmctl.hq-cas.http-redirect") == Owner("hq-cas", "http-redirect")
    assert owner_of("lmctl:hq-cas/imap4s") == Owner("hq-cas", "imap4s")
