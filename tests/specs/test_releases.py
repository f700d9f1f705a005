"""The table of Exchange releases: versions and build numbers as admins write them (pure parsing,
no files), and what each major version offers."""

from __future__ import annotations

import itertools
import re

import jsonschema
import pytest

from lmctl.errors import LmctlError
from lmctl.releases import FAMILIES, SERVICE_PORTS, ExchangeFamily, UnknownReleaseError
from lmctl.specs import ExchangeVersion, json_schema, parse_exchange_version

WRITTEN_RELEASES: list[tuple[str | float, ExchangeVersion]] = [
    ("2010 SP3", ExchangeVersion(2010, "SP3")),
    ("Exchange 2016 cu23", ExchangeVersion(2016, "CU23")),
    ("2019 rtm", ExchangeVersion(2019, "RTM")),
    ("2013 CU4", ExchangeVersion(2013, "SP1")),
    ("14.3.123.4", ExchangeVersion(2010, "SP3")),
    ("14.02.0247.005", ExchangeVersion(2010, "SP2")),
    ("Version 14.0 (Build 639.21)", ExchangeVersion(2010, "RTM")),
    (14.3, ExchangeVersion(2010, "SP3")),
    ("15.0.847.32", ExchangeVersion(2013, "SP1")),
    ("15.0.1497.2", ExchangeVersion(2013, "CU23")),
    ("15.1.225.42", ExchangeVersion(2016, "RTM")),
    ("15.01.2507.006", ExchangeVersion(2016, "CU23")),
    ("Version 15.1 (Build 2507.6)", ExchangeVersion(2016, "CU23")),
    ("15.2.1748.10", ExchangeVersion(2019, "CU15")),
    ("Version 15.2 (Build 221.12)", ExchangeVersion(2019, "RTM")),
]


@pytest.mark.parametrize(("written", "release"), WRITTEN_RELEASES)
def test_versions_and_builds_name_their_release(
    written: str | float, release: ExchangeVersion
) -> None:
    assert parse_exchange_version(written) == release


@pytest.mark.parametrize("written", [w for w, _ in WRITTEN_RELEASES if isinstance(w, str)], ids=str)
def test_the_schema_accepts_every_written_release(written: str) -> None:
    # An editor must not flag what lmctl accepts.
    jsonschema.validate(written, json_schema("array")["properties"]["exchange"])


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("15.1", "'15.1' does not say the release of Exchange 2016"),
        ("15.2.9999.1", "not the build of an Exchange 2019 or SE release lmctl knows"),
        ("15.4.100.1", "Exchange 15.x builds are 15.0 (2013), 15.1 (2016), 15.2 (2019, SE)"),
        ("14.5.1.1", "Exchange 2010 builds are 14.0 (RTM) to 14.3 (SP3)"),
        ("2016 SP1", "'SP1' is not a release of Exchange 2016"),
        ("2016", "(add the service pack or cumulative update)"),
        (True, "expected text like '2010 SP3'"),
    ],
)
def test_unknown_versions_say_what_to_write(written: object, message: str) -> None:
    with pytest.raises(UnknownReleaseError, match=re.escape(message)) as raised:
        parse_exchange_version(written)
    # A ValueError for pydantic (the spec field's problem), an LmctlError for a library user.
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, LmctlError)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: str(f.major))
def test_every_known_build_names_a_release_that_parses_back(family: ExchangeFamily) -> None:
    for position in range(len(family.release_builds)):
        # The fourth number (a security update) never changes the release.
        release = parse_exchange_version(f"{family.build_of(position)}.3")
        assert release == parse_exchange_version(f"{family.name} {family.level_at(position)}")
        jsonschema.validate(str(release), json_schema("array")["properties"]["exchange"])


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: str(f.major))
def test_each_version_publishes_services_it_offers_on_their_ports(family: ExchangeFamily) -> None:
    assert set(family.default_services) <= set(family.profiles) <= set(SERVICE_PORTS)
    assert "https" in family.default_services
    # Only a version with RPC over TCP has a CAS array object and lacks healthcheck.htm.
    assert family.has_cas_array == family.has_rpc_over_tcp != family.has_healthcheck_htm


def test_the_families_follow_one_another() -> None:
    assert [f.major for f in FAMILIES] == sorted(f.major for f in FAMILIES)
    for family in FAMILIES:
        assert list(family.release_builds) == sorted(set(family.release_builds))
    # Two versions share a major.minor only when the later one continues the earlier's builds
    # (Exchange SE is 15.2 from build 2562 on, after 2019 CU15's 1748).
    for earlier, later in itertools.pairwise(FAMILIES):
        if earlier.version == later.version:
            assert earlier.release_builds[-1] < later.release_builds[0]


# The last update of each version in Microsoft's "Exchange Server build numbers and release
# dates" (ExchangeBuildNumbers.csv): the ceiling lmctl accepts.
LAST_RELEASES = [
    ("14.3.513.0", "2010 SP3"),
    ("15.0.1497.2", "2013 CU23"),
    ("15.1.2507.6", "2016 CU23"),
    ("15.2.1748.10", "2019 CU15"),
    ("15.2.2562.17", "SE RTM"),
]


@pytest.mark.parametrize(("build", "release"), LAST_RELEASES)
def test_the_last_published_release_of_each_version_is_the_latest_lmctl_knows(
    build: str, release: str
) -> None:
    version = parse_exchange_version(build)

    assert str(version) == release == str(parse_exchange_version(release))
    assert version.level == version.family.latest
    jsonschema.validate(release, json_schema("array")["properties"]["exchange"])


@pytest.mark.parametrize("written", ["2019 CU16", "2016 CU24", "2013 CU24", "SE CU1", "2010 SP4"])
def test_an_update_after_the_last_released_one_is_refused(written: str) -> None:
    with pytest.raises(UnknownReleaseError, match="is not a release of Exchange"):
        parse_exchange_version(written)
