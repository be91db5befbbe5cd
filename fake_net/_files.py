"""Simulated regular files and pipes, for ``file_dispatcher``.

A regular file always polls readable and writable (as on Linux); a pipe's
read end is readable when it holds data or its writer is gone, its write end
writable while it has room, and a write to a pipe nobody reads fails with
EPIPE.  ``FakeFileWrapper`` is ``file_wrapper`` over these descriptors.

``_Files`` is FakeNetwork's part for them: ``open_file()``, ``pipe()``,
``wrap_file()`` and the descriptor calls (``dup``, ``read``, ``write``,
``close_fd``).  A real regular file handed to ``file_dispatcher`` is imported
once as a simulated file (its content and offset then); nothing else of the
machine's is touched.

Rules: descriptors come from the network's table, lowest free; a duplicate
shares its open file description (``fds``), which is released with the last
one; never the wall clock, never the global random.
"""

from __future__ import annotations

import errno
import os
import socket as _socket
import stat
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, cast

from fake_net import _faults
from fake_net._errors import SimulationError, oserror
from fake_net._socket import FakeSocket

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = ["VirtualFile", "VirtualPipeEnd", "make_pipe", "FakeFileWrapper"]

IN, OUT, ERR, HUP = 1, 4, 8, 16

#: Linux's default pipe capacity (16 pages).
PIPE_CAPACITY = 65536


class _Open:
    """An open file description shared by the descriptors in ``fds``."""

    kind = "file"

    def __init__(self, net: "FakeNetwork") -> None:
        self.net = net
        self.fds: List[int] = []

    def close_fd(self, fd: int) -> None:
        if fd in self.fds:
            self.fds.remove(fd)
        self.net._release_fd(fd, self)
        self.net._log_event("close", fd, ())
        if not self.fds:
            self.last_closed()

    def last_closed(self) -> None:
        pass

    def set_ready(self, mask: int) -> None:
        for fd in self.fds:
            self.net._set_ready(fd, mask)


class VirtualFile(_Open):
    """A regular file: reads walk through ``content``, writes append."""

    def __init__(self, net: "FakeNetwork", content: bytes) -> None:
        super().__init__(net)
        self.content = bytearray(content)
        self.offset = 0

    def describe(self) -> str:
        return "FILE %d/%d bytes read" % (self.offset, len(self.content))

    def read(self, fd: int, n: int) -> bytes:
        data = bytes(self.content[self.offset : self.offset + n])
        self.offset += len(data)
        self.net._log_event("recv", fd, (n, data))
        return data

    def write(self, fd: int, data: Any) -> int:
        data = bytes(data)
        self.content += data
        self.net._log_event("send", fd, (len(data), len(data), data))
        return len(data)


class _Pipe:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.reader: Optional[VirtualPipeEnd] = None
        self.writer: Optional[VirtualPipeEnd] = None
        self.reader_open = True
        self.writer_open = True


class VirtualPipeEnd(_Open):
    kind = "pipe"

    def __init__(self, net: "FakeNetwork", pipe: _Pipe, end: str) -> None:
        super().__init__(net)
        self.pipe = pipe
        self.end = end

    def describe(self) -> str:
        return "PIPE-%s %d bytes buffered" % (self.end.upper(), len(self.pipe.buf))

    def revents(self) -> int:
        p = self.pipe
        if self.end == "r":
            mask = IN if p.buf else 0
            if not p.writer_open:
                mask |= HUP
            return mask
        if not p.reader_open:
            return OUT | ERR
        return OUT if len(p.buf) < PIPE_CAPACITY else 0

    def refresh(self) -> None:
        self.set_ready(self.revents())

    def _both(self) -> None:
        for end in (self.pipe.reader, self.pipe.writer):
            if end is not None:
                end.refresh()

    def read(self, fd: int, n: int) -> bytes:
        if self.end != "r":
            raise oserror(errno.EBADF)
        p = self.pipe
        if not p.buf:
            if p.writer_open:
                self.net._log_event("error", fd, ("recv", "EAGAIN"))
                raise oserror(errno.EAGAIN)
            self.net._log_event("recv", fd, (n, b""))
            return b""
        data = bytes(p.buf[:n])
        del p.buf[:n]
        self.net._log_event("recv", fd, (n, data))
        self._both()
        return data

    def write(self, fd: int, data: Any) -> int:
        if self.end != "w":
            raise oserror(errno.EBADF)
        p = self.pipe
        data = bytes(data)
        if not p.reader_open:
            self.net._log_event("error", fd, ("send", "EPIPE"))
            raise oserror(errno.EPIPE)
        room = PIPE_CAPACITY - len(p.buf)
        if room <= 0:
            self.net._log_event("error", fd, ("send", "EAGAIN"))
            raise oserror(errno.EAGAIN)
        k = min(room, len(data))
        p.buf += data[:k]
        self.net._log_event("send", fd, (len(data), k, data[:k]))
        self._both()
        return k

    def last_closed(self) -> None:
        if self.end == "r":
            self.pipe.reader_open = False
        else:
            self.pipe.writer_open = False
        self._both()


def make_pipe(net: "FakeNetwork") -> Tuple[VirtualPipeEnd, VirtualPipeEnd]:
    pipe = _Pipe()
    pipe.reader = VirtualPipeEnd(net, pipe, "r")
    pipe.writer = VirtualPipeEnd(net, pipe, "w")
    return pipe.reader, pipe.writer


