"""The diagram's first pass over a trace: lifelines, connections, segments.

:class:`Scan` walks the events once and works out what the trace does not
say outright: which socket each event is on (a descriptor reused after a
close is a new lifeline), which connect an accept answers (the accepted
peer address first, then first come, first served among the connects to
that listener's address), which connects reach a remote peer (any address
no traced listener has), the number the network gave each connection (in
the order they were made), and for every send the recv that reads its last
byte (or the close that lost it); and, for the fault locator, the bytes
reaching each connection end, in order.

Rules (deterministic): one pass in event order; no clock, no random source,
no iteration over sets.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from asyncore_sim.diagram._model import (
    Connection,
    Lifeline,
    addr_text,
    same_addr,
)
from asyncore_sim.trace import TraceEvent
from asyncore_sim.trace._values import Addr, Err

__all__ = ["Scan"]


_CONNECT_ERRORS = ("ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH")


def connect_outcomes(
    events: Sequence[TraceEvent],
) -> Tuple[Dict[int, str], Dict[int, bool]]:
    """(failed, made): connect events (by index) whose connect failed (->
    errno name) as the socket said later (SO_ERROR, or a send or recv
    failing with a connect error before any byte moved, or still connecting
    when the trace ends: a timeout not yet run out); and those the socket
    said were made (SO_ERROR 0, handle_connect, a byte moved).  A connect
    closed before either is in neither."""
    pending: Dict[int, int] = {}  # fd -> its connect event
    failed: Dict[int, str] = {}
    made: Dict[int, bool] = {}
    for i, ev in enumerate(events):
        kind = ev.kind
        if kind == "connect":
            r = (ev.result or (None,))[0]
            if r in ("EALREADY", "EISCONN", "EINVAL"):
                continue
            pending[ev.fd] = i
            if isinstance(r, Err) or (isinstance(r, str) and r in _CONNECT_ERRORS):
                failed[i] = str(r)
                del pending[ev.fd]
            elif r == 0:
                made[pending.pop(ev.fd)] = True
            continue
        if ev.fd not in pending:
            continue
        r = (ev.result or (None,))[0]
        if kind == "getsockopt" and ev.args[1:2] == ("SO_ERROR",):
            if isinstance(r, str) and r in _CONNECT_ERRORS:
                failed[pending.pop(ev.fd)] = r
            elif r == 0:
                made[pending.pop(ev.fd)] = True
        elif kind == "handle_connect":
            made[pending.pop(ev.fd)] = True
        elif kind in ("send", "recv"):
            if isinstance(r, Err) and str(r) in _CONNECT_ERRORS:
                failed[pending.pop(ev.fd)] = str(r)
            elif not isinstance(r, Err) and r not in (None, 0, b""):
                made[pending.pop(ev.fd)] = True
        elif kind == "close":
            del pending[ev.fd]
    for i in pending.values():
        failed[i] = "no answer by the end of the trace"
    return failed, made


class _Stream:
    """One direction of a connection: sends still to be read by ``dst``."""

    __slots__ = ("sent", "read", "pending")

    def __init__(self) -> None:
        self.sent = 0
        self.read = 0
        self.pending: List[Tuple[int, int]] = []  # (end offset, send event)


class Scan:
    """The first pass: lifelines, connections and where each segment ends."""

    def __init__(self, events: Sequence[TraceEvent]) -> None:
        self.events = events
        self.lanes: List[Lifeline] = []
        self.conns: List[Connection] = []
        self.lane_of: List[int] = [-1] * len(events)
        self.by_fd: Dict[int, int] = {}
        self.listeners: List[int] = []
        self.waiting: Dict[int, List[int]] = {}  # listener lane -> conn indexes
        self.streams: Dict[Tuple[int, int], _Stream] = {}  # (conn, receiver lane)
        self.arrow_end: Dict[int, int] = {}  # send event -> event that read it
        self.lost_at: Dict[int, int] = {}  # send event -> close of its receiver
        self.remote_data: List[int] = []  # recv events from a remote peer
        #: (event, victim lane, start, end): bytes reaching a lane, in order.
        self.deliveries: List[Tuple[int, int, int, int]] = []
        self.refused: Dict[int, str] = {}  # connect event -> its error
        self.made: Dict[int, bool] = {}  # connect events known to succeed
        self.accepted_as: Dict[int, int] = {}  # stand-in -> the server end
        self.connecting: Dict[int, int] = {}  # fd -> its connect's connection
        #: Datagrams sent and not yet matched: (sendto event, sender lane,
        #: destination, bytes), in order; and each matched one's reading.
        self.datagrams: List[Tuple[int, int, Tuple[str, int], bytes]] = []
        self.datagram_end: Dict[int, int] = {}  # sendto event -> its recvfrom

    # lifelines ------------------------------------------------------------

    def new_lane(self, fd: int, role: str, i: int) -> int:
        lane = Lifeline(len(self.lanes), fd, role)
        lane.first_row = i  # an event index until the rows are made
        self.lanes.append(lane)
        if fd >= 0:
            self.by_fd[fd] = lane.index
        return lane.index

    def lane(self, fd: int, i: int) -> int:
        if fd < 0:
            return -1
        found = self.by_fd.get(fd)
        if found is None:  # opened before the recording began
            found = self.new_lane(fd, "socket", i)
        return found

    def peer_lane(self, host: str, addr: Any, i: int, conn: int) -> int:
        index = self.new_lane(-1, "peer", i)
        lane = self.lanes[index]
        lane.host = host
        lane.name = addr_text(addr)
        lane.conn = conn
        return index

    # connections ----------------------------------------------------------

    def new_conn(self, client: int, i: int, target: str) -> Connection:
        conn = Connection(len(self.conns), client, started=i, target=target)
        self.conns.append(conn)
        self.lanes[client].conn = conn.index
        return conn

    def other_end(self, lane: int) -> int:
        c = self.lanes[lane].conn
        if c < 0:
            return -1
        conn = self.conns[c]
        return conn.server if conn.client == lane else conn.client

    def stream_into(self, conn: int, receiver: int) -> _Stream:
        key = (conn, receiver)
        s = self.streams.get(key)
        if s is None:
            s = self.streams[key] = _Stream()
        return s

    # the events -------------------------------------------------------------

    def run(self) -> None:
        self.refused, self.made = connect_outcomes(self.events)
        for i, ev in enumerate(self.events):
            kind = ev.kind
            if kind in ("wait", "sleep"):
                if self.connecting and kind == "wait":
                    self._ready(i, ev)
                continue
            handler = getattr(self, "ev_" + kind, None)
            if handler is not None:
                handler(i, ev)
            elif ev.fd >= 0:
                index = self.lane_of[i] = self.lane(ev.fd, i)
                if kind == "handle_connect":
                    self._joined(index, i)
                if ev.is_callback and ev.args:
                    classes = self.lanes[index].classes
                    if not classes or classes[-1] != ev.args[0]:
                        if ev.args[0] not in classes:
                            classes.append(str(ev.args[0]))

    def _failed(self, ev: TraceEvent) -> Optional[str]:
        r = ev.result
        if r and len(r) == 1 and isinstance(r[0], Err):
            return str(r[0])
        return None

    def ev_socket(self, i: int, ev: TraceEvent) -> None:
        if ev.fd >= 0 and self._failed(ev) is None:
            self.lane_of[i] = self.new_lane(ev.fd, "socket", i)

    def ev_file(self, i: int, ev: TraceEvent) -> None:
        self.lane_of[i] = self.new_lane(ev.fd, "file", i)

    def ev_socketpair(self, i: int, ev: TraceEvent) -> None:
        a = self.new_lane(ev.fd, "pair", i)
        b = self.new_lane(int((ev.result or (-1,))[0]), "pair", i)
        self.lane_of[i] = a
        conn = self.new_conn(a, i, "socketpair")
        conn.server = b
        self.lanes[b].conn = conn.index
        self.lanes[a].side, self.lanes[b].side = "client", "server"
        self.deliveries.append((i, a, 0, 0))
        self.deliveries.append((i, b, 0, 0))

    def ev_bind(self, i: int, ev: TraceEvent) -> None:
        lane = self.lanes[self.lane(ev.fd, i)]
        self.lane_of[i] = lane.index
        if isinstance(ev.args[0], Addr) and self._failed(ev) is None:
            lane.local = (str(ev.args[0][0]), int(ev.args[0][1]))

    def ev_getsockname(self, i: int, ev: TraceEvent) -> None:
        lane = self.lanes[self.lane(ev.fd, i)]
        self.lane_of[i] = lane.index
        r = ev.result or ()
        if r and isinstance(r[0], Addr):
            lane.local = (str(r[0][0]), int(r[0][1]))

    def ev_getpeername(self, i: int, ev: TraceEvent) -> None:
        lane = self.lanes[self.lane(ev.fd, i)]
        self.lane_of[i] = lane.index
        r = ev.result or ()
        if r and isinstance(r[0], Addr):
            lane.remote = (str(r[0][0]), int(r[0][1]))

    # datagrams: a sendto is read by the first later recvfrom, on a socket
    # bound to its destination, that got its bytes (or their first part: a
    # short buffer truncates); first sent, first matched.

    def ev_sendto(self, i: int, ev: TraceEvent) -> None:
        index = self.lane_of[i] = self.lane(ev.fd, i)
        dest = ev.args[-1] if ev.args else None
        if self._failed(ev) is None and isinstance(dest, Addr) and ev.result:
            data = ev.result[1]
            if isinstance(data, bytes):
                dest_t = (str(dest[0]), int(dest[1]))
                self.datagrams.append((i, index, dest_t, data))

    def ev_recvfrom(self, i: int, ev: TraceEvent) -> None:
        index = self.lane_of[i] = self.lane(ev.fd, i)
        r = ev.result or ()
        if len(r) != 2 or not isinstance(r[0], bytes):
            return
        local = self.lanes[index].local
        for k, (sent_at, src, dest, data) in enumerate(self.datagrams):
            if same_addr(dest, local) and data.startswith(r[0]):
                del self.datagrams[k]
                self.datagram_end[sent_at] = i
                source = r[1]
                if isinstance(source, Addr) and self.lanes[src].local is None:
                    self.lanes[src].local = (str(source[0]), int(source[1]))
                return

    def ev_listen(self, i: int, ev: TraceEvent) -> None:
        index = self.lane(ev.fd, i)
        self.lane_of[i] = index
        if self._failed(ev) is None:
            self.lanes[index].role = "listener"
            if index not in self.listeners:
                self.listeners.append(index)

    def ev_connect(self, i: int, ev: TraceEvent) -> None:
        index = self.lane(ev.fd, i)
        self.lane_of[i] = index
        lane = self.lanes[index]
        r = (ev.result or (None,))[0]
        if lane.conn >= 0 or r in ("EALREADY", "EISCONN", "EINVAL"):
            return  # asking about a connect under way, not a new one
        dest = ev.args[0]
        if not isinstance(dest, Addr):
            return
        dest_t = (str(dest[0]), int(dest[1]))
        if isinstance(r, Err) and str(r) not in ("ECONNREFUSED", "ETIMEDOUT"):
            return  # it never got as far as the network (a bad name...)
        lane.role = "client"
        lane.side = "client"
        lane.remote = dest_t
        conn = self.new_conn(index, i, addr_text(dest))
        if i in self.refused:
            conn.established = False
            conn.failed = self.refused[i]
            return
        listener = next(
            (ln for ln in self.listeners if same_addr(dest_t, self.lanes[ln].local)),
            -1,
        )
        self.connecting[ev.fd] = conn.index
        if listener >= 0:
            # The server end has no descriptor until it is accepted.
            self.waiting.setdefault(listener, []).append(conn.index)
            self.deliveries.append((i, index, 0, 0))
            self.deliveries.append((i, -2 - conn.index, 0, 0))
        else:
            conn.server = self.peer_lane(str(dest[0]), dest, i, conn.index)
            self.lanes[conn.server].side = "server"
            self.deliveries.append((i, index, 0, 0))
        if r not in (0, "EINPROGRESS", None):
            conn.established = False
            conn.failed = str(r)
        elif r == 0 and conn.joined < 0:
            conn.joined = i

    def _ready(self, i: int, ev: TraceEvent) -> None:
        """A wait that reports a connecting socket ready: its connect is
        over (a connection is made, unless the connect failed)."""
        r = (ev.result or ("0",))[0]
        if not isinstance(r, str) or isinstance(r, Err) or r == "0":
            return
        for item in r.split(","):
            fd = int(item.split(":", 1)[0])
            c = self.connecting.pop(fd, None)
            if c is not None and self.conns[c].joined < 0:
                self.conns[c].joined = i

    def _joined(self, index: int, i: int) -> None:
        """Evidence at event ``i`` that lane ``index``'s connection is made."""
        c = self.lanes[index].conn if index >= 0 else -1
        if c >= 0 and self.conns[c].joined < 0:
            self.conns[c].joined = i

    def ev_accept(self, i: int, ev: TraceEvent) -> None:
        index = self.lane(ev.fd, i)
        self.lane_of[i] = index
        if self._failed(ev) is not None or not ev.result:
            return
        newfd, peer = ev.result[0], ev.result[1]
        listener = self.lanes[index]
        s = self.new_lane(int(newfd), "server", i)
        self.lane_of[i] = s  # drawn where the new lifeline begins
        server = self.lanes[s]
        server.side = "server"
        server.local = listener.local
        peer_t = (str(peer[0]), int(peer[1])) if isinstance(peer, Addr) else None
        server.remote = peer_t
        queue = self.waiting.get(index, [])
        pick = -1
        for k, c in enumerate(queue):
            client = self.lanes[self.conns[c].client]
            if peer_t is not None and client.local == peer_t:
                pick = k
                break
        if pick < 0:  # a connect a wait has said is over (it was made) first
            pick = next(
                (k for k, c in enumerate(queue)
                 if self.conns[c].joined >= 0 and self.conns[c].started in self.made),
                -1,
            )
        if pick < 0:  # first come, first served: a connect known to work first
            pick = next(
                (k for k, c in enumerate(queue) if self.conns[c].started in self.made),
                -1,
            )
        if pick < 0:
            pick = next(
                (k for k, c in enumerate(queue) if not self.conns[c].failed), -1
            )
        if pick >= 0:
            conn = self.conns[queue.pop(pick)]
            if conn.joined < 0:
                conn.joined = i
            self.connecting.pop(self.lanes[conn.client].fd, None)
            conn.server = s
            server.conn = conn.index
            early = self.streams.pop((conn.index, -2 - conn.index), None)
            if early is not None:  # sent before the accept
                self.streams[(conn.index, s)] = early
            self.accepted_as[-2 - conn.index] = s
            client = self.lanes[conn.client]
            if peer_t is not None:
                client.local = peer_t
            if server.local is not None:
                client.remote = server.local
        else:
            host = str(peer_t[0]) if peer_t is not None else "?"
            r = self.peer_lane(host, peer, i, -1)
            self.lanes[r].side = "client"
            conn = self.new_conn(r, i, addr_text(peer))
            conn.joined = i
            conn.server = s
            server.conn = conn.index
            self.deliveries.append((i, s, 0, 0))

    def ev_getsockopt(self, i: int, ev: TraceEvent) -> None:
        index = self.lane(ev.fd, i)
        self.lane_of[i] = index
        r = (ev.result or (None,))[0]
        if ev.args[1:2] == ("SO_ERROR",) and r == 0:
            self._joined(index, i)

    def ev_send(self, i: int, ev: TraceEvent) -> None:
        index = self.lane(ev.fd, i)
        self.lane_of[i] = index
        if self._failed(ev) is not None:
            return
        n = int((ev.result or (0,))[0])
        if n <= 0:
            return
        self._joined(index, i)
        lane = self.lanes[index]
        if lane.conn < 0:
            return
        conn = self.conns[lane.conn]
        dst = conn.server if conn.client == index else conn.client
        if dst >= 0 and self.lanes[dst].role == "peer":
            s = self.stream_into(conn.index, dst)
            s.sent += n
            return
        urgent = len(ev.args) > 1  # MSG_OOB: the last byte is out of band
        count = n - 1 if urgent else n
        s = self.stream_into(conn.index, dst if dst >= 0 else -2 - conn.index)
        start = s.sent
        s.sent += count
        s.pending.append((s.sent, i))
        victim = dst if dst >= 0 else -2 - conn.index
        self.deliveries.append((i, victim, start, s.sent))

    def ev_recv(self, i: int, ev: TraceEvent) -> None:
        index = self.lane(ev.fd, i)
        self.lane_of[i] = index
        if self._failed(ev) is not None:
            return
        data = (ev.result or (b"",))[0]
        lane = self.lanes[index]
        if lane.conn < 0 or not isinstance(data, bytes):
            return
        conn = self.conns[lane.conn]
        src = conn.server if conn.client == index else conn.client
        if not data:
            return
        self._joined(index, i)
        if len(ev.args) > 1:  # MSG_OOB: the urgent byte, outside the stream
            return
        s = self.stream_into(conn.index, index)
        if src >= 0 and self.lanes[src].role == "peer":
            start = s.read
            s.read += len(data)
            self.remote_data.append(i)
            self.deliveries.append((i, index, start, s.read))
            return
        s.read += len(data)
        pending = s.pending
        k = 0
        while k < len(pending) and pending[k][0] <= s.read:
            self.arrow_end[pending[k][1]] = i
            k += 1
        if k:
            del pending[:k]

    def victim(self, lane: int) -> int:
        """The lifeline bytes to ``lane`` reached: a connection's server end
        is known by a stand-in (-2 - connection) until it is accepted."""
        return self.accepted_as.get(lane, lane) if lane < -1 else lane

    def ev_close(self, i: int, ev: TraceEvent) -> None:
        index = self.lane(ev.fd, i)
        self.lane_of[i] = index
        if self._failed(ev) is not None:
            return
        lane = self.lanes[index]
        lane.last_row = i  # an event index until the rows are made
        self.connecting.pop(ev.fd, None)
        if ev.fd in self.by_fd and self.by_fd[ev.fd] == index:
            del self.by_fd[ev.fd]
        if index in self.listeners:
            self.listeners.remove(index)
        if lane.conn >= 0:
            s = self.streams.get((lane.conn, index))
            if s is not None:
                for _, send in s.pending:
                    self.lost_at[send] = i
                s.pending = []
            other = self.other_end(index)
            if other >= 0 and self.lanes[other].role == "peer":
                self.lanes[other].last_row = i  # our end of it is gone

    def ev_shutdown(self, i: int, ev: TraceEvent) -> None:
        self.lane_of[i] = self.lane(ev.fd, i)

    def finish(self) -> None:
        """Number the connections that were made, as the network does."""
        number = 0
        for conn in sorted(
            self.conns,
            key=lambda c: (c.joined if c.joined >= 0 else c.started, c.started),
        ):
            if conn.established:
                conn.number = number
                number += 1
