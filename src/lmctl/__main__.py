"""``python -m lmctl``: the same command line as the ``lmctl`` script."""

from lmctl.cli import main

main()
