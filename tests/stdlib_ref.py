"""The stdlib's asyncore/asynchat as the reference: live on 3.11, recorded on 3.12+.

On interpreters that still have them (Python 3.11 and older) the stdlib
modules are loaded from the stdlib directory by file name, without leaving
them in ``sys.modules`` (so tests of ``asyncore_sim.compat`` see what they
expect whatever the test order, and a top-level ``asyncore.py`` earlier on
``sys.path``, such as this checkout's, cannot stand in for them).

Python 3.12+ has neither, so what the stdlib did is *recorded* on 3.11 into
``tests/data/stdlib311.json`` by ``tests/record_stdlib.py`` and compared with
there.  Tests ask for the stdlib's answer through two calls:

``expect(ours, compute, digest=False)``
    inside a test: on 3.11 ``compute()`` runs on the live stdlib and ``ours``
    must equal it; on 3.12+ ``ours`` must equal the recorded answer.  Calls
    are numbered within the test (key ``<file>::<test id>#<n>``).  With
    ``digest=True`` only a SHA-256 of the answer is recorded (for bulk cases).
``value(key, compute)``
    anywhere (e.g. at import time): the stdlib's answer itself.
``compare(run, ours, theirs)`` / ``like_stdlib(run)``
    ``expect(run(ours), lambda: run(theirs))``, returning ``run(ours)``;
    ``like_stdlib`` passes the modules (asyncore_sim, the stdlib asyncore).

On 3.11 every answer is also checked against the recorded one, so the data
file cannot silently fall behind the tests; re-record with
``python tests/record_stdlib.py`` (on 3.11) and review the diff like code.
Answers are plain data: None, bool, int, float, str, bytes, bytearray,
tuple, list, dict, set and frozenset, nested (see ``encode``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import sysconfig
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

_MISSING = object()
_NAMES = ("asyncore", "asynchat")
SKIP_REASON = "the interpreter has no stdlib asyncore/asynchat to compare with"

DATA = Path(__file__).with_name("data") / "stdlib311.json"
RECORD_SCRIPT = "tests/record_stdlib.py"
#: Set by tests/record_stdlib.py: collect every answer into this file.
RECORD_ENV = "ASYNCORE_SIM_RECORD_STDLIB"


def _exec_file(name: str, path: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load() -> Tuple[Optional[Any], Optional[Any]]:
    """``(asyncore, asynchat)`` of the stdlib, or ``(None, None)``."""
    stdlib_dir = sysconfig.get_paths()["stdlib"]
    paths = {name: os.path.join(stdlib_dir, name + ".py") for name in _NAMES}
    if not all(os.path.isfile(p) for p in paths.values()):
        return None, None
    saved = {name: sys.modules.pop(name, _MISSING) for name in _NAMES}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            std_core = _exec_file("asyncore", paths["asyncore"])
            std_chat = _exec_file("asynchat", paths["asynchat"])  # imports ^
    finally:
        for name in _NAMES:
            sys.modules.pop(name, None)
        for name, module in saved.items():
            if module is not _MISSING:
                sys.modules[name] = module
    assert std_chat.asyncore is std_core
    return std_core, std_chat


STD_ASYNCORE, STD_ASYNCHAT = load()
#: True where the stdlib modules exist and answers are computed live.
LIVE = STD_ASYNCORE is not None


# ---------------------------------------------------------------------------
# Answers as JSON: every non-JSON type is a one-key object naming its type.
# ---------------------------------------------------------------------------

def encode(value: Any) -> Any:
    """``value`` as JSON data that :func:`decode` turns back into an equal value."""
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return int(value)  # IntEnum members (socket.AF_INET, ...) compare equal
    if isinstance(value, bytes):
        return {"bytes": value.decode("latin-1")}
    if isinstance(value, bytearray):
        return {"bytearray": bytes(value).decode("latin-1")}
    if isinstance(value, tuple):
        return {"tuple": [encode(x) for x in value]}
    if isinstance(value, list):
        return [encode(x) for x in value]
    if isinstance(value, (set, frozenset)):
        items = sorted((encode(x) for x in value), key=_canonical)
        return {type(value).__name__: items}
    if isinstance(value, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    raise TypeError("cannot record a %s for the stdlib reference: %r"
                    % (type(value).__name__, value))


_DECODERS: Dict[str, Callable[[Any], Any]] = {
    "bytes": lambda v: v.encode("latin-1"),
    "bytearray": lambda v: bytearray(v.encode("latin-1")),
    "tuple": lambda v: tuple(decode(x) for x in v),
    "set": lambda v: {decode(x) for x in v},
    "frozenset": lambda v: frozenset(decode(x) for x in v),
    "dict": lambda v: {decode(k): decode(x) for k, x in v},
}


def decode(data: Any) -> Any:
    if isinstance(data, list):
        return [decode(x) for x in data]
    if isinstance(data, dict):
        ((tag, inner),) = data.items()
        return _DECODERS[tag](inner)
    return data


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _sha256(data: Any) -> str:
    return hashlib.sha256(_canonical(data).encode()).hexdigest()


# ---------------------------------------------------------------------------
# The recorded answers, and the answers being recorded.
# ---------------------------------------------------------------------------

_recorded: Optional[Dict[str, Any]] = None
RECORDING = bool(os.environ.get(RECORD_ENV))
#: Answers computed in this process while recording (key -> JSON data).
recorded_now: Dict[str, Any] = {}


def recorded() -> Dict[str, Any]:
    """Key -> JSON data, as in tests/data/stdlib311.json ({} if absent)."""
    global _recorded
    if _recorded is None:
        try:
            with open(DATA, encoding="utf-8") as f:
                _recorded = json.load(f)["answers"]
        except FileNotFoundError:
            _recorded = {}
    return _recorded


class Stale(AssertionError):
    pass


def _stale(key: str, why: str) -> Stale:
    return Stale("%s: %s for %s; re-record on Python 3.11 with `python %s` "
                 "and review the diff" % (DATA.name, why, key, RECORD_SCRIPT))


def _answer(key: str, compute: Callable[[], Any], digest: bool) -> Any:
    """JSON data of the stdlib's answer: computed live, or recorded."""
    if not LIVE:
        if key not in recorded():
            raise _stale(key, "no recorded stdlib answer")
        return recorded()[key]
    data = encode(compute())
    if digest:
        data = {"sha256": _sha256(data)}
    if RECORDING:
        recorded_now[key] = data
    elif key not in recorded():
        raise _stale(key, "no recorded stdlib answer")
    elif _canonical(recorded()[key]) != _canonical(data):
        raise _stale(key, "the recorded stdlib answer differs from the live one")
    return data


