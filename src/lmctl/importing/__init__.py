"""``lmctl import``: array specs written from what an appliance already holds.

``recognise`` decides (pure: an ``ApplianceState`` in, the arrays and the skipped VSs out);
``files`` writes the specs, never over an existing file unless told to.
"""

from lmctl.importing.files import ImportFileError, spec_text, write_specs
from lmctl.importing.recognise import (
    ImportedArray,
    ImportOptions,
    ImportResult,
    Skipped,
    import_state,
)

__all__ = [
    "ImportFileError",
    "ImportOptions",
    "ImportResult",
    "ImportedArray",
    "Skipped",
    "import_state",
    "spec_text",
    "write_specs",
]
