"""AF_UNIX sockets of the simulated network: stream and datagram, by name.

``net.socket(AF_UNIX, SOCK_STREAM)`` makes a :class:`UnixStreamSocket` (the
TCP socket's buffers, readiness and shutdown, with Unix addresses and
Linux's ``af_unix`` errors); ``net.socket(AF_UNIX, SOCK_DGRAM)`` makes a
:class:`UnixDatagramSocket` (the UDP socket's queue and receive calls, with
Unix delivery rules).  ``unix_socketpair(net, type)`` gives a connected pair
of either, as ``socket.socketpair(AF_UNIX, type)``.

Names, as Linux (``net/unix/af_unix.c``) and CPython give them:

* a filesystem path (``str`` or bytes; ``getsockname()`` returns ``str``)
  or an abstract name (starting with ``"\\0"``/``b"\\0"``; returned as
  bytes); ``bind("")`` picks an abstract name (``b"\\0"`` + 5 hex digits,
  from the network's seed) as Linux's autobind does; an unbound socket's
  name is ``''``, and a datagram from one arrives from ``None``;
* ``bind`` to a name in use is EADDRINUSE; a path stays taken after its
  socket closes, until ``net.unlink(path)`` (the file Linux leaves behind),
  an abstract name is free again at once; fake_net never touches the real
  filesystem (the table is the network's: ``_addresses``);
* ``connect`` to a missing name is ENOENT, to a name nobody listens on (or
  whose socket closed) ECONNREFUSED, to a socket of the other type
  EPROTOTYPE; a stream connect completes at once (the server side waits in
  the listener's accept queue, ``backlog + 1`` long; a nonblocking connect
  to a full queue is EAGAIN, a blocking one waits);
* a stream peer that closes leaves POLLHUP|POLLIN; with data it had not
  read, ECONNRESET first; a send to it is EPIPE at once;
* datagrams never drop: a receive queue holds :data:`MAX_DGRAM_QLEN` + 1
  datagrams (``net.unix.max_dgram_qlen``), then a nonblocking sender gets
  EAGAIN and a blocking one waits; ``sendto`` a missing name is ENOENT, to a
  closed one ECONNREFUSED, to a socket connected elsewhere EPERM; a
  connected sender polls POLLOUT only while its peer's queue has room.

Rules: this module never reads the clock, draws randomness only from the
network's source (autobind names), never iterates a set (sockets are found
in the network's insertion-ordered descriptor table).
"""

from __future__ import annotations

import errno
import os
import socket as _socket
import threading
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    List,
    NoReturn,
    Optional,
    Tuple,
    cast,
)

from fake_net._addresses import shown_name, unix_address
from fake_net._datagram import DatagramSocket, _payload
from fake_net._errors import oserror
from fake_net._segments import ERR, HUP, IN, OUT
from fake_net._socket import FakeSocket

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = [
    "MAX_DGRAM_QLEN",
    "UnixDatagramSocket",
    "UnixStreamSocket",
    "unix_socketpair",
]

AF_UNIX = int(getattr(_socket, "AF_UNIX", 1))
#: Linux's default net.unix.max_dgram_qlen: a datagram receive queue holds
#: one more than this before senders are pushed back.
MAX_DGRAM_QLEN = 10
_MSG_DONTWAIT = int(_socket.MSG_DONTWAIT)
_MSG_OOB = int(_socket.MSG_OOB)
_MSG_NOSIGNAL = int(getattr(_socket, "MSG_NOSIGNAL", 0x4000))
_SEND_FLAGS = _MSG_DONTWAIT | _MSG_NOSIGNAL


def _key(sock: Any) -> Optional[bytes]:
    local = sock.local
    if local is None:
        return None
    return local if isinstance(local, bytes) else os.fsencode(local)


def _fail(sock: Any, call: str, code: int) -> NoReturn:
    sock.net._log_event("error", sock.fd, (call, errno.errorcode[code]))
    raise oserror(code)


def _close_name(net: "FakeNetwork", sock: Any) -> None:
    key = _key(sock)
    if key is not None:
        net._unix_release(key, sock)


