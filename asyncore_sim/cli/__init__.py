"""The command line: ``asyncore-sim`` / ``python -m asyncore_sim``.

``demo`` (:mod:`._demo`), ``check``/``record``/``replay``/``diff``
(:mod:`._commands`) and ``sweep`` (:mod:`._sweep`).  The top layer: it may
use everything below it, and nothing imports it but ``asyncore_sim.__main__``.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="asyncore-sim",
        description="Drop-in asyncore/asynchat on a pluggable I/O layer.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "demo",
        help="run an echo exchange over loopback with select, poll and epoll",
        description="Run classic asyncore echo handlers on the real network "
        "(127.0.0.1) once per readiness method and report what was echoed.",
    )
    from asyncore_sim.cli._commands import add_commands

    add_commands(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: List[str] = []
    if argv[:1] == ["sweep"] and "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if passthrough:
        args.pytest_args = passthrough
    func = getattr(args, "func", None)
    if func is not None:
        return int(func(args))
    if args.command == "demo":
        from asyncore_sim.cli._demo import run_demo

        return run_demo()
    parser.print_help()
    return 2

