"""Choosing the arrays a status run covers."""

from __future__ import annotations

import pytest
from status_builders import desired_service, two_member_array

from lmctl.status.scope import UnknownArrayError, select_arrays


def test_no_names_selects_every_array_and_named_ones_drop_idle_appliances() -> None:
    hq = two_member_array()
    dr = [desired_service("https", 443, ["cas03"], array="dr")]
    desired = {"lm-hq": tuple(hq), "lm-dr": tuple(dr)}

    assert select_arrays(desired, []) == desired
    assert select_arrays(desired, ["dr"]) == {"lm-dr": tuple(dr)}


def test_unknown_array_is_named_with_the_known_ones() -> None:
    with pytest.raises(UnknownArrayError) as raised:
        select_arrays({"lm-hq": tuple(two_member_array())}, ["hq", "branch"])

    assert str(raised.value) == "no array named branch in the specs; arrays: hq"
