"""Readiness waiters for the real network: select, poll and epoll.

Each keeps what it built between calls and rebuilds only when the interest
changed (the core says so with ``changed``).  poll and epoll keep kernel- or
object-side registrations and change only the descriptors whose interest
changed; descriptors with no interest are unregistered, as CPython 3.11's
poll2 never registers them.
"""

from __future__ import annotations

import errno
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["SelectPoller", "PollPoller", "EpollPoller"]

_IN, _PRI, _OUT, _NVAL = 1, 2, 4, 32

# Each poller takes ``ns``: an object whose ``select`` attribute is the
# select module, looked up on every call so monkeypatches take effect.


class SelectPoller:
    """select(): three lists in map order, rebuilt only on change."""

    method = "select"

    def __init__(self, ns: Any) -> None:
        self._ns = ns
        self._r: List[Any] = []
        self._w: List[Any] = []
        self._e: List[Any] = []

    def wait(self, fds: List[Any], masks: List[int], changed: bool,
             reset: Sequence[Any], timeout: Optional[float]) -> Any:
        if changed:
            self._r = [fd for fd, m in zip(fds, masks) if m & _IN]
            self._w = [fd for fd, m in zip(fds, masks) if m & _OUT]
            self._e = [fd for fd, m in zip(fds, masks) if m & _PRI]
        # select.select copies its arguments, so the lists can be reused.
        return self._ns.select.select(self._r, self._w, self._e, timeout)

    def forget(self, fd: Any) -> None:
        pass

    def close(self) -> None:
        pass


class PollPoller:
    """poll(): one ``select.poll`` object kept across calls."""

    method = "poll"

    def __init__(self, ns: Any) -> None:
        self._pollster = ns.select.poll()
        self._registered: Dict[Any, int] = {}

    def wait(self, fds: List[Any], masks: List[int], changed: bool,
             reset: Sequence[Any], timeout: Optional[float]) -> Any:
        if changed:
            self._sync(fds, masks)
        if timeout is not None:
            timeout = int(timeout * 1000)
        return self._pollster.poll(timeout)

    def _sync(self, fds: List[Any], masks: List[int]) -> None:
        pollster = self._pollster
        old = self._registered
        new = {fd: m for fd, m in zip(fds, masks) if m}
        for fd in old:
            if fd not in new:
                pollster.unregister(fd)
        for fd, m in new.items():
            if old.get(fd) != m:
                pollster.register(fd, m)
        self._registered = new

    def forget(self, fd: Any) -> None:
        if self._registered.pop(fd, None) is not None:
            try:
                self._pollster.unregister(fd)
            except KeyError:
                pass

    def close(self) -> None:
        self._registered = {}


class EpollPoller:
    """epoll: kernel registrations kept across calls, changed incrementally.

    Where epoll cannot watch a descriptor (a regular file: EPERM), the
    descriptor is reported ready for what it asked, as poll() does for
    regular files.  A descriptor that is closed (EBADF) is reported as
    POLLNVAL, as poll() would.
    """

    method = "epoll"

    def __init__(self, ns: Any) -> None:
        self._epoll = ns.select.epoll()
        self._registered: Dict[Any, int] = {}
        self._always: Dict[Any, int] = {}  # fds epoll refused (regular files)
        self._invalid: Dict[Any, int] = {}  # fds that were not open

    def wait(self, fds: List[Any], masks: List[int], changed: bool,
             reset: Sequence[Any], timeout: Optional[float]) -> Any:
        if changed:
            self._sync(fds, masks, reset)
        extra: List[Tuple[Any, int]] = []
        if self._always or self._invalid:
            extra = [(fd, m & (_IN | _OUT)) for fd, m in self._always.items()]
            extra += [(fd, _NVAL) for fd in self._invalid]
            timeout = 0
        if timeout is None:
            timeout = -1
        elif timeout > 0:
            # As poll2: whole milliseconds, truncated (CPython 3.11).
            timeout = int(timeout * 1000) / 1000.0
        events = self._epoll.poll(timeout)
        if extra:
            events = events + extra
        return events

    def _unregister(self, fd: Any) -> None:
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass  # already closed: the kernel dropped it

    def _sync(self, fds: List[Any], masks: List[int],
              reset: Sequence[Any]) -> None:
        ep = self._epoll
        old = self._registered
        for fd in reset:
            if old.pop(fd, None) is not None:
                self._unregister(fd)
        new = {fd: m for fd, m in zip(fds, masks) if m}
        for fd in old:
            if fd not in new:
                self._unregister(fd)
        registered: Dict[Any, int] = {}
        always: Dict[Any, int] = {}
        invalid: Dict[Any, int] = {}
        for fd, m in new.items():
            was = old.get(fd)
            if was == m:
                registered[fd] = m
                continue
            try:
                if was is None:
                    try:
                        ep.register(fd, m)
                    except FileExistsError:
                        ep.modify(fd, m)
                else:
                    try:
                        ep.modify(fd, m)
                    except FileNotFoundError:
                        ep.register(fd, m)
            except PermissionError:
                always[fd] = m
                continue
            except OSError as err:
                if err.errno == errno.EBADF:
                    invalid[fd] = m
                    continue
                raise
            registered[fd] = m
        self._registered = registered
        self._always = always
        self._invalid = invalid

    def forget(self, fd: Any) -> None:
        if self._registered.pop(fd, None) is not None:
            self._unregister(fd)
        self._always.pop(fd, None)
        self._invalid.pop(fd, None)

    def close(self) -> None:
        self._registered = {}
        self._epoll.close()
