"""Exchange versions as an admin writes them: ``2010 SP3``, ``2016 CU23``, ``2019 RTM``, or an
Exchange 2010 build number such as ``14.3.123.4`` (the minor version is the service pack)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

MAJOR_VERSIONS: tuple[int, ...] = (2010, 2013, 2016, 2019)
# Exchange 2010 shipped service packs; 2013 had SP1 (= CU4) and cumulative updates; 2016 and
# 2019 only cumulative updates.
_LEVELS: dict[int, str] = {
    2010: r"RTM|SP[1-3]",
    2013: r"RTM|SP1|CU[1-9][0-9]?",
    2016: r"RTM|CU[1-9][0-9]?",
    2019: r"RTM|CU[1-9][0-9]?",
}
_LEVEL_NAMES: dict[int, str] = {
    2010: "RTM, SP1, SP2 or SP3",
    2013: "RTM, SP1 or a cumulative update CU1, CU2, ...",
    2016: "RTM or a cumulative update CU1, CU2, ...",
    2019: "RTM or a cumulative update CU1, CU2, ...",
}
_VERSION = re.compile(r"^(?:exchange\s+)?(?P<major>\d{4})\s+(?P<level>[a-z]+\d*)$", re.IGNORECASE)
# Exchange 2010 builds name their service pack: 14.3.123.4 is SP3 (14.0 is RTM).
_BUILD_2010 = re.compile(
    r"^(?:version\s+)?14\.0?(?P<sp>[0-3])(\.\d+){0,2}(\s*\(build\s+[\d.]+\))?$", re.IGNORECASE
)
_BUILD_2013_PLUS = re.compile(r"^15\.[0-2](\.\d+){0,2}$")
VERSION_PATTERN = (
    r"^((?:[Ee]xchange\s+)?(2010\s+(RTM|SP[1-3])|(2013|2016|2019)\s+(RTM|SP1|CU\d+))"
    r"|(?:[Vv]ersion\s+)?14\.0?[0-3](\.\d+){0,2}(\s*\([Bb]uild\s+[\d.]+\))?)$"
)
_EXAMPLES = "'2010 SP3', '2013 CU23', '2016 CU23' or '2019 RTM'"


@dataclass(frozen=True, order=True, slots=True)
class ExchangeVersion:
    """A major Exchange version and its service pack or cumulative update (``RTM`` for none)."""

    major: int
    level: str

    def __str__(self) -> str:
        return f"{self.major} {self.level}"

    @property
    def has_cas_arrays(self) -> bool:
        """True for Exchange 2010: RPC over TCP, CAS arrays and static RPC ports exist."""
        return self.major == 2010


def parse_exchange_version(value: Any) -> ExchangeVersion:
    """``2010 SP3`` → ExchangeVersion(2010, "SP3"); a clear ValueError for anything else."""
    if isinstance(value, ExchangeVersion):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected text like {_EXAMPLES}")
    text = str(value).strip()
    build = _BUILD_2010.match(text)
    if build is not None:
        service_pack = int(build["sp"])
        return ExchangeVersion(2010, f"SP{service_pack}" if service_pack else "RTM")
    if _BUILD_2013_PLUS.match(text):
        raise ValueError(
            f"'{text}' is a build number of Exchange 2013 or later, which does not say the "
            f"cumulative update here; write the version, e.g. {_EXAMPLES}"
        )
    match = _VERSION.match(text)
    if match is None:
        hint = " (add the service pack or cumulative update)" if text.isdigit() else ""
        raise ValueError(f"'{text}' is not an Exchange version{hint}; write e.g. {_EXAMPLES}")
    major, level = int(match["major"]), match["level"].upper()
    if major not in _LEVELS:
        allowed = ", ".join(str(v) for v in MAJOR_VERSIONS)
        raise ValueError(f"Exchange {major} is not supported; allowed versions: {allowed}")
    if not re.fullmatch(_LEVELS[major], level):
        raise ValueError(
            f"'{level}' is not a release of Exchange {major}; allowed: {_LEVEL_NAMES[major]}"
        )
    return ExchangeVersion(major, level)


ExchangeVersionField = Annotated[
    ExchangeVersion,
    PlainValidator(parse_exchange_version),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": VERSION_PATTERN,
            "description": "Exchange version and service pack or cumulative update, "
            f"e.g. {_EXAMPLES}; or an Exchange 2010 build number such as 14.3.123.4 or "
            "'Version 14.3 (Build 123.4)' (= SP3).",
            "examples": ["2010 SP3", "2016 CU23"],
        }
    ),
]
