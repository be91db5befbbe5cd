"""How the command line reports input it cannot use: one way for every
command.

Each problem is an exception whose message is ``file:line: what is wrong``
(``file: what is wrong`` where no line applies): :class:`InputError` for the
commands' own arguments, and the readers' ``ScenarioError`` and
``TraceFormatError``.  :func:`report` prints it as ``asyncore-sim: error:
...`` on stderr; the command then exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from asyncore_sim.trace import TraceFormatError
from asyncore_sim.trace.scenario import ScenarioError

__all__ = ["InputError", "INPUT_ERRORS", "Parser", "report"]


class InputError(ValueError):
    """An argument a command cannot use; the message names the file."""


#: What a command raises for unusable input (exit status 2, no traceback).
INPUT_ERRORS = (InputError, ScenarioError, TraceFormatError)


def report(error: BaseException) -> int:
    """Print ``error`` the one way, and return the exit status for it."""
    print("asyncore-sim: error: %s" % error, file=sys.stderr)
    return 2


class Parser(argparse.ArgumentParser):
    """argparse, reporting a usage error the same way (after the usage)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        command = " ".join(self.prog.split()[1:])
        report(InputError("%s: %s" % (command, message) if command else message))
        raise SystemExit(2)
