"""FakeNetwork: a deterministic simulated network behind the seam (asyncore_seam).

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

:class:`FakeNetwork` is put together from one part per concern, each a mixin
class in a module of its own:

- ``_clock``: virtual time, the schedule and the budgets (``sleep``, ``monotonic``);
- ``_waits``: readiness calls and blocking calls, where time moves;
- ``_loops``: the maps and loops a blocking call runs while it waits;
- ``_addresses``: names, resolution, ports and binding (``getaddrinfo``);
- ``_hosts``: several hosts, their links and partitions (the table; the
  verbs, ``partition``, ``at``, ``on_host``..., are here);
- ``_stream``: TCP connection set-up between stream sockets;
- ``_injector``: the network's side of fault rules (``add_fault``);
- ``_files``: simulated regular files and pipes (``open_file``, ``pipe``);
- ``_remote``: scripted servers outside the process (``add_remote``);
- ``_netstat``: the table of descriptors for failure messages;
- ``_passthrough``: real connections a test allowed (``allow_real=``).

This module holds the rest: the constructor (which sets all the state), the
seam's ``socket``/``socketpair``/``poller``, activation, the conveniences,
the descriptor table and the event log.  The parts share the one instance:
each declares, as class-level annotations (no values, so nothing at run
time), the state it owns and what it uses from the others, and none imports
this module at run time.  Every call stays ``net._set_ready(...)``, one
attribute lookup, as on a single class.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import math
import random
import socket as _socket
import sys
from typing import (
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
)

import asyncore_seam as _seam
from asyncore_seam import NetworkMap
from fake_net import _faults
from fake_net._cost import Cost
from fake_net._links import Link, has_latency, links_table
from fake_net._addresses import DEFAULT_NAMES, _Addresses
from fake_net._addresses import EPHEMERAL_PORTS as EPHEMERAL_PORTS
from fake_net._clock import Timer, _Clock
from fake_net._datagram import DatagramSocket
from fake_net._families import family_socket as _family_socket
from fake_net._families import socket_kind
from fake_net._errors import SimulationError, oserror
from fake_net._events import Event
from fake_net._files import _Files
from fake_net import _hosts
from fake_net._hosts import Host, HostLink, HostTable
from fake_net._injector import _Injector
from fake_net._loops import _Loops
from fake_net._netstat import _format_event, _Netstat
from fake_net._passthrough import _PassThrough, parse_allow_real
from fake_net._poller import FakePoller
from fake_net._remote import RemoteServer, _Remotes
from fake_net._seeding import register_network_random
from fake_net._socket import FakeSocket
from fake_net._stream import DEFAULT_CAPACITY, _Stream
from fake_net._waits import SPIN_WAITS as SPIN_WAITS
from fake_net._waits import _Waits
from fake_net._world import DEFAULT_EPOCH, enter_world, leave_world

__all__ = ["FakeNetwork", "DEFAULT_NAMES"]

_AF_INET = _socket.AF_INET
_FIRST_FD = 3  # 0, 1 and 2 are the standard streams
DEFAULT_KEEP_EVENTS = 10_000  # events the log keeps at least (see FakeNetwork)


class FakeNetwork(
    _Clock,
    _Waits,
    _Loops,
    _Addresses,
    _Stream,
    _Injector,
    _Files,
    _Remotes,
    _Netstat,
    _PassThrough,
):
    """A simulated network.  Use it with asyncore_sim as::

        net = FakeNetwork(seed=1)
        map = net.map()                     # a NetworkMap bound to net
        EchoServer(map=map); Client(map=map)
        asyncore_sim.loop(map=map, timeout=1.0)

    or ``with net:`` to make it current for dispatchers on the default map
    (real sockets are refused inside the block).

    The event log (``net.events``, ``net.event_lines()``; ``record=False``
    keeps none) is bounded: it keeps at least the last ``keep_events``
    events (default 10,000) and at most twice that, so a long run or sweep
    runs in constant memory.  ``net.events_dropped`` counts what went, and
    ``event_lines()`` then starts with a line saying so.
    ``keep_events=None`` keeps everything.
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
        keep_events: Optional[int] = DEFAULT_KEEP_EVENTS,
        max_steps: int = 1_000_000,
        max_time: float = 86_400.0,
        idle_limit: int = 1000,
        register_random: bool = True,
        world: bool = True,
        epoch: float = DEFAULT_EPOCH,
        hostname: str = "sim-host",
        allow_real: Iterable[Any] = (),
        cost: Optional[Cost] = None,
        links: Sequence[Link] = (),
        hosts: Sequence[Host] = (),
        host_links: Sequence[HostLink] = (),
    ) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError("FakeNetwork(seed=...) must be an int, got %r" % (seed,))
        self.seed = seed
        self.random = random.Random(seed)
        if register_random:
            # A network that lives for one run (simulate(), the sim_net
            # fixture) passes False: its seed fixes it, and registering
            # would cost a gc.collect() the first time (see _seeding).
            register_network_random(self.random)
        self.names: Dict[str, str] = dict(DEFAULT_NAMES)
        if names:
            self.names.update(names)
        self.capacity = capacity
        self.latency = latency
        self.local_ip = local_ip
        self.record = record
        if keep_events is not None and (
            isinstance(keep_events, bool)
            or not isinstance(keep_events, int)
            or keep_events < 1
        ):
            raise ValueError(
                "FakeNetwork(keep_events=...) must be a positive int or None, "
                "got %r" % (keep_events,)
            )
        self.keep_events = keep_events
        # The log is trimmed back to keep_events when it passes twice that.
        self._log_high = sys.maxsize if keep_events is None else 2 * keep_events
        self.events_dropped = 0
        self._dead: Optional[BaseException] = None
        self.max_steps = max_steps
        self.max_time = max_time
        self.idle_limit = idle_limit
        self.world = world  # `with net:` enters the simulated world (_world)
        # The thread the world belongs to while it is active (None: no
        # world): a socket call from any other thread is refused.
        self._world_thread: Optional[int] = None
        self.epoch = float(epoch)  # time.time() at virtual time 0, in the world
        self.hostname = hostname
        # Real services the program may reach ("host:port"): _passthrough.
        self.allow_real = parse_allow_real(allow_real)
        self._allow_resolved: Dict[Tuple[str, int], Tuple[str, int]] = {}
        self._real_fds: Dict[int, Any] = {}
        self.now = 0.0
        self.steps = 0
        self._idle = 0
        self._activity = 0  # I/O operations so far (see SPIN_WAITS)
        self._spin_mark = -1
        self._spins = 0
        self._log: List[Tuple[float, str, int, Tuple[Any, ...]]] = []  # see _records
        self._timers: List[Timer] = []
        self._seq = 0
        self._objects: Dict[int, Any] = {}  # fd -> socket / file end
        self._free_fds: List[int] = []
        self._next_fd = self._fd_base = _FIRST_FD
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
        self._maps: List[Any] = []  # run by blocking calls (see _loops)
        self._loops: List[Any] = []
        self._passive = False
        self._running: List[Any] = []
        self._imported: Dict[int, int] = {}  # real fd -> simulated file
        self._remotes: Dict[Tuple[str, int], "RemoteServer"] = {}
        self.faults: List[_faults.Fault] = []
        self._fault_uses: List[int] = []
        self._fault_calls: List[int] = []  # matching calls seen, per scripted rule
        self._fired: Dict[Tuple[int, int, str], bool] = {}
        self._send_rules = self._recv_rules = self._deliver_rules = False
        self._stream_rules = self._connect_rules = self._wait_rules = False
        # The cost model (fake_net._cost): None, off, costs nothing.  When
        # set, every wait goes the way of wait rules (_wait_ready), where
        # the clock moves by cost.wait; send and recv test it once.
        if cost is not None and not isinstance(cost, Cost):
            raise TypeError(
                "FakeNetwork(cost=...) must be a Cost or None, got %r" % (cost,)
            )
        self._cost: Optional[Cost] = cost
        if cost is not None:
            self._wait_rules = True
        for fault in faults:
            self.add_fault(fault)
        # Links (fake_net._links): latency and capacity per port or
        # connection; empty, off.  Data latency goes the way of delivery
        # rules (_Segments._transmit), by connection number.
        self._link_table = links_table(links)
        self._link_delays: Dict[int, Tuple[float, float]] = {}
        if has_latency(self._link_table):
            self._deliver_rules = True
        # Hosts (fake_net._hosts): None, one host, as before; declared
        # hosts or links make the table (and send data via _transmit).
        self._hosts: Optional[HostTable] = None
        self._host_ctx: Optional[Host] = None
        self._setup_hosts(hosts, host_links)
        self._replan()

    def _replan(self) -> None:
        """Set ``_plain``, the one flag a TCP send() and recv() test for
        the common case: no send, recv, delivery or stream rule, no cost
        model, no world owning the sockets (no thread to check), so data
        go from buffer to buffer at once.  Called wherever one of those
        changes (the rule flags only ever turn on)."""
        self._plain = not (
            self._send_rules
            or self._recv_rules
            or self._deliver_rules
            or self._stream_rules
            or self._cost is not None
            or self._world_thread is not None
        )

    def __repr__(self) -> str:
        return "FakeNetwork(seed=%r, now=%g, sockets=%d)" % (
            self.seed,
            self.now,
            len(self._objects),
        )

    # -- the seam -------------------------------------------------------------

    def socket(
        self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM
    ) -> Any:
        """A :class:`FakeSocket` (SOCK_STREAM) or a :class:`DatagramSocket`
        (SOCK_DGRAM) for AF_INET; their IPv6 forms for AF_INET6 (``_inet6``);
        Unix stream and datagram sockets for AF_UNIX (``_unix``); any other
        family or type is an OSError naming it (``_families.socket_kind``)."""
        kind, nonblocking = socket_kind(family, type)
        sock: Any
        if family == _AF_INET:
            if kind == _socket.SOCK_DGRAM:
                sock = DatagramSocket(self, family, kind)
            else:
                sock = FakeSocket(self, family, kind, None)
        else:
            sock = _family_socket(self, family, kind)
        sock.fd = self._alloc_fd(sock)
        if nonblocking:
            sock.timeout = 0.0
        self._log_event("socket", sock.fd, (int(family), int(kind)))
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

    # -- conveniences ---------------------------------------------------------

    def map(self) -> NetworkMap:
        """A new socket map bound to this network."""
        return NetworkMap(self)

    @property
    def events(self) -> List[Event]:
        """Every recorded event so far, as attrs values."""
        return [Event(*e) for e in self._records()]

    def event_lines(self) -> List[str]:
        """The recorded events, one readable line each (after a first line
        counting the events dropped, if any: see ``keep_events``)."""
        lines = [_format_event(e) for e in self._records()]
        if self.events_dropped:
            lines.insert(
                0,
                "# %d earlier events dropped (keep_events=%d)"
                % (self.events_dropped, self.keep_events or 0),
            )
        return lines

    def open_fds(self) -> List[int]:
        return sorted(self._objects)

    # -- activation -----------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether the network is active (inside ``with net:``)."""
        return self._token is not None

    def __enter__(self) -> "FakeNetwork":
        if self._token is not None:
            raise SimulationError("this FakeNetwork is already active")
        if self.world:
            enter_world(self)
        self._token = _seam.push_current(self)
        _seam.forbid_real_sockets(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            _seam.pop_current(self._token)
            self._token = None
            _seam.allow_real_sockets(self)
        finally:
            if self.world:
                leave_world(self)

    def _wrong_thread(self, what: str) -> BaseException:
        """The error for ``what`` (a socket call) made from a thread other
        than the one the active world belongs to."""
        from fake_net._world import _state as _world_state

        w = _world_state._world
        if w is None or w.net is not self:
            return SimulationError("%s from another thread" % what)
        return w.other_thread(what)

    # -- hosts and links (fake_net._hosts) -----------------------------------

    def _host_table(self) -> HostTable:
        table = self._hosts
        if table is None:
            table = self._hosts = HostTable(self)
            self._deliver_rules = True  # segments go the way of _transmit
            self._replan()
        return table

    def _setup_hosts(self, hosts: Sequence[Host], links: Sequence[HostLink]) -> None:
        for argument, values in (("hosts", hosts), ("host_links", links)):
            if isinstance(values, (str, bytes, dict, Host, HostLink)) or not isinstance(
                values, Sequence
            ):
                raise ValueError(
                    "FakeNetwork(%s=...) must be a sequence, got %r"
                    % (argument, values)
                )
        if not hosts and not links:
            return
        table = self._host_table()
        for host in hosts:
            table.add(host)
        for link in links:
            table.add_link(link)

    def add_host(
        self, name: str, ips: Sequence[str], names: Sequence[str] = ()
    ) -> Host:
        """Declare a host (see :class:`Host`); returns it."""
        host = Host(name, ips, names)
        self._host_table().add(host)
        return host

    def add_host_link(
        self,
        a: str,
        b: str,
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        bandwidth: Optional[float] = None,
    ) -> HostLink:
        """Declare (or redeclare) the link between hosts ``a`` and ``b``."""
        link = HostLink(a, b, latency=latency, jitter=jitter, bandwidth=bandwidth)
        self._host_table().add_link(link, replace=True)
        return link

    @property
    def hosts(self) -> List[Host]:
        """Every host, the default one first."""
        table = self._hosts
        if table is None:
            return [_hosts.default_host(self.hostname, self.local_ip)]
        return list(table.hosts.values())

    def partition(self, a: str, b: str) -> None:
        """Cut the link between hosts ``a`` and ``b`` (see the module docstring)."""
        table = self._host_table()
        table.pair("partition", a, b)
        table.set_partition(a, b, True)

    def heal(self, a: str, b: str) -> None:
        """Restore the link between hosts ``a`` and ``b``."""
        table = self._host_table()
        table.pair("heal", a, b)
        table.set_partition(a, b, False)

    def hold(self, a: str, b: str) -> None:
        """Hold the link between ``a`` and ``b``: everything sent over it
        (SYNs, segments, FINs, datagrams) waits, nothing is lost."""
        table = self._host_table()
        table.pair("hold", a, b)
        table.set_hold(a, b, True)

    def release(self, a: str, b: str) -> None:
        """Release a held link: what it kept goes, in order."""
        table = self._host_table()
        table.pair("release", a, b)
        table.set_hold(a, b, False)

    def crash(self, host: str) -> None:
        """Host ``host`` crashes (see :meth:`HostTable.crash`)."""
        table = self._host_table()
        table.crash(table.crashable("crash", host))

    def restart(self, host: str) -> None:
        """Host ``host`` is up again after a crash, nothing open on it."""
        table = self._host_table()
        table.restart(table.crashable("restart", host))

    def partitioned(self, a: str, b: str) -> bool:
        table = self._host_table()
        table.pair("partitioned", a, b)
        state = table.link(a, b)
        return state is not None and state.partitioned

    def at(self, when: float, verb: str, *args: Any) -> None:
        """Do ``verb`` (one of :data:`VERBS`) with ``args`` at virtual time
        ``when``: e.g. ``net.at(2.0, "partition", "client", "server")``.
        Checked now: a ValueError names the bad argument."""
        if (
            isinstance(when, bool)
            or not isinstance(when, (int, float))
            or not math.isfinite(when)
            or when < self.now
        ):
            raise ValueError(
                "at(when=...) must be a virtual time not before now (%g), got %r"
                % (self.now, when)
            )
        if verb not in _hosts.VERBS:
            raise ValueError(
                "at(verb=...) must be one of %s, got %r"
                % (", ".join(_hosts.VERBS), verb)
            )
        arity = _hosts.VERBS[verb]
        if len(args) != arity:
            raise ValueError(
                "at(%r, ...) takes %s, got %d argument(s)"
                % (verb, "two hosts" if arity == 2 else "one host", len(args))
            )
        table = self._host_table()
        if arity == 2:
            table.pair(verb, *args)
        else:
            table.crashable(verb, args[0])
        self._schedule(float(when), table.apply, verb, *args)

    @contextlib.contextmanager
    def on_host(self, name: str) -> Iterator[Host]:
        """Within the block, new bindings (automatic ones, and binds to
        ``""``/0.0.0.0) take host ``name``'s first address."""
        table = self._hosts
        if table is None:  # no hosts declared: only the default one
            if name != self.hostname:
                raise ValueError(
                    "on_host(name=...): unknown host %r (the hosts are %s)"
                    % (name, self.hostname)
                )
            yield _hosts.default_host(self.hostname, self.local_ip)
            return
        host = table.hosts[table.check("on_host", "name", name)]
        saved = self._host_ctx
        self._host_ctx = None if host is table.default else host
        try:
            yield host
        finally:
            self._host_ctx = saved

    def host_of(self, sock: Any) -> str:
        """The name of the host ``sock`` is on (its local address's)."""
        local = getattr(sock, "local", None)
        table = self._hosts
        if table is None or not isinstance(local, tuple):
            return self.hostname if table is None else table.default.name
        return table.host_of_ip(str(local[0]))

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

    def _ever_made(self, fd: int) -> bool:
        """Whether descriptor ``fd`` is one this network allocated (open now
        or since closed): any other number is the process's, not ours."""
        return self._fd_base <= fd < self._next_fd

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

    # -- internals: the event log ---------------------------------------------

    def _trim_log(self) -> None:
        """Keep the last ``keep_events`` events once the log passed twice
        that (called at waits and blocking calls, not at every event)."""
        log = self._log
        if len(log) > self._log_high:
            assert self.keep_events is not None
            n = len(log) - self.keep_events
            del log[:n]
            self.events_dropped += n

    def _records(self) -> List[Tuple[float, str, int, Tuple[Any, ...]]]:
        """The log as ``(time, kind, fd, data)`` records.  ``_log`` holds
        them so, except for the hot paths' send and recv events (FakeSocket
        send/recv), appended flat, with one tuple fewer each:
        ``(time, kind, fd, *data)``, five or six items (a data of two or
        three values), never four: the length tells the two apart."""
        return [
            e if len(e) == 4 else (e[0], e[1], e[2], e[3:])  # type: ignore[misc]
            for e in self._log
        ]

    def _log_event(self, kind: str, fd: Optional[int], data: Tuple[Any, ...]) -> None:
        self._activity += 1
        if self.record:
            log = self._log
            log.append((self.now, kind, -1 if fd is None else fd, data))
            if len(log) > self._log_high:
                self._trim_log()
