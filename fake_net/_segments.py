"""What reaches a FakeSocket over its connection: data, urgent bytes, FIN, RST.

The sending side's ``_transmit`` schedules a segment on the virtual clock
(after the delay fault rules give it, and the connection's link latency,
``_links``, and the host link's, ``_hosts``, which holds the segments a
partition stops for retransmission; in order: TCP keeps segments in
order); the receiving side's ``_deliver`` puts it in the receive buffer,
applying the stream fault rules, and the FIN and RST arrive the same way.
Linux's behaviour is cited where it is not obvious.

Rules: this module never reads the clock itself (the network's virtual clock
only), never draws randomness but from the network, never iterates a set.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any, Callable, Optional

from fake_net import _links

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork

__all__ = ["IN", "PRI", "OUT", "ERR", "HUP", "_Segments"]

# Poll bits (select.POLLIN ... POLLHUP on Linux), as plain ints.
IN, PRI, OUT, ERR, HUP = 1, 2, 4, 8, 16


class _Segments:
    """FakeSocket's receiving end: delivery of data, urgent bytes, FIN, RST."""

    if not TYPE_CHECKING:
        # No instance dict: FakeSocket keeps its slots.  (Hidden from mypy,
        # which would take the attributes below for undeclared slots.)
        __slots__ = ()

    # FakeSocket's state, used here.
    net: "FakeNetwork"
    fd: Optional[int]
    peer: Any
    state: str
    conn: Optional[int]
    side: Optional[str]
    rbuf: Any  # b"", one segment's bytes, or a bytearray (FakeSocket.rbuf)
    inflight: int
    last_arrival: float
    received: int
    capacity: int
    eof_in: bool
    shut_rd: bool
    shut_wr: bool
    err: int
    cut: bool
    oob: Optional[bytes]
    oob_mark: Optional[int]
    oob_byte: bytes

    _refresh: Callable[[], None]

    def _transmit(self, data: bytes, urgent: Optional[bytes] = None) -> None:
        net = self.net
        peer = self.peer
        assert peer is not None
        if not net._deliver_rules:
            delay = 0.0
        elif net._link_delays or net._hosts is not None:
            # A link's data latency (fake_net._links), after what delay
            # rules say (none: no delay; FakeNetwork(latency=) is connects').
            # Data that will draw an RST (the peer shut down both ways) is
            # answered at once, as on loopback: the latency is for data.
            if peer.shut_rd and peer.shut_wr:
                delay = 0.0
            else:
                delay = _links.data_latency(net, self)  # type: ignore[arg-type]
            if _links.delay_rules(net):
                delay += net._deliver_delay(self)  # type: ignore[arg-type]
            hosts = net._hosts
            if hosts is not None and self.conn in hosts.routes:
                # Between two hosts (fake_net._hosts): the host link's
                # latency, jitter and bandwidth add; a partition holds the
                # segment for retransmission (None: it is taken care of).
                held = hosts.segment(self, data, urgent, delay)  # type: ignore[arg-type]
                if held is None:
                    return
                delay = held
        else:
            delay = net._deliver_delay(self)  # type: ignore[arg-type]
        arrival = net.now + delay
        if arrival < self.last_arrival:
            arrival = self.last_arrival  # TCP keeps segments in order
        self.last_arrival = arrival
        if arrival <= net.now and not peer.inflight:
            peer._deliver(data, urgent)
        else:
            peer.inflight += len(data)
            net._schedule(arrival, peer._deliver_later, data, urgent)

    def _deliver_later(self, data: bytes, urgent: Optional[bytes]) -> None:
        self.inflight -= len(data)
        self._deliver(data, urgent)

    def _deliver(self, data: bytes, urgent: Optional[bytes] = None) -> None:
        if self.cut:
            # Dropped: the room it took is the sender's again.
            peer = self.peer
            if peer is not None and peer.fd is not None:
                peer._refresh()
            return
        net = self.net
        if net._stream_rules and data:
            data = net._stream_faults(self, data)  # type: ignore[arg-type]
            if self.cut:
                return
        if (data or urgent) and self.shut_rd and self.shut_wr:
            # Linux (tcp_rcv_state_process, RFC 1122): data reaching a
            # socket in FIN_WAIT1/2 that shut down reading is answered with
            # an RST: the data is dropped, this socket gets ECONNRESET and
            # the sender the RST.  An urgent pointer was taken before
            # (tcp_urg, tcp_check_urg): an earlier urgent byte not at the
            # read position becomes normal data, as when any new urgent
            # byte arrives; the new one shows as POLLPRI for good, but its
            # segment is not in the stream (no mark a read stops at or
            # steps over; recv(MSG_OOB) gives ENOTCONN, tcp_recv_urg).
            if urgent:
                self._urgent_arrives(urgent)
                self.oob_mark = None
            self._reset_by_peer(errno.ECONNRESET)
            peer = self.peer
            if peer is not None:
                # On loopback the RST is back within the sender's send().
                if net._deliver_rules and _links.rst_waits(net):
                    net._schedule(net.now, peer._reset_by_peer)
                else:
                    peer._reset_by_peer()
            return
        if data:
            self._append(data)
        if urgent:
            self._urgent_arrives(urgent)
            self._refresh()
        elif self.fd is not None and not net._ready.get(self.fd, 0) & IN:
            # Arriving data only adds POLLIN: recompute when it was not set.
            self._refresh()
        peer = self.peer
        if peer is not None and peer.fd is not None:
            # Our buffer filling up can only take the sender's POLLOUT away.
            if peer.capacity - len(self.rbuf) - self.inflight <= 0 or urgent:
                peer._refresh()

    def _append(self, data: Any) -> None:
        """Queue ``data`` after what rbuf holds: an empty queue takes a
        bytes segment as it is (no copy); a second segment makes the queue
        a bytearray (appends from then on are amortised, not quadratic)."""
        if not self.rbuf:
            self.rbuf = data if type(data) is bytes else bytes(data)
        else:
            rbuf = self._queue_array()
            rbuf += data
        self.received += len(data)

    def _queue_array(self) -> bytearray:
        """rbuf as a bytearray, made one if it held a single segment's
        bytes: for edits in place (an append, an insertion, a partial
        read's del, which takes the front off without copying the rest)."""
        rbuf = self.rbuf
        if type(rbuf) is bytes:
            rbuf = self.rbuf = bytearray(rbuf)
        return rbuf  # type: ignore[no-any-return]

    def _take_all(self) -> bytes:
        """Everything rbuf holds, leaving it empty (the sender's own bytes
        object when it held one segment)."""
        rbuf = self.rbuf
        self.rbuf = b""
        return rbuf if type(rbuf) is bytes else bytes(rbuf)

    def _urgent_arrives(self, byte: bytes) -> None:
        """A new urgent byte arrives after everything now in rbuf."""
        mark = self.oob_mark
        if mark:
            # Linux (tcp_check_urg): the previous urgent byte, not at the
            # read position, stays in the stream as normal data; at the
            # read position it is dropped.
            self._queue_array()[mark:mark] = self.oob_byte
        self.oob = self.oob_byte = byte
        self.oob_mark = len(self.rbuf)

    def _send_fin(self) -> None:
        peer = self.peer
        if peer is None:
            return
        net = self.net
        when = self.last_arrival if self.last_arrival > net.now else net.now
        hosts = net._hosts
        if hosts is not None and self.conn in hosts.routes:
            # Over a host link (fake_net._hosts): one latency later, or
            # held behind the data a partition holds.
            latency = hosts.fin(self)  # type: ignore[arg-type]
            if latency is None:
                return
            if net.now + latency > when:
                when = net.now + latency
            self.last_arrival = when
        net._schedule(when, peer._receive_fin)

    def _receive_fin(self) -> None:
        if self.cut:
            return
        self.eof_in = True
        self._refresh()

    def _reset_by_peer(self, code: Optional[int] = None) -> None:
        """An RST arrived: Linux reports EPIPE if we had seen the peer's FIN
        (CLOSE_WAIT), else ECONNRESET, and shuts both directions."""
        if self.state not in ("connected", "connecting"):
            return
        if code is None:
            code = errno.EPIPE if self.eof_in else errno.ECONNRESET
        self.err = code
        self.state = "closed"
        self.shut_wr = True
        self.cut = True
        self.net._log_event(
            "error",
            self.fd if self.fd is not None else -1,
            ("reset", errno.errorcode[code]),
        )
        self._refresh()
