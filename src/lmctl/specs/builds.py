"""Exchange build numbers as ``Get-ExchangeServer`` or ``ExSetup.exe`` show them → the release.

Exchange 2010 builds name their service pack in the minor version (``14.3.123.4`` is SP3).
Exchange 2013, 2016 and 2019 are ``15.0``, ``15.1`` and ``15.2``; the third number is the build of
the cumulative update (security updates change only the fourth), so it is looked up in the table
of released builds below (Microsoft's "Exchange Server build numbers and release dates").
"""

from __future__ import annotations

import re

_BUILD = re.compile(
    r"^(?:version\s+)?(?P<major>1[45])\.0?(?P<minor>\d)"
    r"(?:\.0*(?P<build>\d+)(?:\.\d+)?|\s*\(build\s+0*(?P<build_in_parens>\d+)(?:\.\d+)?\))?$",
    re.IGNORECASE,
)
BUILD_PATTERN = r"(?:[Vv]ersion\s+)?1[45]\.0?\d(\.\d+){0,2}(\s*\([Bb]uild\s+\d+(\.\d+)?\))?"
# The major Exchange version of each 15.x minor version.
_MODERN_MAJORS = {0: 2013, 1: 2016, 2: 2019}
# Third build number → release: RTM, then CU1, CU2, ... (2013: CU4 is SP1). Checked against
# Microsoft's ExchangeBuildNumbers.csv (repository microsoft/Get-ExchangeBuildNumber), up to
# 2016 CU23 and 2019 CU15; Exchange SE (15.2.2562) is not a 2019 CU and is refused as unknown.
_RELEASE_BUILDS: dict[int, tuple[int, ...]] = {
    2013: (
        *(516, 620, 712, 775, 847, 913, 995, 1044, 1076, 1104, 1130, 1156, 1178, 1210, 1236),
        *(1263, 1293, 1320, 1347, 1365, 1367, 1395, 1473, 1497),
    ),
    2016: (
        *(225, 396, 466, 544, 669, 845, 1034, 1261, 1415, 1466, 1531, 1591, 1713, 1779, 1847),
        *(1913, 1979, 2044, 2106, 2176, 2242, 2308, 2375, 2507),
    ),
    2019: (221, 330, 397, 464, 529, 595, 659, 721, 792, 858, 922, 986, 1118, 1258, 1544, 1748),
}


def is_build_number(text: str) -> bool:
    """True when ``text`` is written as an Exchange build number (14.x or 15.x)."""
    return _BUILD.match(text.strip()) is not None


def release_of_build(text: str) -> tuple[int, str]:
    """``15.1.2507.6`` → ``(2016, "CU23")``; ``14.3.123.4`` → ``(2010, "SP3")``.

    ValueError with what to write instead when the build is not one of a known release.
    """
    match = _BUILD.match(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not an Exchange build number")
    minor = int(match["minor"])
    if match["major"] == "14":
        if minor > 3:
            raise ValueError(f"'{text}': Exchange 2010 builds are 14.0 (RTM) to 14.3 (SP3)")
        return 2010, f"SP{minor}" if minor else "RTM"
    major = _MODERN_MAJORS.get(minor)
    if major is None:
        raise ValueError(
            f"'{text}': Exchange 15.x builds are 15.0 (2013), 15.1 (2016), 15.2 (2019)"
        )
    build = match["build"] or match["build_in_parens"]
    if build is None:
        raise ValueError(
            f"'{text}' does not say the cumulative update of Exchange {major}: give the whole "
            f"build as Get-ExchangeServer shows it, or write the release, e.g. '{major} RTM'"
        )
    return major, _release(major, minor, int(build), text)


def _release(major: int, minor: int, build: int, text: str) -> str:
    builds = _RELEASE_BUILDS[major]
    if build not in builds:
        raise ValueError(
            f"'{text}' is not the build of an Exchange {major} release lmctl knows (RTM is "
            f"15.{minor}.{builds[0]}, the latest CU{len(builds) - 1} is 15.{minor}.{builds[-1]}); "
            f"write the release instead, e.g. '{major} CU{len(builds) - 1}'"
        )
    position = builds.index(build)
    if position == 0:
        return "RTM"
    if major == 2013 and position == 4:
        return "SP1"
    return f"CU{position}"
