"""asyncore_sim.compat: ``import asyncore``/``import asynchat`` resolve here.

Every test leaves ``sys.modules['asyncore']``/``['asynchat']`` and the
compat module's install stack exactly as it found them, so the order in which
test files run (some import the stdlib modules) does not matter.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import types
from typing import Any, Dict, Iterator

import pytest
from stdlib_ref import STD_ASYNCHAT, STD_ASYNCORE

import asyncore_sim
from asyncore_sim import asynchat as sim_asynchat
from asyncore_sim import asyncore as sim_asyncore
from asyncore_sim import compat

_MISSING = object()
_NAMES = ("asyncore", "asynchat")


@pytest.fixture(autouse=True)
def restore_modules() -> Iterator[None]:
    """Save and restore sys.modules entries and compat's install stack."""
    saved_modules = {name: sys.modules.get(name, _MISSING) for name in _NAMES}
    saved_stack = list(compat._saved)
    try:
        yield
    finally:
        compat._saved[:] = saved_stack
        for name, module in saved_modules.items():
            if module is _MISSING:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


@pytest.fixture
def clean() -> None:
    """Start with neither name in sys.modules and nothing installed."""
    for name in _NAMES:
        sys.modules.pop(name, None)
    compat._saved[:] = []


def _state() -> Dict[str, Any]:
    return {name: sys.modules.get(name, _MISSING) for name in _NAMES}


def test_install_resolves_imports_to_the_package(clean: None) -> None:
    assert not compat.is_installed()
    compat.install()
    try:
        assert compat.is_installed()
        core = importlib.import_module("asyncore")
        chat = importlib.import_module("asynchat")
        assert core is sim_asyncore
        assert chat is sim_asynchat
        assert core.dispatcher is asyncore_sim.dispatcher
        assert chat.async_chat is asyncore_sim.async_chat
        assert issubclass(chat.async_chat, core.dispatcher)
        # A plain import statement sees the same thing.
        import asyncore  # noqa: F401
        import asynchat  # noqa: F401

        assert asyncore is sim_asyncore and asynchat is sim_asynchat
        assert asyncore.dispatcher.__module__ == "asyncore_sim.asyncore"
    finally:
        compat.uninstall()
    assert not compat.is_installed()


def test_modules_mapping() -> None:
    assert compat.MODULES == {"asyncore": sim_asyncore, "asynchat": sim_asynchat}
    assert {"install", "uninstall", "installed", "is_installed",
            "MODULES"} <= set(compat.__all__)
    for name in compat.__all__:
        assert hasattr(compat, name), name


def test_uninstall_restores_absent_as_absent(clean: None) -> None:
    compat.install()
    assert sys.modules["asyncore"] is sim_asyncore
    compat.uninstall()
    assert "asyncore" not in sys.modules
    assert "asynchat" not in sys.modules


def test_uninstall_restores_previous_module_objects(clean: None) -> None:
    previous_core = types.ModuleType("asyncore")
    sys.modules["asyncore"] = previous_core  # asynchat stays absent
    compat.install()
    assert sys.modules["asyncore"] is sim_asyncore
    assert sys.modules["asynchat"] is sim_asynchat
    compat.uninstall()
    assert sys.modules["asyncore"] is previous_core
    assert "asynchat" not in sys.modules


def test_uninstall_restores_the_interpreters_modules(clean: None) -> None:
    core, chat = _interpreter_modules()
    if sys.version_info < (3, 12):
        assert core is not sim_asyncore
        assert os.path.dirname(core.__file__) == sysconfig.get_paths()["stdlib"]
    else:  # the distribution's top-level modules are the package's
        assert core is sim_asyncore and chat is sim_asynchat
    sys.modules["asyncore"], sys.modules["asynchat"] = core, chat
    compat.install()
    assert importlib.import_module("asyncore") is sim_asyncore
    compat.uninstall()
    assert sys.modules["asyncore"] is core
    assert sys.modules["asynchat"] is chat


