"""Make-before-break across arrays: virtual services are deleted after every other write."""

from __future__ import annotations

from reconcile_builders import key

from lmctl.loadmaster.models import VirtualServiceSettings
from lmctl.reconcile.changes import (
    AddRealServer,
    CreateVirtualService,
    DeleteVirtualService,
)
from lmctl.reconcile.order import in_write_order


def test_an_array_renamed_and_moved_is_created_before_its_old_name_is_deleted() -> None:
    # "hq" sorts before "hq2": without the rule, hq's VS would go before hq2's exists.
    old = DeleteVirtualService(array="hq", service="https", key=key("10.0.1.10"))
    new = CreateVirtualService(
        array="hq2", service="https", key=key("10.0.1.20"), settings=VirtualServiceSettings()
    )
    member = AddRealServer(
        array="hq2", service="https", key=key("10.0.1.20"), address="10.0.1.11", port=443
    )

    assert in_write_order([old, member, new]) == (new, member, old)
