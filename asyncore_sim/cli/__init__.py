"""The command line: ``asyncore-sim`` / ``python -m asyncore_sim``.

``demo`` (:mod:`._demo`), ``check`` (:mod:`._check`),
``record``/``replay``/``diff`` (:mod:`._commands`), ``show`` (:mod:`._show`),
``sweep`` (:mod:`._sweep`) and ``fit`` (:mod:`._fit`). The top layer: it may
use everything below it, and nothing imports it but ``asyncore_sim.__main__``.

Exit status: 0 all is well, 1 something differs (or the program failed), 2
unusable input, reported as ``asyncore-sim: error: file:line: what is wrong``
on stderr (:mod:`._errors`), never as a traceback.
"""

from __future__ import annotations

import sys
from typing import List, Optional

__all__ = ["main"]


def main(argv: Optional[List[str]] = None) -> int:
    from asyncore_sim.cli._errors import INPUT_ERRORS, Parser, report

    parser = Parser(
        prog="asyncore-sim",
        description="Drop-in asyncore/asynchat on a pluggable I/O layer.",
    )
    from asyncore_sim import __version__

    parser.add_argument(
        "--version",
        action="version",
        version="asyncore-sim %s (Python %s)" % (__version__, sys.version.split()[0]),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser(
        "demo",
        help="run an echo exchange over loopback with select, poll and epoll",
        description="Run classic asyncore echo handlers on the real network "
        "(127.0.0.1) once per readiness method and report what was echoed.",
    )
    from asyncore_sim.cli._check import add_check_command
    from asyncore_sim.cli._commands import add_commands

    add_check_command(sub)
    add_commands(sub)
    from asyncore_sim.cli._show import add_show_command

    add_show_command(sub)
    from asyncore_sim.cli._fit import add_fit_command

    add_fit_command(sub)
    argv = list(sys.argv[1:] if argv is None else argv)
    # sweep and replay hand what follows "--" to pytest or to the program:
    # before it, every option is the command's own.
    passthrough: Optional[List[str]] = None
    if argv[:1] in (["sweep"], ["replay"]) and "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else 2
    if passthrough is not None:
        if args.command == "sweep":
            args.pytest_args = passthrough
        else:
            args.args = list(args.args) + passthrough
    func = getattr(args, "func", None)
    if func is not None:
        try:
            return int(func(args))
        except INPUT_ERRORS as e:
            return report(e)
    if args.command == "demo":
        from asyncore_sim.cli._demo import run_demo

        return run_demo()
    parser.print_help()
    return 2