def test_nested_install_uninstall(clean: None) -> None:
    outer = types.ModuleType("asynchat")
    sys.modules["asynchat"] = outer
    before = _state()
    compat.install()
    compat.install()
    assert compat.is_installed()
    # Something replaces one entry while installed; the inner uninstall
    # restores what the inner install saw (ours), the outer one the original.
    other = types.ModuleType("asyncore")
    sys.modules["asyncore"] = other
    compat.install()
    assert compat.is_installed()
    compat.uninstall()
    assert sys.modules["asyncore"] is other
    assert not compat.is_installed()
    compat.uninstall()
    assert compat.is_installed()
    compat.uninstall()
    assert _state() == before
    assert not compat.is_installed()
    with pytest.raises(RuntimeError):
        compat.uninstall()


def test_uninstall_without_install_raises(clean: None) -> None:
    with pytest.raises(RuntimeError) as info:
        compat.uninstall()
    message = str(info.value)
    assert "uninstall()" in message and "install()" in message
    assert "asyncore_sim.compat" in message
    assert _state() == {"asyncore": _MISSING, "asynchat": _MISSING}


def test_installed_context_manager(clean: None) -> None:
    with compat.installed() as value:
        assert value is None
        assert compat.is_installed()
        assert importlib.import_module("asynchat") is sim_asynchat
    assert not compat.is_installed()
    assert _state() == {"asyncore": _MISSING, "asynchat": _MISSING}


def test_installed_undoes_on_exception(clean: None) -> None:
    previous = types.ModuleType("asyncore")
    sys.modules["asyncore"] = previous

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with compat.installed():
            assert compat.is_installed()
            raise Boom()
    assert sys.modules["asyncore"] is previous
    assert "asynchat" not in sys.modules
    assert compat._saved == []


def test_installed_nests_with_install(clean: None) -> None:
    compat.install()
    with compat.installed():
        assert compat.is_installed()
    assert compat.is_installed()
    compat.uninstall()
    assert not compat.is_installed()


def test_is_installed_needs_both_names(clean: None) -> None:
    assert not compat.is_installed()
    sys.modules["asyncore"] = sim_asyncore
    assert not compat.is_installed()
    sys.modules["asynchat"] = sim_asynchat
    assert compat.is_installed()  # by value, whoever put them there
    sys.modules["asynchat"] = types.ModuleType("asynchat")
    assert not compat.is_installed()


# ---------------------------------------------------------------------------
# Subprocesses: a legacy program, and what the package imports.
# ---------------------------------------------------------------------------

def _run(code: str, *flags: str, cwd: Any = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=60, cwd=cwd,
    )


LEGACY_ECHO = """
    import asyncore_sim.compat
    asyncore_sim.compat.install()
    import asyncore, asynchat

    class Echo(asynchat.async_chat):
        def __init__(self, sock, map):
            asynchat.async_chat.__init__(self, sock, map=map)
            self.set_terminator(b"\\r\\n")
            self.buf = []
        def collect_incoming_data(self, data):
            self.buf.append(data)
        def found_terminator(self):
            self.push(b"".join(self.buf).upper() + b"\\r\\n")
            self.buf = []

    class Server(asyncore.dispatcher):
        def __init__(self, map):
            asyncore.dispatcher.__init__(self, map=map)
            self.create_socket()
            self.set_reuse_addr()
            self.bind(("127.0.0.1", 0))
            self.listen(5)
        def handle_accepted(self, sock, addr):
            Echo(sock, self._map)

    class Client(asynchat.async_chat):
        def __init__(self, port, map):
            asynchat.async_chat.__init__(self, map=map)
            self.set_terminator(b"\\r\\n")
            self.buf = []
            self.got = []
            self.create_socket()
            self.connect(("127.0.0.1", port))
            self.push(b"hello\\r\\nlegacy world\\r\\n")
        def handle_connect(self):
            pass
        def collect_incoming_data(self, data):
            self.buf.append(data)
        def found_terminator(self):
            self.got.append(b"".join(self.buf))
            self.buf = []
            if len(self.got) == 2:
                self.close()

    m = {}
    server = Server(m)
    client = Client(server.socket.getsockname()[1], m)
    for _ in range(400):
        if len(client.got) == 2:
            break
        asyncore.loop(timeout=0.05, map=m, count=1)
    asyncore.close_all(m)
    print(asyncore.__name__, asynchat.__name__, type(client).__mro__[1].__module__)
    print(b"|".join(client.got).decode())
"""


