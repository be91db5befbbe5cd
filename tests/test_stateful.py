"""Tests of asyncore_sim.testing.stateful: Hypothesis state machines over fake_net.

An echo server and a client are driven through sends, loop iterations, fault
rules and closes; a correct handler keeps its invariants, a handler that
drops what a short send() did not take is caught, with a readable message
and a minimal sequence that cuts a send short.
"""

from __future__ import annotations

from typing import Any, Dict, List, Set

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

import asyncore_sim
from asyncore_sim.testing.stateful import InvariantFailed, Run, protocol_machine


def _settings(max_examples: int, steps: int = 30) -> settings:
    return settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        derandomize=True,
        database=None,
        report_multiple_bugs=False,
        # No "explain" phase: it reruns the failure many times for a report
        # these tests do not read.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    )


# ---------------------------------------------------------------------------
# the protocol under test
# ---------------------------------------------------------------------------


class EchoHandler(asyncore_sim.dispatcher_with_send):
    """Echoes everything; dispatcher_with_send keeps what a send left over."""

    def handle_read(self) -> None:
        data = self.recv(8192)
        if data:
            self.send(data)

    def handle_close(self) -> None:
        self.close()


class LossyEchoHandler(asyncore_sim.dispatcher):
    """The bug: ignores send()'s return value, so a short send loses bytes."""

    def handle_read(self) -> None:
        data = self.recv(8192)
        if data:
            self.send(data)

    def writable(self) -> bool:
        return False

    def handle_close(self) -> None:
        self.close()


class FragileEchoHandler(EchoHandler):
    """Raises on a byte it does not expect (asyncore's handle_error catches it)."""

    def handle_read(self) -> None:
        data = self.recv(8192)
        if b"\xff" in data:
            raise ValueError("unexpected byte 0xff")
        if data:
            self.send(data)


class EchoServer(asyncore_sim.dispatcher):
    def __init__(self, address: Any, map: Any, handler: Any = EchoHandler) -> None:
        asyncore_sim.dispatcher.__init__(self, map=map)
        self.handler = handler
        self.create_socket()
        self.set_reuse_addr()
        self.bind(address)
        self.listen(5)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        self.handler(sock, map=self._map)


class EchoClient(asyncore_sim.async_chat):
    """Collects every byte it receives in ``data``."""

    def __init__(self, address: Any, map: Any) -> None:
        asyncore_sim.async_chat.__init__(self, map=map)
        self.data = b""
        self.set_terminator(None)
        self.create_socket()
        self.connect(address)

    def collect_incoming_data(self, data: bytes) -> None:
        self.data += data

    def found_terminator(self) -> None:  # pragma: no cover - no terminator
        pass

    def handle_connect(self) -> None:
        pass

    def handle_close(self) -> None:
        self.close()


def echo_machine(handler: Any = EchoHandler, **options: Any) -> Any:
    return protocol_machine(
        server=lambda net, map, address: EchoServer(address, map, handler),
        client=lambda net, map, address: EchoClient(address, map),
        **options,
    )


def echo_is_a_prefix(run: Run) -> None:
    assert run.sent.startswith(run.received), "the echo is not a prefix of sent"


def all_echoed(run: Run) -> None:
    if run.intact:
        assert run.received == run.sent, "the echo differs from what was sent"


def fired(run: Run) -> List[str]:
    """The fault rules that fired in this run, by class name."""
    return [e.data[0] for e in run.events if e.kind == "fault"]


# ---------------------------------------------------------------------------
# a correct handler passes
# ---------------------------------------------------------------------------

EchoMachine = echo_machine(invariants=[echo_is_a_prefix], final=[all_echoed])
TestEchoMachine = EchoMachine.TestCase
TestEchoMachine.settings = _settings(max_examples=25)


def test_a_correct_echo_handler_keeps_its_invariants_under_faults() -> None:
    seen: Set[str] = set()
    quiet: List[bool] = []

    def record(run: Run) -> None:
        seen.update(fired(run))
        seen.update(step.split("(")[0] for step in run.steps)
        quiet.append(run.quiet)

    machine = echo_machine(
        invariants=[echo_is_a_prefix], final=[all_echoed, record], closes=False
    )
    run_state_machine_as_test(machine, settings=_settings(max_examples=150))
    # The rules ran, and each kind of fault fired in some example.
    assert {"send", "run", "cut_send", "cut_read", "delay", "inject_oob"} <= seen
    assert {"PartialSend", "ShortRead", "Delay", "InjectOOB"} <= seen
    assert "close_client" not in seen and "reset" not in seen
    assert quiet and all(quiet)


# ---------------------------------------------------------------------------
# a buggy handler is caught
# ---------------------------------------------------------------------------


