"""``open_appliances``: built-in ``mock://`` appliances over HTTPS, real ones by inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmctl.appliance.base import ApplianceUnavailableError, open_appliances
from lmctl.appliance.changes import CreateVirtualService
from lmctl.appliance.loadmaster import LoadMasterAppliance
from lmctl.loadmaster.models import VirtualServiceKey, VirtualServiceSettings, differing_fields
from lmctl.specs import Inventory

KEY = VirtualServiceKey(address="10.0.1.10", port="443")

INVENTORY = Inventory.model_validate(
    {
        "appliances": {
            "lm-hq": {"url": "mock://lm-hq"},
            "lm-dc1": {"url": "https://10.0.0.5", "auth": {"api_key": {"env": "LMCTL_TEST_NOKEY"}}},
        }
    }
)


async def test_mock_appliance_is_served_over_https_with_state_kept_between_runs(
    tmp_path: Path,
) -> None:
    settings = VirtualServiceSettings(nickname="lmctl.hq.https")
    async with open_appliances(INVENTORY, ["lm-hq"], state_dir=tmp_path) as appliances:
        appliance = appliances["lm-hq"]
        assert isinstance(appliance, LoadMasterAppliance)
        assert appliance.client.connection.url.startswith("https://127.0.0.1:")
        assert appliance.client.connection.tls.fingerprint_sha256
        assert await appliance.observe() == {}
        await appliance.apply(
            CreateVirtualService(array="hq", service="https", key=KEY, settings=settings)
        )
        assert appliance.client.calls == 2
    assert (tmp_path / "mock-lm-hq.json").is_file()
    async with open_appliances(INVENTORY, ["lm-hq"], state_dir=tmp_path) as appliances:
        (kept,) = (await appliances["lm-hq"].observe()).values()
        assert kept.key == KEY and differing_fields(kept.settings, settings) == ()


async def test_unavailable_appliances_are_named_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LMCTL_TEST_NOKEY", raising=False)
    with pytest.raises(ApplianceUnavailableError) as caught:
        async with open_appliances(INVENTORY, ["lm-dc1", "lm-xx"], state_dir=tmp_path):
            pass
    reasons = caught.value.reasons
    assert sorted(reasons) == ["lm-dc1", "lm-xx"]
    assert reasons["lm-xx"] == "not in the inventory"
    # The credential wording belongs to the specs; the variable and the remedy must be named.
    assert reasons["lm-dc1"].endswith(
        "the environment variable LMCTL_TEST_NOKEY is not set; "
        "export LMCTL_TEST_NOKEY=... before running lmctl"
    )
    async with open_appliances(
        INVENTORY, ["lm-hq", "lm-dc1"], state_dir=tmp_path, strict=False
    ) as appliances:
        assert list(appliances) == ["lm-hq"]
        assert list(appliances.unavailable) == ["lm-dc1"]
