"""Hosts and links: several simulated machines, the links between them, partitions.

``FakeNetwork(hosts=[Host("client", ["10.0.0.1"]), Host("server",
["10.0.0.2"], names=["db.example"])], host_links=[HostLink("client",
"server", latency=0.05, jitter=0.01, bandwidth=1_000_000)])`` declares two
hosts besides the *default host* (named ``net.hostname``, ``"sim-host"``
unless told), which keeps today's addresses: 127.0.0.1 (all of loopback),
0.0.0.0, ``net.local_ip`` and every address no declared host owns.  Each
host's name (and each of its ``names``) resolves to its first address.

Which host a socket is on follows from its local address, fixed when it is
bound (or bound automatically by ``connect``/``sendto``): a socket bound to
one of a host's addresses is that host's.  ``with net.on_host("client"):``
makes new bindings take that host's first address: an automatic bind, and
a bind to ``""``/``0.0.0.0`` (a declared host has no wildcard of its own:
the simplification is that it has one address to listen on); so an
unmodified dispatcher that connects or binds inside the block is on
"client".  Loopback (127.0.0.1, ``localhost``) is the default host's.

Every pair of hosts has a link; a pair without a :class:`HostLink` has
latency 0 and no bandwidth limit, and can still be partitioned.  Over a
link (in-process connections whose ends are on different hosts, remote
servers at a host's address, UDP between hosts):

- a connect completes one round trip later (2 x latency, plus one jitter
  draw, plus ``FakeNetwork(latency=)`` as before); the listener queues the
  connection at that moment too (simplified: Linux's listener sees the
  final ACK half a round trip later);
- each TCP segment and each datagram arrives ``latency`` + a jitter draw
  (uniform in [0, jitter], from the network's seeded random, drawn only
  when jitter > 0) + its serialisation time (bytes / bandwidth, one
  direction's segments queued behind each other) later; TCP keeps its
  segments in order, datagrams may overtake each other;
- a host link's latency adds to a connection link's (``fake_net._links``).

Controls, as verbs of the network (``net.partition(a, b)``, ...) and as
timed entries (``net.at(when, "partition", "client", "server")``, checked
when made, applied on the virtual clock; the verbs live in ``_network``,
this module holds the values and the table): ``partition(a, b)``,
``heal(a, b)``, ``hold(a, b)``, ``release(a, b)``, ``crash(host)``,
``restart(host)``.  Under a partition (Linux's behaviour, simplified,
checked at send time, and at each retransmission):

- a SYN is lost; the client retransmits it 1, 2, 4, 8, 16 and 32 s apart
  (``net.ipv4.tcp_syn_retries`` = 6, initial RTO 1 s, RFC 6298), so a
  connect completes after the first retransmission after the heal, or
  fails with ETIMEDOUT 127 s after it began (as Linux's connect does);
- a data segment (or FIN) is retransmitted from an RTO of 200 ms
  (TCP_RTO_MIN), doubling up to TCP_RTO_MAX (120 s); it and everything the
  sender sent after it arrive, in order, one latency after the first
  retransmission after the heal.  After ``net.ipv4.tcp_retries2`` = 15
  retransmissions (about 924.6 s) the sender's connection fails with
  ETIMEDOUT (tcp_write_err); the peer hears nothing;
- a UDP datagram is lost (a ``lost`` event); no ICMP comes back.
- RSTs (a send to a closed peer, a scripted reset) are not routed: they
  cross a partition (a simplification).

A held link (``hold``) keeps everything sent over it, SYNs, segments, FINs
and datagrams, losing nothing and timing nothing out (a simplification: a
SYN held for longer than 127 s does not time out); at ``release`` it all
goes, in the order it was sent, one link delay later (a link partitioned
meanwhile: as under the partition, retransmitted from then on).

``crash(host)``: every socket of the host vanishes, silently (no FIN, no
RST): its descriptors are released (a dispatcher still holding one gets
EBADF, so keep a crashable host's dispatchers in a map of their own and
drop it), its ports are free, connects waiting in its listeners' queues
time out.  Its peers see nothing: what they send is retransmitted as
under a partition, until ETIMEDOUT; SYNs and datagrams to it are lost.
``restart(host)``: the host is up again with nothing open; a segment (or
retransmission) of a connection from before the crash is answered with an
RST a round trip later (Linux: tcp_v4_send_reset), so the peer gets
ECONNRESET; a connect finds no listener until one is made.  The default
host (the program's own) cannot crash.

Rules: values only (attrs, frozen), checked as made with a ValueError that
names the argument; tables are insertion-ordered dicts and lists (no set is
iterated); no clock but the network's virtual one; randomness only from
the network's seeded source, and only when a link has jitter.  Off by
default: with no host declared, ``net._hosts`` is None and no path changes.
"""