@pytest.mark.network
def test_legacy_snippet_in_subprocess(tmp_path: Any) -> None:
    proc = _run(LEGACY_ECHO, "-W", "error", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "asyncore_sim.asyncore asyncore_sim.asynchat asyncore_sim.asynchat",
        "HELLO|LEGACY WORLD",
    ]
    assert proc.stderr == ""


NO_STDLIB = """
    import json, os, sys, sysconfig
    import asyncore_sim
    import asyncore_sim.compat
    import real_net
    import fake_net
    stdlib = sysconfig.get_paths()["stdlib"]
    bad = {os.path.join(stdlib, "asyncore.py"), os.path.join(stdlib, "asynchat.py")}

    def offenders():
        out = []
        for name, mod in list(sys.modules.items()):
            f = getattr(mod, "__file__", None)
            if f and os.path.realpath(f) in {os.path.realpath(b) for b in bad}:
                out.append(name)
        return out

    before = offenders()
    present = sorted(n for n in ("asyncore", "asynchat") if n in sys.modules)
    asyncore_sim.compat.install()
    import asyncore, asynchat
    after = offenders()
    print(json.dumps({"before": before, "present": present, "after": after,
                      "core": asyncore.__name__, "chat": asynchat.__name__}))
"""


def test_package_never_imports_the_stdlib_modules(tmp_path: Any) -> None:
    proc = _run(NO_STDLIB, "-W", "error", cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {
        "before": [], "present": [], "after": [],
        "core": "asyncore_sim.asyncore", "chat": "asyncore_sim.asynchat",
    }
    assert proc.stderr == ""


def test_uninstall_in_subprocess_lets_the_plain_import_work_again(
        tmp_path: Any) -> None:
    code = """
        import sys, warnings
        import asyncore_sim.compat as compat
        with compat.installed():
            import asyncore
            assert asyncore.__name__ == "asyncore_sim.asyncore"
        assert "asyncore" not in sys.modules and "asynchat" not in sys.modules
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import asynchat
        print(asynchat.__name__, asynchat.asyncore.__name__,
              asynchat.async_chat.__module__)
    """
    proc = _run(code, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    if sys.version_info < (3, 12):  # the stdlib's again
        assert proc.stdout.split() == ["asynchat", "asyncore", "asynchat"]
    else:  # the distribution's top-level asynchat: the package's
        assert proc.stdout.split() == [
            "asyncore_sim.asynchat", "asyncore_sim.asyncore", "asyncore_sim.asynchat"]


def _interpreter_modules() -> Any:
    """What ``import asyncore``/``import asynchat`` give without compat: the
    stdlib's on 3.11 and older (loaded from the stdlib directory, since this
    checkout's top-level asyncore.py may be ahead of it on sys.path), and the
    distribution's top-level modules on 3.12+."""
    if sys.version_info < (3, 12):
        assert STD_ASYNCORE is not None, "Python 3.11 has a stdlib asyncore"
        return STD_ASYNCORE, STD_ASYNCHAT
    return importlib.import_module("asyncore"), importlib.import_module("asynchat")


# ---------------------------------------------------------------------------
# The distribution's top-level asyncore/asynchat (Python 3.12+), in a fresh
# interpreter that sees only what is installed (-I: no cwd, no PYTHON* vars).
# ---------------------------------------------------------------------------

PLAIN_IMPORT = """
    import importlib.util, json, os, sys, sysconfig
    import asyncore, asynchat
    import asyncore_sim, asyncore_sim.compat
    shim = asyncore_sim.compat._our_top_level_file("asyncore")
    stdlib = sysconfig.get_paths()["stdlib"]
    where = [i for i, p in enumerate(sys.path)
             if os.path.realpath(p) == os.path.realpath(os.path.dirname(shim))]
    out = {
        "core_is_ours": asyncore is asyncore_sim.asyncore,
        "chat_is_ours": asynchat is asyncore_sim.asynchat,
        "chat_core": asynchat.asyncore.__name__,
        "core_dir": os.path.dirname(asyncore.__file__),
        "stdlib": stdlib,
        "stdlib_index": sys.path.index(stdlib),
        "shim_exists": os.path.isfile(shim),
        "shim_dir_indexes": where,
        "conflicts": asyncore_sim.compat.top_level_conflicts(),
        "dispatcher": asyncore.dispatcher.__module__,
    }
    # The installed file itself, whether or not it wins: it is the package's.
    for name in ("asyncore", "asynchat"):
        spec = importlib.util.spec_from_file_location(
            name, asyncore_sim.compat._our_top_level_file(name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        out[name + "_file_gives"] = sys.modules[name].__name__
    print(json.dumps(out))
"""


def test_plain_import_in_a_fresh_interpreter(tmp_path: Any) -> None:
    # (3.11's stdlib asyncore/asynchat warn that they are deprecated.)
    quiet = ["-W", "ignore::DeprecationWarning"] if sys.version_info < (3, 12) else []
    proc = _run(PLAIN_IMPORT, "-I", "-W", "error", *quiet, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # in particular, no TopLevelModuleWarning
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["shim_exists"], "the distribution installs a top-level asyncore.py"
    assert out["asyncore_file_gives"] == "asyncore_sim.asyncore"
    assert out["asynchat_file_gives"] == "asyncore_sim.asynchat"
    assert out["conflicts"] == {}
    if sys.version_info >= (3, 12):
        assert out["core_is_ours"] and out["chat_is_ours"]
        assert out["chat_core"] == "asyncore_sim.asyncore"
        assert out["dispatcher"] == "asyncore_sim.asyncore"
    else:  # the stdlib's keep their names: site-packages comes after it
        assert not out["core_is_ours"] and not out["chat_is_ours"]
        assert out["core_dir"] == out["stdlib"]
        assert out["chat_core"] == "asyncore"
        assert all(i > out["stdlib_index"] for i in out["shim_dir_indexes"])


def _fake_pyasyncore(tmp_path: Any, names: Any) -> str:
    """Packages laid out as pyasyncore/pyasynchat install them."""
    site = tmp_path / "site"
    for name in names:
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text("IMPLEMENTATION = 'pyasyncore'\n")
    return str(site)


WARN_CHECK = """
    import json, warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import asyncore_sim
    import asyncore_sim.compat as compat
    ours = {name: compat._our_top_level_file(name) for name in compat.MODULES}
    print(json.dumps([ours, [[w.category.__name__, str(w.message)] for w in caught]]))
"""


@pytest.mark.parametrize("names", [("asyncore", "asynchat"), ("asyncore",)],
                         ids=["both", "asyncore-only"])
def test_pyasyncore_installed_too_warns_on_312_plus(tmp_path: Any, names: Any) -> None:
    site = _fake_pyasyncore(tmp_path, names)
    env = dict(os.environ, PYTHONPATH=site)
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(WARN_CHECK)],
                          capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stderr
    ours, caught = json.loads(proc.stdout.strip().splitlines()[-1])
    if sys.version_info < (3, 12):  # the names are the stdlib's business there
        assert caught == []
        return
    assert [c for c, _ in caught] == ["TopLevelModuleWarning"]
    message = caught[0][1]
    for name in ("asyncore", "asynchat"):
        if name in names:  # both files: theirs and ours
            assert os.path.join(site, name, "__init__.py") in message
            assert "not asyncore-sim's " + ours[name] in message
        else:
            assert "`import %s`" % name not in message
    assert "pip uninstall pyasyncore pyasynchat" in message
    assert "asyncore_sim.compat.install()" in message


def test_top_level_check_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    calls = []
    real = importlib.util.find_spec

    def counting(name: str, *args: Any) -> Any:
        calls.append(name)
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", counting)
    monkeypatch.setattr(compat, "_conflicts", None)
    for name in _NAMES:
        sys.modules.pop(name, None)  # restored by the autouse fixture
    first = compat.top_level_conflicts()
    assert compat.top_level_conflicts() == first == {}
    expected = list(_NAMES) if sys.version_info >= (3, 12) else []
    assert calls == expected  # once per name, then the cached answer
