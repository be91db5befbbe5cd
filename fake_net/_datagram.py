"""DatagramSocket: a UDP endpoint of the simulated network.

``net.socket(AF_INET, SOCK_DGRAM)`` makes one.  It behaves as a Linux UDP
socket on 127.0.0.1 does for the calls it has (``bind``, ``connect``,
``send``/``sendto``/``sendmsg``, ``recv``/``recvfrom``/``recv_into``/
``recvfrom_into``/``recvmsg``, options, ``shutdown``, ``close``):

* a datagram keeps its boundaries; a buffer shorter than the datagram gets
  its head and the rest is lost (``recvmsg`` reports ``MSG_TRUNC``; with the
  ``MSG_TRUNC`` flag the call returns the datagram's full length);
* each socket has a receive queue of ``SO_RCVBUF`` bytes (212,992 by default;
  ``setsockopt`` doubles the value, as Linux does) charged per datagram
  (payload + :data:`DATAGRAM_OVERHEAD`); a datagram that arrives while the
  queue holds more than that is dropped (``drops`` counts them);
* a connected socket (``connect()``: a default destination and a filter on
  the source) learns that its peer's port is closed as Linux learns it from
  the ICMP port-unreachable: a pending ``ECONNREFUSED`` (POLLERR), taken by
  the next ``send``/``recv`` or ``SO_ERROR``; an unconnected one never does;
* a broadcast destination (255.255.255.255, 127.255.255.255) is refused
  with ``EACCES`` unless ``SO_BROADCAST`` is set;
* readiness as Linux's ``udp_poll``: POLLOUT always, POLLIN with a datagram
  queued (or after ``SHUT_RD``), POLLERR with an error pending, POLLHUP once
  both directions are shut down.

IPv6 UDP (``_inet6``) is this socket with IPv6 addresses; AF_UNIX datagram
sockets (``_unix``) reuse its queue and receive calls.

Datagrams travel on the network's virtual clock: they arrive at once, or
after ``FakeNetwork(latency=...)`` (an ICMP error takes as long back), plus
a host link's delay between two hosts (``_routed``: lost across a
partition, kept by a held link; ``fake_net._hosts``);
datagram faults (``_datagram_faults``) act where one is sent.  UDP ports
are a table of their own (TCP and UDP may use the same port number), held
by the network (``_udp_ports``); two UDP sockets sharing a port
(``SO_REUSEADDR``/``SO_REUSEPORT``) are refused by name, as is any flag,
option or ancillary data that is not simulated.

Rules: this module never reads the clock (the network's virtual clock
only), draws randomness only from the network's source (ephemeral ports),
never iterates a set (the port table is an insertion-ordered dict).
"""

from __future__ import annotations

import errno
import socket as _socket
from collections import deque
from threading import get_ident as _get_ident
from typing import (
    TYPE_CHECKING,
    Any,
    Deque,
    Dict,
    List,
    NoReturn,
    Optional,
    Tuple,
    cast,
)

from fake_net._errors import SimulationError, oserror
from fake_net._addresses import _LITERALS
from fake_net._datagram_args import _flag_names, _fmt, _into, _parse_address, _payload
from fake_net._socket_io import _parse_timeout

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = ["DatagramSocket", "DATAGRAM_OVERHEAD", "MAX_DATAGRAM"]

Address = Tuple[str, int]

# Poll bits, as plain ints (select.POLLIN ... POLLHUP on Linux).
_IN, _OUT, _ERR, _HUP = 1, 4, 8, 16

