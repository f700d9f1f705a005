"""What validation reports: one ``Diagnostic`` per problem, and ``SpecError`` carrying them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

from lmctl.errors import LmctlError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in one spec file: where it is (file, line, field) and what is wrong.

    ``line`` is 1-based, or None when the problem concerns a file as a whole. ``field`` is the
    dotted path of the YAML key (``members[1].address``), empty for the whole document.
    """

    severity: Severity
    file: str
    line: int | None
    field: str
    message: str

    @property
    def is_error(self) -> bool:
        """True for an error (stops everything), False for a warning."""
        return self.severity == "error"

    @property
    def location(self) -> str:
        """``file:line`` (or just the file when no line applies)."""
        return self.file if self.line is None else f"{self.file}:{self.line}"

    def __str__(self) -> str:
        field = f" {self.field}:" if self.field else ""
        return f"{self.location}: {self.severity}:{field} {self.message}"

    def as_json(self) -> dict[str, object]:
        """A plain mapping for ``--format json``."""
        return asdict(self)


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Diagnostics in reading order: by file, then line, errors before warnings on one line."""
    return tuple(
        sorted(
            diagnostics,
            key=lambda d: (d.file, d.line or 0, d.severity != "error", d.field, d.message),
        )
    )


class SpecError(LmctlError):
    """The specs hold at least one error; ``diagnostics`` lists every error and warning found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        super().__init__("\n".join(str(d) for d in errors) or "invalid specs")

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """Only the errors."""
        return tuple(d for d in self.diagnostics if d.is_error)
