"""The ownership marker: ``lmctl.<array>.<service>`` now, ``lmctl:<array>/<service>`` as lmctl 0.1
wrote it. A VS marked the old way is still lmctl's: plan shows one re-mark, apply makes one
``modvs`` (over real HTTPS against the served mock), never a delete and a create."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmctl.appliance.state import Owner, owner_of
from lmctl.loadmaster.models import VirtualServiceKey
from lmctl.mock.control import MockControl
from lmctl.mock.server import MockServerHandle
from mock_site import Array, Site

HQ = Array("hq-cas", "10.1.1.50", ["10.1.1.11", "10.1.1.12"])
HTTPS = VirtualServiceKey(address="10.1.1.50", port="443")


@pytest.mark.parametrize(
    ("nickname", "owner"),
    [
        ("lmctl.hq-cas.https", Owner("hq-cas", "https")),
        ("lmctl:hq-cas/https", Owner("hq-cas", "https")),
        ("lmctl.hq-cas.https\n", None),
        ("lmctl:hq-cas/https\n", None),
        (" lmctl.hq-cas.https", None),
        ("lmctl:hq-cas/https ", None),
        ("LMCTL.hq-cas.https", None),
        ("lmctl.HQ-CAS.https", None),
        ("lmctl.hq.cas.https", None),
        ("lmctl.hq-cas/https", None),
        ("lmctl:hq-cas.https", None),
        ("owa", None),
        ("", None),
        (None, None),
    ],
)
def test_a_nickname_is_lmctls_only_when_it_is_exactly_a_marker(
    nickname: str | None, owner: Owner | None
) -> None:
    assert owner_of(nickname) == owner


def test_the_marker_is_in_the_nickname_characters_kemp_documents() -> None:
    marker = Owner("hq-cas", "http-redirect").marker()
    assert marker == "lmctl.hq-cas.http-redirect"
    assert all(c.isalnum() or c in ".@-_" for c in marker)
    assert owner_of(marker) == Owner("hq-cas", "http-redirect")


def test_a_vs_marked_the_old_way_is_re_marked_by_one_modvs(
    tmp_path: Path,
    mock_server: MockServerHandle,
    mock_control: MockControl,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = Site.open(tmp_path, mock_server, monkeypatch, HQ)
    assert site.apply().exit_code == 0
    site.rename(HTTPS, "lmctl:hq-cas/https")
    (before,) = [vs for vs in site.read() if vs.key == HTTPS]
    assert before.nickname == "lmctl:hq-cas/https"

    planned = site.plan()
    assert planned.exit_code == 2, planned.output
    assert "Plan: 0 to create, 1 to update, 0 to delete (virtual services)" in planned.output
    assert "re-mark virtual service 10.1.1.50:443/tcp as hq-cas/https" in planned.output
    assert "lmctl:hq-cas/https → lmctl.hq-cas.https" in planned.output

    mock_control.clear_log()
    applied = site.apply()
    assert applied.exit_code == 0, applied.output
    writes = [call for call in mock_control.calls() if call.applied_write]
    assert [(call.command, call.params.get("NickName")) for call in writes] == [
        ("modvs", "lmctl.hq-cas.https")
    ]
    (after,) = [vs for vs in site.read() if vs.key == HTTPS]
    assert (after.index, after.nickname) == (before.index, "lmctl.hq-cas.https")
    assert after.real_servers == before.real_servers
    assert site.plan().exit_code == 0