#: The largest UDP payload over IPv4: 65,535 - 20 (IP) - 8 (UDP) bytes.
MAX_DATAGRAM = 65507
#: What a queued datagram costs its receive queue beyond its payload (Linux
#: charges the buffer's truesize, which depends on the driver: see
#: DIFFERENCES["udp_receive_queue"]).
DATAGRAM_OVERHEAD = 768
_RCVBUF_DEFAULT = 212992  # net.core.rmem_default
_RCVBUF_MAX = 212992  # net.core.rmem_max (setsockopt clamps to it, then doubles)
_RCVBUF_MIN = 2304  # SOCK_MIN_RCVBUF on x86-64
_SNDBUF_DEFAULT = 212992
_SNDBUF_MIN = 4608
_BROADCASTS = ("255.255.255.255", "127.255.255.255")

_MSG_PEEK = int(_socket.MSG_PEEK)
_MSG_DONTWAIT = int(_socket.MSG_DONTWAIT)
_MSG_TRUNC = int(getattr(_socket, "MSG_TRUNC", 0x20))
_MSG_OOB = int(_socket.MSG_OOB)
_MSG_NOSIGNAL = int(getattr(_socket, "MSG_NOSIGNAL", 0x4000))
_RECV_FLAGS = _MSG_PEEK | _MSG_DONTWAIT | _MSG_TRUNC
_SEND_FLAGS = _MSG_DONTWAIT | _MSG_NOSIGNAL
_SOL = _socket.SOL_SOCKET
# Options whose effect fake_net does not simulate for UDP: refused by name
# (Linux acts on them, so storing them silently would be a quiet difference).
_UNSIMULATED_OPTIONS = [
    (level, getattr(_socket, name), name)
    for level, name in (
        (_socket.IPPROTO_IP, "IP_ADD_MEMBERSHIP"),
        (_socket.IPPROTO_IP, "IP_DROP_MEMBERSHIP"),
        (_socket.IPPROTO_IP, "IP_MULTICAST_IF"),
        (_socket.IPPROTO_IP, "IP_MULTICAST_LOOP"),
        (_socket.IPPROTO_IP, "IP_MULTICAST_TTL"),
        (_socket.IPPROTO_IP, "IP_PKTINFO"),
        (_socket.IPPROTO_IP, "IP_RECVERR"),
        (_socket.IPPROTO_IP, "IP_RECVTOS"),
        (_socket.IPPROTO_IP, "IP_RECVTTL"),
        (_socket.IPPROTO_IP, "IP_HDRINCL"),
        (_SOL, "SO_TIMESTAMP"),
        (_SOL, "SO_BINDTODEVICE"),
    )
    if hasattr(_socket, name)
]


def _udp_ports(net: "FakeNetwork") -> Dict[Address, "DatagramSocket"]:
    """The network's table of bound UDP addresses (made on first use)."""
    table = net.__dict__.get("_udp_ports")
    if table is None:
        table = net.__dict__["_udp_ports"] = {}
    return cast("Dict[Address, DatagramSocket]", table)


