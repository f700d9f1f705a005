"""``lmctl import``: array specs written from what an appliance already holds.

``recognise`` decides (pure: an ``ApplianceState`` in, the arrays and the skipped VSs out);
``files`` writes the specs, never over an existing file unless told to; ``redact`` scrubs
secrets from the appliance's text first; ``report`` is the document of ``--format json``.
"""

from lmctl.importing.files import ImportFileError, spec_text, write_specs
from lmctl.importing.recognise import (
    ImportedArray,
    ImportOptions,
    ImportResult,
    Skipped,
    import_state,
)
from lmctl.importing.redact import redacted
from lmctl.importing.report import ImportReport, import_json_schema, import_report

__all__ = [
    "ImportFileError",
    "ImportOptions",
    "ImportReport",
    "ImportResult",
    "ImportedArray",
    "Skipped",
    "import_json_schema",
    "import_report",
    "import_state",
    "redacted",
    "spec_text",
    "write_specs",
]
