"""``python -m chainrule``: the command line (``--help``); without a command, the guided tour."""
import sys

from .cli import main

sys.exit(main())
