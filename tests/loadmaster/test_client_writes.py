"""Writes are never resent blindly: after an ambiguous failure the client reads back and decides.

Over ``httpx.MockTransport`` with scripted answers, so each outcome is forced exactly; the same
behaviour against the served mock with real dropped connections is in test_client_mock_faults.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from loadmaster_fakes import (
    ScriptedAppliance,
    Sent,
    capture,
    client,
    connection,
    json_reply,
    xml_reply,
)

from lmctl.loadmaster import wire
from lmctl.loadmaster.client import (
    LoadMaster,
    Verdict,
    after_add,
    after_delete,
    after_modify,
    real_server_matches,
    virtual_service_matches,
)
from lmctl.loadmaster.errors import (
    InvalidOperationError,
    TransportError,
    WriteOutcomeUnknownError,
)
from lmctl.loadmaster.models import (
    RealServer,
    VirtualService,
    VirtualServiceKey,
    VirtualServiceSettings,
    settings_params,
)
from lmctl.loadmaster.wire import parse_xml_reply

KEY = VirtualServiceKey(address="192.168.1.235", port="6443", protocol="tcp")
# What fw7.2.5x-addvs.xml shows: the settings it was created with.
CREATED = VirtualServiceSettings.model_validate(
    {
        "VStype": "http2",
        "CheckType": "https",
        "CheckPort": 8080,
        "CheckUrl": "/healthz",
        "Idletime": 660,
        "SubnetOriginating": True,
        "Transparent": False,
    }
)
UNKNOWN_VS = xml_reply(
    b'<Response stat="422" code="fail"><Error>Unknown VS</Error></Response>', 422
)
UNKNOWN_RS = xml_reply(
    b'<Response stat="422" code="fail"><Error>Unknown RS</Error></Response>', 422
)
DROPPED = httpx.RemoteProtocolError("Server disconnected without sending a response.")
DONE = xml_reply(capture("fw7.2.5x-delvs.xml"))


def showvs_capture() -> httpx.Response:
    return xml_reply(capture("fw7.2.5x-addvs.xml"))


# -- pure decisions ---------------------------------------------------------------------------


def test_verdicts_after_add_modify_delete() -> None:
    assert after_add(found=False, matches=False) is Verdict.NOT_APPLIED
    assert after_add(found=True, matches=True) is Verdict.APPLIED
    assert after_add(found=True, matches=False) is Verdict.UNKNOWN
    assert after_modify(found=True, matches=True) is Verdict.APPLIED
    assert after_modify(found=True, matches=False) is Verdict.NOT_APPLIED
    assert after_modify(found=False, matches=False) is Verdict.UNKNOWN
    assert after_delete(found=True) is Verdict.NOT_APPLIED
    assert after_delete(found=False) is Verdict.APPLIED


def test_vs_match_compares_only_the_fields_sent_with_caseless_names() -> None:
    observed = wire.virtual_service(parse_xml_reply(capture("fw7.2.5x-addvs.xml")).fields)
    assert virtual_service_matches(settings_params(CREATED), observed)
    assert virtual_service_matches({"checkurl": "/healthz", "idletime": "660"}, observed)
    assert virtual_service_matches({"Persist": "none", "NickName": ""}, observed)
    assert not virtual_service_matches({"CheckUrl": "/other"}, observed)
    assert not virtual_service_matches({"Enable": "N"}, observed)
    assert not virtual_service_matches({"Idletime": "not a number"}, observed)
    # Parameters that are not managed settings cannot be checked and do not count.
    assert virtual_service_matches({"vsaddress": "10.9.9.9"}, observed)


def test_rs_match_normalises_flags_and_numbers() -> None:
    observed = RealServer.model_validate(
        {"Addr": "10.0.1.21", "Port": 443, "Weight": 500, "Enable": "N", "Forward": "route"}
    )
    assert real_server_matches({"weight": "500", "enable": "n", "forward": "route"}, observed)
    assert real_server_matches({"Enable": "0"}, observed)
    assert not real_server_matches({"enable": "Y"}, observed)
    assert not real_server_matches({"weight": "1000"}, observed)


# -- add --------------------------------------------------------------------------------------


async def test_typed_settings_send_every_managed_field_explicitly() -> None:
    appliance = ScriptedAppliance().on("addvs", showvs_capture()).on("modvs", showvs_capture())
    async with client(appliance) as lm:
        await lm.add_virtual_service(KEY, CREATED)
        await lm.modify_virtual_service(KEY, CREATED)
    for sent in appliance.sent:
        assert sent.params == {
            "vs": "192.168.1.235",
            "port": "6443",
            "prot": "tcp",
            "apikey": sent.params["apikey"],
            **settings_params(CREATED),
        }
    assert appliance.sent[0].params["Persist"] == "none"
    # The layer goes as both force flags, never left to the firmware's default.
    assert (appliance.sent[0].params["ForceL4"], appliance.sent[0].params["ForceL7"]) == ("N", "Y")
    assert len(settings_params(CREATED)) == 17


async def test_addvs_applied_but_unanswered_reports_the_observed_vs_without_resending() -> None:
    appliance = ScriptedAppliance().on("addvs", DROPPED).on("showvs", showvs_capture())
    async with client(appliance) as lm:
        vs = await lm.add_virtual_service(KEY, settings_params(CREATED))
    assert appliance.commands() == ["addvs", "showvs"]
    assert (vs.key, vs.index, vs.check_url) == (KEY, 1, "/healthz")


async def test_addvs_that_did_not_happen_is_sent_exactly_once_more() -> None:
    appliance = ScriptedAppliance().on("addvs", DROPPED, showvs_capture()).on("showvs", UNKNOWN_VS)
    async with client(appliance) as lm:
        vs = await lm.add_virtual_service(KEY, settings_params(CREATED))
    assert appliance.commands() == ["addvs", "showvs", "addvs"]
    assert vs.index == 1


async def test_a_late_landing_first_addvs_makes_the_resend_a_duplicate_that_counts() -> None:
    duplicate = xml_reply(
        b'<Response stat="422" code="fail"><Error>VS already exists</Error></Response>', 422
    )
    appliance = (
        ScriptedAppliance()
        .on("addvs", DROPPED, duplicate)
        .on("showvs", UNKNOWN_VS, showvs_capture())
    )
    async with client(appliance) as lm:
        vs = await lm.add_virtual_service(KEY, settings_params(CREATED))
    assert appliance.commands() == ["addvs", "showvs", "addvs", "showvs"]
    assert (vs.key, vs.check_url) == (KEY, "/healthz")


async def test_a_resend_refused_for_another_reason_reports_the_refusal() -> None:
    invalid = xml_reply(
        b'<Response stat="422" code="fail"><Error>Invalid address</Error></Response>', 422
    )
    appliance = ScriptedAppliance().on("addvs", DROPPED, invalid).on("showvs", UNKNOWN_VS)
    async with client(appliance) as lm:
        with pytest.raises(InvalidOperationError) as caught:
            await lm.add_virtual_service(KEY, settings_params(CREATED))
    assert appliance.commands() == ["addvs", "showvs", "addvs", "showvs"]
    assert str(caught.value) == "lm-test refused addvs: Invalid address"


async def test_addvs_with_a_different_vs_in_place_is_an_unknown_outcome() -> None:
    other = CREATED.model_copy(update={"check_url": "/elsewhere"})
    appliance = ScriptedAppliance().on("addvs", DROPPED).on("showvs", showvs_capture())
    async with client(appliance) as lm:
        with pytest.raises(WriteOutcomeUnknownError) as caught:
            await lm.add_virtual_service(KEY, settings_params(other))
    assert appliance.commands() == ["addvs", "showvs"]
    message = str(caught.value)
    assert message.startswith("addvs of 192.168.1.235:6443/tcp on lm-test failed (")
    assert "could not tell whether it took effect: check the appliance (lmctl plan)" in message


async def test_a_read_back_that_fails_too_is_an_unknown_outcome() -> None:
    appliance = ScriptedAppliance().on("addvs", httpx.ReadTimeout("timed out"))
    appliance.on("showvs", httpx.ConnectError("refused"))
    async with client(appliance, read_attempts=2) as lm:
        with pytest.raises(WriteOutcomeUnknownError, match=r"addvs of 192.168.1.235:6443/tcp"):
            await lm.add_virtual_service(KEY, settings_params(CREATED))
    assert appliance.commands() == ["addvs", "showvs", "showvs"]


@pytest.mark.parametrize(
    "refusal",
    [
        xml_reply(
            b'<Response stat="422" code="fail"><Error>Permission denied</Error></Response>', 422
        ),
        # An appliance refusing with its envelope on a 5xx: a refusal, not "absent" either.
        xml_reply(b'<Response stat="500" code="fail"><Error>System busy</Error></Response>', 500),
    ],
)
async def test_a_read_back_refused_for_another_reason_than_absence_is_an_unknown_outcome(
    refusal: httpx.Response,
) -> None:
    appliance = ScriptedAppliance().on("delvs", DROPPED).on("showvs", refusal)
    async with client(appliance) as lm:
        with pytest.raises(WriteOutcomeUnknownError, match=r"delvs of 192.168.1.235:6443/tcp"):
            await lm.delete_virtual_service(KEY)
    # Only "Unknown VS" says the VS is gone: the delete is neither counted done nor resent.
    assert appliance.commands() == ["delvs", "showvs"]


async def test_a_write_that_never_left_is_resent_without_a_read_back() -> None:
    appliance = ScriptedAppliance().on("addvs", httpx.ConnectError("refused"), showvs_capture())
    async with client(appliance) as lm:
        await lm.add_virtual_service(KEY, settings_params(CREATED))
    assert appliance.commands() == ["addvs", "addvs"]


async def test_a_write_that_never_left_gives_up_after_the_attempts() -> None:
    appliance = ScriptedAppliance().on("delvs", httpx.ConnectError("refused"))
    async with client(appliance, read_attempts=3) as lm:
        with pytest.raises(TransportError) as caught:
            await lm.delete_virtual_service(KEY)
    assert not caught.value.request_sent
    assert appliance.commands() == ["delvs"] * 3


async def test_a_refused_write_is_reported_as_is() -> None:
    appliance = ScriptedAppliance().on("addvs", UNKNOWN_VS)
    async with client(appliance) as lm:
        with pytest.raises(InvalidOperationError):
            await lm.add_virtual_service(KEY, {})
    assert appliance.commands() == ["addvs"]


async def test_second_ambiguous_failure_reads_back_again_then_gives_up() -> None:
    appliance = ScriptedAppliance().on("addvs", DROPPED).on("showvs", UNKNOWN_VS)
    async with client(appliance) as lm:
        with pytest.raises(TransportError, match="failed twice") as failure:
            await lm.add_virtual_service(KEY, settings_params(CREATED))
    # The read-back showed the VS absent: the user is told nothing changed, not "unknown".
    assert not isinstance(failure.value, WriteOutcomeUnknownError)
    assert "did not take effect, so nothing changed" in str(failure.value)
    assert appliance.commands() == ["addvs", "showvs", "addvs", "showvs"]


async def test_addrs_applied_but_unanswered() -> None:
    appliance = ScriptedAppliance().on("addrs", DROPPED)
    appliance.on("showrs", xml_reply(capture("fw7.2.5x-showrs.xml")))
    async with client(appliance) as lm:
        rs = await lm.add_real_server(1, "10.10.10.10", 8080, weight=1000)
    assert appliance.commands() == ["addrs", "showrs"]
    assert (rs.address, rs.port, rs.rs_index) == ("10.10.10.10", 8080, 1)


# -- modify and delete ------------------------------------------------------------------------


async def test_modvs_after_a_500_reads_back_and_accepts_what_it_sees() -> None:
    appliance = ScriptedAppliance().on("modvs", httpx.Response(500, content=b"<html>oops</html>"))
    appliance.on("showvs", xml_reply(capture("fw7.2.5x-modvs.xml")))
    async with client(appliance) as lm:
        vs = await lm.modify_virtual_service(1, {"VStype": "gen", "CheckPort": "8080"})
    assert appliance.commands() == ["modvs", "showvs"]
    assert (vs.vs_type, vs.check_port) == ("gen", 8080)


async def test_modvs_not_applied_is_resent_once() -> None:
    appliance = ScriptedAppliance().on(
        "modvs", httpx.ReadTimeout("timed out"), xml_reply(capture("fw7.2.5x-modvs.xml"))
    )
    appliance.on("showvs", xml_reply(capture("fw7.2.5x-showvs.xml")))  # still VStype http
    async with client(appliance) as lm:
        vs = await lm.modify_virtual_service(1, {"VStype": "gen"})
    assert appliance.commands() == ["modvs", "showvs", "modvs"]
    assert vs.vs_type == "gen"


async def test_a_moved_vs_is_read_where_it_went_when_modvs_returns_no_data() -> None:
    appliance = ScriptedAppliance().on("modvs", DONE).on("showvs", showvs_capture())
    async with client(appliance) as lm:
        vs = await lm.modify_virtual_service(KEY, {"vsaddress": "192.168.1.240"})
    assert appliance.commands() == ["modvs", "showvs"]
    assert appliance.sent[1].params["vs"] == "192.168.1.240"
    assert vs.index == 1


async def test_createsubvs_unanswered_is_never_resent() -> None:
    appliance = ScriptedAppliance().on("modvs", DROPPED).on("showvs", showvs_capture())
    async with client(appliance) as lm:
        with pytest.raises(WriteOutcomeUnknownError, match="modvs of VS index 1 on lm-test"):
            await lm.modify_virtual_service(1, {"createsubvs": ""})
    assert appliance.commands() == ["modvs", "showvs"]


async def test_modrs_applied_but_unanswered_at_its_new_port() -> None:
    moved = capture("fw7.2.5x-showrs.xml").replace(b"<Port>8080</Port>", b"<Port>8443</Port>")
    appliance = ScriptedAppliance().on("modrs", DROPPED)

    def showrs(sent: Sent) -> httpx.Response:
        return xml_reply(moved) if sent.params["rsport"] == "8443" else UNKNOWN_RS

    appliance.on("showrs", showrs)
    async with client(appliance) as lm:
        await lm.modify_real_server(1, "10.10.10.10", 8080, {"newport": "8443", "weight": "1000"})
    assert appliance.commands() == ["modrs", "showrs"]
    assert appliance.sent[1].params["rsport"] == "8443"


async def test_disable_rs_not_applied_is_resent_once() -> None:
    appliance = ScriptedAppliance().on("modrs", DROPPED, json_reply(capture("fw7.2.5x-modrs.json")))
    appliance.on("showrs", json_reply(capture("fw7.2.5x-showrs.json")))  # still enabled
    async with client(appliance, "v2") as lm:
        await lm.set_real_server_enabled(1, "10.10.10.10", 8080, False)
    assert appliance.commands() == ["modrs", "showrs", "modrs"]
    assert appliance.sent[2].params["enable"] == "N"


async def test_delvs_applied_but_unanswered_is_done() -> None:
    appliance = ScriptedAppliance().on("delvs", DROPPED).on("showvs", UNKNOWN_VS)
    async with client(appliance) as lm:
        await lm.delete_virtual_service(KEY)
    assert appliance.commands() == ["delvs", "showvs"]


async def test_delrs_not_applied_is_resent_once() -> None:
    appliance = ScriptedAppliance().on("delrs", httpx.Response(502), DONE)
    appliance.on("showrs", xml_reply(capture("fw7.2.5x-showrs.xml")))
    async with client(appliance) as lm:
        await lm.delete_real_server(1, "10.10.10.10", 8080)
    assert appliance.commands() == ["delrs", "showrs", "delrs"]


async def test_set_parameter_applied_but_unanswered() -> None:
    hamode = b'<Response stat="200" code="ok"><Success><Data><hamode>0</hamode></Data></Success>'
    appliance = ScriptedAppliance().on("set", DROPPED)
    appliance.on("get", xml_reply(hamode + b"</Response>"))
    async with client(appliance) as lm:
        await lm.set_parameter("hamode", "0")
    assert appliance.commands() == ["set", "get"]


# -- one write at a time ----------------------------------------------------------------------


async def test_one_write_in_flight_per_appliance_across_clients_while_reads_run_alongside() -> None:
    writes: Counter[str] = Counter()
    most_writes: Counter[str] = Counter()
    reads_during_writes = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal reads_during_writes
        appliance = request.url.host
        write = "delrs" in request.url.path
        if write:
            writes[appliance] += 1
            most_writes[appliance] = max(most_writes[appliance], writes[appliance])
        elif writes[appliance]:
            reads_during_writes += 1
        await asyncio.sleep(0.01)
        if write:
            writes[appliance] -= 1
            return DONE
        return xml_reply(capture("fw7.2.5x-listvs.xml"))

    transport = httpx.MockTransport(answer)
    # Two clients of lm-hq (the URL spelled differently) and one of another appliance.
    hq = LoadMaster(connection(url="https://lm-hq.example.net"), transport=transport)
    hq_again = LoadMaster(connection(url="https://LM-HQ.example.net:443/"), transport=transport)
    dr = LoadMaster(connection(url="https://lm-dr.example.net"), transport=transport)
    async with hq, hq_again, dr:
        await asyncio.gather(
            *(lm.delete_real_server(1, f"10.0.1.{n}", 443) for n in range(4) for lm in (hq, dr)),
            *(hq_again.delete_real_server(1, f"10.0.2.{n}", 443) for n in range(4)),
            *(hq.list_virtual_services() for _ in range(3)),
        )
        assert (hq.calls, hq_again.calls, dr.calls) == (7, 4, 4)
    assert most_writes == {"lm-hq.example.net": 1, "lm-dr.example.net": 1}
    assert reads_during_writes >= 1


async def test_clients_of_different_appliances_write_at_the_same_time() -> None:
    both_in_flight = asyncio.Event()
    in_flight = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight
        in_flight += 1
        if in_flight == 2:
            both_in_flight.set()
        await asyncio.wait_for(both_in_flight.wait(), 2)
        return DONE

    transport = httpx.MockTransport(answer)
    hq = LoadMaster(connection(url="https://lm-hq.example.net"), transport=transport)
    dr = LoadMaster(connection(url="https://lm-dr.example.net"), transport=transport)
    async with hq, dr:
        await asyncio.gather(
            hq.delete_real_server(1, "10.0.1.1", 443), dr.delete_real_server(1, "10.0.1.1", 443)
        )
    assert both_in_flight.is_set()


async def test_observed_vs_from_read_back_is_a_virtual_service() -> None:
    appliance = ScriptedAppliance().on("modvs", DROPPED).on("showvs", showvs_capture())
    async with client(appliance) as lm:
        vs = await lm.modify_virtual_service(KEY, {"VStype": "http2"})
    assert isinstance(vs, VirtualService)