def value(key: str, compute: Callable[[], Any]) -> Any:
    """The stdlib's answer under ``key``: ``compute()`` on 3.11, recorded on 3.12+."""
    return decode(_answer(key, compute, False))


class _Test:
    """The running test's key prefix and how many answers it has asked for."""

    prefix: Optional[str] = None
    count = 0


def begin_test(nodeid: str) -> None:
    """Called for each test by tests/conftest.py."""
    _Test.prefix = nodeid.replace(os.sep, "/").rsplit("/", 1)[-1]
    _Test.count = 0


def next_key() -> str:
    assert _Test.prefix is not None, "expect() outside a test"
    _Test.count += 1
    return "%s#%d" % (_Test.prefix, _Test.count)


def expect(ours: Any, compute: Callable[[], Any], digest: bool = False) -> None:
    """Assert ``ours`` equals what the stdlib gives (``compute()`` on 3.11)."""
    key = next_key()
    theirs = _answer(key, compute, digest)
    if digest:
        assert _sha256(encode(ours)) == theirs["sha256"], (
            "differs from the stdlib's answer recorded as a digest (%s); run "
            "the test on Python 3.11 for a diff: ours = %r" % (key, ours))
    else:
        assert ours == decode(theirs)


def compare(run: Callable[[Any], Any], ours: Any, theirs: Any,
            digest: bool = False) -> Any:
    """``run(ours)`` must equal ``run(theirs)`` (the stdlib side: on 3.12+ its
    recorded answer, ``run`` is not called with it); returns ``run(ours)``."""
    result = run(ours)
    expect(result, lambda: run(theirs), digest=digest)
    return result


def like_stdlib(run: Callable[[Any], Any], digest: bool = False) -> Any:
    """``run(module)`` for asyncore_sim must equal it for the stdlib asyncore."""
    import asyncore_sim

    return compare(run, asyncore_sim, STD_ASYNCORE, digest)