class FakeFileWrapper:
    """``file_wrapper`` over a simulated descriptor (which it dups, as the
    stdlib's does with ``os.dup``)."""

    def __init__(self, net: "FakeNetwork", fd: int) -> None:
        self.net = net
        self.fd = net.dup(fd)

    def __del__(self) -> None:
        if self.fd >= 0:
            warnings.warn("unclosed file %r" % self, ResourceWarning, source=self)  # noqa: B028
        self.close()

    def recv(self, n: int) -> bytes:
        if self.fd < 0:
            raise oserror(errno.EBADF)
        return self.net.read(self.fd, n)

    def send(self, data: Any) -> int:
        if self.fd < 0:
            raise oserror(errno.EBADF)
        return self.net.write(self.fd, data)

    read = recv
    write = send

    def getsockopt(self, level: int, optname: int, buflen: Optional[int] = None) -> int:
        if self.fd >= 0 and self.net._file_rule("no_getsockopt"):
            # The ExceptionalFile(no_getsockopt=True) fault: Python 2.7's
            # file_wrapper had no getsockopt at all.
            raise AttributeError("'file_wrapper' object has no attribute 'getsockopt'")
        if level == _socket.SOL_SOCKET and optname == _socket.SO_ERROR and not buflen:
            return 0
        raise NotImplementedError("Only asyncore specific behaviour implemented.")

    def close(self) -> None:
        if self.fd < 0:
            return
        fd, self.fd = self.fd, -1
        self.net.close_fd(fd)

    def fileno(self) -> int:
        return self.fd


class _Files:
    """FakeNetwork's files and pipes: ``open_file()``, ``pipe()``, the fd calls."""

    # This part's state (set by FakeNetwork.__init__).
    _imported: Dict[int, int]  # real fd -> simulated file
    # From the other parts.
    faults: List[_faults.Fault]
    _objects: Dict[int, Any]
    _ready: Dict[int, int]
    _alloc_fd: Callable[[Any], int]
    _get: Callable[[int], Any]
    _set_ready: Callable[[int, int], None]
    _log_event: Callable[[str, Optional[int], Tuple[Any, ...]], None]

    def wrap_file(self, fd: int) -> FakeFileWrapper:
        """``file_wrapper`` over ``fd``: a simulated descriptor, or else a
        real regular file's descriptor (from ``os.open``), whose content is
        imported as a simulated file once (the real offset is kept).  A
        number the simulation has open is taken as the simulated one."""
        if fd not in self._objects:
            fd = self._import_real_file(fd)
        return FakeFileWrapper(cast("FakeNetwork", self), fd)

    def set_fd_blocking(self, fd: int, flag: bool) -> None:
        if fd in self._imported:
            return
        self._get(fd)

    def _import_real_file(self, real_fd: int) -> int:
        known = self._imported.get(real_fd)
        if known is not None and known in self._objects:
            return known
        try:
            st = os.fstat(real_fd)
        except (OSError, TypeError):
            raise oserror(errno.EBADF) from None
        if not stat.S_ISREG(st.st_mode):
            raise SimulationError(
                "file_dispatcher on a FakeNetwork was given the real descriptor "
                "%r, which is not a regular file: use net.pipe() or net.open_file()"
                % (real_fd,)
            )
        pos = os.lseek(real_fd, 0, os.SEEK_CUR)
        content = os.pread(real_fd, st.st_size, 0)
        fake = self.open_file(content)
        self._objects[fake].offset = pos
        self._imported[real_fd] = fake
        return fake

    def _file_rule(self, flag: str) -> bool:
        """Whether an ExceptionalFile rule (with ``flag`` set, if any) is installed."""
        for fault in self.faults:
            if isinstance(fault, _faults.ExceptionalFile) and (
                not flag or getattr(fault, flag)
            ):
                return True
        return False

    def open_file(self, content: bytes = b"") -> int:
        """A descriptor for a simulated regular file holding ``content``."""
        f = VirtualFile(cast("FakeNetwork", self), content)
        fd = self._alloc_fd(f)
        f.fds.append(fd)
        self._log_event("file", fd, (len(content),))
        # Regular files always poll ready; ExceptionalFile adds POLLPRI.
        self._set_ready(fd, 1 | 4 | (2 if self._file_rule("") else 0))
        return fd

    def pipe(self) -> Tuple[int, int]:
        """``(read_fd, write_fd)`` of a simulated pipe, as ``os.pipe()``."""
        r, w = make_pipe(cast("FakeNetwork", self))
        rfd = self._alloc_fd(r)
        r.fds.append(rfd)
        wfd = self._alloc_fd(w)
        w.fds.append(wfd)
        self._log_event("pipe", rfd, (wfd,))
        r.refresh()
        w.refresh()
        return rfd, wfd

    def dup(self, fd: int) -> int:
        obj = self._get(fd)
        if not hasattr(obj, "fds"):  # a socket (stream or datagram), not a file end
            raise SimulationError(
                "dup() of a simulated socket (fd %d, %s) is not simulated"
                % (fd, type(obj).__name__)
            )
        new = self._alloc_fd(obj)
        obj.fds.append(new)
        self._set_ready(new, self._ready.get(fd, 0))
        return new

    def read(self, fd: int, n: int) -> bytes:
        return self._get(fd).read(fd, n)  # type: ignore[no-any-return]

    def write(self, fd: int, data: bytes) -> int:
        return self._get(fd).write(fd, data)  # type: ignore[no-any-return]

    def close_fd(self, fd: int) -> None:
        obj = self._get(fd)
        if isinstance(obj, FakeSocket):
            obj.close()
        else:
            obj.close_fd(fd)
