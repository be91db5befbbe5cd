"""The public surface matches CPython 3.11's asyncore and asynchat.

Names, signatures (parameter names, kinds and defaults), class attributes
and class hierarchy are compared with the stdlib modules: on Python 3.11 with
the modules themselves (imported here without leaving them in
``sys.modules``), on 3.12+ with their description recorded on 3.11
(``describe()`` below, through ``tests/stdlib_ref.py``).
"""

from __future__ import annotations

import errno
import inspect
import os
import select
import socket
import sys
import time
from typing import Any, Dict, List, Tuple

import pytest
import stdlib_ref
from stdlib_ref import STD_ASYNCHAT, STD_ASYNCORE

import asyncore_sim
from asyncore_sim import asynchat as sim_asynchat
from asyncore_sim import asyncore as sim_asyncore

STRERROR_CODES = (errno.EPERM, errno.ECONNRESET, errno.EWOULDBLOCK, 0, 99999, -1)
PATCHABLE = {"socket": socket, "select": select, "time": time, "os": os, "sys": sys}


def _public_names(module: Any, extra: Tuple[str, ...] = ()) -> List[str]:
    """Functions and classes defined in ``module`` itself, plus ``extra``."""
    names = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and \
                obj.__module__ == module.__name__:
            names.append(name)
    return sorted(names + list(extra))


def _params(func: Any) -> List[Tuple[str, str, bool, Any]]:
    """A signature without annotations: (name, kind, has default, default)."""
    out = []
    for p in inspect.signature(func).parameters.values():
        has_default = p.default is not p.empty
        out.append((p.name, p.kind.name, has_default,
                    p.default if has_default else None))
    return out


def _methods(cls: Any) -> Dict[str, Any]:
    """Every Python-level function reachable on ``cls`` (own or inherited)."""
    return {name: getattr(cls, name) for name in dir(cls)
            if inspect.isfunction(getattr(cls, name))}


def _plain_class_attributes(cls: Any) -> Dict[str, Any]:
    """Non-callable, non-dunder class attributes along the stdlib MRO."""
    out: Dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if name.startswith("__") or callable(value):
                continue
            out[name] = value
    return out


_PLAIN = (type(None), bool, int, float, str, bytes, frozenset, tuple)


def _attr_value(value: Any) -> Any:
    """A class attribute as plain data (builtin descriptors by their repr)."""
    return value if isinstance(value, _PLAIN) else "<repr> " + repr(value)


def _describe_object(obj: Any) -> Dict[str, Any]:
    if inspect.isclass(obj):
        return {
            "kind": "class",
            "name": obj.__name__,
            "methods": {m: _params(f) for m, f in sorted(_methods(obj).items())},
            "attrs": {a: (_attr_value(v), type(v).__name__)
                      for a, v in sorted(_plain_class_attributes(obj).items())},
            "mro": [k.__name__ for k in obj.__mro__],
        }
    if inspect.isfunction(obj):
        return {"kind": "function", "params": _params(obj)}
    return {"kind": "other", "type": type(obj).__name__}


def describe(core: Any, chat: Any) -> Dict[str, Any]:
    """Everything these tests compare, as plain data, for one implementation."""
    names = {"asyncore": _public_names(core, ("socket_map",)),
             "asynchat": _public_names(chat)}
    objects = {"%s.%s" % (mod_name, name): _describe_object(getattr(mod, name))
               for mod_name, mod in (("asyncore", core), ("asynchat", chat))
               for name in names[mod_name]}
    chat_obj = chat.async_chat()
    return {
        "names": names,
        "objects": objects,
        "private": {"_exception": _params(core._exception),
                    "_strerror": _params(core._strerror)},
        "strerror": [core._strerror(e) for e in STRERROR_CODES],
        "patchable": {n: getattr(core, n) is m for n, m in PATCHABLE.items()},
        "file_wrapper_aliases": (
            [core.file_wrapper.read is core.file_wrapper.recv,
             core.file_wrapper.write is core.file_wrapper.send]
            if hasattr(core, "file_wrapper") else None),
        "repr": [repr(core.dispatcher()).split(" at 0x")[0],
                 repr(chat_obj).split(" at 0x")[0]],
        "async_chat_init": {
            "ac_in_buffer": chat_obj.ac_in_buffer,
            "incoming": chat_obj.incoming,
            "producer_fifo": (type(chat_obj.producer_fifo).__name__,
                              len(chat_obj.producer_fifo)),
            "socket_and_fileno": (chat_obj.socket, chat_obj._fileno),
            "map_is_socket_map": chat_obj._map is core.socket_map,
        },
    }


#: The stdlib's description: live on 3.11, recorded on 3.12+.
STD = stdlib_ref.value("test_surface.py::describe",
                       lambda: describe(STD_ASYNCORE, STD_ASYNCHAT))
ASYNCORE_NAMES = STD["names"]["asyncore"]
ASYNCHAT_NAMES = STD["names"]["asynchat"]
CLASSES = [n for n, d in STD["objects"].items() if d["kind"] == "class"]


