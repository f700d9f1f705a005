"""Exchange versions as an admin writes them: ``2010 SP3``, ``2016 CU23``, ``2019 RTM``."""

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
_VERSION = re.compile(r"^(?:exchange\s+)?(?P<major>\d{4})\s+(?P<level>[a-z]+\d*)$", re.IGNORECASE)
VERSION_PATTERN = r"^(?:[Ee]xchange\s+)?(2010\s+(RTM|SP[1-3])|(2013|2016|2019)\s+(RTM|SP1|CU\d+))$"
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
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected text like {_EXAMPLES}")
    text = str(value).strip()
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
            f"'{level}' is not a release of Exchange {major}; allowed: {_LEVELS[major]}"
            f" (e.g. {_EXAMPLES})"
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
            f"e.g. {_EXAMPLES}.",
            "examples": ["2010 SP3", "2016 CU23"],
        }
    ),
]
