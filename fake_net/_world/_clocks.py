"""The world's clocks: ``time`` answers in virtual time for the program."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fake_net._world._state import (
    _REAL,
    _in_world,
)

if TYPE_CHECKING:  # pragma: no cover
    pass


def _time() -> float:
    w = _in_world()
    if w is None:
        return _REAL["time.time"]()  # type: ignore[no-any-return]
    return w.net.epoch + w.net.now


def _time_ns() -> int:
    w = _in_world()
    if w is None:
        return _REAL["time.time_ns"]()  # type: ignore[no-any-return]
    whole = int(w.net.epoch)
    return whole * 1_000_000_000 + int(round((w.net.epoch - whole + w.net.now) * 1e9))


def _monotonic() -> float:
    w = _in_world()
    if w is None:
        return _REAL["time.monotonic"]()  # type: ignore[no-any-return]
    return w.net.now


def _monotonic_ns() -> int:
    w = _in_world()
    if w is None:
        return _REAL["time.monotonic_ns"]()  # type: ignore[no-any-return]
    return int(round(w.net.now * 1e9))


def _perf_counter() -> float:
    w = _in_world()
    if w is None:
        return _REAL["time.perf_counter"]()  # type: ignore[no-any-return]
    return w.net.now


def _perf_counter_ns() -> int:
    w = _in_world()
    if w is None:
        return _REAL["time.perf_counter_ns"]()  # type: ignore[no-any-return]
    return int(round(w.net.now * 1e9))


def _sleep(seconds: float) -> None:
    w = _in_world()
    if w is None:
        _REAL["time.sleep"](seconds)
        return
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    # The world goes on while the program sleeps.
    w.net._run_until(lambda: False, float(seconds), "sleep(%r)" % (seconds,))
