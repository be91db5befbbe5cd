"""FakeNetwork: a deterministic simulated network behind asyncore_sim's seam.

Rules (determinism is the product):
1. Never read the wall clock: time is ``self.now``, moved only by waits and
   sleeps to the next scheduled event or the end of a timeout.
2. One ``random.Random(seed)`` per network (``self.random``), registered with
   Hypothesis when Hypothesis is loaded; never the global random.
3. Never iterate a set or rely on hash order: sockets live in lists and
   insertion-ordered dicts; scheduled events are ordered by (time, sequence).
4. File descriptors are allocated lowest-free, as POSIX does; ephemeral ports
   come from the seeded source or a scripted sequence.
5. Nothing recorded depends on ``id()``, the machine or PYTHONHASHSEED.
6. A run cannot hang: when nothing is ready and nothing can become ready,
   waits raise :class:`SimulationStuck` with a netstat of every socket; every
   run has a step budget and a virtual-time budget.
"""

from __future__ import annotations

import errno
import heapq
import ipaddress
import os
import random
import socket as _socket
import stat
import sys
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
)

import asyncore_seam as _seam
from asyncore_seam import NetworkMap
from fake_net import _faults
from fake_net._errors import (
    SimulationBudgetExceeded,
    SimulationError,
    SimulationStuck,
    oserror,
)
from fake_net._events import Event
from fake_net._files import FakeFileWrapper, VirtualFile, make_pipe
from fake_net._poller import FakePoller
from fake_net._remote import RemoteServer
from fake_net._socket import FakeSocket

__all__ = ["FakeNetwork", "DEFAULT_NAMES"]

#: The name table every network starts with (a test may add more).
DEFAULT_NAMES: Dict[str, str] = {
    "localhost": "127.0.0.1",
    "www.python.org": "151.101.0.223",
    "www.doughellmann.com": "23.23.152.99",
}

#: Linux's default ephemeral port range (net.ipv4.ip_local_port_range).
EPHEMERAL_PORTS = (32768, 60999)

#: Bytes one direction of a connection holds before sends go short or
#: EWOULDBLOCK (a rough figure for Linux's loopback socket buffers).
DEFAULT_CAPACITY = 65536

_FIRST_FD = 3  # 0, 1 and 2 are the standard streams

#: A loop that keeps finding something ready but does no I/O (a dispatcher
#: whose writable() is always true, say) spins; on a real machine time passes
#: while it does, so delayed segments and timers still come.  After this many
#: such waits in a row the clock jumps to the next scheduled event.
SPIN_WAITS = 64
_NO_SPURIOUS: List[Tuple[int, int]] = []  # shared, never mutated