def _sim(qualname: str) -> Any:
    mod_name, name = qualname.split(".")
    return getattr({"asyncore": sim_asyncore, "asynchat": sim_asynchat}[mod_name], name)


def test_the_expected_stdlib_names_were_found() -> None:
    # Guard against a filter that silently finds nothing.
    assert {"dispatcher", "dispatcher_with_send", "loop", "poll", "poll2",
            "poll3", "read", "write", "readwrite", "close_all",
            "compact_traceback", "ExitNow", "socket_map"} <= set(ASYNCORE_NAMES)
    if os.name == "posix":
        assert {"file_wrapper", "file_dispatcher"} <= set(ASYNCORE_NAMES)
    assert ASYNCHAT_NAMES == ["async_chat", "find_prefix_at_end", "simple_producer"]


@pytest.mark.parametrize("name", ASYNCORE_NAMES)
def test_asyncore_name_exists_on_module_and_package(name: str) -> None:
    assert hasattr(sim_asyncore, name), name
    assert hasattr(asyncore_sim, name), name
    assert getattr(asyncore_sim, name) is getattr(sim_asyncore, name)
    std_obj = STD["objects"]["asyncore." + name]
    sim_obj = getattr(sim_asyncore, name)
    if std_obj["kind"] == "class":
        assert inspect.isclass(sim_obj)
        assert sim_obj.__name__ == std_obj["name"]
    elif std_obj["kind"] == "function":
        assert callable(sim_obj)
        assert _params(sim_obj) == std_obj["params"]
    else:
        assert type(sim_obj).__name__ == std_obj["type"]


@pytest.mark.parametrize("name", ASYNCHAT_NAMES)
def test_asynchat_name_exists_on_module_and_package(name: str) -> None:
    assert hasattr(sim_asynchat, name), name
    assert hasattr(asyncore_sim, name), name
    assert getattr(asyncore_sim, name) is getattr(sim_asynchat, name)
    std_obj = STD["objects"]["asynchat." + name]
    if std_obj["kind"] == "function":
        assert _params(getattr(sim_asynchat, name)) == std_obj["params"]


@pytest.mark.parametrize("name", CLASSES)
def test_class_methods_and_signatures(name: str) -> None:
    std_methods = STD["objects"][name]["methods"]
    sim_methods = _methods(_sim(name))
    assert std_methods or name == "asyncore.ExitNow", name
    for meth, std_params in sorted(std_methods.items()):
        assert meth in sim_methods, "%s.%s is missing" % (name, meth)
        assert _params(sim_methods[meth]) == std_params, \
            "%s.%s: %s != %s" % (name, meth, _params(sim_methods[meth]), std_params)
    # No public method beyond the stdlib's: a subclass written for the
    # stdlib must not find one of its own names already taken.
    extra = sorted(m for m in sim_methods
                   if not m.startswith("_") and m not in std_methods)
    assert extra == [], "%s has public methods the stdlib lacks: %s" % (name, extra)


@pytest.mark.parametrize("name", CLASSES)
def test_class_attributes_and_bases(name: str) -> None:
    sim_cls = _sim(name)
    for attr, (value, type_name) in STD["objects"][name]["attrs"].items():
        assert hasattr(sim_cls, attr), "%s.%s is missing" % (name, attr)
        assert _attr_value(getattr(sim_cls, attr)) == value, (name, attr)
        assert type(getattr(sim_cls, attr)).__name__ == type_name, (name, attr)
    # Same inheritance, by name, up to the stdlib's own classes.
    assert [k.__name__ for k in sim_cls.__mro__] == STD["objects"][name]["mro"]


def test_async_chat_class_attributes() -> None:
    std_attrs = STD["objects"]["asynchat.async_chat"]["attrs"]
    for attr in ("ac_in_buffer_size", "ac_out_buffer_size", "use_encoding", "encoding"):
        assert getattr(sim_asynchat.async_chat, attr) == std_attrs[attr][0], attr
    assert sim_asynchat.async_chat.ac_in_buffer_size == 65536
    assert sim_asynchat.async_chat.ac_out_buffer_size == 65536
    assert sim_asynchat.async_chat.use_encoding == 0
    assert sim_asynchat.async_chat.encoding == "latin-1"
    assert issubclass(sim_asynchat.async_chat, sim_asyncore.dispatcher)
    assert sim_asynchat.asyncore is sim_asyncore


def test_dispatcher_class_attributes() -> None:
    d = sim_asyncore.dispatcher
    assert (d.debug, d.connected, d.accepting, d.connecting, d.closing, d.addr) == \
        (False, False, False, False, False, None)
    assert d.ignore_log_types == frozenset({"warning"})


def test_instance_attributes_after_init() -> None:
    ours = describe(sim_asyncore, sim_asynchat)["async_chat_init"]
    assert ours == STD["async_chat_init"]
    assert ours == {"ac_in_buffer": b"", "incoming": [], "producer_fifo": ("deque", 0),
                    "socket_and_fileno": (None, None), "map_is_socket_map": True}
    ws = sim_asyncore.dispatcher_with_send()
    assert ws.out_buffer == b""


