"""An array spec together with the file it came from, so rules can point at lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lmctl.specs.array import ArraySpec
from lmctl.specs.diagnostics import Diagnostic, Severity
from lmctl.specs.locations import field_path
from lmctl.specs.yaml_source import YamlDocument


@dataclass(frozen=True)
class SourcedArray:
    """A validated array spec together with the file it came from (for line numbers)."""

    spec: ArraySpec
    document: YamlDocument

    def diagnostic(
        self, severity: Severity, location: Sequence[str | int], message: str
    ) -> Diagnostic:
        """A diagnostic pointing at ``location`` inside this array's file."""
        return Diagnostic(
            severity=severity,
            file=self.document.display,
            line=self.document.line_of(location),
            field=field_path(location),
            message=message,
        )

    def at(self, field: str) -> str:
        """``arrays/hq.yaml:5``: the file and the line of the top-level key ``field``."""
        return f"{self.document.display}:{self.document.line_of((field,))}"

    def where(self) -> str:
        """``array 'hq-cas' (arrays/hq.yaml:2)`` for messages that point at another array."""
        return f"array '{self.spec.name}' ({self.at('name')})"