class DatagramSocket:
    """A UDP socket of a :class:`~fake_net.FakeNetwork` (``net.socket(AF_INET,
    SOCK_DGRAM)``)."""

    __slots__ = (
        "net",
        "fd",
        "family",
        "type",
        "proto",
        "local",
        "remote",
        "timeout",
        "opts",
        "queue",
        "queued",
        "rcvbuf",
        "sndbuf",
        "drops",
        "err",
        "shut_rd",
        "shut_wr",
        "received",
        "sent",
        "ports",
        "__weakref__",
    )

    kind = "udp"
    _any = "0.0.0.0"  # the wildcard address (IPv6: "::", _inet6)
    _max_payload = MAX_DATAGRAM
    # Whether _revents and _refresh are this class's: then the hot paths
    # (_queue, _take) set the readiness they would compute in place.
    _own_ready = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._own_ready = (
            cls._revents is DatagramSocket._revents
            and cls._refresh is DatagramSocket._refresh
        )

    def __init__(self, net: "FakeNetwork", family: int, type: int) -> None:
        self.net = net
        self.fd: Optional[int] = None
        self.family = _socket.AddressFamily(family)
        self.type = _socket.SocketKind(type)
        self.proto = 0
        self.local: Optional[Address] = None
        self.remote: Optional[Address] = None
        self.timeout: Optional[float] = None  # blocking, as a new real socket
        self.opts: Dict[Tuple[int, int], Any] = {}
        # (source, payload, charge) of each datagram queued, oldest first.
        self.queue: Deque[Tuple[Address, bytes, int]] = deque()
        self.queued = 0  # what the queue is charged, in bytes
        self.rcvbuf = _RCVBUF_DEFAULT
        self.sndbuf = _SNDBUF_DEFAULT
        self.drops = 0  # datagrams dropped for a full receive queue
        self.err = 0  # pending SO_ERROR (ECONNREFUSED from an ICMP)
        self.shut_rd = False
        self.shut_wr = False
        self.received = 0  # datagrams queued to us so far
        self.sent = 0  # datagrams sent
        self.ports = _udp_ports(net)  # the network's UDP port table

    # -- identity -------------------------------------------------------------

    def __repr__(self) -> str:
        return "<DatagramSocket fd=%s udp local=%s remote=%s>" % (
            self.fd,
            _fmt(self.local),
            _fmt(self.remote),
        )

    def fileno(self) -> int:
        return -1 if self.fd is None else self.fd

    def __enter__(self) -> "DatagramSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- blocking mode --------------------------------------------------------

    def setblocking(self, flag: bool) -> None:
        self._check_open()
        self.timeout = None if flag else 0.0

    def settimeout(self, value: Optional[float]) -> None:
        timeout = _parse_timeout(value)
        self._check_open()
        self.timeout = timeout

    def gettimeout(self) -> Optional[float]:
        return self.timeout

    def getblocking(self) -> bool:
        return self.timeout != 0.0

    def get_inheritable(self) -> bool:
        return False

    # -- options and names ----------------------------------------------------

    def setsockopt(self, level: int, optname: int, value: Any, *rest: Any) -> None:
        self._check_open()
        for lvl, opt, name in _UNSIMULATED_OPTIONS:
            if lvl == level and opt == optname:
                raise OSError(
                    errno.ENOPROTOOPT,
                    "fake_net does not simulate the UDP socket option %s" % name,
                )
        if level == _SOL and optname in (_socket.SO_RCVBUF, _socket.SO_SNDBUF):
            # Linux (sock_setsockopt): clamped to rmem_max/wmem_max, then
            # doubled for the kernel's bookkeeping, and at least a minimum.
            # (A negative value, taken as unsigned, is clamped too.)
            n = int(value)
            size = (_RCVBUF_MAX if n < 0 else min(n, _RCVBUF_MAX)) * 2
            if optname == _socket.SO_RCVBUF:
                self.rcvbuf = max(size, _RCVBUF_MIN)
            else:
                self.sndbuf = max(size, _SNDBUF_MIN)
            return
        self.opts[(level, optname)] = value

    def getsockopt(self, level: int, optname: int, buflen: int = 0) -> Any:
        self._check_open()
        if level == _SOL:
            if optname == _socket.SO_ERROR:
                err, self.err = self.err, 0
                if err:
                    self._refresh()
                return err
            if optname == _socket.SO_TYPE:
                return int(self.type)
            if optname == _socket.SO_RCVBUF:
                return self.rcvbuf
            if optname == _socket.SO_SNDBUF:
                return self.sndbuf
        value = self.opts.get((level, optname), 0)
        if isinstance(value, bool):
            value = int(value)
        return value

    def getsockname(self) -> Address:
        self._check_open()
        return self.local if self.local is not None else ("0.0.0.0", 0)

    def getpeername(self) -> Address:
        self._check_open()
        if self.remote is None:
            raise oserror(errno.ENOTCONN)
        return self.remote

    # -- bind and connect -----------------------------------------------------

    def bind(self, address: Any) -> None:
        host, port = _parse_address("bind", address)
        self._check_open()
        if self.local is not None:
            raise oserror(errno.EINVAL)
        self._bind(self.net._resolve(host, bind=True), port)
        self.net._log_event("bind", self.fd, (self.local,))

    def connect_ex(self, address: Any) -> int:
        host, port = _parse_address("connect", address)
        if self.fd is None:
            return errno.EBADF
        ip = self.net._resolve(host)
        if ip in _BROADCASTS and not self.opts.get((_SOL, _socket.SO_BROADCAST)):
            return errno.EACCES  # Linux (ip4_datagram_connect)
        src = _source_ip(self.net, ip)
        if self.local is None:
            self._bind(src, 0)
        elif self.local[0] == "0.0.0.0":
            # Linux: connect() fixes the receive address to the route's source.
            table = _udp_ports(self.net)
            del table[self.local]
            self.local = (src, self.local[1])
            table[self.local] = self
        self.remote = (ip, port)
        self.net._log_event("connect", self.fd, (self.remote,))
        self._refresh()
        return 0

    def connect(self, address: Any) -> None:
        err = self.connect_ex(address)
        if err:
            raise oserror(err)

    def listen(self, backlog: int = 128) -> None:
        self._check_open()
        raise oserror(errno.EOPNOTSUPP)  # Linux: sock_no_listen

    def accept(self) -> Tuple[Any, Any]:
        self._check_open()
        raise oserror(errno.EOPNOTSUPP)  # Linux: sock_no_accept

    # -- sending --------------------------------------------------------------

    def send(self, data: Any, flags: int = 0) -> int:
        payload = data if type(data) is bytes else _payload(data)
        if self.fd is None:
            raise oserror(errno.EBADF)
        remote = self.remote
        if remote is None:
            self._flags(flags, _SEND_FLAGS, "send")
            self._fail("send", errno.EDESTADDRREQ)
        return self._send_to(payload, remote, flags, "send")

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.send(data, flags)  # a datagram goes whole or not at all

    def sendto(self, data: Any, *args: Any) -> int:
        # (One for every datagram family: _dest and _send_to are theirs.)
        if len(args) == 1:
            flags, address = 0, args[0]
        elif len(args) == 2:
            flags, address = args
        else:
            raise TypeError(
                "sendto() takes 2 or 3 arguments (%d given)" % (len(args) + 1)
            )
        payload = data if type(data) is bytes else _payload(data)
        # CPython resolves the address before the call can fail on the socket.
        dest = self._dest("sendto", address)
        if self.fd is None:
            raise oserror(errno.EBADF)
        return self._send_to(payload, dest, flags, "sendto")

    def _dest(self, call: str, address: Any) -> Any:
        """Where ``address`` (of ``call``) sends to: (ip, port)."""
        if type(address) is tuple and len(address) == 2:
            host, port = address
            if type(host) is str and type(port) is int and 0 <= port <= 65535:
                # _parse_address's checks passed; a literal resolves to itself.
                if _LITERALS.get(host):
                    return address
                return self.net._resolve(host), port
        host, port = _parse_address(call, address)
        return self.net._resolve(host), port

    def sendmsg(
        self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None
    ) -> int:
        payload = b"".join(_payload(b) for b in buffers)
        if list(ancdata):
            raise OSError(
                errno.EOPNOTSUPP,
                "fake_net does not simulate ancillary data on sendmsg()",
            )
        self._check_open()
        if address is None:
            remote = self.remote
            if remote is None:
                self._fail("sendmsg", errno.EDESTADDRREQ)
            return self._send_to(payload, remote, flags, "sendmsg")
        return self._send_to(payload, self._dest("sendmsg", address), flags, "sendmsg")

    def _send_to(self, payload: bytes, dest: Address, flags: int, call: str) -> int:
        """Linux's udp_sendmsg checks, in its order, then the datagram goes."""
        net = self.net
        owner = net._world_thread  # _check_thread, inlined on this hot path
        if owner is not None and owner != _get_ident():
            self._check_thread(call)
        if flags:
            if flags & _MSG_OOB:
                self._fail(call, errno.EOPNOTSUPP)
            self._flags(flags, _SEND_FLAGS, call)
        ip = dest[0]
        broadcast = ip in _BROADCASTS
        if broadcast and not self.opts.get((_SOL, _socket.SO_BROADCAST)):
            self._fail(call, errno.EACCES)
        n = len(payload)
        if n > self._max_payload:
            self._fail(call, errno.EMSGSIZE)
        if self.err:
            err, self.err = self.err, 0
            self._refresh()
            self._fail(call, err)
        if self.shut_wr:
            self._fail(call, errno.EPIPE)
        local = self.local
        if local is None:
            self._bind(self._any, 0)  # Linux: an automatic bind
            local = self.local
            assert local is not None
        # The source: our address, or the route's if we are bound to any.
        src = local if local[0] != self._any else (_source_ip(net, ip), local[1])
        self.sent += 1
        net._activity += 1  # net._log_event, inlined
        if net.record:
            log = net._log
            log.append((net.now, "sendto", self.fd, (dest, n, payload)))  # type: ignore[arg-type]
            if len(log) > net._log_high:
                net._trim_log()
        if net._hosts is not None:  # between two hosts: the link, a partition
            arrive = _routed
        elif not (net._datagram_rules or net.latency > 0):
            # The common case, _arrive's first branch inlined: a unicast to
            # a socket bound to that address whose filter admits us.
            taker = self.ports.get(dest)
            if (
                taker is not None
                and not broadcast
                and taker.fd is not None
                and (taker.remote is None or taker.remote == src)
            ):
                taker._queue(src, payload)
            else:
                _arrive(self, src, dest, payload)
            return n
        else:
            arrive = _arrive
        if net._datagram_rules:  # datagram faults: _injector._datagram_out
            net._datagram_out(self, src, dest, payload, arrive)
        elif net.latency > 0:
            net._schedule(net.now + net.latency, arrive, self, src, dest, payload)
        else:
            arrive(self, src, dest, payload)
        return n

    # -- receiving ------------------------------------------------------------

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""  # CPython (sock_recv): no system call, nothing taken
        data, _, full = self._take("recv", bufsize, flags)
        if flags & _MSG_TRUNC and full > len(data):
            # Linux returns the datagram's length and CPython grows the
            # result to it: the bytes past the buffer are not the datagram's
            # (see DIFFERENCES["udp_msg_trunc_recv"]).
            data += bytes(full - len(data))
        return data

    def recvfrom(self, bufsize: int, flags: int = 0) -> Tuple[bytes, Address]:
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        data, src, full = self._take("recvfrom", bufsize, flags)
        if flags & _MSG_TRUNC and full > len(data):
            data += bytes(full - len(data))
        return data, src

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view, nbytes = _into("recv_into", buffer, nbytes)
        if nbytes == 0:
            return 0  # CPython: no system call, nothing taken
        data, _, full = self._take("recv_into", nbytes, flags)
        view[: len(data)] = data
        return full if flags & _MSG_TRUNC else len(data)

    def recvfrom_into(
        self, buffer: Any, nbytes: int = 0, flags: int = 0
    ) -> Tuple[int, Address]:
        view, nbytes = _into("recvfrom_into", buffer, nbytes)
        data, src, full = self._take("recvfrom_into", nbytes, flags)
        view[: len(data)] = data
        return (full if flags & _MSG_TRUNC else len(data)), src

    def recvmsg(
        self, bufsize: int, ancbufsize: int = 0, flags: int = 0
    ) -> Tuple[bytes, List[Any], int, Address]:
        if bufsize < 0:
            raise ValueError("negative buffer size in recvmsg()")
        if ancbufsize < 0:
            raise ValueError("negative buffer size in recvmsg()")
        data, src, full = self._take("recvmsg", bufsize, flags)
        return data, [], _MSG_TRUNC if full > len(data) else 0, src

    def _take(self, call: str, bufsize: int, flags: int) -> Tuple[bytes, Address, int]:
        """The next datagram: (its first ``bufsize`` bytes, its source, its
        length); the rest of it is lost unless ``MSG_PEEK`` leaves it queued."""
        fd = self.fd
        if fd is None:
            raise oserror(errno.EBADF)
        net = self.net
        owner = net._world_thread  # _check_thread, inlined on this hot path
        if owner is not None and owner != _get_ident():
            self._check_thread(call)
        if flags:
            self._flags(flags, _RECV_FLAGS, call)
        while True:
            if self.err:
                # Linux (__skb_recv_udp): a pending error comes before data.
                err, self.err = self.err, 0
                self._refresh()
                self._fail(call, err)
            queue = self.queue
            if queue:
                src, payload, charge = queue[0]
                n = len(payload)
                data = payload if n <= bufsize else payload[:bufsize]
                if flags & _MSG_PEEK:
                    net._log_event("peek", fd, (bufsize, data))
                    return data, src, n
                queue.popleft()
                self.queued -= charge
                net._activity += 1  # net._log_event, inlined
                if net.record:
                    log = net._log
                    log.append((net.now, "recvfrom", fd, (bufsize, data, src)))
                    if len(log) > net._log_high:
                        net._trim_log()
                if self._own_ready:
                    # _refresh, inlined: _revents with no error pending.
                    mask = _IN | _OUT if queue or self.shut_rd else _OUT
                    if self.shut_rd and self.shut_wr:
                        mask |= _HUP
                    if mask & ~_OUT:
                        net._ready[fd] = net._rready[fd] = mask
                    else:
                        net._ready[fd] = mask
                        net._rready.pop(fd, None)
                else:
                    self._refresh()
                return data, src, n
            if self.timeout == 0.0 or flags & _MSG_DONTWAIT:
                self._fail(call, errno.EAGAIN)
            net._would_block(
                cast(Any, self), call, lambda: bool(self.queue) or bool(self.err)
            )

    # -- shutdown and close ---------------------------------------------------

    def shutdown(self, how: int) -> None:
        self._check_open()
        if how not in (_socket.SHUT_RD, _socket.SHUT_WR, _socket.SHUT_RDWR):
            raise oserror(errno.EINVAL)
        # Linux (inet_shutdown): recorded even when it fails with ENOTCONN.
        if how in (_socket.SHUT_RD, _socket.SHUT_RDWR):
            self.shut_rd = True
        if how in (_socket.SHUT_WR, _socket.SHUT_RDWR):
            self.shut_wr = True
        self.net._log_event("shutdown", self.fd, (how,))
        self._refresh()
        if self.remote is None:
            raise oserror(errno.ENOTCONN)

    def close(self) -> None:
        if self.fd is None:
            return
        net = self.net
        net._log_event("close", self.fd, ())
        fd, self.fd = self.fd, None
        net._release_fd(fd, self)
        table = _udp_ports(net)
        if self.local is not None and table.get(self.local) is self:
            del table[self.local]
        self.queue.clear()
        self.queued = 0

    def close_fd(self, fd: int) -> None:
        """``os.close(fd)`` inside a simulated world."""
        self.close()

    def detach(self) -> int:
        fd = self.fileno()
        self.close()
        return fd

    def dup(self) -> Any:
        raise oserror(errno.EOPNOTSUPP)  # a second descriptor: not simulated

    # -- internals ------------------------------------------------------------

    def _check_open(self) -> None:
        if self.fd is None:
            raise oserror(errno.EBADF)

    def _check_thread(self, call: str) -> None:
        owner = self.net._world_thread
        if owner is not None and owner != _get_ident():
            raise self.net._wrong_thread("%s() on simulated fd %s" % (call, self.fd))

    def _fail(self, call: str, code: int) -> NoReturn:
        self.net._log_event("error", self.fd, (call, errno.errorcode[code]))
        raise oserror(code)

    def _flags(self, flags: int, simulated: int, call: str) -> None:
        bad = flags & ~simulated
        if bad:
            raise OSError(
                errno.EOPNOTSUPP,
                "fake_net does not simulate the UDP %s() flag %s"
                % (call, _flag_names(bad)),
            )

    def _bind(self, ip: str, port: int) -> None:
        table = _udp_ports(self.net)
        if ip == "0.0.0.0" and self.net._host_ctx is not None:
            ip = self.net._host_ctx.ips[0]  # a declared host's (fake_net._hosts)
        if port == 0:
            port = _ephemeral_port(self.net, table, ip)
        elif not (
            _port_free(table, ip, port)
            if self.net._hosts is None
            else self.net._hosts.port_free(table, ip, port)  # fake_net._hosts
        ):
            other = table.get((ip, port)) or table.get(("0.0.0.0", port))
            if other is None:
                other = next(s for (i, p), s in table.items() if p == port)
            if _shares(self) and _shares(other):
                raise OSError(
                    errno.EADDRINUSE,
                    "fake_net does not simulate two UDP sockets sharing port %d "
                    "(SO_REUSEADDR/SO_REUSEPORT): fd %s has it" % (port, other.fd),
                )
            raise oserror(errno.EADDRINUSE)
        self.local = (ip, port)
        table[self.local] = self

    def _revents(self) -> int:
        """Readiness as Linux's udp_poll computes it."""
        mask = _OUT  # the send buffer never fills: loopback frees it at once
        if self.queue or self.shut_rd:
            mask |= _IN
        if self.err:
            mask |= _ERR
        if self.shut_rd and self.shut_wr:
            mask |= _HUP
        return mask

    def _refresh(self) -> None:
        if self.fd is not None:
            self.net._set_ready(self.fd, self._revents())

    def _queue(self, src: Address, payload: bytes) -> None:
        """A datagram reaches this socket: queued, or dropped if the queue
        is already over ``SO_RCVBUF`` (Linux: __udp_enqueue_schedule_skb)."""
        net = self.net
        if self.queued > self.rcvbuf:
            self.drops += 1
            net._log_event("drop", self.fd, (src, len(payload)))
            return
        n = len(payload)
        charge = n + DATAGRAM_OVERHEAD
        self.queue.append((src, payload, charge))
        self.queued += charge
        self.received += 1
        fd = self.fd
        net._activity += 1  # net._log_event, inlined
        if net.record:
            log = net._log
            log.append((net.now, "arrive", -1 if fd is None else fd, (src, n)))
            if len(log) > net._log_high:
                net._trim_log()
        if fd is not None and self._own_ready:
            # _refresh, inlined: _revents with a datagram queued.
            mask = _IN | _OUT
            if self.err:
                mask |= _ERR
            if self.shut_rd and self.shut_wr:
                mask |= _HUP
            net._ready[fd] = net._rready[fd] = mask
        else:
            self._refresh()