from __future__ import annotations

import errno
import ipaddress
import math
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Optional,
    Tuple,
)

import attrs

from fake_net._checks import seconds

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork
    from fake_net._socket import FakeSocket

__all__ = ["Host", "HostLink", "HostTable", "VERBS"]

#: Linux: net.ipv4.tcp_syn_retries (6), initial RTO 1 s, doubling.
SYN_RETRIES = 6
SYN_RTO = 1.0
#: Linux: connect() gives ETIMEDOUT after 1+2+4+8+16+32+64 s.
SYN_TIMEOUT = 127.0
#: Linux: TCP_RTO_MIN, TCP_RTO_MAX, net.ipv4.tcp_retries2.
DATA_RTO = 0.2
DATA_RTO_MAX = 120.0
DATA_RETRIES = 15

#: The verbs ``net.at()`` takes, with how many hosts each.
VERBS = {"partition": 2, "heal": 2, "hold": 2, "release": 2, "crash": 1, "restart": 1}
#: connect_delay()/datagram_delay(): a held link keeps it until the release.
HELD = -1.0

_FIN = object()  # a FIN waiting in a stalled direction


def _name(kind: str, attribute: str, value: Any) -> str:
    if not isinstance(value, str) or not value or value.split() != [value]:
        raise ValueError(
            "%s(%s=...) must be a non-empty host name without spaces, got %r"
            % (kind, attribute, value)
        )
    return value


def _ips(value: Any) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(
            "Host(ips=...) must be a non-empty list of IPv4 addresses, got %r"
            % (value,)
        )
    out = []
    for ip in value:
        try:
            addr = ipaddress.ip_address(ip)
        except (ValueError, TypeError):
            raise ValueError(
                "Host(ips=...) must hold IPv4 addresses, got %r" % (ip,)
            ) from None
        if addr.version != 4 or addr.is_loopback or addr.is_unspecified:
            raise ValueError(
                "Host(ips=...) must hold IPv4 addresses other than loopback "
                "and 0.0.0.0 (those are the default host's), got %r" % (ip,)
            )
        out.append(str(addr))
    if len(set(out)) != len(out):
        raise ValueError("Host(ips=...) holds an address twice: %r" % (value,))
    return tuple(out)


def _names(value: Any) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)):
        raise ValueError("Host(names=...) must be a list of names, got %r" % (value,))
    return tuple(_name("Host", "names", v) for v in value)


@attrs.frozen
class Host:
    """A simulated machine: its name, its addresses (IPv4) and the extra
    names that resolve to its first address."""

    name: str = attrs.field(converter=lambda v: _name("Host", "name", v))
    ips: Tuple[str, ...] = attrs.field(converter=_ips)
    names: Tuple[str, ...] = attrs.field(default=(), converter=_names)


