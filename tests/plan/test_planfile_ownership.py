"""``not_owned``: the ownership check of a saved plan's changes against the appliance as read
when it is applied. Every plan lmctl makes passes it on the state it was made from; each kind of
change edited onto what its array does not own is named, with what was found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plan_builders import desired, key
from plan_strategies import SERVICES, observed_states, vs_specs

from lmctl.appliance.changes import (
    AddRealServer,
    AdoptVirtualService,
    AssignContentRule,
    Change,
    CreateContentRule,
    CreateSubService,
    CreateVirtualService,
    DeleteContentRule,
    DeleteSubService,
    DeleteVirtualService,
    FieldChange,
    RemoveRealServer,
    UnassignContentRule,
    UpdateContentRule,
    UpdateRealServer,
    UpdateSubService,
    UpdateVirtualService,
)
from lmctl.appliance.loadmaster import appliance_state
from lmctl.appliance.state import (
    ApplianceState,
    ContentRuleState,
    RealServerState,
    SubServiceState,
    VirtualServiceState,
)
from lmctl.exchange import DesiredVirtualService
from lmctl.loadmaster.models import VirtualService, VirtualServiceKey, VirtualServiceSettings
from lmctl.plan.document import AppliancePlan, Plan, make_plan
from lmctl.plan.ownership import not_owned, unconsented

APPLIANCE = "lm-hq"
HQ = key("10.0.1.10")
FREE = key("10.0.1.11")
FOREIGN = key("10.0.9.9")
WITH_SUBS = key("10.0.9.10")
PARENT = key("10.30.1.50")
OLD_PARENT = key("10.30.1.60")
EWS = "lmctl.mail-2019.https.ews"
OWA = "lmctl.mail-2019.https.owa"
OLD_EWS = "lmctl.old.https.ews"


def vs(
    at: VirtualServiceKey,
    nickname: str | None,
    *,
    subs: Sequence[str] = (),
    sub_services: int = 0,
) -> VirtualServiceState:
    """A VS with one real server, or a parent with the SubVSs ``subs`` (each with its rule)."""
    return VirtualServiceState(
        at,
        VirtualServiceSettings(NickName=nickname),
        () if subs else (RealServerState("10.0.1.21", 443),),
        sub_vs=tuple(
            SubServiceState(
                VirtualServiceSettings(NickName=marker),
                (RealServerState("10.0.1.21", 443),),
                rules=(marker,),
            )
            for marker in subs
        ),
        content_rules=tuple(ContentRuleState(marker, f"^/{marker[-3:]}") for marker in subs),
        sub_services=sub_services or len(subs),
    )


STATE: ApplianceState = {
    HQ: vs(HQ, "lmctl.hq.https"),
    FOREIGN: vs(FOREIGN, "adminapp"),
    WITH_SUBS: vs(WITH_SUBS, None, sub_services=2),
    PARENT: vs(PARENT, "lmctl.mail-2019.https", subs=(EWS,)),
    OLD_PARENT: vs(OLD_PARENT, "lmctl.old.https", subs=(OLD_EWS,)),
}
HQ_HTTPS = {"array": "hq", "service": "https"}
MAIL = {"array": "mail-2019", "service": "https", "key": PARENT}
MARK_HQ = FieldChange(field="nickname", old="adminapp", new="lmctl.hq.https")
WEIGHT = FieldChange(field="weight", old=1000, new=500)
WANTED = (desired("hq", "https", at=FOREIGN), desired("hq", "https", at=WITH_SUBS))


def plan_of(changes: Sequence[Change]) -> Plan:
    appliance = AppliancePlan(name=APPLIANCE, changes=tuple(changes))
    return Plan(
        lmctl_version="test",
        created_at=datetime(2026, 11, 26, tzinfo=UTC),
        specs_digest="sha256:x",
        appliances=(appliance,),
    )


def refusals(
    changes: Sequence[Change], wanted: Sequence[DesiredVirtualService] = WANTED
) -> list[str]:
    return [
        str(problem)
        for problem in not_owned(plan_of(changes), {APPLIANCE: STATE}, {APPLIANCE: wanted})
    ]


def settings_marked(nickname: str | None) -> VirtualServiceSettings:
    return VirtualServiceSettings(NickName=nickname)


@settings(max_examples=200, deadline=None)
@given(
    wanted=vs_specs(SERVICES[:3]),
    observed=observed_states(),
    adopting=st.lists(st.sampled_from(("hq", "branch")), unique=True),
)
def test_every_plan_lmctl_makes_passes_on_the_state_it_was_made_from(
    wanted: list[DesiredVirtualService], observed: list[VirtualService], adopting: list[str]
) -> None:
    state = appliance_state(observed)
    plan = make_plan(
        {APPLIANCE: wanted}, {APPLIANCE: state}, specs_digest="sha256:x", adopting=adopting
    )
    assert not_owned(plan, {APPLIANCE: state}, {APPLIANCE: wanted}) == []


def test_writes_to_what_the_plan_adopts_creates_or_re_marks_pass() -> None:
    member = {"address": "10.0.1.22", "port": 443}
    renamed = {"array": "mail-2019", "service": "https", "key": OLD_PARENT}
    assert (
        refusals(
            [
                AdoptVirtualService(**HQ_HTTPS, key=FOREIGN, fields=(MARK_HQ,)),
                AddRealServer(**HQ_HTTPS, key=FOREIGN, **member),
                CreateVirtualService(
                    array="hq", service="smtp", key=FREE, settings=settings_marked("lmctl.hq.smtp")
                ),
                AddRealServer(array="hq", service="smtp", key=FREE, **member),
                # A renamed per-protocol array: its parent re-marked, the old SubVS and rule
                # taken down, the new ones made.
                UpdateVirtualService(
                    **renamed,
                    fields=(
                        FieldChange(
                            field="nickname", old="lmctl.old.https", new="lmctl.mail-2019.https"
                        ),
                    ),
                ),
                UnassignContentRule(**renamed, sub_service=OLD_EWS, rule=OLD_EWS),
                DeleteContentRule(**renamed, sub_service=OLD_EWS, rule=OLD_EWS),
                DeleteSubService(**renamed, sub_service=OLD_EWS),
                CreateSubService(**MAIL, sub_service=OWA, settings=settings_marked(OWA)),
                AddRealServer(**MAIL, sub_service=OWA, **member),
                CreateContentRule(**MAIL, sub_service=OWA, rule=OWA, pattern="^/owa"),
                AssignContentRule(**MAIL, sub_service=OWA, rule=OWA),
            ],
            (*WANTED, desired("mail-2019", "https", at=OLD_PARENT)),
        )
        == []
    )


REMARK_AS_ZZZ = FieldChange(field="nickname", old="lmctl.mail-2019.https", new="lmctl.zzz.https")


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        # An array the specs do not have: no rename, so the VS stays mail-2019's.
        (
            WANTED,
            "found 10.30.1.50:443/tcp (NickName 'lmctl.mail-2019.https'), not the marker "
            "'lmctl.zzz.https'",
        ),
        # Wanted there, but mail-2019 is still in the specs: no rename either.
        (
            (desired("zzz", "https", at=PARENT), desired("mail-2019", "https", at=OLD_PARENT)),
            "found 10.30.1.50:443/tcp (NickName 'lmctl.mail-2019.https'), not the marker "
            "'lmctl.zzz.https'",
        ),
        # A real rename keeps its VS: the same plan never deletes it.
        (
            (desired("zzz", "https", at=PARENT),),
            "the plan re-marks 10.30.1.50:443/tcp and then deletes it: a re-marked VS stays "
            "where the specs want it",
        ),
    ],
)
def test_a_re_mark_is_a_rename_only_as_the_specs_want_it_and_never_a_way_to_delete(
    wanted: tuple[DesiredVirtualService, ...], expected: str
) -> None:
    zzz = {"array": "zzz", "service": "https", "key": PARENT}
    problems = refusals(
        [UpdateVirtualService(**zzz, fields=(REMARK_AS_ZZZ,)), DeleteVirtualService(**zzz)],
        wanted,
    )
    assert f"{APPLIANCE}: delvs {PARENT} (zzz/https): {expected}" in problems


def found(at: VirtualServiceKey, nickname: str) -> str:
    return f"found {at} (NickName {nickname!r})"


NOT_HQ = f"{found(FOREIGN, 'adminapp')}, not the marker 'lmctl.hq.https'"
MEMBER = {"address": "10.0.1.21", "port": 443}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (DeleteVirtualService(**HQ_HTTPS, key=FOREIGN), f"delvs {FOREIGN} (hq/https): {NOT_HQ}"),
        (
            DeleteVirtualService(array="branch", service="https", key=HQ),
            f"delvs {HQ} (branch/https): {found(HQ, 'lmctl.hq.https')}, not the marker "
            "'lmctl.branch.https'",
        ),
        (
            UpdateVirtualService(
                **HQ_HTTPS, key=FOREIGN, fields=(FieldChange(field="idle_time", old=1, new=2),)
            ),
            f"modvs {FOREIGN} (hq/https): {NOT_HQ}",
        ),
        (
            UpdateVirtualService(**HQ_HTTPS, key=FOREIGN, fields=(MARK_HQ,)),
            f"modvs {FOREIGN} (hq/https): {NOT_HQ}",
        ),
        (
            UpdateVirtualService(
                **HQ_HTTPS,
                key=HQ,
                fields=(FieldChange(field="nickname", old="lmctl.hq.https", new="adminapp"),),
            ),
            f"modvs {HQ} (hq/https): it would write NickName 'adminapp', not the marker "
            "'lmctl.hq.https'",
        ),
        (
            UpdateVirtualService(**HQ_HTTPS, key=HQ, new_key=FOREIGN),
            f"modvs {HQ} → {FOREIGN} (hq/https): the key is taken: {found(FOREIGN, 'adminapp')}",
        ),
        (
            CreateVirtualService(
                **HQ_HTTPS, key=FOREIGN, settings=settings_marked("lmctl.hq.https")
            ),
            f"addvs {FOREIGN} (hq/https): the key is taken: {found(FOREIGN, 'adminapp')}",
        ),
        (
            CreateVirtualService(**HQ_HTTPS, key=FREE, settings=settings_marked(None)),
            f"addvs {FREE} (hq/https): it would write no NickName, not the marker 'lmctl.hq.https'",
        ),
        (
            AddRealServer(**HQ_HTTPS, key=FOREIGN, **MEMBER),
            f"addrs 10.0.1.21:443 in {FOREIGN} (hq/https): {NOT_HQ}",
        ),
        (
            UpdateRealServer(**HQ_HTTPS, key=FOREIGN, **MEMBER, fields=(WEIGHT,)),
            f"modrs 10.0.1.21:443 in {FOREIGN} (hq/https): {NOT_HQ}",
        ),
        (
            RemoveRealServer(**HQ_HTTPS, key=FREE, **MEMBER),
            f"delrs 10.0.1.21:443 in {FREE} (hq/https): no virtual service at {FREE}",
        ),
        (
            AdoptVirtualService(**HQ_HTTPS, key=HQ, fields=(MARK_HQ,)),
            f"modvs {HQ} (hq/https): {found(HQ, 'lmctl.hq.https')}: already lmctl's",
        ),
        (
            AdoptVirtualService(array="branch", service="https", key=FOREIGN, fields=()),
            f"modvs {FOREIGN} (branch/https): {found(FOREIGN, 'adminapp')}; the specs now want "
            "no branch/https there, and lmctl adopts only what they want",
        ),
        (
            AdoptVirtualService(**HQ_HTTPS, key=WITH_SUBS, fields=()),
            f"modvs {WITH_SUBS} (hq/https): found {WITH_SUBS} (no NickName), which holds SubVSs: "
            "never adopted",
        ),
        (
            AdoptVirtualService(**HQ_HTTPS, key=FOREIGN, fields=()),
            f"modvs {FOREIGN} (hq/https): it would write no NickName, not the marker "
            "'lmctl.hq.https'",
        ),
        (
            DeleteContentRule(**MAIL, sub_service="adminrule", rule="adminrule"),
            f"delrule adminrule of {PARENT} (mail-2019/https): content rule 'adminrule' carries "
            "no SubVS marker of mail-2019/https",
        ),
        (
            DeleteContentRule(**MAIL, sub_service=OLD_EWS, rule=OLD_EWS),
            f"delrule {OLD_EWS} of {PARENT} (mail-2019/https): content rule '{OLD_EWS}' carries "
            "no SubVS marker of mail-2019/https",
        ),
        (
            DeleteContentRule(**{**MAIL, "key": OLD_PARENT}, sub_service=OLD_EWS, rule=OLD_EWS),
            f"delrule {OLD_EWS} of {OLD_PARENT} (mail-2019/https): "
            f"{found(OLD_PARENT, 'lmctl.old.https')}, not the marker 'lmctl.mail-2019.https'",
        ),
        (
            DeleteSubService(**MAIL, sub_service="adminsub"),
            f"delvs SubVS adminsub of {PARENT} (mail-2019/https): SubVS 'adminsub' carries no "
            "SubVS marker of mail-2019/https",
        ),
        (
            UpdateSubService(
                **MAIL, sub_service=EWS, fields=(FieldChange(field="nickname", old=EWS, new="x"),)
            ),
            f"modvs SubVS {EWS} of {PARENT} (mail-2019/https): it would write NickName 'x', not "
            f"the marker '{EWS}'",
        ),
        (
            CreateSubService(**MAIL, sub_service=OLD_EWS, settings=settings_marked(OLD_EWS)),
            f"modvs createsubvs SubVS {OLD_EWS} of {PARENT} (mail-2019/https): SubVS "
            f"'{OLD_EWS}' carries no SubVS marker of mail-2019/https",
        ),
        (
            AddRealServer(**MAIL, sub_service=OLD_EWS, **MEMBER),
            f"addrs 10.0.1.21:443 in SubVS {OLD_EWS} of {PARENT} (mail-2019/https): SubVS "
            f"'{OLD_EWS}' carries no SubVS marker of mail-2019/https",
        ),
        (
            UnassignContentRule(**MAIL, sub_service="adminsub", rule="adminrule"),
            f"delrsrule adminrule on SubVS adminsub of {PARENT} (mail-2019/https): SubVS "
            "'adminsub' carries no SubVS marker of mail-2019/https",
        ),
        (
            UpdateSubService(**MAIL, sub_service=OWA, fields=()),
            f"modvs SubVS {OWA} of {PARENT} (mail-2019/https): cannot run on what the appliance "
            f"holds now (update_subvs on {PARENT}: no SubVS {OWA})",
        ),
    ],
    ids=lambda value: getattr(value, "action", None),
)
def test_a_change_to_what_its_array_does_not_own_is_named_with_what_was_found(
    change: Change, expected: str
) -> None:
    assert refusals([change]) == [f"{APPLIANCE}: {expected}"]


def test_each_offending_change_is_listed_and_the_rest_still_checked() -> None:
    problems = refusals(
        [
            DeleteVirtualService(**HQ_HTTPS, key=FOREIGN),
            DeleteVirtualService(**HQ_HTTPS, key=HQ),
            DeleteVirtualService(**HQ_HTTPS, key=HQ),
        ]
    )
    assert problems == [
        f"{APPLIANCE}: delvs {FOREIGN} (hq/https): {NOT_HQ}",
        f"{APPLIANCE}: delvs {HQ} (hq/https): no virtual service at {HQ}",
    ]


def test_a_vs_the_plan_adopts_is_never_deleted_nor_moved_away_by_it() -> None:
    adopt = AdoptVirtualService(**HQ_HTTPS, key=FOREIGN, fields=(MARK_HQ,))
    # Re-marked as another array's on the way: still the VS this plan adopted.
    remark = UpdateVirtualService(
        array="branch",
        service="https",
        key=FOREIGN,
        fields=(FieldChange(field="nickname", old="lmctl.hq.https", new="lmctl.branch.https"),),
    )
    adopted = f"the plan adopts {FOREIGN} and then"
    assert refusals([adopt, DeleteVirtualService(**HQ_HTTPS, key=FOREIGN)]) == [
        f"{APPLIANCE}: delvs {FOREIGN} (hq/https): {adopted} deletes it: an adopted VS stays "
        "where the specs want it"
    ]
    assert refusals([adopt, UpdateVirtualService(**HQ_HTTPS, key=FOREIGN, new_key=FREE)]) == [
        f"{APPLIANCE}: modvs {FOREIGN} → {FREE} (hq/https): {adopted} moves it: an adopted VS "
        "stays where the specs want it"
    ]
    # Re-marked as an array the specs do not want there: no rename, so neither write is owned.
    branch = f"found {FOREIGN} (NickName 'lmctl.hq.https'), not the marker 'lmctl.branch.https'"
    assert refusals(
        [adopt, remark, DeleteVirtualService(array="branch", service="https", key=FOREIGN)]
    ) == [
        f"{APPLIANCE}: modvs {FOREIGN} (branch/https): {branch}",
        f"{APPLIANCE}: delvs {FOREIGN} (branch/https): {branch}",
    ]


SHARED_RULE = ContentRuleState(EWS, "^/ews", assigned_elsewhere=("real server 10.0.9.21:443",))
ADMINS_SUB = SubServiceState(VirtualServiceSettings(NickName="adminsub"), index=7)
CLASHING: ApplianceState = {
    **STATE,
    PARENT: replace(STATE[PARENT], content_rules=(SHARED_RULE,)),
    OLD_PARENT: replace(STATE[OLD_PARENT], foreign_sub_vs=(ADMINS_SUB,)),
}
OLD = {"array": "old", "service": "https", "key": OLD_PARENT}
SHARED = (
    f"{PARENT} (NickName 'lmctl.mail-2019.https') holds or shares what lmctl does not own "
    f"exactly: content rule '{EWS}' is also assigned to real server 10.0.9.21:443: assign a "
    "rule of your own there"
)
FOREIGN_SUB = (
    f"{OLD_PARENT} (NickName 'lmctl.old.https') holds or shares what lmctl does not own "
    "exactly: SubVS Index 7 (NickName 'adminsub') is not lmctl's: move it to a virtual service "
    "of its own"
)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            DeleteContentRule(**MAIL, sub_service=EWS, rule=EWS),
            f"delrule {EWS} of {PARENT} (mail-2019/https): {SHARED}",
        ),
        (
            UpdateContentRule(
                **MAIL,
                sub_service=EWS,
                rule=EWS,
                pattern="^/EWS",
                fields=(FieldChange(field="pattern", old="^/ews", new="^/EWS"),),
            ),
            f"modrule {EWS} of {PARENT} (mail-2019/https): {SHARED}",
        ),
        (
            AddRealServer(**MAIL, sub_service=EWS, address="10.0.1.22", port=443),
            f"addrs 10.0.1.22:443 in SubVS {EWS} of {PARENT} (mail-2019/https): {SHARED}",
        ),
        (
            DeleteVirtualService(**OLD),
            f"delvs {OLD_PARENT} (old/https): {FOREIGN_SUB}",
        ),
        (
            DeleteSubService(**OLD, sub_service=OLD_EWS),
            f"delvs SubVS {OLD_EWS} of {OLD_PARENT} (old/https): {FOREIGN_SUB}",
        ),
        (
            UpdateVirtualService(**OLD, fields=(FieldChange(field="idle_time", old=0, new=9),)),
            f"modvs {OLD_PARENT} (old/https): {FOREIGN_SUB}",
        ),
    ],
    ids=lambda value: getattr(value, "action", None),
)
def test_no_change_touches_a_vs_that_holds_or_shares_what_lmctl_does_not_own(
    change: Change, expected: str
) -> None:
    problems = not_owned(plan_of([change]), {APPLIANCE: CLASHING}, {APPLIANCE: WANTED})
    assert [str(problem) for problem in problems] == [f"{APPLIANCE}: {expected}"]


def test_a_rule_assigned_elsewhere_is_not_made_again_under_another_vs_of_its_array() -> None:
    # The rule is read with another VS of mail-2019 (a copy of the parent's marker): a create
    # at the parent, whose own read lacks it, would still change what the admin uses.
    copy = key("10.30.1.51")
    state: ApplianceState = {
        **STATE,
        PARENT: replace(STATE[PARENT], content_rules=()),
        copy: replace(STATE[PARENT], key=copy, sub_vs=(), content_rules=(SHARED_RULE,)),
    }
    create = CreateContentRule(**MAIL, sub_service=EWS, rule=EWS, pattern="^/ews")
    (problem,) = not_owned(plan_of([create]), {APPLIANCE: state}, {APPLIANCE: WANTED})
    assert str(problem).endswith(
        f"content rule '{EWS}' is also assigned to real server 10.0.9.21:443: assign a rule of "
        "your own there"
    )


def test_unconsented_names_each_adoption_whose_array_adopt_does_not_name() -> None:
    hq = AdoptVirtualService(**HQ_HTTPS, key=FOREIGN, fields=(MARK_HQ,))
    branch = AdoptVirtualService(array="branch", service="https", key=WITH_SUBS, fields=())
    plan = plan_of([hq, branch, DeleteVirtualService(**HQ_HTTPS, key=HQ)])
    assert unconsented(plan, ()) == [(APPLIANCE, hq), (APPLIANCE, branch)]
    assert unconsented(plan, ("hq",)) == [(APPLIANCE, branch)]
    assert unconsented(plan, ("hq", "branch")) == []