def test_a_handler_that_ignores_short_sends_is_caught() -> None:
    machine = echo_machine(
        LossyEchoHandler, invariants=[echo_is_a_prefix], final=[all_echoed]
    )
    with pytest.raises(InvariantFailed) as excinfo:
        run_state_machine_as_test(machine, settings=_settings(max_examples=150))
    err = excinfo.value
    assert isinstance(err, AssertionError)
    message = str(err)
    # What failed, where, and the state: readable without a debugger.
    assert err.check.startswith(("final[0] (all_echoed)", "invariants[0]"))
    assert err.check in message
    assert "the echo" in message
    assert err.sent != err.received
    assert "sent:     %d byte" % len(err.sent) in message
    assert "received: %d byte" % len(err.received) in message
    assert "netstat:" in message and "LISTENING" in message
    assert err.netstat in message.replace("\n  ", "\n")
    # The minimal sequence sends something and cuts the server's send short.
    assert any(step.startswith("send(") for step in err.steps)
    assert any(step.startswith("cut_send(side='server'") for step in err.steps)
    for number, step in enumerate(err.steps, 1):
        assert "  %d. %s" % (number, step) in message
    # Hypothesis's own report of the minimal program says the same.
    notes = "\n".join(getattr(err, "__notes__", []))
    if notes:
        assert "state.cut_send(" in notes and "side='server'" in notes


def test_a_handler_exception_fails_the_example() -> None:
    machine = echo_machine(FragileEchoHandler, faults=False, closes=False)
    with pytest.raises(InvariantFailed) as excinfo:
        run_state_machine_as_test(machine, settings=_settings(max_examples=100))
    message = str(excinfo.value)
    assert "handle_error()" in message
    assert "ValueError: unexpected byte 0xff" in message
    assert "FragileEchoHandler" in message
    assert any("\\xff" in step for step in excinfo.value.steps)


def test_an_invariant_that_returns_false_fails() -> None:
    machine = echo_machine(invariants=[lambda run: len(run.sent) < 3])
    with pytest.raises(InvariantFailed) as excinfo:
        run_state_machine_as_test(machine, settings=_settings(max_examples=50))
    err = excinfo.value
    assert err.check == "invariants[0] (<lambda>)"
    assert "failed after step %d, send(" % len(err.steps) in str(err)
    assert len(err.sent) == 3  # shrunk to the smallest failing total


# ---------------------------------------------------------------------------
# closes and resets
# ---------------------------------------------------------------------------


def test_closes_and_resets_do_not_break_a_correct_handler() -> None:
    counts: Dict[str, int] = {"closed": 0, "reset fired": 0, "handler gone": 0}

    def ends_closed(run: Run) -> None:
        reset = "PeerReset" in fired(run)
        counts["closed"] += run.closed
        counts["reset fired"] += reset
        if run.closed or reset:
            # The server's handler saw the close (or the reset) and closed.
            assert run.handler is None, "the handler outlived its connection"
            counts["handler gone"] += 1
        else:
            assert run.handler is not None

    machine = echo_machine(
        received=lambda client: client.data,
        invariants=[echo_is_a_prefix],
        final=[all_echoed, ends_closed],
    )
    run_state_machine_as_test(machine, settings=_settings(max_examples=150))
    assert counts["closed"] > 0 and counts["reset fired"] > 0
    assert counts["handler gone"] >= counts["closed"]


# ---------------------------------------------------------------------------
# invalid use
# ---------------------------------------------------------------------------


def _factory(net: Any, map: Any, address: Any) -> None:  # pragma: no cover
    return None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        pytest.param({"client": _factory}, r"needs server=, a callable", id="server"),
        pytest.param({"server": _factory}, r"needs client=, a callable", id="client"),
        pytest.param(
            {"server": "EchoServer", "client": _factory},
            r"needs server=.*got 'EchoServer'",
            id="not-callable",
        ),
        pytest.param(
            {"server": _factory, "client": _factory, "invariants": echo_is_a_prefix},
            r"invariants= takes a list of callables",
            id="one-invariant",
        ),
        pytest.param(
            {"server": _factory, "client": _factory, "final": [None]},
            r"final= takes a list of callables; None is not callable",
            id="final-none",
        ),
        pytest.param(
            {"server": _factory, "client": _factory, "max_send": 1.5},
            r"max_send= must be an int",
            id="max-send",
        ),
    ],
)
def test_invalid_use_raises_type_error(kwargs: Dict[str, Any], match: str) -> None:
    with pytest.raises(TypeError, match=match):
        protocol_machine(**kwargs)


def test_factories_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        protocol_machine(_factory, _factory)


def test_sizes_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"max_run= must be at least 1"):
        protocol_machine(server=_factory, client=_factory, max_run=0)