class _UnixName:
    """What both Unix socket types do alike with their name: bind() takes a
    path or abstract name (once), getsockname() gives it ('' unbound)."""

    __slots__ = ()

    # From the socket class it is mixed into.
    net: Any
    fd: Optional[int]
    local: Any
    _check_open: Callable[[], None]

    def getsockname(self) -> Any:
        self._check_open()
        return self.local if self.local is not None else ""

    def bind(self, address: Any) -> None:
        key = unix_address("bind", address)
        self._check_open()
        if self.local is not None:
            raise oserror(errno.EINVAL)
        self.net._unix_bind(self, key)
        self.net._log_event("bind", self.fd, (self.local,))


class UnixStreamSocket(_UnixName, FakeSocket):
    """An AF_UNIX stream socket (``net.socket(AF_UNIX, SOCK_STREAM)``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<UnixStreamSocket fd=%s %s local=%r remote=%r>" % (
            self.fd,
            self.state,
            shown_name(_key(self)),
            self.remote,
        )

    def ports(self) -> Tuple[int, ...]:
        return ()  # no ports: a rule matching a port never matches a Unix socket

    def getpeername(self) -> Any:
        self._check_open()
        if self.state != "connected" or self.peer is None:
            raise oserror(errno.ENOTCONN)
        return self.remote if self.remote is not None else ""

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        if self.local is None:
            raise oserror(errno.EINVAL)  # Linux: unix_listen needs a name
        if self.state not in ("new", "listening"):
            raise oserror(errno.EINVAL)
        FakeSocket.listen(self, backlog)

    def accept(self) -> Tuple[Any, Any]:
        self._check_open()
        net = self.net
        owner = net._world_thread
        if owner is not None and owner != threading.get_ident():
            raise net._wrong_thread("accept() on simulated fd %s" % self.fd)
        if self.state != "listening":
            raise oserror(errno.EINVAL)
        if not self.accept_q:
            net._would_block(self, "accept", lambda: bool(self.accept_q))
        conn = self.accept_q.popleft()
        conn.fd = net._alloc_fd(conn)
        conn.timeout = None
        addr = conn.remote if conn.remote is not None else ""
        net._log_event("accept", self.fd, (conn.fd, addr))
        self._refresh()
        conn._refresh()
        return conn, addr

    def connect_ex(self, address: Any) -> int:
        key = unix_address("connect", address)
        if self.fd is None:
            return errno.EBADF
        net = self.net
        owner = net._world_thread
        if owner is not None and owner != threading.get_ident():
            raise net._wrong_thread("connect() on simulated fd %d" % self.fd)
        if self.state == "listening":
            return errno.EINVAL
        if self.state != "new" or self.ever_connected:
            return errno.EISCONN
        net._log_event("connect", self.fd, (shown_name(key),))
        while True:
            target = net._unix_lookup(key)
            if target is None:
                return self._refused(errno.ENOENT)
            if target.fd is None or not isinstance(target, UnixStreamSocket):
                if isinstance(target, UnixDatagramSocket):
                    return self._refused(errno.EPROTOTYPE)
                return self._refused(errno.ECONNREFUSED)
            if target.state != "listening":
                return self._refused(errno.ECONNREFUSED)
            if len(target.accept_q) < target.backlog:
                break
            if self.timeout == 0.0:
                return self._refused(errno.EAGAIN)
            net._would_block(self, "connect", _room_in(target), raise_eagain=False)
        server = UnixStreamSocket(net, AF_UNIX, _socket.SOCK_STREAM, None)
        server.local = target.local
        self.side, server.side = "client", "server"
        net._join(self, server)
        target.accept_q.append(server)
        target._refresh()
        self._refresh()
        return 0

    def _refused(self, code: int) -> int:
        self.net._log_event("error", self.fd, ("connect", errno.errorcode[code]))
        return code

    def send(self, data: Any, flags: int = 0) -> int:
        if self.fd is not None and self.state == "connected":
            peer = self.peer
            if self.dead_link or self.shut_wr or (peer is not None and peer.shut_rd):
                # Linux (unix_stream_sendmsg): the peer gone or shut down
                # for reading is EPIPE at once; no pending error is taken.
                _fail(self, "send", errno.EPIPE)
        return FakeSocket.send(self, data, flags)

    def shutdown(self, how: int) -> None:
        """Linux (unix_shutdown): the bits are set even on an unconnected
        socket (no ENOTCONN), and mirrored on the peer: our SHUT_RD shuts
        its sending side, our SHUT_WR its receiving side."""
        self._check_open()
        if how not in (_socket.SHUT_RD, _socket.SHUT_WR, _socket.SHUT_RDWR):
            raise oserror(errno.EINVAL)
        net = self.net
        net._log_event("shutdown", self.fd, (how,))
        rd = how in (_socket.SHUT_RD, _socket.SHUT_RDWR)
        wr = how in (_socket.SHUT_WR, _socket.SHUT_RDWR)
        if rd:
            self.shut_rd = True
        if wr:
            self.shut_wr = True
        peer = self.peer
        if self.state == "connected" and peer is not None and not self.dead_link:
            if rd:
                peer.shut_wr = True
            if wr:
                if self.last_arrival > net.now:
                    self._send_fin()  # after what is still on its way
                else:
                    peer.eof_in = True
            peer._refresh()
        self._refresh()

    def _recv_nothing(self, bufsize: int, flags: int, block: bool) -> bytes:
        if self.err and self.state == "connected":
            # Linux (unix_stream_read_generic): the error before the EOF.
            err, self.err = self.err, 0
            self._refresh()
            _fail(self, "recv", err)
        return FakeSocket._recv_nothing(self, bufsize, flags, block)

    def _real_close(self) -> None:
        if self.fd is None:
            return
        net = self.net
        net._log_event("close", self.fd, ())
        fd, self.fd = self.fd, None
        net._release_fd(fd, self)
        _close_name(net, self)
        if self.state == "listening":
            # Connections nobody accepted are reset (Linux: embryos).
            while self.accept_q:
                server_side = self.accept_q.popleft()
                if server_side.peer is not None:
                    _peer_gone(server_side.peer, errno.ECONNRESET)
        elif self.state == "connected" and self.peer is not None:
            _peer_gone(self.peer, errno.ECONNRESET if self.rbuf else 0)
        self.state = "closed"
        self.rbuf = b""

    def _revents(self) -> int:
        """Readiness as Linux's unix_poll computes it."""
        state = self.state
        if state == "listening":
            return IN if self.accept_q else 0
        mask = ERR if self.err else 0
        if state != "connected":
            return mask | OUT | HUP
        rcv_shut = self.eof_in or self.shut_rd
        if self.dead_link or (rcv_shut and self.shut_wr):
            mask |= HUP
        if rcv_shut or self.rbuf:
            mask |= IN
        if self.shut_wr or self.dead_link or self._room() > 0:
            mask |= OUT
        return mask


