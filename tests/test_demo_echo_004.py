"""Demonstration: fault plans find the latent defects of PyMOTW 004's echo server.

``examples/pymotw/asyncore_echo_server.py`` is the program documented in
004_4133e97552d58348.txt, kept as documented.  Its ``EchoHandler.handle_write``
says ``self.data.to_write`` where it means ``self.data_to_write``: a line
that runs only when ``send()`` takes less than it was offered, which never
happens in the documented runs.  A property test ("the client gets its
message back") over Hypothesis fault plans on the server's sends finds it
and shrinks it to one cut send; the handler with that word corrected passes.

The same property with cuts and delays on the client's side finds a second,
protocol-level defect: the handler closes the connection as soon as its
queue is empty, so a message that arrives in two pieces with a pause between
them is cut short.  Fixing it needs an end-of-message signal: the corrected
client half-closes after its last byte and the corrected handler closes only
after that EOF; that pair passes every plan.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
from typing import Any, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncore_sim.testing.strategies import fault_plans
from asyncore_sim.testing import simulate
from fake_net import FaultPlan, Match

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = os.path.join(ROOT, "examples", "pymotw", "asyncore_echo_server.py")
with open(os.path.join(ROOT, "traces", "pymotw", "lorem-004.txt"), "rb") as f:
    MESSAGE = f.read()

SERVER_SIDE = Match(side="server")
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


def load_program(name: str) -> Any:
    """A fresh copy of the documented program as a module (its __main__
    block does not run, so the ``import socket`` it holds is done here)."""
    spec = importlib.util.spec_from_file_location(name, PROGRAM)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.socket = socket
    return module


def watch_errors(module: Any) -> List[str]:
    """Record every exception that reaches a handler's handle_error()."""
    errors: List[str] = []
    original = module.EchoHandler.handle_error

    def handle_error(self: Any) -> None:
        import sys

        etype, value = sys.exc_info()[:2]
        errors.append("%s: %s" % (etype.__name__, value))
        original(self)

    module.EchoHandler.handle_error = handle_error
    return errors


DOCUMENTED = load_program("pymotw_echo_004_documented")
DOCUMENTED_ERRORS = watch_errors(DOCUMENTED)


def corrected_handle_write(self: Any) -> None:
    # The documented method with its one wrong word corrected:
    # self.data.to_write -> self.data_to_write.
    data = self.data_to_write.pop()
    sent = self.send(data[: self.chunk_size])
    if sent < len(data):
        self.data_to_write.append(data[sent:])
    if not self.writable():
        self.handle_close()


TYPO_FIXED = load_program("pymotw_echo_004_typo_fixed")
TYPO_FIXED.EchoHandler.handle_write = corrected_handle_write
TYPO_FIXED_ERRORS = watch_errors(TYPO_FIXED)


@pytest.fixture(autouse=True)
def _quiet_logs(caplog: Any) -> None:
    # The program logs every callback at DEBUG; keep the failure output short.
    caplog.set_level(logging.WARNING)


def echo(module: Any, errors: List[str], plan: FaultPlan) -> Tuple[bytes, List[str]]:
    """Run the documented server and client under ``plan``: what the client
    received, and the handler errors of this run."""
    del errors[:]
    with simulate(plan) as sim:
        server = module.EchoServer(("localhost", 0))
        client = module.EchoClient(*server.address, message=MESSAGE)
        sim.run()
    return b"".join(client.received_data), list(errors)


def test_the_documented_run_echoes_everything() -> None:
    received, errors = echo(DOCUMENTED, DOCUMENTED_ERRORS, FaultPlan())
    assert received == MESSAGE
    assert errors == []


def test_one_cut_send_reaches_the_typo() -> None:
    plan = FaultPlan(sends=(100,), match=SERVER_SIDE)
    received, errors = echo(DOCUMENTED, DOCUMENTED_ERRORS, plan)
    assert errors == ["AttributeError: 'EchoHandler' object has no attribute 'data'"]
    assert received == MESSAGE[:100]


