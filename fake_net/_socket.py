"""FakeSocket: a TCP endpoint of the simulated network.

It has the socket methods asyncore uses and behaves as a Linux TCP socket
does for them: the same errnos (EAGAIN, EINPROGRESS, ENOTCONN, EPIPE,
ECONNRESET, ECONNREFUSED, ETIMEDOUT, EINVAL, EBADF) at the same moments, and
readiness computed as Linux's ``tcp_poll`` computes it.

Rules: this module never reads the clock itself (the network's virtual clock
only), never draws randomness but from the network, never iterates a set.
"""

from __future__ import annotations

import errno
import socket as _socket
import struct
from collections import deque
from threading import get_ident as _get_ident
from typing import TYPE_CHECKING, Any, Deque, Dict, NoReturn, Optional, Tuple

from fake_net import _links
from fake_net._errors import oserror
from fake_net._segments import ERR, HUP, IN, OUT, PRI, _Segments
from fake_net._socket_io import _MSG_DONTWAIT, _MSG_OOB, _SocketIO, _unsimulated

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = ["FakeSocket"]

_SOL_SOCKET = _socket.SOL_SOCKET
_SO_ERROR = _socket.SO_ERROR
_SO_LINGER = _socket.SO_LINGER
_LINGER = struct.Struct("ii")  # struct linger {int l_onoff; int l_linger;}
# Plain ints: a flag test against socket.MSG_OOB (an IntFlag) costs 40x more.
# The flags fake_net simulates.  MSG_NOSIGNAL changes nothing in Python,
# which ignores SIGPIPE: a send to a closed connection raises EPIPE anyway.
_SEND_FLAGS = _MSG_OOB | _MSG_DONTWAIT | int(_socket.MSG_NOSIGNAL)


