"""The mock's optional state file: JSON, written atomically (temporary file + ``os.replace``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from lmctl.errors import LmctlError
from lmctl.mock.state import ApplianceState, state_from_json, state_to_json


class StateFileError(LmctlError):
    """The state file exists but cannot be read as a mock state."""


class StateStore:
    """Loads the state at start, saves it after every change, never leaves a half-written file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> ApplianceState | None:
        """The saved state, or None when there is no file yet."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateFileError(f"cannot read mock state file {self.path}: {error}") from None
        try:
            return state_from_json(json.loads(text))
        except ValueError as error:
            raise StateFileError(
                f"mock state file {self.path} is not a valid lmctl mock state ({error}); "
                "delete it to start from an empty appliance"
            ) from None

    def save(self, state: ApplianceState) -> None:
        """Write the state next to the target, then atomically replace the target."""
        text = json.dumps(state_to_json(state), indent=1, sort_keys=True)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(
                prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
            )
        except OSError as error:
            raise StateFileError(
                f"cannot write mock state file {self.path}: {error.strerror or error}"
            ) from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
