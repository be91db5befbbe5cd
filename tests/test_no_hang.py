"""No hang, whatever the program does: a simulation that is stuck, or out of
budget, ends for good, even under a legacy loop that swallows Exception."""

from __future__ import annotations

import logging
from typing import Any, List

import pytest

import asyncore_sim as asyncore
from fake_net import (
    FakeNetwork,
    SimulationBudgetExceeded,
    SimulationError,
    SimulationHalted,
    SimulationStuck,
)


class Idle(asyncore.dispatcher):
    """A listener nobody connects to: nothing will ever be ready."""

    def __init__(self, map: Any) -> None:
        asyncore.dispatcher.__init__(self, map=map)
        self.create_socket()
        self.bind(("127.0.0.1", 8000))
        self.listen(1)


def _swallowing_loop(m: Any, log: List[str], limit: int = 100_000) -> int:
    """The legacy pattern: keep looping, log whatever goes wrong."""
    rounds = 0
    while m and rounds < limit:  # the limit only guards this test itself
        rounds += 1
        try:
            asyncore.loop(timeout=1.0, map=m)
        except Exception as exc:  # noqa: BLE001 - the legacy pattern under test
            log.append(type(exc).__name__)
    return rounds


def test_a_stuck_run_ends_a_loop_that_swallows_exceptions() -> None:
    net = FakeNetwork(idle_limit=5)
    m = net.map()
    Idle(m)
    log: List[str] = []
    with pytest.raises(SimulationHalted, match="it ended with: nothing has been"):
        _swallowing_loop(m, log)
    assert log == ["SimulationStuck"]  # raised once, swallowed once, then halted


def test_a_handler_that_raises_in_handle_error_cannot_spin_for_ever() -> None:
    class Broken(asyncore.dispatcher):
        def __init__(self, sock: Any, map: Any) -> None:
            asyncore.dispatcher.__init__(self, sock, map=map)

        def writable(self) -> bool:
            return True

        def handle_write(self) -> None:
            raise ValueError("bad handler")

        def handle_error(self) -> None:
            raise KeyError("bad error handler")

    net = FakeNetwork(max_steps=500)
    m = net.map()
    a, _b = net.socketpair()
    Broken(a, m)
    log: List[str] = []
    with pytest.raises(SimulationHalted, match="step budget of 500"):
        _swallowing_loop(m, log)
    assert log[-1] == "SimulationBudgetExceeded"
    assert set(log) == {"KeyError", "SimulationBudgetExceeded"}
    assert len(log) == 501  # one KeyError per step, then the budget


def test_the_first_error_is_still_a_simulation_error_and_runtime_error() -> None:
    net = FakeNetwork(idle_limit=1)
    m = net.map()
    Idle(m)
    with pytest.raises(SimulationStuck) as info:
        asyncore.loop(timeout=1.0, map=m)
    assert isinstance(info.value, SimulationError)
    assert isinstance(info.value, RuntimeError)
    for _ in range(3):  # every later wait or sleep: halted
        with pytest.raises(SimulationHalted):
            asyncore.loop(timeout=1.0, map=m, count=1)
        with pytest.raises(SimulationHalted):
            net.sleep(1)
    assert not issubclass(SimulationHalted, Exception)


def test_budget_exceeded_halts_too_and_max_steps_reads_back() -> None:
    net = FakeNetwork(max_steps=3)
    assert net.max_steps == 3
    for _ in range(3):
        net.sleep(0.5)
    with pytest.raises(SimulationBudgetExceeded):
        net.sleep(0.5)
    assert net.max_steps == 3
    with pytest.raises(SimulationHalted, match="step budget of 3"):
        net.sleep(0.5)


def test_logging_the_swallowed_error_does_not_change_the_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = FakeNetwork(idle_limit=2)
    m = net.map()
    Idle(m)
    with caplog.at_level(logging.ERROR):
        with pytest.raises(SimulationHalted):
            while m:
                try:
                    asyncore.loop(timeout=1.0, map=m)
                except Exception:  # noqa: BLE001 - the legacy pattern under test
                    logging.getLogger("legacy").exception("loop failed")
    assert [r.message for r in caplog.records] == ["loop failed"]