def _room_in(target: Any) -> Callable[[], bool]:
    """When a sender blocked on ``target`` (a full listener's accept queue,
    a full datagram queue) may try again: room, or ``target`` gone."""
    if isinstance(target, UnixStreamSocket):
        return lambda: (
            target.fd is None
            or target.state != "listening"
            or len(target.accept_q) < target.backlog
        )
    return lambda: target.fd is None or len(target.queue) <= MAX_DGRAM_QLEN


def _peer_gone(sock: FakeSocket, err: int) -> None:
    """Linux (unix_release_sock): the peer of a closed socket is shut down
    both ways, with ECONNRESET if the closed one left data unread."""
    if sock.state != "connected":
        return
    sock.eof_in = True
    sock.dead_link = True
    if err:
        sock.err = err
    if sock.peer is not None:
        sock.net._log_event("error", sock.fd if sock.fd is not None else -1,
                            ("peer_closed", errno.errorcode.get(err, "0")))
    sock._refresh()


class UnixDatagramSocket(_UnixName, DatagramSocket):
    """An AF_UNIX datagram socket (``net.socket(AF_UNIX, SOCK_DGRAM)``)."""

    __slots__ = ("peer",)

    kind = "unix"

    def __init__(self, net: "FakeNetwork", family: int, type: int) -> None:
        DatagramSocket.__init__(self, net, family, type)
        self.peer: Optional[UnixDatagramSocket] = None

    def __repr__(self) -> str:
        return "<UnixDatagramSocket fd=%s local=%r remote=%r>" % (
            self.fd,
            self.local,
            self.remote,
        )

    def getpeername(self) -> Any:
        self._check_open()
        if self.peer is None:
            raise oserror(errno.ENOTCONN)
        return self.remote if self.remote is not None else ""

    def connect_ex(self, address: Any) -> int:
        key = unix_address("connect", address)
        if self.fd is None:
            return errno.EBADF
        self._check_thread("connect")
        target = self._target(key)
        if not isinstance(target, int) and target.peer not in (None, self):
            target = errno.EPERM  # Linux (unix_may_send): connected elsewhere
        if isinstance(target, int):
            self.net._log_event(
                "error", self.fd, ("connect", errno.errorcode[target])
            )
            return target
        old = self.peer
        self.peer = target
        self.remote = target.local
        self.net._log_event("connect", self.fd, (self.remote,))
        if old is not None and old is not target:
            self._disconnected(old)
        self._refresh()
        return 0

    def _disconnected(self, old: "UnixDatagramSocket") -> None:
        """Linux (unix_dgram_disconnected): leaving a peer drops what our
        queue holds; a live old peer still connected to us is told so with
        ECONNRESET (only if something was dropped)."""
        if not self.queue:
            return
        self.queue.clear()
        self.queued = 0
        self._wake_senders()
        if old.fd is not None and old.peer is self:
            old.err = errno.ECONNRESET
            old._refresh()

    def send(self, data: Any, flags: int = 0) -> int:
        payload = _payload(data)
        self._check_open()
        if self.peer is None:
            self._flags(flags, _SEND_FLAGS, "send")
            # Linux (unix_dgram_sendmsg): a shut-down sending side first.
            self._fail("send", errno.EPIPE if self.shut_wr else errno.ENOTCONN)
        return self._send_unix(payload, None, flags, "send")

    # sendto() is DatagramSocket's, on these two:

    def _dest(self, call: str, address: Any) -> bytes:
        return unix_address(call, address)

    def _send_to(self, payload: bytes, dest: Any, flags: int, call: str) -> int:
        return self._send_unix(payload, dest, flags, call)

    def sendmsg(
        self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None
    ) -> int:
        payload = b"".join(_payload(b) for b in buffers)
        if list(ancdata):
            raise OSError(
                errno.EOPNOTSUPP,
                "fake_net does not simulate ancillary data (SCM_RIGHTS, "
                "SCM_CREDENTIALS) on sendmsg()",
            )
        self._check_open()
        key = None if address is None else unix_address("sendmsg", address)
        if key is None and self.peer is None:
            self._fail("sendmsg", errno.ENOTCONN)
        return self._send_unix(payload, key, flags, "sendmsg")

    def _target(self, key: bytes) -> Any:
        """The socket bound to ``key``, or the errno a send or connect gets."""
        target = self.net._unix_lookup(key)
        if target is None:
            return errno.ENOENT
        if isinstance(target, UnixStreamSocket):
            return errno.EPROTOTYPE
        if not isinstance(target, UnixDatagramSocket) or target.fd is None:
            return errno.ECONNREFUSED
        return target

    def _send_unix(
        self, payload: bytes, key: Optional[bytes], flags: int, call: str
    ) -> int:
        """Linux's unix_dgram_sendmsg checks, in its order, then the datagram
        is queued to its receiver (never dropped)."""
        self._check_thread(call)
        if flags & _MSG_OOB:
            self._fail(call, errno.EOPNOTSUPP)
        self._flags(flags, _SEND_FLAGS, call)
        if len(payload) > self.sndbuf - 32:
            self._fail(call, errno.EMSGSIZE)
        if self.shut_wr:
            self._fail(call, errno.EPIPE)
        while True:
            if key is None:
                target: Any = self.peer
                if target is None or target.fd is None:
                    # Linux: the peer is dead: disconnected, ECONNREFUSED.
                    self.peer = None
                    self.remote = None
                    if target is not None:
                        self._disconnected(target)
                    self._refresh()
                    self._fail(call, errno.ECONNREFUSED)
            else:
                target = self._target(key)
                if isinstance(target, int):
                    self._fail(call, target)
            if target.peer is not None and target.peer is not self:
                self._fail(call, errno.EPERM)  # connected to another socket
            if target.shut_rd:
                self._fail(call, errno.EPIPE)
            if len(target.queue) <= MAX_DGRAM_QLEN:
                break
            if self.timeout == 0.0 or flags & _MSG_DONTWAIT:
                self._fail(call, errno.EAGAIN)
            self.net._would_block(
                cast(Any, self), call, _room_in(target), raise_eagain=False
            )
        self.sent += 1
        self.net._log_event(
            "sendto", self.fd, (target.local, len(payload), payload)
        )
        target._queue(self.local, payload)
        self._refresh()
        return len(payload)

    def _queue(self, src: Any, payload: bytes) -> None:
        charge = len(payload)
        self.queue.append((src, payload, charge))
        self.queued += charge
        self.received += 1
        self.net._log_event("arrive", self.fd, (src, len(payload)))
        self._refresh()

    def _take(self, call: str, bufsize: int, flags: int) -> Tuple[bytes, Any, int]:
        before = len(self.queue)
        taken = DatagramSocket._take(self, call, bufsize, flags)
        if len(self.queue) < before:
            self._wake_senders()
        return taken

    def _wake_senders(self) -> None:
        """Room in our queue: senders connected to us may poll POLLOUT again."""
        for obj in list(self.net._objects.values()):
            if isinstance(obj, UnixDatagramSocket) and obj.peer is self:
                obj._refresh()

    def _revents(self) -> int:
        """Readiness as Linux's unix_dgram_poll computes it."""
        mask = 0
        peer = self.peer
        if peer is None or peer.fd is None or len(peer.queue) <= MAX_DGRAM_QLEN:
            mask |= OUT
        if self.queue or self.shut_rd:
            mask |= IN
        if self.err:
            mask |= ERR
        if self.shut_rd and self.shut_wr:
            mask |= HUP
        return mask

    def shutdown(self, how: int) -> None:
        self._check_open()
        if how not in (_socket.SHUT_RD, _socket.SHUT_WR, _socket.SHUT_RDWR):
            raise oserror(errno.EINVAL)
        if how in (_socket.SHUT_RD, _socket.SHUT_RDWR):
            self.shut_rd = True
        if how in (_socket.SHUT_WR, _socket.SHUT_RDWR):
            self.shut_wr = True
        self.net._log_event("shutdown", self.fd, (how,))
        self._refresh()

    def close(self) -> None:
        if self.fd is None:
            return
        net = self.net
        net._log_event("close", self.fd, ())
        fd, self.fd = self.fd, None
        net._release_fd(fd, self)
        _close_name(net, self)
        self.queue.clear()
        self.queued = 0
        self._wake_senders()
        # Senders blocked on our queue see the socket gone (ECONNREFUSED).
        self.peer = None


def unix_socketpair(net: "FakeNetwork", type: int = _socket.SOCK_STREAM) -> List[Any]:
    """A connected pair of unnamed AF_UNIX sockets of ``type``, as
    ``socket.socketpair(AF_UNIX, type)`` gives them."""
    a = net.socket(AF_UNIX, type)
    b = net.socket(AF_UNIX, type)
    if isinstance(a, UnixDatagramSocket):
        a.peer, b.peer = b, a
        a.remote = b.remote = None
        net._log_event("socketpair", a.fd, (b.fd,))
    else:
        a.side, b.side = "client", "server"
        net._join(a, b)
        net._log_event("socketpair", a.fd, (b.fd,))
    a._refresh()
    b._refresh()
    return [a, b]
