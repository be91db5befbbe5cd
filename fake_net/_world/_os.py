"""The world's ``os`` descriptor calls.

Simulated descriptors go to the network, every other one to the kernel.
"""

from __future__ import annotations

import errno
import os
import threading
from typing import TYPE_CHECKING, Any, Optional, Tuple

from fake_net._errors import oserror
from fake_net._world import _state
from fake_net._world._readiness import WorldEpoll
from fake_net._world._state import (
    _REAL,
    _in_world,
)

if TYPE_CHECKING:  # pragma: no cover
    pass


# -- descriptors: os ----------------------------------------------------------------


def _os_target(fd: int, call: str) -> Any:
    """The simulated object for ``fd`` in the world's thread, else None."""
    w = _state._world
    if w is None:
        return None
    obj = w.net._objects.get(fd)
    if obj is None:
        return None
    if threading.get_ident() != w.thread:
        raise w.other_thread("%s on simulated descriptor %d" % (call, fd))
    return obj


def _os_read(fd: int, n: int) -> bytes:
    obj = _os_target(fd, "os.read()")
    if obj is None:
        return _REAL["os.read"](fd, n)  # type: ignore[no-any-return]
    if hasattr(obj, "recv"):
        return obj.recv(n)  # type: ignore[no-any-return]
    return obj.read(fd, n)  # type: ignore[no-any-return]


def _os_write(fd: int, data: Any) -> int:
    obj = _os_target(fd, "os.write()")
    if obj is None:
        return _REAL["os.write"](fd, data)  # type: ignore[no-any-return]
    if hasattr(obj, "recv"):
        return obj.send(data)  # type: ignore[no-any-return]
    return obj.write(fd, data)  # type: ignore[no-any-return]


def _os_close(fd: int) -> None:
    obj = _os_target(fd, "os.close()")
    if obj is None:
        _REAL["os.close"](fd)
        return
    if hasattr(obj, "recv") or isinstance(obj, WorldEpoll):
        obj.close()
    else:
        obj.close_fd(fd)


def _os_pipe() -> Tuple[int, int]:
    w = _in_world()
    if w is None:
        return _REAL["os.pipe"]()  # type: ignore[no-any-return]
    return w.net.pipe()


def _os_set_blocking(fd: int, blocking: bool) -> None:
    obj = _os_target(fd, "os.set_blocking()")
    if obj is None:
        _REAL["os.set_blocking"](fd, blocking)
    elif hasattr(obj, "setblocking"):
        obj.setblocking(blocking)
    else:
        assert _state._world is not None
        _state._world.net.set_fd_blocking(fd, blocking)


def _os_get_blocking(fd: int) -> bool:
    obj = _os_target(fd, "os.get_blocking()")
    if obj is None:
        return _REAL["os.get_blocking"](fd)  # type: ignore[no-any-return]
    if hasattr(obj, "getblocking"):
        return obj.getblocking()  # type: ignore[no-any-return]
    return bool(getattr(obj, "blocking", True))


def _os_sendfile(out_fd: int, in_fd: int, offset: Optional[int], count: int) -> int:
    obj = _os_target(out_fd, "os.sendfile()")
    if obj is None:
        return _REAL["os.sendfile"](out_fd, in_fd, offset, count)  # type: ignore[no-any-return]
    if not hasattr(obj, "send"):
        raise oserror(errno.EINVAL)  # Linux: out_fd must be a socket here
    if _os_target(in_fd, "os.sendfile()") is not None:
        raise oserror(errno.EINVAL)  # a simulated input is not a regular file
    # The input is a real file: read what sendfile(2) would, send what the
    # socket takes (possibly less, or EAGAIN), and advance the file offset
    # by that much when none was given, as the kernel does.
    if offset is None:
        start = os.lseek(in_fd, 0, os.SEEK_CUR)
    else:
        start = offset
    data = os.pread(in_fd, count, start)
    if not data:
        return 0
    sent = int(obj.send(data))
    if offset is None:
        os.lseek(in_fd, start + sent, os.SEEK_SET)
    return sent