def _routed(
    sender: DatagramSocket, src: Address, dest: Address, payload: bytes
) -> None:
    """A datagram leaves its host (fake_net._hosts): across a partition it
    is lost (no ICMP comes back); over a link it arrives the link's delay
    later; on one host, at once."""
    net = sender.net
    hosts = net._hosts
    assert hosts is not None
    delay = hosts.datagram_delay(
        src[0], dest[0], len(payload), lambda: _routed(sender, src, dest, payload)
    )
    if delay is None:
        net._log_event("lost", sender.fd, (dest, len(payload)))
    elif delay == -1.0:  # fake_net._hosts.HELD: a held link keeps it
        return
    elif delay > 0:
        net._schedule(net.now + delay, _arrive, sender, src, dest, payload)
    else:
        _arrive(sender, src, dest, payload)


def _arrive(
    sender: DatagramSocket, src: Address, dest: Address, payload: bytes
) -> None:
    """A datagram reaches ``dest``: the socket bound there (or to 0.0.0.0 on
    its port) gets it, if its connect filter lets ``src`` through; a
    broadcast goes to every socket bound to the port on 0.0.0.0 or on the
    broadcast address.  A unicast nobody takes draws an ICMP port
    unreachable, which only a sender connected to ``dest`` takes as an error."""
    net = sender.net
    table = sender.ports
    ip, port = dest
    if ip in _BROADCASTS:
        for (bound_ip, bound_port), sock in list(table.items()):
            if (
                bound_port == port
                and bound_ip in ("0.0.0.0", ip)
                and _admits(sock, src)
            ):
                sock._queue(src, payload)
        return
    taker = table.get(dest)
    if taker is None and (net._hosts is None or net._hosts.is_default(ip)):
        # (A declared host has no wildcard sockets: fake_net._hosts.)
        taker = table.get(("::" if ":" in ip else "0.0.0.0", port))
    if taker is not None and _admits(taker, src):
        taker._queue(src, payload)
        return
    net._log_event("unreachable", sender.fd, (dest,))
    if sender.remote == dest and sender.fd is not None:
        if net.latency > 0:
            net._schedule(net.now + net.latency, _refused, sender, dest)
        else:
            _refused(sender, dest)


