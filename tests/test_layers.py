"""The house rules: every module lives in a room, and imports only point down.

Rooms, bottom up (ARCHITECTURE.md says what each holds):

    seam      asyncore_seam                      imports nothing of ours
    real_net  real_net                           the seam
    fake_net  fake_net                           the seam
    core      asyncore_sim.asyncore, .asynchat   the seam
    surface   asyncore_sim (the package), .compat, top-level asyncore/asynchat
              shims                              the core, the seam, real_net
    trace     asyncore_sim.trace                 everything above this line
    diagram   asyncore_sim.diagram               ... and the traces
    toolkit   asyncore_sim.testing               ... and the traces, the diagrams
    cli       asyncore_sim.cli, __main__         ... and the toolkit

Every ``import`` statement counts, at module level or inside a function,
except those under ``if TYPE_CHECKING:`` (never run).  Importing
``a.b.c`` also runs ``a`` and ``a.b``, so those count too.  No two files may
import each other in a circle, however long.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("asyncore_seam", "real_net", "fake_net", "asyncore_sim")
TOP_LEVEL_SHIMS = ("asyncore", "asynchat")  # top-level modules, where present

# Longest prefix wins.  A module that matches none is an error: a new module
# must be given a room here (and in ARCHITECTURE.md).
ROOM_OF_PREFIX = {
    "asyncore_seam": "seam",
    "real_net": "real_net",
    "fake_net": "fake_net",
    "asyncore_sim": "surface",
    "asyncore_sim.compat": "surface",
    "asyncore_sim.asyncore": "core",
    "asyncore_sim.asynchat": "core",
    "asyncore_sim.trace": "trace",
    "asyncore_sim.scenario": "trace",  # alias of asyncore_sim.trace.scenario
    "asyncore_sim.diagram": "diagram",
    "asyncore_sim.testing": "toolkit",
    "asyncore_sim.strategies": "toolkit",  # the old names of toolkit modules
    "asyncore_sim.stateful": "toolkit",
    "asyncore_sim.segmentation": "toolkit",
    "asyncore_sim.pytest_plugin": "toolkit",
    "asyncore_sim.cli": "cli",
    "asyncore_sim.__main__": "cli",
    "asyncore": "surface",
    "asynchat": "surface",
}

_BELOW_TRACE = {"seam", "real_net", "fake_net", "core", "surface"}
MAY_IMPORT: Dict[str, Set[str]] = {
    "seam": set(),
    "real_net": {"seam"},
    "fake_net": {"seam"},
    "core": {"seam"},
    "surface": {"seam", "core", "real_net"},
    "trace": _BELOW_TRACE,
    "diagram": _BELOW_TRACE | {"trace"},
    "toolkit": _BELOW_TRACE | {"trace", "diagram"},
    "cli": _BELOW_TRACE | {"trace", "diagram", "toolkit"},
}


def room_of(module: str) -> Optional[str]:
    best = None
    for prefix, room in ROOM_OF_PREFIX.items():
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, room)
    return best[1] if best else None


# -- reading the imports ----------------------------------------------------------


def project_modules(root: Path = ROOT) -> Dict[str, Path]:
    """Every module of ours: dotted name -> file."""
    found: Dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for name in TOP_LEVEL_SHIMS:
        path = root / (name + ".py")
        if path.exists():
            found[name] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.stmt]:
    """Import statements that can run (not under ``if TYPE_CHECKING:``)."""
    stack: List[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imports_of(
    module: str, source: str, is_package: bool, known: Iterable[str]
) -> List[Tuple[int, str]]:
    """``(line, module)`` for each module of ours that ``source`` imports."""
    known = set(known)
    ours = tuple(PACKAGES) + TOP_LEVEL_SHIMS
    out: List[Tuple[int, str]] = []
    for node in _import_nodes(ast.parse(source)):
        targets: List[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            assert isinstance(node, ast.ImportFrom)
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                pkg = ".".join(base + ([node.module] if node.module else []))
            else:
                pkg = node.module or ""
            for alias in node.names:
                sub = pkg + "." + alias.name
                targets.append(sub if sub in known else pkg)
        for target in targets:
            if target.split(".")[0] in ours:
                out.append((node.lineno, target))
    return out


def _with_parents(target: str) -> List[str]:
    parts = target.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def upward_imports(modules: Dict[str, str], packages: Set[str]) -> List[str]:
    """One message per import that points at a room this module may not use.

    ``modules`` maps a dotted name to its source; ``packages`` names those
    that are packages (their ``__init__``).
    """
    problems: List[str] = []
    for module, source in sorted(modules.items()):
        room = room_of(module)
        if room is None:
            problems.append("%s: in no room (add it to ROOM_OF_PREFIX)" % module)
            continue
        own_parents = set(_with_parents(module))
        found = imports_of(module, source, module in packages, modules)
        for line, target in sorted(set(found)):
            for name in _with_parents(target):
                if name in own_parents or name not in modules:
                    continue
                other = room_of(name)
                if other is None or other == room or other in MAY_IMPORT[room]:
                    continue
                via = "" if name == target else " (importing %s runs it)" % target
                problems.append(
                    "%s:%d: %s (%s) imports %s (%s)%s"
                    % (module, line, module, room, name, other, via)
                )
    return problems


def import_cycles(modules: Dict[str, str], packages: Set[str]) -> List[List[str]]:
    """Circles of files importing each other (a package's own ``__init__``
    importing its submodules is not a circle back through the package)."""
    graph: Dict[str, List[str]] = {}
    for module, source in modules.items():
        own_parents = set(_with_parents(module))
        edges = []
        for _, target in imports_of(module, source, module in packages, modules):
            if target in modules and target not in own_parents:
                edges.append(target)
        graph[module] = sorted(set(edges))
    # Tarjan's strongly connected components, iteratively.
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    on_stack: Set[str] = set()
    stack: List[str] = []
    cycles: List[List[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            edges = graph[node]
            if i < len(edges):
                work.append((node, i + 1))
                nxt = edges[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    cycles.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return cycles


def _sources() -> Tuple[Dict[str, str], Set[str]]:
    files = project_modules()
    sources = {m: p.read_text(encoding="utf-8") for m, p in files.items()}
    packages = {m for m, p in files.items() if p.name == "__init__.py"}
    return sources, packages


# -- the rules, on this repository --------------------------------------------------


def test_every_module_has_a_room() -> None:
    sources, _ = _sources()
    assert len(sources) > 30
    assert [m for m in sorted(sources) if room_of(m) is None] == []


def test_imports_only_point_down() -> None:
    sources, packages = _sources()
    problems = upward_imports(sources, packages)
    assert problems == [], "imports that point up a layer:\n" + "\n".join(problems)


def test_no_import_circles_between_files() -> None:
    sources, packages = _sources()
    cycles = import_cycles(sources, packages)
    assert cycles == [], "files that import each other in a circle:\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


@pytest.mark.parametrize(
    "module, allowed",
    [
        ("asyncore_seam", {"asyncore_seam"}),
        ("real_net", {"asyncore_seam", "real_net"}),
        ("fake_net", {"asyncore_seam", "fake_net"}),
        ("fake_net.conformance", {"asyncore_seam", "fake_net"}),
    ],
)
def test_importing_a_lower_layer_loads_nothing_above_it(
    module: str, allowed: Set[str]
) -> None:
    """What the static rules say, checked in a fresh interpreter: lazy names
    (``fake_net.ReplayNetwork``, which moved up) are not followed on import."""
    code = (
        "import sys, %s\n"
        "ours = sorted({m.split('.')[0] for m in sys.modules\n"
        "               if m.split('.')[0] in %r})\n"
        "print(' '.join(ours))" % (module, PACKAGES)
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()) == allowed


def test_names_that_moved_up_still_resolve_from_fake_net() -> None:
    import fake_net
    from asyncore_sim import trace

    assert fake_net.ReplayNetwork is trace.ReplayNetwork
    assert fake_net.ReplayDiverged is trace.ReplayDiverged
    for name, home in fake_net.__moved__.items():
        assert room_of(home) not in ("seam", "fake_net"), (name, home)
    with pytest.raises(AttributeError, match="no attribute 'Nonesuch'"):
        fake_net.Nonesuch  # noqa: B018


# -- the checker itself can fail ----------------------------------------------------

_SYNTHETIC = {
    "asyncore_seam": "import os\n",
    "fake_net": "from fake_net import _net\n",
    "fake_net._net": (
        "from typing import TYPE_CHECKING\n"
        "import asyncore_seam\n"
        "if TYPE_CHECKING:\n"
        "    from asyncore_sim.trace import Trace\n"  # never runs: allowed
        "def later():\n"
        "    from asyncore_sim.trace import _format\n"  # runs when called
    ),
    "asyncore_sim": "from asyncore_sim import asyncore\nimport real_net\n",
    "asyncore_sim.asyncore": "from . import trace\n",
    "asyncore_sim.trace": "from asyncore_sim.trace import _format\n",
    "asyncore_sim.trace._format": "from asyncore_sim import asyncore\n",
    "real_net": "",
}


def test_the_checker_reports_upward_imports_with_file_and_line() -> None:
    problems = upward_imports(_SYNTHETIC, {"asyncore_seam", "fake_net",
                                           "asyncore_sim", "asyncore_sim.trace",
                                           "real_net"})
    assert problems == [
        "asyncore_sim.asyncore:1: asyncore_sim.asyncore (core) imports "
        "asyncore_sim.trace (trace)",
        "fake_net._net:6: fake_net._net (fake_net) imports asyncore_sim (surface)"
        " (importing asyncore_sim.trace._format runs it)",
        "fake_net._net:6: fake_net._net (fake_net) imports asyncore_sim.trace "
        "(trace) (importing asyncore_sim.trace._format runs it)",
        "fake_net._net:6: fake_net._net (fake_net) imports "
        "asyncore_sim.trace._format (trace)",
    ]


def test_the_checker_finds_a_circle_of_three_files() -> None:
    packages = {"asyncore_sim", "asyncore_sim.trace"}
    cycles = import_cycles(_SYNTHETIC, packages)
    assert cycles == [
        ["asyncore_sim.asyncore", "asyncore_sim.trace", "asyncore_sim.trace._format"]
    ]
    assert room_of("asyncore_sim.newthing") == "surface"
    assert room_of("elsewhere") is None


# -- names users import keep working where they imported them -------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        ("asyncore_sim.strategies", "asyncore_sim.testing.strategies"),
        ("asyncore_sim.stateful", "asyncore_sim.testing.stateful"),
        ("asyncore_sim.segmentation", "asyncore_sim.testing.segmentation"),
        ("asyncore_sim.pytest_plugin", "asyncore_sim.testing.pytest_plugin"),
        ("asyncore_sim.scenario", "asyncore_sim.trace.scenario"),
    ],
)
def test_a_moved_module_keeps_its_old_name_as_the_same_module(
    old: str, new: str
) -> None:
    import importlib

    moved = importlib.import_module(old)
    assert moved is importlib.import_module(new)
    assert sys.modules[old] is moved
    parent, _, leaf = old.rpartition(".")
    assert getattr(importlib.import_module(parent), leaf) is moved


def test_the_entry_points_name_modules_that_exist() -> None:
    from importlib import metadata

    eps = metadata.entry_points()
    plugin = [ep for ep in eps.select(group="pytest11") if ep.name == "asyncore_sim"]
    script = [
        ep for ep in eps.select(group="console_scripts") if ep.name == "asyncore-sim"
    ]
    assert [ep.value for ep in plugin] == ["asyncore_sim.testing.pytest_plugin"]
    assert [ep.value for ep in script] == ["asyncore_sim.cli:main"]
    assert callable(script[0].load())
    from asyncore_sim.__main__ import main

    assert main is script[0].load()