class FakeNetwork:
    """A simulated network.  Use it with asyncore_sim as::

        net = FakeNetwork(seed=1)
        map = net.map()                     # a NetworkMap bound to net
        EchoServer(map=map); Client(map=map)
        asyncore_sim.loop(map=map, timeout=1.0)

    or ``with net:`` to make it current for dispatchers on the default map
    (real sockets are refused inside the block).
    """

    name = "fake"

    def __init__(
        self,
        *,
        seed: int = 0,
        names: Optional[Dict[str, str]] = None,
        faults: Sequence[_faults.Fault] = (),
        capacity: int = DEFAULT_CAPACITY,
        latency: float = 0.0,
        local_ip: str = "192.0.2.1",
        ephemeral_ports: Optional[Iterable[int]] = None,
        record: bool = True,
        max_steps: int = 1_000_000,
        max_time: float = 86_400.0,
        idle_limit: int = 1000,
        register_random: bool = True,
    ) -> None:
        self.seed = seed
        self.random = random.Random(seed)
        if register_random:
            # A network that lives for one run (simulate(), the sim_net
            # fixture) passes False: its seed fixes it, and registering
            # costs a gc.collect() (see _register_with_hypothesis).
            _register_with_hypothesis(self.random)
        self.names: Dict[str, str] = dict(DEFAULT_NAMES)
        if names:
            self.names.update(names)
        self.capacity = capacity
        self.latency = latency
        self.local_ip = local_ip
        self.record = record
        self.max_steps = max_steps
        self.max_time = max_time
        self.idle_limit = idle_limit
        self.now = 0.0
        self.steps = 0
        self._idle = 0
        self._activity = 0  # I/O operations so far (see SPIN_WAITS)
        self._spin_mark = -1
        self._spins = 0
        self._log: List[Tuple[float, str, int, Tuple[Any, ...]]] = []
        self._timers: List[Tuple[float, int, Callable[..., None], Tuple[Any, ...]]] = []
        self._seq = 0
        self._objects: Dict[int, Any] = {}  # fd -> socket / file end
        self._free_fds: List[int] = []
        self._next_fd = _FIRST_FD
        self._ready: Dict[int, int] = {}  # fd -> revents, nonzero only
        # The fds whose revents have more than POLLOUT: usually few, so a
        # wait costs O(ready), not O(channels), even with 10,000 idle ones.
        self._rready: Dict[int, int] = {}
        self._bound: Dict[Tuple[str, int], FakeSocket] = {}
        self._sockets: List[FakeSocket] = []  # every connected socket, in order
        self._conn_count = 0
        self._ports = iter(ephemeral_ports) if ephemeral_ports is not None else None
        self._generation = 0  # bumped when a descriptor is released
        self._token: Any = None
        self._imported: Dict[int, int] = {}  # real fd -> simulated file
        self._remotes: Dict[Tuple[str, int], "RemoteServer"] = {}
        self.faults: List[_faults.Fault] = []
        self._fault_uses: List[int] = []
        self._fault_calls: List[int] = []  # matching calls seen, per scripted rule
        self._fired: Dict[Tuple[int, int, str], bool] = {}
        self._send_rules = self._recv_rules = self._deliver_rules = False
        self._stream_rules = self._connect_rules = self._wait_rules = False
        for fault in faults:
            self.add_fault(fault)

    def __repr__(self) -> str:
        return "FakeNetwork(seed=%r, now=%g, sockets=%d)" % (
            self.seed,
            self.now,
            len(self._objects),
        )

    # -- the seam -------------------------------------------------------------

    def socket(
        self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM
    ) -> FakeSocket:
        if type != _socket.SOCK_STREAM:
            raise oserror(errno.EPROTONOSUPPORT)
        sock = FakeSocket(self, family, type, None)
        sock.fd = self._alloc_fd(sock)
        self._log_event("socket", sock.fd, (int(family), int(type)))
        sock._refresh()
        return sock

    def socketpair(self) -> Tuple[FakeSocket, FakeSocket]:
        """Two connected sockets, as ``socket.socketpair()``."""
        a = self.socket()
        b = self.socket()
        for s in (a, b):
            self._bind(s, "127.0.0.1", 0)
        self._join(a, b)
        a.side, b.side = "client", "server"
        a._refresh()
        b._refresh()
        return a, b

    def has_poller(self, method: str) -> bool:
        return method in ("select", "poll", "epoll")

    def poller(self, method: str) -> FakePoller:
        if not self.has_poller(method):
            raise ValueError("unknown readiness method %r" % (method,))
        return FakePoller(self, method)

    def sleep(self, seconds: Optional[float]) -> None:
        if seconds is None:
            raise TypeError("'NoneType' object cannot be interpreted as an integer")
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self._count_step()
        self._advance_to(self.now + seconds)
        self._note_idle(bool(self._timers))

    def monotonic(self) -> float:
        return self.now

    @property
    def activity(self) -> int:
        """How many operations (sends, recvs, accepts, faults...) so far."""
        return self._activity

    @property
    def scheduled(self) -> int:
        """How many events (deliveries, timed faults...) are still to come."""
        return len(self._timers)

    @property
    def idle(self) -> int:
        """How many readiness calls in a row found nothing ready while
        nothing was scheduled: > 0 means the run has gone quiet."""
        return self._idle

    def wrap_file(self, fd: int) -> FakeFileWrapper:
        """``file_wrapper`` over ``fd``: a simulated descriptor, or else a
        real regular file's descriptor (from ``os.open``), whose content is
        imported as a simulated file once (the real offset is kept).  A
        number the simulation has open is taken as the simulated one."""
        if fd not in self._objects:
            fd = self._import_real_file(fd)
        return FakeFileWrapper(self, fd)

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

    # -- scripted remote servers ---------------------------------------------

    def add_remote(self, host: str, port: int) -> "RemoteServer":
        """A server outside the process at ``host:port``, driven by a script:
        see :class:`fake_net.RemoteServer`."""
        ip = self._resolve(host)
        if (ip, port) in self._remotes or not self._port_free(ip, port):
            raise SimulationError("%s:%d is already taken" % (host, port))
        remote = RemoteServer(self, host, ip, port)
        self._remotes[(ip, port)] = remote
        return remote

    def getaddrinfo(
        self,
        host: str,
        port: int,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> List[Tuple[Any, ...]]:
        ip = self._resolve(host)
        return [(_socket.AF_INET, _socket.SOCK_STREAM, 6, "", (ip, port))]

    # -- conveniences ---------------------------------------------------------

    def map(self) -> NetworkMap:
        """A new socket map bound to this network."""
        return NetworkMap(self)

    def add_name(self, name: str, ip: str) -> None:
        self.names[name] = ip

    def add_fault(self, fault: _faults.Fault) -> None:
        """Install a rule after those already installed."""
        if not isinstance(fault, _faults.Fault):
            raise TypeError("not a fault rule: %r" % (fault,))
        index = len(self.faults)
        self.faults.append(fault)
        self._fault_uses.append(0)
        self._fault_calls.append(0)
        site = fault.site
        if site == "send":
            self._send_rules = True
        elif site == "recv":
            self._recv_rules = True
        elif site == "deliver":
            self._deliver_rules = True
        elif site == "stream":
            self._stream_rules = True
            at = getattr(fault, "at_time", None)
            if at is not None:
                self._schedule(max(at, self.now), self._timed_stream_fault, index)
        elif site == "connect":
            self._connect_rules = True
        elif site in ("wait", "interrupt"):
            self._wait_rules = True

    def open_file(self, content: bytes = b"") -> int:
        """A descriptor for a simulated regular file holding ``content``."""
        f = VirtualFile(self, content)
        fd = self._alloc_fd(f)
        f.fds.append(fd)
        self._log_event("file", fd, (len(content),))
        # Regular files always poll ready; ExceptionalFile adds POLLPRI.
        self._set_ready(fd, 1 | 4 | (2 if self._file_rule("") else 0))
        return fd

    def pipe(self) -> Tuple[int, int]:
        """``(read_fd, write_fd)`` of a simulated pipe, as ``os.pipe()``."""
        r, w = make_pipe(self)
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
        if isinstance(obj, FakeSocket):
            raise SimulationError("dup() of a fake socket is not simulated")
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

    @property
    def events(self) -> List[Event]:
        """Every recorded event so far, as attrs values."""
        return [Event(t, kind, fd, data) for t, kind, fd, data in self._log]

    def event_lines(self) -> List[str]:
        """The recorded events, one readable line each."""
        return [_format_event(e) for e in self._log]

    def open_fds(self) -> List[int]:
        return sorted(self._objects)

    # -- activation -----------------------------------------------------------

    def __enter__(self) -> "FakeNetwork":
        if self._token is not None:
            raise SimulationError("this FakeNetwork is already active")
        self._token = _seam.push_current(self)
        _seam.forbid_real_sockets(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _seam.pop_current(self._token)
        self._token = None
        _seam.allow_real_sockets(self)

    # -- netstat --------------------------------------------------------------

    def netstat(self) -> str:
        """A table of every open descriptor, for failure messages."""
        rows = [("fd", "kind", "local", "remote", "state", "rbuf", "inflight", "ready")]
        for fd in sorted(self._objects):
            obj = self._objects[fd]
            ready = _fmt_mask(self._ready.get(fd, 0))
            if isinstance(obj, FakeSocket):
                state = obj.state.upper()
                if obj.state == "listening":
                    state += " (queue %d/%d)" % (len(obj.accept_q), obj.backlog)
                flags = [
                    f
                    for f, on in (
                        ("eof_in", obj.eof_in),
                        ("shut_wr", obj.shut_wr),
                        ("oob", obj.oob is not None),
                        (
                            "err=%s" % errno.errorcode.get(obj.err, obj.err),
                            bool(obj.err),
                        ),
                    )
                    if on
                ]
                if flags:
                    state += " " + ",".join(flags)
                rows.append(
                    (
                        str(fd),
                        "tcp",
                        _fmt_addr(obj.local),
                        _fmt_addr(obj.remote),
                        state,
                        str(len(obj.rbuf)),
                        str(obj.inflight),
                        ready,
                    )
                )
            else:
                rows.append(
                    (str(fd), obj.kind, "-", "-", obj.describe(), "-", "-", ready)
                )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows
        ]
        pending = len(self._timers)
        lines.append(
            "virtual time %.6f s, %d step(s), %d scheduled event(s)"
            % (self.now, self.steps, pending)
        )
        return "\n".join(lines)

    # -- internals: descriptors -----------------------------------------------

    def _alloc_fd(self, obj: Any) -> int:
        if self._free_fds:
            fd = heapq.heappop(self._free_fds)
        else:
            fd = self._next_fd
            self._next_fd += 1
        self._objects[fd] = obj
        return fd

    def _release_fd(self, fd: int, obj: Any) -> None:
        if self._objects.get(fd) is obj:
            del self._objects[fd]
            self._ready.pop(fd, None)
            self._rready.pop(fd, None)
            heapq.heappush(self._free_fds, fd)
            self._generation += 1

    def _get(self, fd: int) -> Any:
        try:
            return self._objects[fd]
        except (KeyError, TypeError):
            raise oserror(errno.EBADF) from None

    def _set_ready(self, fd: int, mask: int) -> None:
        if mask:
            self._ready[fd] = mask
        else:
            self._ready.pop(fd, None)
        if mask & ~4:
            self._rready[fd] = mask
        else:
            self._rready.pop(fd, None)

    # -- internals: names and ports -------------------------------------------

    def _resolve(self, host: str, bind: bool = False) -> str:
        if host in ("", "0.0.0.0") and bind:
            return "0.0.0.0"
        if host == "":
            return "127.0.0.1"
        try:
            ipaddress.ip_address(host)
            return host
        except ValueError:
            pass
        ip = self.names.get(host)
        if ip is None:
            # As getaddrinfo() fails for an unknown name.
            raise _socket.gaierror(_socket.EAI_NONAME, "Name or service not known")
        return ip

    def _port_free(self, ip: str, port: int) -> bool:
        if ("0.0.0.0", port) in self._bound:
            return False
        if ip == "0.0.0.0":
            return not any(p == port for (_, p) in self._bound)
        return (ip, port) not in self._bound

    def _ephemeral_port(self, ip: str) -> int:
        if self._ports is not None:
            for port in self._ports:
                if self._port_free(ip, port):
                    return int(port)
            raise SimulationError("the scripted ephemeral ports ran out")
        lo, hi = EPHEMERAL_PORTS
        for _ in range(hi - lo + 1):
            port = self.random.randint(lo, hi)
            if self._port_free(ip, port):
                return port
        raise oserror(errno.EADDRNOTAVAIL)

    def _bind(self, sock: FakeSocket, ip: str, port: int) -> None:
        if port == 0:
            port = self._ephemeral_port(ip)
        elif not self._port_free(ip, port):
            other = self._bound.get((ip, port)) or self._bound.get(("0.0.0.0", port))
            reuse = (_socket.SOL_SOCKET, _socket.SO_REUSEADDR)
            if (
                other is None
                or other.state == "listening"
                or not (sock.opts.get(reuse) and other.opts.get(reuse))
            ):
                raise oserror(errno.EADDRINUSE)
        sock.local = (ip, port)
        self._bound[(ip, port)] = sock

    def _unbind(self, sock: FakeSocket) -> None:
        if sock.local is not None and self._bound.get(sock.local) is sock:
            del self._bound[sock.local]

    # -- internals: connections -----------------------------------------------

    def _connect(self, client: FakeSocket, ip: str, port: int) -> None:
        if client.local is None:
            local_ip = "127.0.0.1" if ip.startswith("127.") else self.local_ip
            self._bind(client, local_ip, 0)
        client.state = "connecting"
        client.remote = (ip, port)
        client.side = "client"
        self._log_event("connect", client.fd, ((ip, port),))
        verdict = None
        if self._connect_rules:
            verdict = self._fault_verdict("connect", client, port)
        latency = self.latency
        if verdict is not None:
            kind, seconds = verdict
            if kind == "refuse":
                self._schedule(
                    self.now + latency, self._fail_connect, client, errno.ECONNREFUSED
                )
                client._refresh()
                return
            if kind == "timeout":
                self._schedule(
                    self.now + seconds, self._fail_connect, client, errno.ETIMEDOUT
                )
                client._refresh()
                return
            latency = seconds
        remote = self._remotes.get((ip, port)) if self._remotes else None
        if remote is not None:
            remote._connecting(client, latency)
            client._refresh()
            if latency == 0:
                self._run_due()
            return
        listener = self._bound.get((ip, port)) or self._bound.get(("0.0.0.0", port))
        if listener is None or listener.state != "listening":
            self._schedule(
                self.now + latency, self._fail_connect, client, errno.ECONNREFUSED
            )
        else:
            self._schedule(self.now + latency, self._arrive, listener, client)
        client._refresh()
        if latency == 0:
            self._run_due()

    def _fail_connect(self, client: FakeSocket, code: int) -> None:
        if client.state != "connecting":
            return
        client.state = "closed"
        client.err = code
        client.shut_wr = True
        self._log_event(
            "error",
            client.fd if client.fd is not None else -1,
            ("connect", errno.errorcode[code]),
        )
        client._refresh()

    def _arrive(self, listener: FakeSocket, client: FakeSocket) -> None:
        """A SYN reaches a listener: queue the connection, or wait for room."""
        if client.state != "connecting":
            return
        if listener.fd is None or listener.state != "listening":
            self._fail_connect(client, errno.ECONNREFUSED)
            return
        if len(listener.accept_q) >= listener.backlog:
            # Linux drops the SYN and the client retries; here it simply
            # waits for room in the queue.
            listener.pending_q.append(client)
            return
        self._establish_server_side(listener, client)

    def _establish_server_side(self, listener: FakeSocket, client: FakeSocket) -> None:
        if client.state != "connecting":
            return
        server = FakeSocket(self, listener.family, listener.type, None)
        assert listener.local is not None and client.local is not None
        lip = listener.local[0]
        if lip == "0.0.0.0":
            assert client.remote is not None
            lip = client.remote[0]
        server.local = (lip, listener.local[1])
        server.remote = client.local
        server.side = "server"
        self._join(client, server)
        listener.accept_q.append(server)
        listener._refresh()
        client._refresh()

    def _join(self, a: FakeSocket, b: FakeSocket) -> None:
        conn = self._conn_count
        self._conn_count += 1
        for s, other in ((a, b), (b, a)):
            s.state = "connected"
            s.peer = other
            s.conn = conn
            s.ever_connected = True
            s.remote = other.local
            self._sockets.append(s)
        a.connect_unreported = a.state == "connected" and a.side == "client"
        if self._stream_rules:
            for s in (a, b):
                # Rules at byte offset 0 fire as the connection is made.
                self._stream_faults(s, b"")
                s._refresh()

    # -- internals: faults ----------------------------------------------------

    def _rule_applies(
        self,
        index: int,
        fault: _faults.Fault,
        sock: FakeSocket,
        port: Optional[int] = None,
    ) -> bool:
        if fault.times is not None and self._fault_uses[index] >= fault.times:
            return False
        match = fault.match
        if port is not None and match.port is not None:
            if match.port != port:
                return False
            match = _faults.Match(fd=match.fd, conn=match.conn, side=match.side)
        if not match.matches(sock):
            return False
        if fault.probability < 1.0 and self.random.random() >= fault.probability:
            return False
        return True

    def _fire(
        self, index: int, fault: _faults.Fault, sock: FakeSocket, what: Any
    ) -> None:
        self._fault_uses[index] += 1
        self._log_event(
            "fault",
            sock.fd if sock.fd is not None else -1,
            (type(fault).__name__, what),
        )

    def _fault_verdict(self, site: str, sock: FakeSocket, n: int) -> Any:
        """The first verdict that is not "pass" among the rules for ``site``.

        ``n`` is the size at stake for "send" and "recv", the destination
        port for "connect"; "deliver" rules take no size.
        """
        port = n if site == "connect" else None
        sized = site in ("send", "recv")
        for index, fault in enumerate(self.faults):
            if fault.site != site or not self._rule_applies(index, fault, sock, port):
                continue
            if fault.scripted:
                call = self._fault_calls[index]
                self._fault_calls[index] = call + 1
                verdict = fault.verdict_at(call, n)  # type: ignore[attr-defined]
            elif sized:
                verdict = fault.verdict(n, self.random)  # type: ignore[attr-defined]
            else:
                verdict = fault.verdict(self.random)  # type: ignore[attr-defined]
            if verdict is not None:
                self._fire(index, fault, sock, verdict)
                return verdict
        return None

    def _deliver_delay(self, sender: FakeSocket) -> float:
        delay = self._fault_verdict("deliver", sender, 0)
        return self.latency if delay is None else delay  # type: ignore[no-any-return]

    def _stream_faults(self, victim: FakeSocket, data: bytes) -> bytes:
        """Apply stream rules (by byte offset) to ``data`` arriving at ``victim``;
        deliver what comes before the first one that fires, and return the rest."""
        start = victim.received
        end = start + len(data)
        for index, fault in enumerate(self.faults):
            if fault.site != "stream":
                continue
            offset = getattr(fault, "after_bytes", None)
            if offset is None or not (start <= offset <= end):
                continue
            if not self._claim_stream_rule(index, fault, victim):
                continue
            before = data[: offset - start]
            if before:
                victim.rbuf += before
                victim.received += len(before)
            self._fire(index, fault, victim, offset)
            self._stream_effect(fault, victim)
            if victim.cut:
                return b""
            return self._stream_faults(victim, data[offset - start :])
        return data

    def _timed_stream_fault(self, index: int) -> None:
        fault = self.faults[index]
        for sock in list(self._sockets):
            if sock.state != "connected":
                continue
            if not self._claim_stream_rule(index, fault, sock):
                continue
            self._fire(index, fault, sock, self.now)
            self._stream_effect(fault, sock)

    def _claim_stream_rule(
        self, index: int, fault: _faults.Fault, sock: FakeSocket
    ) -> bool:
        """A stream rule fires once per connection end: True the first time
        it applies to ``sock``'s end (and marks it fired), else False."""
        key = (index, sock.conn if sock.conn is not None else -1, sock.side or "")
        if key in self._fired or not self._rule_applies(index, fault, sock):
            return False
        self._fired[key] = True
        return True

    def _stream_effect(self, fault: _faults.Fault, victim: FakeSocket) -> None:
        peer = victim.peer
        if isinstance(fault, _faults.InjectOOB):
            victim._urgent_arrives(fault.byte)
        elif isinstance(fault, _faults.PeerClose):
            victim.eof_in = True
            victim.cut = True
            victim.dead_link = True
            if peer is not None:
                peer.dead_link = True
        elif isinstance(fault, _faults.PeerReset):
            victim._reset_by_peer(errno.ECONNRESET)
            if peer is not None:
                peer._reset_by_peer(errno.ECONNRESET)
        elif isinstance(fault, _faults.PendingError):
            victim.err = fault.errno
        victim._refresh()

    def _wait_faults(self, step: int) -> Tuple[bool, List[Tuple[int, int]]]:
        """(interrupt?, spurious events) for this wait."""
        spurious: List[Tuple[int, int]] = []
        for index, fault in enumerate(self.faults):
            if isinstance(fault, _faults.InterruptWait):
                if fault.times is not None and self._fault_uses[index] >= fault.times:
                    continue
                if fault.at_step is not None and fault.at_step != step:
                    continue
                if (
                    fault.probability < 1.0
                    and self.random.random() >= fault.probability
                ):
                    continue
                self._fault_uses[index] += 1
                self._log_event("fault", -1, ("InterruptWait", step))
                return True, []
            if isinstance(fault, _faults.SpuriousReady):
                for fd in sorted(self._objects):
                    sock = self._objects[fd]
                    if isinstance(sock, FakeSocket) and self._rule_applies(
                        index, fault, sock
                    ):
                        self._fire(index, fault, sock, fault.events)
                        spurious.append((fd, fault.events))
                        break
        return False, spurious

    # -- internals: time ------------------------------------------------------

    def _schedule(self, when: float, fn: Callable[..., None], *args: Any) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (when, self._seq, fn, args))

    def _run_due(self) -> None:
        timers = self._timers
        while timers and timers[0][0] <= self.now:
            _, _, fn, args = heapq.heappop(timers)
            fn(*args)

    def _advance_to(self, when: float) -> None:
        """Move the clock to ``when``, running every event due by then."""
        timers = self._timers
        while timers and timers[0][0] <= when:
            at, _, fn, args = heapq.heappop(timers)
            if at > self.now:
                self.now = at
            fn(*args)
        if when > self.now:
            self.now = when
        if self.now > self.max_time:
            raise SimulationBudgetExceeded(
                "virtual time budget of %g s used up\n%s"
                % (self.max_time, self.netstat())
            )

    def _next_time(self) -> Optional[float]:
        return self._timers[0][0] if self._timers else None

    def _count_step(self) -> int:
        self.steps += 1
        if self.steps > self.max_steps:
            self._step_budget_used_up()
        return self.steps - 1

    def _step_budget_used_up(self) -> NoReturn:
        raise SimulationBudgetExceeded(
            "step budget of %d readiness calls used up\n%s"
            % (self.max_steps, self.netstat())
        )

    def _note_idle(self, pending: bool) -> None:
        if pending:
            self._idle = 0
            return
        self._idle += 1
        if self._idle > self.idle_limit:
            raise SimulationStuck(
                "nothing has been ready for %d readiness calls and nothing is "
                "scheduled: the run cannot make progress\n%s"
                % (self._idle - 1, self.netstat())
            )

    def _would_block(
        self,
        sock: FakeSocket,
        op: str,
        done: Callable[[], bool],
        raise_eagain: bool = True,
    ) -> None:
        """A blocking call: run the simulation (virtual time) until ``done``."""
        if sock.timeout == 0.0:
            if raise_eagain:
                self._log_event("error", sock.fd, (op, "EAGAIN"))
                raise oserror(errno.EAGAIN)
            return
        deadline = None if sock.timeout is None else self.now + sock.timeout
        while not done():
            nxt = self._next_time()
            if nxt is None or (deadline is not None and nxt > deadline):
                if deadline is not None:
                    self._advance_to(deadline)
                    raise _socket.timeout("timed out")
                raise SimulationStuck(
                    "blocking %s() on fd %s can never complete\n%s"
                    % (op, sock.fd, self.netstat())
                )
            self._advance_to(nxt)

    def _blocking_error(self, sock: FakeSocket, op: str) -> BaseException:
        return SimulationStuck(
            "blocking %s() on fd %s cannot complete\n%s" % (op, sock.fd, self.netstat())
        )

    def _log_event(self, kind: str, fd: Optional[int], data: Tuple[Any, ...]) -> None:
        self._activity += 1
        if self.record:
            self._log.append((self.now, kind, -1 if fd is None else fd, data))

    # -- the waits' view ------------------------------------------------------

    def _wait_ready(
        self,
        timeout: Optional[float],
        collect: Callable[[List[Tuple[int, int]]], Tuple[Any, bool]],
    ) -> Any:
        """The body of every readiness call (see FakePoller).

        Time moves only here: to the next scheduled event while nothing is
        ready and the timeout allows, else to the end of the timeout.  A
        zero-timeout wait that finds nothing jumps to the next event (a busy
        loop spins until it happens) and reports it on the next call.
        """
        # _count_step(), inlined on this hot path.
        self.steps = step = self.steps + 1
        if step > self.max_steps:
            self._step_budget_used_up()
        spurious: List[Tuple[int, int]] = _NO_SPURIOUS
        if self._wait_rules:
            interrupted, spurious = self._wait_faults(step - 1)
            if interrupted:
                raise oserror(errno.EINTR)
        timers = self._timers
        if timers and timers[0][0] <= self.now:
            self._run_due()
        # The common case: something is ready now.
        result, ready = collect(spurious)
        if ready:
            self._idle = 0
            if timers:
                if self._activity != self._spin_mark:
                    self._spin_mark = self._activity
                    self._spins = 0
                else:
                    self._spins += 1
                    if self._spins >= SPIN_WAITS:
                        self._spins = 0
                        self._advance_to(timers[0][0])
                        result, _ = collect(spurious)
            return result
        deadline = None if timeout is None else self.now + timeout
        while True:
            result, ready = collect(spurious)
            if ready:
                self._idle = 0
                return result
            nxt = self._next_time()
            if deadline is None:
                if nxt is None:
                    raise SimulationStuck(
                        "a wait with no timeout can never return: nothing is "
                        "ready and nothing is scheduled\n%s" % self.netstat()
                    )
                self._advance_to(nxt)
                continue
            if timeout == 0:
                if nxt is not None:
                    self._advance_to(nxt)
                self._note_idle(nxt is not None)
                return result
            if nxt is not None and nxt <= deadline:
                self._advance_to(nxt)
                continue
            self._advance_to(deadline)
            result, ready = collect(spurious)
            if ready:
                self._idle = 0
            else:
                self._note_idle(False)
            return result