def _refused(sender: DatagramSocket, dest: Address) -> None:
    """The ICMP port unreachable reaches a connected sender (Linux:
    __udp4_lib_err sets sk_err for a connected socket only)."""
    if sender.fd is not None and sender.remote == dest:
        sender.err = errno.ECONNREFUSED
        sender._refresh()


def _admits(sock: DatagramSocket, src: Address) -> bool:
    return sock.fd is not None and (sock.remote is None or sock.remote == src)


def _shares(sock: DatagramSocket) -> bool:
    opts = sock.opts
    return bool(opts.get((_SOL, _socket.SO_REUSEADDR))) or bool(
        opts.get((_SOL, getattr(_socket, "SO_REUSEPORT", -1)))
    )


def _port_free(table: Dict[Address, DatagramSocket], ip: str, port: int) -> bool:
    """As Linux: 0.0.0.0 takes the port on every IPv4 address, :: on every
    address of both families (dual stack)."""
    if ("::", port) in table:
        return False
    if ":" not in ip and ("0.0.0.0", port) in table:
        return False
    if ip == "0.0.0.0":
        return not any(p == port and ":" not in i for (i, p) in table)
    if ip == "::":
        return not any(p == port for (_, p) in table)
    return (ip, port) not in table


def _ephemeral_port(
    net: "FakeNetwork", table: Dict[Address, DatagramSocket], ip: str
) -> int:
    scripted = net._ports
    if scripted is not None:
        for port in scripted:
            if _port_free(table, ip, port):
                return int(port)
        raise SimulationError("the scripted ephemeral ports ran out")
    lo, hi = 32768, 60999  # net.ipv4.ip_local_port_range
    for _ in range(hi - lo + 1):
        port = net.random.randint(lo, hi)
        if _port_free(table, ip, port):
            return port
    raise oserror(errno.EAGAIN)  # Linux: udp_lib_get_port finds none


def _source_ip(net: "FakeNetwork", dest_ip: str) -> str:
    """The source address the route to ``dest_ip`` gives."""
    if ":" in dest_ip:
        return "::1"  # IPv6: the simulated hosts have loopback only
    if dest_ip.startswith("127."):
        return "127.0.0.1"
    host = net._host_ctx  # net.on_host() (fake_net._hosts)
    return net.local_ip if host is None else host.ips[0]