def test_a_property_test_finds_the_typo_and_shrinks_it_to_one_cut_send() -> None:
    tried: List[FaultPlan] = []

    @SETTINGS
    @given(plan=fault_plans(match=SERVER_SIDE))
    def the_client_gets_its_message_back(plan: FaultPlan) -> None:
        tried.append(plan)
        received, errors = echo(DOCUMENTED, DOCUMENTED_ERRORS, plan)
        assert errors == [] and received == MESSAGE

    with pytest.raises(AssertionError):
        the_client_gets_its_message_back()
    # Hypothesis runs the smallest failing plan last.
    minimal = tried[-1]
    assert minimal.size == 1, minimal
    assert len(minimal.sends) == 1 and minimal.sends[0] < 256, minimal
    assert (minimal.reads, minimal.delays, minimal.end) == ((), (), None)
    received, errors = echo(DOCUMENTED, DOCUMENTED_ERRORS, minimal)
    assert errors == ["AttributeError: 'EchoHandler' object has no attribute 'data'"]
    assert received != MESSAGE


@SETTINGS
@given(plan=fault_plans(match=SERVER_SIDE))
def test_the_handler_with_the_typo_corrected_passes(plan: FaultPlan) -> None:
    received, errors = echo(TYPO_FIXED, TYPO_FIXED_ERRORS, plan)
    assert errors == []
    assert received == MESSAGE


def test_cuts_and_delays_on_the_client_side_find_the_early_close() -> None:
    tried: List[FaultPlan] = []

    @SETTINGS
    @given(plan=fault_plans(match=Match(side="client")))
    def the_client_gets_its_message_back(plan: FaultPlan) -> None:
        tried.append(plan)
        received, errors = echo(TYPO_FIXED, TYPO_FIXED_ERRORS, plan)
        assert errors == [] and received == MESSAGE

    with pytest.raises(AssertionError):
        the_client_gets_its_message_back()
    minimal = tried[-1]
    assert 1 <= minimal.size <= 2, minimal
    received, errors = echo(TYPO_FIXED, TYPO_FIXED_ERRORS, minimal)
    # No handler error this time: the server closed early, on purpose.
    assert errors == []
    assert MESSAGE.startswith(received) and len(received) < len(MESSAGE)


# -- the protocol corrected: the client says when it is done ---------------------

FIXED = load_program("pymotw_echo_004_corrected")
FIXED_ERRORS = watch_errors(FIXED)


class HandlerClosingOnEOF(FIXED.EchoHandler):  # type: ignore[name-defined,misc]
    """Echoes until the client's EOF, then closes once everything is sent."""

    def __init__(self, sock: Any, chunk_size: int = 256) -> None:
        super().__init__(sock, chunk_size)
        self.client_done = False

    def handle_read(self) -> None:
        data = self.recv(self.chunk_size)
        if data:
            self.data_to_write.insert(0, data)
        else:
            self.client_done = True  # recv() gave b'' at EOF; no close yet

    def readable(self) -> bool:
        return not self.client_done

    def handle_write(self) -> None:
        data = self.data_to_write.pop()
        sent = self.send(data[: self.chunk_size])
        if sent < len(data):
            self.data_to_write.append(data[sent:])
        if self.client_done and not self.data_to_write:
            self.close()

    def writable(self) -> bool:
        return bool(self.data_to_write)

    def handle_close(self) -> None:
        # asyncore calls handle_close() at EOF too; only then is it final
        # when nothing is left to echo.
        self.client_done = True
        if not self.data_to_write:
            self.close()


class ClientSayingWhenDone(FIXED.EchoClient):  # type: ignore[name-defined,misc]
    def handle_write(self) -> None:
        super().handle_write()
        if not self.to_send:
            self.socket.shutdown(socket.SHUT_WR)


FIXED.EchoHandler = HandlerClosingOnEOF


def echo_fixed(plan: FaultPlan) -> Tuple[bytes, List[str]]:
    del FIXED_ERRORS[:]
    with simulate(plan) as sim:
        server = FIXED.EchoServer(("localhost", 0))
        client = ClientSayingWhenDone(*server.address, message=MESSAGE)
        sim.run()
    return b"".join(client.received_data), list(FIXED_ERRORS)


@SETTINGS
@given(
    plan=st.one_of(
        fault_plans(),
        fault_plans(match=SERVER_SIDE),
        fault_plans(match=Match(side="client")),
    )
)
def test_the_corrected_protocol_passes_every_plan(plan: FaultPlan) -> None:
    received, errors = echo_fixed(plan)
    assert errors == []
    assert received == MESSAGE
