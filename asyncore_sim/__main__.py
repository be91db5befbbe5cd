"""``python -m asyncore_sim``: the command line (see :mod:`asyncore_sim.cli`)."""

from __future__ import annotations

import sys

from asyncore_sim.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