def _register_with_hypothesis(rng: random.Random) -> None:
    """Let Hypothesis seed and restore ``rng`` around each example.

    Only for networks made outside a running example (a fixture or module
    level, reused by examples): one made inside an example is already fixed
    by its explicit seed, and ``register_random`` runs a full gc.collect()
    (10-25 ms), which would dominate property tests and fault sweeps.
    """
    hypothesis = sys.modules.get("hypothesis")
    if hypothesis is None:
        return
    in_example = getattr(hypothesis, "currently_in_test_context", None)
    if in_example is not None and in_example():
        return
    hypothesis.register_random(rng)


def _fmt_addr(addr: Optional[Tuple[str, int]]) -> str:
    return "*:*" if addr is None else "%s:%s" % addr


def _fmt_mask(mask: int) -> str:
    names = [
        n
        for bit, n in (
            (1, "IN"),
            (2, "PRI"),
            (4, "OUT"),
            (8, "ERR"),
            (16, "HUP"),
            (32, "NVAL"),
        )
        if mask & bit
    ]
    return "|".join(names) or "-"


def _format_event(e: Tuple[float, str, int, Tuple[Any, ...]]) -> str:
    t, kind, fd, data = e
    return "%.6f %s fd=%d %s" % (t, kind, fd, " ".join(repr(d) for d in data))
