"""The public surface matches CPython 3.11's asyncore and asynchat.

Names, signatures (parameter names, kinds and defaults), class attributes
and class hierarchy are compared with the stdlib modules themselves, imported
here without leaving them in ``sys.modules``.
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

import asyncore_sim
from stdlib_ref import SKIP_REASON, STD_ASYNCHAT, STD_ASYNCORE
from asyncore_sim import asynchat as sim_asynchat
from asyncore_sim import asyncore as sim_asyncore

if STD_ASYNCORE is None:
    pytest.skip(SKIP_REASON, allow_module_level=True)
std_asyncore, std_asynchat = STD_ASYNCORE, STD_ASYNCHAT


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


ASYNCORE_NAMES = _public_names(std_asyncore, ("socket_map",))
ASYNCHAT_NAMES = _public_names(std_asynchat)


def _params(func: Any) -> List[Tuple[str, Any, Any]]:
    """A signature without annotations: (name, kind, default) per parameter."""
    return [(p.name, p.kind, p.default)
            for p in inspect.signature(func).parameters.values()]


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
    std_obj = getattr(std_asyncore, name)
    sim_obj = getattr(sim_asyncore, name)
    if inspect.isclass(std_obj):
        assert inspect.isclass(sim_obj)
        assert sim_obj.__name__ == std_obj.__name__
    elif inspect.isfunction(std_obj):
        assert callable(sim_obj)
        assert _params(sim_obj) == _params(std_obj)
    else:
        assert type(sim_obj) is type(std_obj)


@pytest.mark.parametrize("name", ASYNCHAT_NAMES)
def test_asynchat_name_exists_on_module_and_package(name: str) -> None:
    assert hasattr(sim_asynchat, name), name
    assert hasattr(asyncore_sim, name), name
    assert getattr(asyncore_sim, name) is getattr(sim_asynchat, name)
    std_obj = getattr(std_asynchat, name)
    if inspect.isfunction(std_obj):
        assert _params(getattr(sim_asynchat, name)) == _params(std_obj)


CLASSES = [(std_asyncore, sim_asyncore, n) for n in ASYNCORE_NAMES
           if inspect.isclass(getattr(std_asyncore, n))] + \
          [(std_asynchat, sim_asynchat, n) for n in ASYNCHAT_NAMES
           if inspect.isclass(getattr(std_asynchat, n))]
CLASS_IDS = ["%s.%s" % (m.__name__, n) for m, _, n in CLASSES]


@pytest.mark.parametrize("std_mod,sim_mod,name", CLASSES, ids=CLASS_IDS)
def test_class_methods_and_signatures(std_mod: Any, sim_mod: Any, name: str) -> None:
    std_cls, sim_cls = getattr(std_mod, name), getattr(sim_mod, name)
    std_methods, sim_methods = _methods(std_cls), _methods(sim_cls)
    assert std_methods or name == "ExitNow", name
    for meth, std_func in sorted(std_methods.items()):
        assert meth in sim_methods, "%s.%s is missing" % (name, meth)
        assert _params(sim_methods[meth]) == _params(std_func), \
            "%s.%s: %s != %s" % (name, meth, inspect.signature(sim_methods[meth]),
                                 inspect.signature(std_func))
    # No public method beyond the stdlib's: a subclass written for the
    # stdlib must not find one of its own names already taken.
    extra = sorted(m for m in sim_methods
                   if not m.startswith("_") and m not in std_methods)
    assert extra == [], "%s has public methods the stdlib lacks: %s" % (name, extra)


@pytest.mark.parametrize("std_mod,sim_mod,name", CLASSES, ids=CLASS_IDS)
def test_class_attributes_and_bases(std_mod: Any, sim_mod: Any, name: str) -> None:
    std_cls, sim_cls = getattr(std_mod, name), getattr(sim_mod, name)
    std_attrs = _plain_class_attributes(std_cls)
    for attr, value in std_attrs.items():
        assert hasattr(sim_cls, attr), "%s.%s is missing" % (name, attr)
        assert getattr(sim_cls, attr) == value, (name, attr)
        assert type(getattr(sim_cls, attr)) is type(value), (name, attr)
    # Same inheritance, by name, up to the stdlib's own classes.
    std_chain = [k.__name__ for k in std_cls.__mro__]
    sim_chain = [k.__name__ for k in sim_cls.__mro__]
    assert sim_chain == std_chain


def test_async_chat_class_attributes() -> None:
    for attr in ("ac_in_buffer_size", "ac_out_buffer_size", "use_encoding", "encoding"):
        assert getattr(sim_asynchat.async_chat, attr) == \
            getattr(std_asynchat.async_chat, attr), attr
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
    for mod in (std_asynchat, sim_asynchat):
        chat = mod.async_chat()
        assert chat.ac_in_buffer == b""
        assert chat.incoming == []
        assert type(chat.producer_fifo).__name__ == "deque"
        assert len(chat.producer_fifo) == 0
        assert chat.socket is None and chat._fileno is None
        assert chat._map is mod.asyncore.socket_map
    ws = sim_asyncore.dispatcher_with_send()
    assert ws.out_buffer == b""


@pytest.mark.skipif(os.name != "posix", reason="file_wrapper is POSIX-only")
def test_file_wrapper_aliases() -> None:
    for mod in (std_asyncore, sim_asyncore):
        fw = mod.file_wrapper
        assert fw.read is fw.recv
        assert fw.write is fw.send


def test_private_helpers_used_by_cpython_tests() -> None:
    for target in (sim_asyncore, asyncore_sim):
        assert callable(target._exception)
        assert callable(target._strerror)
    assert _params(sim_asyncore._exception) == _params(std_asyncore._exception)
    assert _params(sim_asyncore._strerror) == _params(std_asyncore._strerror)
    for err in (errno.EPERM, errno.ECONNRESET, errno.EWOULDBLOCK, 0, 99999, -1):
        assert sim_asyncore._strerror(err) == std_asyncore._strerror(err)


def test_poll3_is_poll2() -> None:
    assert sim_asyncore.poll3 is sim_asyncore.poll2
    assert asyncore_sim.poll3 is asyncore_sim.poll2 is sim_asyncore.poll2


def test_patchable_module_attributes() -> None:
    expected = {"socket": socket, "select": select, "time": time, "os": os, "sys": sys}
    for name, module in expected.items():
        assert getattr(sim_asyncore, name) is module, name
        assert getattr(std_asyncore, name) is module, name
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
    assert repr(std_asyncore.dispatcher()).startswith("<asyncore.dispatcher at 0x")
    assert repr(sim_asynchat.async_chat()).startswith("<asynchat.async_chat at 0x")