class FakeSocket(_Segments, _SocketIO):
    """A socket of a :class:`~fake_net.FakeNetwork` (made by ``net.socket()``)."""

    __slots__ = (
        "net",
        "fd",
        "family",
        "type",
        "proto",
        "state",
        "local",
        "remote",
        "timeout",
        "opts",
        "peer",
        "rbuf",
        "inflight",
        "last_arrival",
        "eof_in",
        "shut_rd",
        "shut_wr",
        "err",
        "oob",
        "oob_mark",
        "oob_byte",
        "received",
        "sent",
        "conn",
        "side",
        "accept_q",
        "pending_q",
        "backlog",
        "capacity",
        "cut",
        "dead_link",
        "ever_connected",
        "connect_unreported",
        "disconnecting",
        "_real",  # set when it becomes an allowed real connection (_passthrough)
        "__weakref__",
    )

    def __init__(
        self, net: "FakeNetwork", family: int, type: int, fd: Optional[int]
    ) -> None:
        self.net = net
        self.fd = fd
        # As a real socket's: enum members where the value has one.
        self.family = _as_enum(_socket.AddressFamily, family)
        self.type = _as_enum(_socket.SocketKind, type)
        self.proto = 0
        self.state = "new"  # new, listening, connecting, connected, closed
        self.local: Optional[Tuple[str, int]] = None
        self.remote: Optional[Tuple[str, int]] = None
        self.timeout: Optional[float] = None  # blocking, as a new real socket
        self.opts: Dict[Tuple[int, int], Any] = {}
        self.peer: Optional[FakeSocket] = None
        # The receive queue: b"" when empty; the segment itself (a bytes
        # object, no copy) while it holds one segment; a bytearray once a
        # second segment joins it or a read takes part of it.  So a recv()
        # that takes one whole segment returns the sender's own bytes, and
        # emptying the queue is one assignment (see _Segments._append).
        self.rbuf: Any = b""
        self.inflight = 0  # bytes sent to us, not yet delivered
        self.last_arrival = 0.0  # when our last segment reaches the peer
        self.eof_in = False  # the peer shut down its sending side (FIN seen)
        self.shut_rd = False
        self.shut_wr = False
        self.err = 0  # pending SO_ERROR
        self.oob: Optional[bytes] = None  # the urgent byte, until read
        # Where the urgent byte sits in the stream: how many bytes of rbuf
        # come before it (None once a normal read has stepped over it), and
        # its value (kept after a MSG_OOB read: see _urgent_arrives).
        self.oob_mark: Optional[int] = None
        self.oob_byte = b""
        self.received = 0  # bytes delivered to us so far
        self.sent = 0
        self.conn: Optional[int] = None
        self.side: Optional[str] = None
        self.accept_q: Deque[FakeSocket] = deque()
        self.pending_q: Deque[FakeSocket] = deque()
        self.backlog = 0
        self.capacity = net.capacity
        self.cut = False  # nothing more is delivered to us
        self.dead_link = False  # our peer is gone: what we send draws an RST
        self.ever_connected = False
        # A non-blocking connect started that connect() has not reported
        # (Linux: the socket is SS_CONNECTING): see connect_ex.
        self.connect_unreported = False
        self.disconnecting = False  # Linux: SS_DISCONNECTING (see shutdown)
        self._io_refs = 0  # files made by makefile() still open
        self._closed = False  # close() was called (see _SocketIO.close)

    # -- identity -------------------------------------------------------------

    def __repr__(self) -> str:
        return "<FakeSocket fd=%s %s local=%s remote=%s>" % (
            self.fd,
            self.state,
            _fmt(self.local),
            _fmt(self.remote),
        )

    def fileno(self) -> int:
        return -1 if self.fd is None else self.fd

    def ports(self) -> Tuple[int, ...]:
        return tuple(a[1] for a in (self.local, self.remote) if a is not None)

    def __enter__(self) -> "FakeSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- blocking mode --------------------------------------------------------

    def setblocking(self, flag: bool) -> None:
        # Linux: fcntl(O_NONBLOCK) on a closed descriptor fails with EBADF.
        self._check_open()
        self.timeout = None if flag else 0.0

    def gettimeout(self) -> Optional[float]:
        return self.timeout

    def getblocking(self) -> bool:
        return self.timeout != 0.0

    def get_inheritable(self) -> bool:
        return False

    # -- options and names ----------------------------------------------------

    def setsockopt(self, level: int, optname: int, value: Any, *rest: Any) -> None:
        self._check_open()
        self.opts[(level, optname)] = value

    def getsockopt(self, level: int, optname: int, buflen: int = 0) -> Any:
        self._check_open()
        if level == _SOL_SOCKET and optname == _SO_ERROR:
            err, self.err = self.err, 0
            if err:
                self._refresh()
            return err
        if level == _SOL_SOCKET and optname == _socket.SO_TYPE:
            return self.type
        value = self.opts.get((level, optname), 0)
        if isinstance(value, bool):
            value = int(value)
        return value

    def getsockname(self) -> Tuple[str, int]:
        self._check_open()
        return self.local if self.local is not None else ("0.0.0.0", 0)

    def getpeername(self) -> Tuple[str, int]:
        self._check_open()
        if self.state != "connected" or self.remote is None or self._finished():
            raise oserror(errno.ENOTCONN)
        return self.remote

    # -- bind, listen, accept -------------------------------------------------

    def bind(self, address: Tuple[str, int]) -> None:
        self._check_open()
        if self.local is not None:
            raise oserror(errno.EINVAL)
        host, port = address
        self.net._bind(self, self.net._resolve(host, bind=True), port)
        self.net._log_event("bind", self.fd, (self.local,))

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        if self.state not in ("new", "listening"):
            raise oserror(errno.EINVAL)
        if self.local is None:
            self.net._bind(self, "0.0.0.0", 0)
        # Linux clamps the backlog to [0, SOMAXCONN] and admits backlog+1.
        self.backlog = max(0, min(int(backlog), _socket.SOMAXCONN)) + 1
        self.state = "listening"
        self.net._log_event("listen", self.fd, (backlog,))
        self._refresh()

    def accept(self) -> Tuple["FakeSocket", Tuple[str, int]]:
        self._check_open()
        owner = self.net._world_thread
        if owner is not None and owner != _get_ident():
            raise self.net._wrong_thread("accept() on simulated fd %s" % self.fd)
        if self.state != "listening":
            raise oserror(errno.EINVAL)
        if not self.accept_q:
            self.net._would_block(self, "accept", lambda: bool(self.accept_q))
        conn = self.accept_q.popleft()
        if self.pending_q:
            self.net._establish_server_side(self, self.pending_q.popleft())
        conn.fd = self.net._alloc_fd(conn)
        conn.timeout = None
        self.net._log_event("accept", self.fd, (conn.fd, conn.remote))
        self._refresh()
        conn._refresh()
        assert conn.remote is not None
        return conn, conn.remote

    # -- connect --------------------------------------------------------------

    def connect_ex(self, address: Tuple[str, int]) -> int:
        if self.fd is None:
            # connect_ex() returns the errno of connect(2) on a closed
            # descriptor (EBADF) instead of raising it, as CPython does.
            return errno.EBADF
        owner = self.net._world_thread
        if owner is not None and owner != _get_ident():
            raise self.net._wrong_thread("connect() on simulated fd %d" % self.fd)
        state = self.state
        if self.disconnecting:
            return errno.EINVAL  # Linux: SS_DISCONNECTING (see shutdown)
        if self.connect_unreported:
            # Linux (__inet_stream_connect, SS_CONNECTING): a non-blocking
            # connect not yet reported by connect() is EALREADY while the
            # handshake runs; once it is over, the next connect() reports
            # it: 0 for a connection (SS_CONNECTED: later ones EISCONN),
            # or, the socket being TCP_CLOSE (refused, reset, timed out,
            # both FINs through), the pending error (taken) or ECONNABORTED,
            # and the socket is disconnected: the one after starts anew.
            if state == "connecting":
                return errno.EALREADY
            self.connect_unreported = False
            if state == "connected" and not self._finished():
                return 0
            err = self.err or errno.ECONNABORTED
            self._disconnect()
            return err
        if state == "listening" or self.ever_connected:
            # Linux: SS_CONNECTED (even once reset or shut down), or
            # SS_UNCONNECTED but not TCP_CLOSE (a listener): EISCONN.
            return errno.EISCONN
        if state == "connecting":
            return errno.EALREADY
        if state == "closed":
            self._disconnect()  # a blocking connect that failed
        host, port = address
        net = self.net
        if net.allow_real:
            key = net._allowed(host, port)
            if key is not None:
                return net._connect_real(self, key, address)
        ip = net._resolve(host)
        self.net._connect(self, ip, port)
        if self.timeout != 0.0:
            # A blocking connect waits (in virtual time) for the outcome.
            self.net._would_block(
                self, "connect", lambda: self.state != "connecting", raise_eagain=False
            )
            self.connect_unreported = False
            if self.state != "connected":
                # Linux (sock_error): the error is taken, the socket
                # disconnected (SS_UNCONNECTED): it can connect again.
                err = self.err or errno.ECONNABORTED
                self.err = 0
                self._refresh()
                return err
            return 0
        self.connect_unreported = True
        return errno.EINPROGRESS

    def _disconnect(self) -> None:
        """Linux (tcp_disconnect): a connection that ended before connect()
        reported it leaves an unconnected socket, which may connect again."""
        peer = self.peer
        self.state = "new"
        self.err = 0
        self.peer = None
        self.remote = None
        self.eof_in = self.shut_rd = self.shut_wr = False
        self.cut = self.dead_link = self.ever_connected = False
        self.rbuf = b""
        self.oob = None
        self.oob_mark = None
        self.oob_byte = b""
        self.inflight = 0
        self.side = None
        if peer is not None and peer.peer is self:
            peer.dead_link = True  # what it sends now draws an RST
        sockets = self.net._sockets
        if self in sockets:
            sockets.remove(self)  # a new connection adds it again
        self._refresh()

    def connect(self, address: Tuple[str, int]) -> None:
        err = self.connect_ex(address)
        if err:
            raise oserror(err)

    # -- data -----------------------------------------------------------------

    def send(self, data: Any, flags: int = 0) -> int:
        if type(data) is bytes:
            view: Any = data  # sliced only if sent in part
        else:
            try:
                view = memoryview(data)
            except TypeError:
                raise TypeError(
                    "a bytes-like object is required, not %r" % type(data).__name__
                ) from None
        net = self.net
        if self.fd is None:  # _check_open(), inlined on this hot path
            raise oserror(errno.EBADF)
        # No rule, cost model or world thread to consult (FakeNetwork._replan).
        plain = net._plain
        if not plain:
            owner = net._world_thread
            if owner is not None and owner != _get_ident():
                raise net._wrong_thread("send() on simulated fd %d" % self.fd)
        if flags and flags & ~_SEND_FLAGS:
            raise _unsimulated("send", flags & ~_SEND_FLAGS, _SEND_FLAGS)
        if self.err:
            err, self.err = self.err, 0
            self._refresh()
            net._log_event("error", self.fd, ("send", errno.errorcode[err]))
            raise oserror(err)
        state = self.state
        if state != "connected" or self.shut_wr:
            if state == "connecting":
                return self._send_blocked(data, flags)
            net._log_event("error", self.fd, ("send", "EPIPE"))
            raise oserror(errno.EPIPE)
        n = len(view)
        if not n:
            return 0
        if self.dead_link:
            return self._send_to_dead_peer(view, n)
        # Connected and not dead_link: the peer is set (no assert here: the
        # hot path).
        peer: FakeSocket = self.peer  # type: ignore[assignment]
        room = self.capacity - len(peer.rbuf) - peer.inflight
        if room <= 0:
            return self._send_blocked(data, flags)
        k = n if n <= room else room
        if not plain and net._send_rules:
            cap = net._fault_verdict("send", self, k)
            if cap is not None:
                k = cap
                if k <= 0:
                    return self._scripted_would_block(data, flags)
        if flags and flags & _MSG_OOB:
            chunk = bytes(view[:k])
            self.sent += k
            net._log_event("oob_send", self.fd, (n, k, chunk))
            self._transmit(chunk[:-1], urgent=chunk[-1:])
        else:
            if k < n:
                chunk = bytes(view[:k])
            elif type(view) is bytes:
                chunk = view  # immutable: delivered and logged without a copy
            else:
                chunk = bytes(view)
            self.sent += k
            net._activity += 1
            now = net.now
            if net.record:
                # A flat record (see FakeNetwork._log): one tuple, not two.
                log = net._log
                log.append((now, "send", self.fd, n, k, chunk))  # type: ignore[arg-type]
                if len(log) > net._log_high:
                    net._trim_log()
            # (Plain, nothing is ever in flight: no rule delays a segment.)
            if (
                not plain
                and (
                    net._deliver_rules
                    or net._stream_rules
                    or peer.inflight
                    or self.last_arrival > now
                )
                or peer.cut
                or (peer.shut_rd and peer.shut_wr)
            ):
                self._transmit(chunk)
            else:
                # The common case, _transmit and _deliver inlined: on time,
                # nothing in flight before it, no rule to apply; the segment
                # only adds POLLIN to the peer (set incrementally: the same
                # bits _revents() gives, see _refresh).
                self.last_arrival = now
                # peer._append(chunk), inlined: the call would cost the
                # 4 KiB round trip 2.5% of its instructions.
                prbuf = peer.rbuf
                if not prbuf:
                    peer.rbuf = chunk  # the one segment: kept, not copied
                else:
                    prbuf = peer._queue_array()
                    prbuf += chunk
                peer.received += k
                pfd = peer.fd
                if pfd is not None:
                    ready = net._ready
                    mask = ready.get(pfd, 0)
                    # (OUT alone, the usual mask, compared first: an int
                    # comparison is cheaper than the & of two ints.)
                    if mask == 4:  # OUT
                        ready[pfd] = net._rready[pfd] = 5  # OUT | IN
                    elif not mask & IN:
                        ready[pfd] = net._rready[pfd] = mask | IN
        if k >= room:
            # The connection is full (in flight or buffered): POLLOUT goes.
            self._refresh()
        if not plain:
            cost = net._cost
            if cost is not None and cost.send:
                net._advance_to(net.now + cost.send)  # the cost model (_cost)
        return k

    def _send_to_dead_peer(self, view: Any, n: int) -> int:
        """Our peer is gone (closed, or reset): Linux (tcp_sendmsg) takes
        what fits in the send buffer, the data are lost and the peer answers
        with an RST (tcp_v4_send_reset).  On loopback that RST is back
        within the send() itself, so the next send() fails (EPIPE after the
        peer's FIN, ECONNRESET before it); with delivery delays it comes
        at the next wait, as before."""
        net = self.net
        k = n if n <= self.capacity else self.capacity
        net._log_event("send", self.fd, (n, k, bytes(view[:k])))
        if net._deliver_rules and _links.rst_waits(net):  # a link's RST: at once
            net._schedule(net.now, self._reset_by_peer)
        else:
            self._reset_by_peer()
        return k

    def _scripted_would_block(self, data: Any, flags: int) -> int:
        """A fault cut this send to 0 bytes: EWOULDBLOCK on a non-blocking
        socket (or with MSG_DONTWAIT).  A blocking send never fails so on
        Linux (it sleeps in sk_stream_wait_memory), so there the fault is a
        stall: the rest of the world runs one pass, then the send goes on."""
        if self.timeout == 0.0 or flags & _MSG_DONTWAIT:
            self.net._log_event("error", self.fd, ("send", "EAGAIN"))
            raise oserror(errno.EAGAIN)
        self.net._run_world()
        return self.send(data, flags)

    def _send_blocked(self, data: Any, flags: int) -> int:
        """send() found no room (or a connect under way): EAGAIN on a
        non-blocking socket; a blocking one waits, running the world, until
        it can send, as a blocking send(2) sleeps in the kernel (but not
        with MSG_DONTWAIT)."""
        if self.timeout == 0.0:
            self._eagain("send")
        if flags & _MSG_DONTWAIT:
            self.net._log_event("error", self.fd, ("send", "EAGAIN"))
            raise oserror(errno.EAGAIN)
        self.net._would_block(
            self,
            "send",
            lambda: self.state != "connecting"
            and (
                self.state != "connected"
                or bool(self.err)
                or self.dead_link
                or self.shut_wr
                or self._room() > 0
            ),
            raise_eagain=False,
        )
        return self.send(data, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize <= 0:
            if bufsize < 0:
                raise ValueError("negative buffersize in recv")
            # CPython (sock_recv): recv(0) returns b'' at once, without a
            # system call, whatever the socket's state (closed, unconnected,
            # reset, refused); a pending error stays pending.
            return b""
        fd = self.fd
        if fd is None:  # _check_open(), inlined on this hot path
            raise oserror(errno.EBADF)
        net = self.net
        plain = net._plain  # see send()
        if not plain:
            owner = net._world_thread
            if owner is not None and owner != _get_ident():
                raise net._wrong_thread("recv() on simulated fd %d" % fd)
        if flags:
            return self._recv_flags(bufsize, flags)
        rbuf = self.rbuf
        if (
            rbuf
            and len(rbuf) <= bufsize
            and self.oob_mark is None
            and (plain or not net._recv_rules)
        ):
            # The common case: the whole buffer, no urgent mark, no rule.
            data = rbuf if type(rbuf) is bytes else bytes(rbuf)  # _take_all,
            self.rbuf = b""  # inlined on this hot path
            ready = net._ready
            if not (self.eof_in or self.shut_rd or self.state == "closed"):
                # IN goes, nothing else changes (the incremental form of
                # _refresh: see _revents).
                mask = ready.get(fd, 0)
                if mask == 5:  # IN | OUT, the usual mask (see send)
                    ready[fd] = 4  # OUT
                    net._rready.pop(fd, None)
                elif mask & IN:
                    mask ^= IN
                    if mask & ~OUT:
                        ready[fd] = net._rready[fd] = mask
                    else:
                        net._rready.pop(fd, None)
                        if mask:
                            ready[fd] = mask
                        else:
                            del ready[fd]
            net._activity += 1
            if net.record:
                log = net._log
                log.append((net.now, "recv", fd, bufsize, data))  # type: ignore[arg-type]
                if len(log) > net._log_high:
                    net._trim_log()
            peer = self.peer
            if peer is not None:
                pfd = peer.fd
                # Room opened for the peer: only a peer that could not
                # write needs its readiness computed again.
                if pfd is not None:
                    pmask = ready.get(pfd, 0)
                    if pmask != 4 and not pmask & OUT:  # (4: OUT)
                        peer._refresh()
            if not plain:
                cost = net._cost
                if cost is not None and cost.recv:
                    net._advance_to(net.now + cost.recv)  # the cost model (_cost)
            return data
        mark = self.oob_mark
        if mark == 0:
            self._step_over_mark()
            mark = None
        if rbuf:
            k = len(rbuf)
            if bufsize < k:
                k = bufsize
            if mark is not None and k > mark:
                k = mark  # Linux: a normal read stops at the urgent mark
            if net._recv_rules and k > 1:
                cap = net._fault_verdict("recv", self, k)
                if cap is not None:
                    k = cap
            if mark is not None:
                self.oob_mark = mark - k
            if k == len(rbuf):
                data = self._take_all()
                self._refresh()  # IN may go
            else:
                rbuf = self._queue_array()  # read in parts from now on
                data = bytes(memoryview(rbuf)[:k])
                del rbuf[:k]
            net._activity += 1
            if net.record:
                log = net._log
                log.append((net.now, "recv", self.fd, bufsize, data))  # type: ignore[arg-type]
                if len(log) > net._log_high:
                    net._trim_log()
            peer = self.peer
            if peer is not None and peer.fd is not None:
                # Room opened for the peer: only a peer that could not
                # write needs its readiness computed again.
                if not net._ready.get(peer.fd, 0) & OUT:
                    peer._refresh()
            cost = net._cost
            if cost is not None and cost.recv:
                net._advance_to(net.now + cost.recv)  # the cost model (_cost)
            return data
        return self._recv_nothing(bufsize, flags, self.timeout != 0.0)

    def _step_over_mark(self) -> None:
        """Linux (tcp_recvmsg): a normal read at the urgent mark steps over
        the urgent byte; if MSG_OOB has not read it, it is lost (POLLPRI
        goes, recv(MSG_OOB) then fails with EINVAL)."""
        self.oob_mark = None
        if self.oob is not None:
            self.oob = None
            self._refresh()

    def _recv_nothing(self, bufsize: int, flags: int, block: bool) -> bytes:
        """recv() (or a MSG_PEEK) found no data: EOF, an error, or a wait."""
        net = self.net
        state = self.state
        if state == "listening" or (state == "new" and not self.err):
            # (An error pending on an unconnected socket, as after an
            # aborted connect, is taken first: see _abort_connect.)
            net._log_event("error", self.fd, ("recv", "ENOTCONN"))
            raise oserror(errno.ENOTCONN)
        # Linux (tcp_recvmsg) checks, in this order: a FIN received
        # (SOCK_DONE: b'', even with an error pending, as after an RST in
        # CLOSE_WAIT; the error stays for the next send or SO_ERROR), a
        # pending error (taken even by MSG_PEEK: sock_error()), a shut-down
        # receive side (b''); then a socket still connecting (SYN_SENT)
        # would block: EAGAIN, not ENOTCONN.
        if self.eof_in:
            net._log_event("recv", self.fd, (bufsize, b""))
            return b""
        if self.err:
            err, self.err = self.err, 0
            self._refresh()
            net._log_event("error", self.fd, ("recv", errno.errorcode[err]))
            raise oserror(err)
        if self.shut_rd or state == "closed":
            net._log_event("recv", self.fd, (bufsize, b""))
            return b""
        if block:
            net._would_block(
                self,
                "recv",
                lambda: (
                    self.state != "connecting"
                    and (bool(self.rbuf) or self._readable_end())
                ),
            )
            return self.recv(bufsize, flags)
        net._log_event("error", self.fd, ("recv", "EAGAIN"))
        raise oserror(errno.EAGAIN)

    def shutdown(self, how: int) -> None:
        self._check_open()
        if self.connect_unreported and self.state != "connecting":
            # Linux (inet_shutdown): a non-blocking connect not yet reported
            # (SS_CONNECTING) counts as reported (SS_CONNECTED), or, the
            # socket being TCP_CLOSE, the socket is SS_DISCONNECTING, where
            # connect() gives EINVAL for good; even if shutdown() fails.
            self.connect_unreported = False
            self.disconnecting = self.state != "connected" or self._finished()
        if self.state == "connecting":
            self.net._log_event("shutdown", self.fd, (how,))
            self.net._abort_connect(self)  # Linux: the connect is aborted
            return
        if self.state != "connected" or self._finished():
            raise oserror(errno.ENOTCONN)
        self.net._log_event("shutdown", self.fd, (how,))
        if how in (_socket.SHUT_RD, _socket.SHUT_RDWR):
            self.shut_rd = True
        if how in (_socket.SHUT_WR, _socket.SHUT_RDWR) and not self.shut_wr:
            self.shut_wr = True
            self._send_fin()
        self._refresh()

    def _real_close(self) -> None:
        if self.fd is None:
            return
        net = self.net
        net._log_event("close", self.fd, ())
        fd, self.fd = self.fd, None
        net._release_fd(fd, self)
        net._unbind(self)
        if self.state == "listening":
            # Connections nobody accepted are reset, as Linux does.
            for q in (self.accept_q, self.pending_q):
                while q:
                    server_side = q.popleft()
                    client = server_side.peer
                    if client is not None:
                        net._schedule(net.now, client._reset_by_peer)
        elif self.state == "connected" and self.peer is not None:
            peer = self.peer
            if self._finished():
                pass  # Linux: already TCP_CLOSE, close() sends nothing
            elif self.rbuf or self.oob_mark is not None or self._linger_abort():
                # Closing with unread data sends an RST, not a FIN (Linux).
                # The urgent byte counts until a normal read has stepped
                # over it, even once MSG_OOB has read it (its segment stays
                # in the receive queue).  So does SO_LINGER {1, 0}: Linux
                # (__tcp_close, sock_flag SOCK_LINGER with lingertime 0)
                # aborts the connection with an RST.
                net._schedule(net.now, peer._reset_by_peer)
            elif not self.shut_wr:
                self._send_fin()
            peer.dead_link = True
            if peer.fd is not None:
                peer._refresh()  # a send now draws an RST: it will not block
        self.state = "closed"
        self.rbuf = b""

    def detach(self) -> int:
        fd = self.fileno()
        self.close()
        return fd

    # -- internals ------------------------------------------------------------

    def _linger_abort(self) -> bool:
        """SO_LINGER is set to {l_onoff != 0, l_linger == 0}."""
        value = self.opts.get((_SOL_SOCKET, _SO_LINGER))
        if not isinstance(value, (bytes, bytearray)) or len(value) < _LINGER.size:
            return False
        onoff, seconds = _LINGER.unpack_from(value)
        return bool(onoff) and seconds == 0

    def _check_open(self) -> None:
        if self.fd is None:
            raise oserror(errno.EBADF)

    def _eagain(self, op: str) -> NoReturn:
        if self.timeout != 0.0:
            raise self.net._blocking_error(self, op)
        self.net._log_event("error", self.fd, (op, "EAGAIN"))
        raise oserror(errno.EAGAIN)

    def _room(self) -> int:
        peer = self.peer
        if peer is None:
            return 0
        return self.capacity - len(peer.rbuf) - peer.inflight

    def _finished(self) -> bool:
        """Both FINs went through: Linux has moved the socket to TCP_CLOSE
        (TIME_WAIT lives on without it, LAST_ACK ended), so getpeername()
        and shutdown() fail with ENOTCONN."""
        peer = self.peer
        return (
            self.shut_wr
            and self.eof_in
            and peer is not None
            and peer.eof_in
            and not self.cut
        )

    def _readable_end(self) -> bool:
        return self.eof_in or self.shut_rd or self.state == "closed" or bool(self.err)

    def _revents(self) -> int:
        """Readiness as Linux's tcp_poll computes it."""
        state = self.state
        if state == "listening":
            return IN if self.accept_q else 0
        if state == "connecting":
            return 0
        if state == "new":
            # An unconnected TCP socket polls as POLLOUT|POLLHUP on Linux
            # (and POLLERR with an error pending: an aborted connect).
            return OUT | HUP | ERR if self.err else OUT | HUP
        mask = ERR if self.err else 0
        rcv_shut = self.eof_in or self.shut_rd
        snd_shut = self.shut_wr
        if state == "closed" or (rcv_shut and snd_shut):
            mask |= HUP
        if rcv_shut or state == "closed":
            mask |= IN
        if self.rbuf:
            mask |= IN
        if self.oob is not None:
            mask |= PRI
        if snd_shut or state == "closed":
            mask |= OUT  # a send will not block: it fails at once
        elif self.dead_link or self._room() > 0:
            mask |= OUT
        return mask

    def _refresh(self) -> None:
        if self.fd is not None:
            self.net._set_ready(self.fd, self._revents())


def _as_enum(enum: Any, value: int) -> Any:
    try:
        return enum(value)
    except ValueError:
        return value


def _fmt(addr: Optional[Tuple[str, int]]) -> str:
    if addr is None:
        return "*:*"
    return "%s:%s" % addr
