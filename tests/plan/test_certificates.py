"""The pure decisions of the certificate check: what a plan needs installed, on which
appliances to read it, and what is missing."""

from __future__ import annotations

from lmctl.appliance.changes import (
    CreateVirtualService,
    FieldChange,
    UpdateVirtualService,
)
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings
from lmctl.plan.certificates import (
    MissingCertificate,
    NeededCertificate,
    appliances_to_read,
    missing_certificates,
    needed_by_changes,
)

KEY = VirtualServiceKey(address="10.30.1.50", port="443")
MAIL = NeededCertificate("lm-hq", "mail-2019", "mail-2019")
BRANCH = NeededCertificate("lm-branch", "mail-muc", "mail-muc")


def test_a_saved_plan_needs_the_certificates_its_writes_name_and_no_other() -> None:
    created = CreateVirtualService(
        array="mail-2019",
        service="https",
        key=KEY,
        settings=VirtualServiceSettings.model_validate({"CertFile": "mail-2019 legacy"}),
    )
    updated = UpdateVirtualService(
        array="mail-muc",
        service="https",
        key=KEY,
        fields=(FieldChange(field="cert_file", old="old", new="mail-muc"),),
    )
    untouched = UpdateVirtualService(
        array="hq", service="https", key=KEY, fields=(FieldChange(field="weight", old=1, new=2),)
    )
    needed = needed_by_changes({"lm-hq": [created, untouched], "lm-branch": [updated]})
    assert needed == (BRANCH, NeededCertificate("lm-hq", "mail-2019", "legacy"), MAIL)


def test_only_opened_appliances_that_need_one_are_read_and_only_they_can_lack_one() -> None:
    assert appliances_to_read([MAIL, BRANCH], opened=["lm-hq", "lm-dc1"]) == ["lm-hq"]
    assert appliances_to_read([], opened=["lm-hq"]) == []
    missing = missing_certificates([MAIL, BRANCH], {"lm-hq": {"z", "Mail-2019"}})
    assert missing == (MissingCertificate(MAIL, ("Mail-2019", "z")),)
    assert missing_certificates([MAIL], {"lm-hq": {"mail-2019"}}) == ()