@pytest.mark.skipif(os.name != "posix", reason="file_wrapper is POSIX-only")
def test_file_wrapper_aliases() -> None:
    fw = sim_asyncore.file_wrapper
    assert [fw.read is fw.recv, fw.write is fw.send] == STD["file_wrapper_aliases"]
    assert fw.read is fw.recv and fw.write is fw.send


def test_private_helpers_used_by_cpython_tests() -> None:
    for target in (sim_asyncore, asyncore_sim):
        assert callable(target._exception)
        assert callable(target._strerror)
    assert _params(sim_asyncore._exception) == STD["private"]["_exception"]
    assert _params(sim_asyncore._strerror) == STD["private"]["_strerror"]
    assert [sim_asyncore._strerror(e) for e in STRERROR_CODES] == STD["strerror"]


def test_poll3_is_poll2() -> None:
    assert sim_asyncore.poll3 is sim_asyncore.poll2
    assert asyncore_sim.poll3 is asyncore_sim.poll2 is sim_asyncore.poll2


def test_patchable_module_attributes() -> None:
    for name, module in PATCHABLE.items():
        assert getattr(sim_asyncore, name) is module, name
        assert STD["patchable"][name], name
    for name in ("socket", "select", "time", "os"):
        assert getattr(asyncore_sim, name) is getattr(sim_asyncore, name), name


def test_socket_map_is_shared_between_module_and_package() -> None:
    assert isinstance(sim_asyncore.socket_map, dict)
    assert asyncore_sim.socket_map is sim_asyncore.socket_map


def test_package_forwards_assignment_of_module_state() -> None:
    orig_map, orig_time = sim_asyncore.socket_map, sim_asyncore.time
    replacement: Dict[int, Any] = {}
    fake_time = type(sys)("fake_time")
    try:
        asyncore_sim.socket_map = replacement
        assert sim_asyncore.socket_map is replacement
        assert asyncore_sim.socket_map is replacement
        assert "socket_map" not in vars(asyncore_sim)
        asyncore_sim.time = fake_time
        assert sim_asyncore.time is fake_time
    finally:
        sim_asyncore.socket_map = orig_map
        sim_asyncore.time = orig_time
    assert asyncore_sim.socket_map is orig_map
    assert asyncore_sim.time is time


# pytest's monkeypatch restores through setattr only for data descriptors;
# the package's forwarded names are properties for exactly that reason.
@pytest.mark.parametrize("name", ["socket_map", "time"])
def test_pytest_monkeypatch_of_package_state_is_undone(name: str) -> None:
    original = getattr(sim_asyncore, name)
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(asyncore_sim, name, type(sys)("replacement"))
        assert getattr(sim_asyncore, name) is not original
        mp.undo()
        assert getattr(sim_asyncore, name, None) is original
    finally:
        mp.undo()
        setattr(sim_asyncore, name, original)


def test_pytest_monkeypatch_of_module_state_is_undone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The spelling legacy tests use: patch asyncore(_sim.asyncore) itself.
    original = sim_asyncore.socket_map
    monkeypatch.setattr(sim_asyncore, "socket_map", {})
    assert asyncore_sim.socket_map is sim_asyncore.socket_map is not original
    monkeypatch.undo()
    assert sim_asyncore.socket_map is original


def test_package_exposes_asynchat_names() -> None:
    assert asyncore_sim.async_chat is sim_asynchat.async_chat
    assert asyncore_sim.simple_producer is sim_asynchat.simple_producer
    assert asyncore_sim.find_prefix_at_end is sim_asynchat.find_prefix_at_end
    assert asyncore_sim.asynchat is sim_asynchat
    assert asyncore_sim.asyncore is sim_asyncore
    for name in ASYNCORE_NAMES + ASYNCHAT_NAMES:
        assert name in asyncore_sim.__all__, name
    for name in asyncore_sim.__all__:
        assert hasattr(asyncore_sim, name), name


def test_module_all_lists_the_stdlib_names() -> None:
    # The stdlib modules have no __all__, so `from asyncore import *` gives
    # every public global; ours must give at least the stdlib's names.
    assert set(ASYNCORE_NAMES) <= set(sim_asyncore.__all__)
    assert set(ASYNCHAT_NAMES) <= set(sim_asynchat.__all__)
    for name in sim_asyncore.__all__:
        assert hasattr(sim_asyncore, name), name


def test_exitnow_and_reraised() -> None:
    assert issubclass(sim_asyncore.ExitNow, Exception)
    assert sim_asyncore.ExitNow.__mro__[1] is Exception
    assert set(sim_asyncore._reraised_exceptions) == {
        sim_asyncore.ExitNow, KeyboardInterrupt, SystemExit}


def test_repr_names_the_stdlib_module() -> None:
    # Output that prints dispatchers matches CPython's "<asyncore.dispatcher ...>".
    assert repr(sim_asyncore.dispatcher()).startswith("<asyncore.dispatcher at 0x")
    assert repr(sim_asynchat.async_chat()).startswith("<asynchat.async_chat at 0x")
    assert describe(sim_asyncore, sim_asynchat)["repr"] == STD["repr"] == [
        "<asyncore.dispatcher", "<asynchat.async_chat"]
