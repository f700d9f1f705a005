"""Exchange versions as an admin writes them: ``2010 SP3``, ``2016 CU23``, ``2019 RTM``, or a
build number such as ``14.3.123.4`` (2010 SP3) or ``15.1.2507.6`` (2016 CU23)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from lmctl.specs.builds import BUILD_PATTERN, is_build_number, release_of_build

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
VERSION_PATTERN = (
    # Case-insensitive like the parser, spelled out: JSON Schema patterns have no flags.
    r"^((?:[Ee]xchange\s+)?(2010\s+([Rr][Tt][Mm]|[Ss][Pp][1-3])"
    r"|(2013|2016|2019)\s+([Rr][Tt][Mm]|[Ss][Pp]1|[Cc][Uu]\d+))"
    f"|{BUILD_PATTERN})$"
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
    if is_build_number(text):
        return ExchangeVersion(*release_of_build(text))
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
    # Microsoft shipped Exchange 2013 CU4 as "Service Pack 1": one release, two names.
    return ExchangeVersion(major, "SP1" if (major, level) == (2013, "CU4") else level)


ExchangeVersionField = Annotated[
    ExchangeVersion,
    PlainValidator(parse_exchange_version),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": VERSION_PATTERN,
            "description": "Exchange version and service pack or cumulative update, "
            f"e.g. {_EXAMPLES}; or a build number as Get-ExchangeServer shows it, such as "
            "14.3.123.4 (= 2010 SP3) or 'Version 15.1 (Build 2507.6)' (= 2016 CU23).",
            "examples": ["2010 SP3", "2016 CU23"],
        }
    ),
]