def _bandwidth(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(
            "HostLink(bandwidth=...) must be a positive number of bytes per "
            "second or None, got %r" % (value,)
        )


def _other(instance: Any, attribute: Any, value: Any) -> None:
    if value == instance.a:
        raise ValueError(
            "HostLink(b=...) must be another host than a=%r: a host has no "
            "link with itself" % (value,)
        )


@attrs.frozen
class HostLink:
    """The link between hosts ``a`` and ``b`` (both ways): one-way latency,
    jitter (a uniform draw in [0, jitter] per segment), bandwidth in bytes
    per second (None: unlimited)."""

    a: str = attrs.field(converter=lambda v: _name("HostLink", "a", v))
    b: str = attrs.field(
        converter=lambda v: _name("HostLink", "b", v), validator=_other
    )
    latency: float = attrs.field(
        default=0.0, kw_only=True, validator=seconds("HostLink")
    )
    jitter: float = attrs.field(
        default=0.0, kw_only=True, validator=seconds("HostLink")
    )
    bandwidth: Optional[float] = attrs.field(
        default=None, kw_only=True, validator=_bandwidth
    )


class _LinkState:
    """A link as the run goes: its value, whether it is partitioned, and
    until when each direction's bandwidth is busy."""

    __slots__ = (
        "link",
        "declared",
        "partitioned",
        "held",
        "busy",
        "waiting",
        "stalled",
    )

    def __init__(self, link: HostLink, declared: bool = True) -> None:
        self.link = link
        self.declared = declared  # False: made by a verb, latency 0
        self.partitioned = False
        self.held = False
        self.busy: Dict[str, float] = {}  # sending host -> busy until
        # While held: SYNs and datagrams to send again at the release, and
        # the connection directions whose segments wait for it, in order.
        self.waiting: List[Tuple[Any, Callable[[], None]]] = []  # (owner, fn)
        self.stalled: List[Tuple["FakeSocket", Any]] = []


class _Stall:
    """One direction of a connection waiting out a partition: what it sent
    since (segments and a FIN, in order) and its retransmission timer."""

    __slots__ = ("items", "tries", "rto", "timer")

    def __init__(self) -> None:
        self.items: List[Tuple[Any, Optional[bytes]]] = []
        self.tries = 0
        self.rto = DATA_RTO
        self.timer = False  # a retransmission is scheduled (a partition)


class HostTable:
    """The hosts of a network, who owns which address, the links and the
    connections that cross one (``net._hosts``)."""

    def __init__(self, net: "FakeNetwork") -> None:
        self.net = net
        self.default = default_host(net.hostname, net.local_ip)
        self.hosts: Dict[str, Host] = {self.default.name: self.default}
        self.owner: Dict[str, str] = {}  # ip -> declared host name
        self.links: Dict[Tuple[str, str], _LinkState] = {}
        # conn -> (link, client's host, server's host, their incarnations)
        self.routes: Dict[int, Tuple[_LinkState, str, str, Tuple[int, int]]] = {}
        self.stalls: Dict[Tuple[int, str], _Stall] = {}
        self.down: Dict[str, bool] = {}  # crashed, not restarted yet
        self.incarnation: Dict[str, int] = {}  # crashes so far, per host

    # -- the table ------------------------------------------------------------

    def add(self, host: Host) -> None:
        if not isinstance(host, Host):
            raise ValueError(
                "FakeNetwork(hosts=...) must hold Host values, got %r" % (host,)
            )
        if host.name in self.hosts:
            raise ValueError(
                "Host(name=...): host %r is declared twice%s"
                % (
                    host.name,
                    " (it is the default host's name, net.hostname)"
                    if host.name == self.default.name
                    else "",
                )
            )
        for ip in host.ips:
            if ip in self.owner or ip == self.net.local_ip:
                raise ValueError(
                    "Host(ips=...): %s is already host %r's"
                    % (ip, self.owner.get(ip, self.default.name))
                )
        self.hosts[host.name] = host
        for ip in host.ips:
            self.owner[ip] = host.name
        names = self.net.names
        for name in (host.name,) + host.names:
            names[name] = host.ips[0]

    def add_link(self, link: HostLink, replace: bool = False) -> None:
        """Declare the link ``link`` describes (``replace``: a link already
        declared between its hosts takes the new values, from now on)."""
        if not isinstance(link, HostLink):
            raise ValueError(
                "FakeNetwork(host_links=...) must hold HostLink values, got %r"
                % (link,)
            )
        self.check("HostLink", "a", link.a)
        self.check("HostLink", "b", link.b)
        key = _key(link.a, link.b)
        state = self.links.get(key)
        if state is None:
            self.links[key] = _LinkState(link)
            return
        if not replace and state.declared:
            raise ValueError(
                "HostLink(b=...): the link %s<->%s is declared twice" % key
            )
        state.link = link  # connections over it keep their (one) state
        state.declared = True

    def check(self, call: str, argument: str, name: Any) -> str:
        """``name`` as a known host, or a ValueError naming ``argument``."""
        if not isinstance(name, str) or name not in self.hosts:
            raise ValueError(
                "%s(%s=...): unknown host %r (the hosts are %s)"
                % (call, argument, name, ", ".join(self.hosts))
            )
        return name

    def pair(self, call: str, a: Any, b: Any) -> Tuple[str, str]:
        self.check(call, "a", a)
        self.check(call, "b", b)
        if a == b:
            raise ValueError(
                "%s(b=...) must be another host than a=%r: a host has no link "
                "with itself" % (call, a)
            )
        return a, b

    def crashable(self, call: str, name: Any) -> str:
        self.check(call, "host", name)
        if name == self.default.name:
            raise ValueError(
                "%s(host=...): the default host %r (the program's own) cannot "
                "crash; declare the host that should" % (call, name)
            )
        return str(name)

    def port_free(self, bound: Dict[Tuple[str, int], Any], ip: str, port: int) -> bool:
        """Whether ``ip:port`` can be bound (TCP or UDP table ``bound``): as
        Linux on each host, a wildcard (the default host's) taking the port
        on the default host's addresses only, a declared host's address
        conflicting only with itself."""
        if not self.is_default(ip):
            return (ip, port) not in bound
        owner = self.owner
        if ("::", port) in bound:
            return False
        if ":" not in ip and ("0.0.0.0", port) in bound:
            return False
        if ip in ("0.0.0.0", "::"):
            v4 = ip == "0.0.0.0"
            return not any(
                p == port and i not in owner and not (v4 and ":" in i)
                for (i, p) in bound
            )
        return (ip, port) not in bound

    def host_of_ip(self, ip: str) -> str:
        return self.owner.get(ip, self.default.name)

    def is_default(self, ip: str) -> bool:
        return ip not in self.owner

    def link(self, a: str, b: str) -> Optional[_LinkState]:
        """The link between hosts ``a`` and ``b`` (None: the same host)."""
        if a == b:
            return None
        key = _key(a, b)
        state = self.links.get(key)
        if state is None:
            state = self.links[key] = _LinkState(HostLink(*key), declared=False)
        return state

    # -- delays ---------------------------------------------------------------

    def _jitter(self, link: HostLink) -> float:
        return self.net.random.uniform(0.0, link.jitter) if link.jitter else 0.0

    def one_way(self, state: _LinkState, sender: str, nbytes: int) -> float:
        """How long ``nbytes`` sent by host ``sender`` take over the link."""
        link = state.link
        net = self.net
        delay = link.latency + self._jitter(link)
        if link.bandwidth is not None and nbytes:
            start = state.busy.get(sender, net.now)
            if start < net.now:
                start = net.now
            done = start + nbytes / link.bandwidth
            state.busy[sender] = done
            delay += done - net.now
        return delay

    def connect_delay(
        self, client: "FakeSocket", ip: str, later: Callable[[], None]
    ) -> Optional[float]:
        """Extra time a connect from ``client`` to ``ip`` takes (a round
        trip), None when a partition eats the SYN, or :data:`HELD` when a
        held link keeps it (``later`` is called at the release)."""
        assert client.local is not None
        a = self.host_of_ip(client.local[0])
        state = self.link(a, self.host_of_ip(ip))
        if state is None:
            return 0.0
        if state.partitioned or self.down.get(self.host_of_ip(ip)):
            return None
        if state.held:
            state.waiting.append((client, later))
            return HELD
        return 2 * state.link.latency + self._jitter(state.link)

    def datagram_delay(
        self, src: str, dest: str, nbytes: int, later: Callable[[], None]
    ) -> Optional[float]:
        """A datagram's time on the link (0 on one host), None: lost, or
        :data:`HELD`: a held link keeps it (``later`` at the release)."""
        a = self.host_of_ip(src)
        state = self.link(a, self.host_of_ip(dest))
        if state is None:
            return 0.0
        if state.partitioned or self.down.get(self.host_of_ip(dest)):
            return None
        if state.held:
            state.waiting.append((None, later))
            return HELD
        return self.one_way(state, a, nbytes)

    # -- connections ----------------------------------------------------------

    def join(self, client: "FakeSocket", server: "FakeSocket") -> None:
        """A connection is made: note its link if its ends are on two hosts."""
        if client.local is None or server.local is None:
            return
        a = self.host_of_ip(client.local[0])
        b = self.host_of_ip(server.local[0])
        state = self.link(a, b)
        if state is not None:
            assert client.conn is not None
            inc = self.incarnation
            self.routes[client.conn] = (state, a, b, (inc.get(a, 0), inc.get(b, 0)))

    def _blocked(self, route: Any, side: Any) -> bool:
        """Whether nothing ``side`` sends gets through: the link is
        partitioned, or the other end's host is down."""
        far = route[2] if side == "client" else route[1]
        return bool(route[0].partitioned or self.down.get(far))

    def _stale(self, route: Any, side: Any) -> bool:
        """Whether the other end's host restarted since the connection was
        made: it knows nothing of it and answers with an RST."""
        if side == "client":
            return self.incarnation.get(route[2], 0) != route[3][1]
        return self.incarnation.get(route[1], 0) != route[3][0]

    def _answer_rst(self, sender: "FakeSocket", state: _LinkState) -> None:
        """A restarted host answers a segment of a connection it forgot
        with an RST (Linux: tcp_v4_send_reset), a round trip later."""
        net = self.net
        net._schedule(
            net.now + 2 * state.link.latency, sender._reset_by_peer, errno.ECONNRESET
        )

    def segment(
        self, sender: "FakeSocket", data: Any, urgent: Optional[bytes], delay: float
    ) -> Optional[float]:
        """A segment ``sender`` sends over its link: the delay it arrives
        after (``delay`` plus the link's), or None when a partition (now,
        or earlier and still being retransmitted) holds it back."""
        route = self.routes.get(sender.conn)  # type: ignore[arg-type]
        if route is None:
            return delay
        state, a, b, _ = route
        key = (sender.conn, sender.side)
        stall = self.stalls.get(key)  # type: ignore[arg-type]
        blocked = self._blocked(route, sender.side)
        if stall is None and not blocked and self._stale(route, sender.side):
            self._answer_rst(sender, state)
            return None  # lost: nobody there knows the connection
        if stall is None and not blocked and not state.held:
            host = a if sender.side == "client" else b
            nbytes = len(data) + (1 if urgent else 0)
            return delay + self.one_way(state, host, nbytes)
        self._hold(sender, key, stall, (data, urgent))
        return None

    def fin(self, sender: "FakeSocket") -> Optional[float]:
        """The link's latency for ``sender``'s FIN, or None when the FIN
        waits out a partition behind the data."""
        route = self.routes.get(sender.conn)  # type: ignore[arg-type]
        if route is None:
            return 0.0
        state = route[0]
        key = (sender.conn, sender.side)
        stall = self.stalls.get(key)  # type: ignore[arg-type]
        blocked = self._blocked(route, sender.side)
        if stall is None and not blocked and self._stale(route, sender.side):
            self._answer_rst(sender, state)
            return None
        if stall is None and not blocked and not state.held:
            return state.link.latency
        self._hold(sender, key, stall, (_FIN, None))
        return None

    def _hold(
        self,
        sender: "FakeSocket",
        key: Any,
        stall: Optional[_Stall],
        item: Tuple[Any, Optional[bytes]],
    ) -> None:
        peer = sender.peer
        if item[0] is not _FIN and peer is not None:
            peer.inflight += len(item[0])  # it takes room, as unacked data
        if stall is None:
            stall = self.stalls[key] = _Stall()
            route = self.routes[key[0]]
            if self._blocked(route, sender.side):
                self._arm(sender, key, stall)
            else:
                route[0].stalled.append((sender, key))  # held: the release
        stall.items.append(item)

    def _arm(self, sender: "FakeSocket", key: Any, stall: _Stall) -> None:
        stall.timer = True
        self.net._schedule(self.net.now + stall.rto, self._retransmit, sender, key)

    def _retransmit(self, sender: "FakeSocket", key: Any) -> None:
        stall = self.stalls.get(key)
        if stall is None:
            return
        net = self.net
        peer = sender.peer
        route = self.routes.get(key[0])
        if (
            peer is None
            or route is None
            or sender.cut
            or (
                peer.cut
                and not self._blocked(route, sender.side)
                and not self._stale(route, sender.side)
            )
        ):
            del self.stalls[key]  # the connection is gone (reset, timed out)
            return
        state, a, b, _ = route
        if self._blocked(route, sender.side):
            stall.tries += 1
            if stall.tries > DATA_RETRIES:
                del self.stalls[key]
                peer.inflight -= sum(len(d) for d, _ in stall.items if d is not _FIN)
                net._log_event("timeout", sender.fd, ("retransmit", stall.tries - 1))
                sender._reset_by_peer(errno.ETIMEDOUT)  # Linux: tcp_write_err
                return
            stall.rto = min(stall.rto * 2, DATA_RTO_MAX)
            net._schedule(net.now + stall.rto, self._retransmit, sender, key)
            return
        stall.timer = False
        if self._stale(route, sender.side):
            del self.stalls[key]
            peer.inflight -= sum(len(d) for d, _ in stall.items if d is not _FIN)
            self._answer_rst(sender, state)
            return
        if state.held:
            state.stalled.append((sender, key))  # through, but held: the release
            return
        self._flush(sender, key, stall, state, a if sender.side == "client" else b)

    def _flush(
        self,
        sender: "FakeSocket",
        key: Any,
        stall: _Stall,
        state: _LinkState,
        host: str,
    ) -> None:
        """What a direction held back goes, in order, over the link."""
        net = self.net
        peer = sender.peer
        del self.stalls[key]
        if peer is None:
            return
        for data, urgent in stall.items:
            if data is _FIN:
                when = max(net.now + state.link.latency, sender.last_arrival)
                sender.last_arrival = when
                net._schedule(when, peer._receive_fin)
                continue
            nbytes = len(data) + (1 if urgent else 0)
            when = net.now + self.one_way(state, host, nbytes)
            if when < sender.last_arrival:
                when = sender.last_arrival  # TCP keeps segments in order
            sender.last_arrival = when
            net._schedule(when, peer._deliver_later, data, urgent)

    # -- controls -------------------------------------------------------------

    def set_partition(self, a: str, b: str, on: bool) -> None:
        state = self.link(a, b)
        assert state is not None
        if state.partitioned != on:
            state.partitioned = on
            self.net._log_event("partition" if on else "heal", None, (a, b))

    def set_hold(self, a: str, b: str, on: bool) -> None:
        """Hold the link (everything sent waits) or release it: what it
        kept goes, in the order it was sent, one link delay from now (or,
        if the link is partitioned meanwhile, as under the partition)."""
        state = self.link(a, b)
        assert state is not None
        if state.held == on:
            return
        state.held = on
        self.net._log_event("hold" if on else "release", None, (a, b))
        if on:
            return
        waiting, state.waiting = state.waiting, []
        stalled, state.stalled = state.stalled, []
        for sender, key in stalled:
            stall = self.stalls.get(key)
            route = self.routes.get(key[0])
            if stall is None or stall.timer or route is None:
                continue
            if self._blocked(route, sender.side):
                self._arm(sender, key, stall)
            else:
                side_host = route[1] if sender.side == "client" else route[2]
                self._flush(sender, key, stall, state, side_host)
        for _, later in waiting:
            later()

    def forget(self, client: Any) -> None:
        """A connect is aborted (shutdown): its held SYN is not sent."""
        for state in self.links.values():
            if any(owner is client for owner, _ in state.waiting):
                state.waiting = [w for w in state.waiting if w[0] is not client]

    def apply(self, verb: str, *hosts: str) -> None:
        """One of :data:`VERBS`, now."""
        if verb in ("partition", "heal"):
            self.set_partition(hosts[0], hosts[1], verb == "partition")
        elif verb in ("hold", "release"):
            self.set_hold(hosts[0], hosts[1], verb == "hold")
        elif verb == "crash":
            self.crash(hosts[0])
        else:
            self.restart(hosts[0])

    def crash(self, name: str) -> None:
        """Every socket of host ``name`` vanishes, silently: no FIN, no RST.
        Its descriptors are released (a dispatcher still holding one gets
        EBADF), its ports are free; its peers see nothing, their segments
        are retransmitted until they time out, or until the host restarts
        and answers them with an RST."""
        if self.down.get(name):
            return
        net = self.net
        self.down[name] = True
        self.incarnation[name] = self.incarnation.get(name, 0) + 1
        net._log_event("crash", None, (name,))
        for fd in sorted(net._objects):
            obj = net._objects[fd]
            local = getattr(obj, "local", None)
            if not isinstance(local, tuple) or self.host_of_ip(str(local[0])) != name:
                continue
            if type(obj).__name__ != "FakeSocket" and hasattr(obj, "close"):
                obj.close()  # UDP: the port is free, the queue gone
                continue
            for q in (obj.accept_q, obj.pending_q):
                while q:
                    other = q.popleft()
                    client = other if other.state == "connecting" else other.peer
                    if other is not client:
                        _vanish(other)
                    if client is not None and client.state == "connecting":
                        # Never answered: the client's connect times out.
                        net._schedule(
                            net.now + SYN_TIMEOUT,
                            net._fail_connect,
                            client,
                            errno.ETIMEDOUT,
                        )
            _vanish(obj)
            net._release_fd(fd, obj)
            obj.fd = None
            net._unbind(obj)
        for sock in net._sockets:
            if (
                sock.fd is None
                and sock.local is not None
                and (self.host_of_ip(str(sock.local[0])) == name)
            ):
                _vanish(sock)  # a scripted server's end, or one not accepted

    def restart(self, name: str) -> None:
        """Host ``name`` is up again, with nothing open: it answers segments
        of connections from before the crash with an RST."""
        if self.down.pop(name, False):
            self.net._log_event("restart", None, (name,))

    # -- netstat --------------------------------------------------------------

    def rows(self) -> List[str]:
        """The netstat's lines for hosts and links."""
        net = self.net
        fds: Dict[str, List[str]] = {name: [] for name in self.hosts}
        for fd in sorted(net._objects):
            local = getattr(net._objects[fd], "local", None)
            if isinstance(local, tuple) and ":" not in str(local[0]):
                fds[self.host_of_ip(local[0])].append(str(fd))
        lines = ["hosts:"]
        for name, host in self.hosts.items():
            ips = (
                "127.0.0.1," + ",".join(host.ips)
                if host is self.default
                else (",".join(host.ips))
            )
            lines.append(
                "  host %s  %s%s%s  fds %s"
                % (
                    name,
                    ips,
                    "  (default)" if host is self.default else "",
                    "  DOWN" if self.down.get(name) else "",
                    ",".join(fds[name]) or "-",
                )
            )
        for (a, b), state in self.links.items():
            link = state.link
            bits = ["latency %gs" % link.latency]
            if link.jitter:
                bits.append("jitter %gs" % link.jitter)
            if link.bandwidth is not None:
                bits.append("bandwidth %gB/s" % link.bandwidth)
            stalled = sum(
                1
                for (conn, _), _s in self.stalls.items()
                if self.routes.get(conn, (None,))[0] is state
            )
            lines.append(
                "  link %s<->%s  %s  %s%s"
                % (
                    a,
                    b,
                    " ".join(bits),
                    "PARTITIONED" if state.partitioned else "up",
                    "  (%d direction(s) retransmitting)" % stalled if stalled else "",
                )
            )
        return lines


def _vanish(sock: Any) -> None:
    """A socket of a crashed host: it takes nothing in and sends nothing."""
    sock.cut = True
    sock.state = "closed"
    sock.rbuf = b""


def default_host(name: str, ip: str) -> Host:
    """The default host: ``net.hostname`` with ``net.local_ip`` (unchecked:
    it keeps whatever the network was given)."""
    host = object.__new__(Host)
    object.__setattr__(host, "name", name)
    object.__setattr__(host, "ips", (ip,))
    object.__setattr__(host, "names", ())
    return host


def _key(a: str, b: str) -> Tuple[str, str]:
    return (a, b) if a <= b else (b, a)
