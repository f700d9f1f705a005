"""lmctl's command line: a thin layer over the library.

Each command module registers on ``app`` when imported; heavy imports stay inside the command
functions so that ``lmctl --help`` starts fast. ``main`` runs the app behind the one error
boundary (``lmctl.cli.app``).
"""

from __future__ import annotations

from lmctl.cli.app import app, main

# Command modules (each registers its commands on ``app``); keep one import per line.
from lmctl.cli.backups import backups_command  # noqa: F401  (also restore, history)
from lmctl.cli.exchange import exchange_app  # noqa: F401  (lmctl exchange script/check)
from lmctl.cli.importing import import_command  # noqa: F401  (lmctl import)
from lmctl.cli.init import init_command  # noqa: F401  (lmctl init)
from lmctl.cli.listing import ls_command  # noqa: F401  (lmctl ls)
from lmctl.cli.mock import serve  # noqa: F401  (lmctl mock serve)
from lmctl.cli.plan import plan_command  # noqa: F401  (also apply)
from lmctl.cli.specs import validate  # noqa: F401  (also show, schema)
from lmctl.cli.status import status_command  # noqa: F401  (also drain, undrain)

__all__ = ["app", "main"]
