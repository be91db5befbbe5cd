"""The world's clocks: ``time`` and ``datetime`` answer in virtual time.

``time.time()`` is the network's epoch plus virtual time; the simulated
host's local time zone is UTC, so ``time.localtime()``, ``time.ctime()``,
``datetime.now()`` and ``date.today()`` are the same on every machine.
Dates and times the ``datetime`` names make are real ``datetime`` objects.

Rules: simulated code never sees the wall clock; the runner's code and other
threads always do (see ``_state``).
"""

from __future__ import annotations

import datetime as _dt
import time as _time_module
from typing import Any, Callable, Optional

from fake_net._world._state import (
    _REAL,
    StandIn,
    _in_world,
)

_REAL_DATETIME = _dt.datetime
_REAL_DATE = _dt.date
_UTC = _dt.timezone.utc
_REAL_GMTIME = _time_module.gmtime
_REAL_LOCALTIME = _time_module.localtime
_REAL_CTIME = _time_module.ctime
_REAL_ASCTIME = _time_module.asctime
_REAL_STRFTIME = _time_module.strftime


def _virtual_now() -> Optional[float]:
    """time.time() of the world, for the program; None outside it."""
    w = _in_world(4)
    return None if w is None else w.net.epoch + w.net.now


def _clock(name: str, virtual: Callable[[Any], Any]) -> Callable[[], Any]:
    """``time.<name>`` in a world: ``virtual(net)`` for the program, the real
    function for everyone else."""
    real = _REAL["time." + name]

    def clock() -> Any:
        w = _in_world()  # (its caller is clock()'s caller, as it should be)
        return real() if w is None else virtual(w.net)

    clock.__name__ = clock.__qualname__ = name
    return clock


def _wall_ns(net: Any) -> int:
    whole = int(net.epoch)
    return whole * 1_000_000_000 + int(round((net.epoch - whole + net.now) * 1e9))


def _ns(net: Any) -> int:
    return int(round(net.now * 1e9))


_time = _clock("time", lambda net: net.epoch + net.now)
_time_ns = _clock("time_ns", _wall_ns)
_monotonic = _clock("monotonic", lambda net: net.now)
_monotonic_ns = _clock("monotonic_ns", _ns)
_perf_counter = _clock("perf_counter", lambda net: net.now)
_perf_counter_ns = _clock("perf_counter_ns", _ns)


def _sleep(seconds: float) -> None:
    w = _in_world()
    if w is None:
        _REAL["time.sleep"](seconds)
        return
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    # The world goes on while the program sleeps.
    w.net._run_until(lambda: False, float(seconds), "sleep(%r)" % (seconds,))


# -- calendar clocks: the simulated host keeps UTC ------------------------------------


def _calendar_now(w: Any, secs: Optional[float]) -> float:
    return w.net.epoch + w.net.now if secs is None else secs


def _gmtime(secs: Optional[float] = None) -> Any:
    w = _in_world()
    if w is None:
        return _REAL_GMTIME(secs)
    return _REAL_GMTIME(_calendar_now(w, secs))


def _localtime(secs: Optional[float] = None) -> Any:
    w = _in_world()
    if w is None:
        return _REAL_LOCALTIME(secs)
    return _REAL_GMTIME(_calendar_now(w, secs))  # the simulated host keeps UTC


def _ctime(secs: Optional[float] = None) -> str:
    w = _in_world()
    if w is None:
        return _REAL_CTIME(secs)  # type: ignore[no-any-return]
    return _REAL_ASCTIME(_REAL_GMTIME(_calendar_now(w, secs)))  # type: ignore[no-any-return]


def _asctime(t: Any = None) -> str:
    w = _in_world()
    if t is None:
        t = _REAL_LOCALTIME() if w is None else _REAL_GMTIME(_calendar_now(w, None))
    return _REAL_ASCTIME(t)  # type: ignore[no-any-return]


def _strftime(format: str, t: Any = None) -> str:
    w = _in_world()
    if t is None:
        t = _REAL_LOCALTIME() if w is None else _REAL_GMTIME(_calendar_now(w, None))
    return _REAL_STRFTIME(format, t)  # type: ignore[no-any-return]


class WorldDatetime(_REAL_DATETIME, metaclass=StandIn):  # type: ignore[misc]
    """``datetime.datetime`` inside a world: ``now()``, ``utcnow()`` and
    ``today()`` read the world's clock; everything it makes is a real
    ``datetime``."""

    _stands_for = (_REAL_DATETIME,)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _REAL_DATETIME(*args, **kwargs)

    @classmethod
    def now(cls, tz: Any = None) -> Any:  # type: ignore[override]
        t = _virtual_now()
        if t is None:
            return _REAL_DATETIME.now(tz)
        utc = _REAL_DATETIME.fromtimestamp(t, _UTC)
        return utc.replace(tzinfo=None) if tz is None else utc.astimezone(tz)

    @classmethod
    def utcnow(cls) -> Any:  # type: ignore[override]
        t = _virtual_now()
        if t is None:
            return _REAL_DATETIME.now(_UTC).replace(tzinfo=None)
        return _REAL_DATETIME.fromtimestamp(t, _UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> Any:  # type: ignore[override]
        return cls.now()


class WorldDate(_REAL_DATE, metaclass=StandIn):  # type: ignore[misc]
    """``datetime.date`` inside a world: ``today()`` reads the world's clock."""

    _stands_for = (_REAL_DATE,)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _REAL_DATE(*args, **kwargs)

    @classmethod
    def today(cls) -> Any:  # type: ignore[override]
        t = _virtual_now()
        if t is None:
            return _REAL_DATE.today()
        return _REAL_DATETIME.fromtimestamp(t, _UTC).date()
