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
from typing import Any, Optional

from fake_net._world._state import (
    _REAL,
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


class _DatetimeType(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _REAL_DATETIME)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return isinstance(sub, type) and issubclass(sub, _REAL_DATETIME)


class WorldDatetime(_REAL_DATETIME, metaclass=_DatetimeType):  # type: ignore[misc]
    """``datetime.datetime`` inside a world: ``now()``, ``utcnow()`` and
    ``today()`` read the world's clock; everything it makes is a real
    ``datetime``."""

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


class _DateType(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, _REAL_DATE)

    def __subclasscheck__(cls, sub: Any) -> bool:
        return isinstance(sub, type) and issubclass(sub, _REAL_DATE)


class WorldDate(_REAL_DATE, metaclass=_DateType):  # type: ignore[misc]
    """``datetime.date`` inside a world: ``today()`` reads the world's clock."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _REAL_DATE(*args, **kwargs)

    @classmethod
    def today(cls) -> Any:  # type: ignore[override]
        t = _virtual_now()
        if t is None:
            return _REAL_DATE.today()
        return _REAL_DATETIME.fromtimestamp(t, _UTC).date()
