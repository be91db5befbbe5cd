"""netstat: a table of every open descriptor, for failure messages.

:class:`SimulationStuck` and :class:`SimulationBudgetExceeded` carry it, and
a test can print ``net.netstat()`` at any point.  One row per descriptor:
its kind (tcp, tcp6, unix, udp, udp6, unix-dgram, file, pipe), addresses
(a Unix path as is, an abstract name as ``@name``, as ``ss`` shows them),
state (with the flags that explain a hang: eof_in, shut_wr, oob, a pending
error; for udp, its queue and drops), buffered and in-flight bytes (udp:
what its queue is charged) and readiness; then the virtual time, the steps
and the events still scheduled; then, on a network with hosts
(``fake_net._hosts``), a line per host (its addresses and descriptors) and
per link (latency, jitter, bandwidth; up or PARTITIONED).  The event log's lines
(``net.event_lines()``) are formatted here too.

Rules: rows in descriptor order; only what the run itself determined
(no ``id()``, no machine-dependent values).
"""

from __future__ import annotations

import errno
import socket as _socket
from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from fake_net._datagram import DatagramSocket
from fake_net._socket import FakeSocket

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._clock import Timer

__all__ = ["_Netstat"]

_AF_UNIX = int(getattr(_socket, "AF_UNIX", 1))


class _Netstat:
    """FakeNetwork's ``netstat()``."""

    # From the other parts.
    now: float
    steps: int
    _objects: Dict[int, Any]
    _ready: Dict[int, int]
    _timers: List[Timer]
    _hosts: Any  # fake_net._hosts.HostTable, or None

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
                        _stream_kind(obj),
                        _fmt_addr(obj.local),
                        _fmt_addr(obj.remote),
                        state,
                        str(len(obj.rbuf)),
                        str(obj.inflight),
                        ready,
                    )
                )
            elif isinstance(obj, DatagramSocket):
                rows.append(
                    (
                        str(fd),
                        _DGRAM_KINDS.get(obj.kind, obj.kind),
                        _fmt_addr(obj.local),
                        _fmt_addr(obj.remote),
                        _udp_state(obj),
                        str(obj.queued),
                        "-",
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
        if self._hosts is not None:
            lines.extend(self._hosts.rows())
        return "\n".join(lines)


def _udp_state(sock: DatagramSocket) -> str:
    """A UDP socket's state column: bound or connected, its queue (datagrams
    queued, dropped, of SO_RCVBUF bytes) and the flags that explain a hang."""
    connected = sock.remote or getattr(sock, "peer", None) is not None
    state = "CONNECTED" if connected else ("BOUND" if sock.local else "NEW")
    state += " (queue %d, dropped %d, rcvbuf %d)" % (
        len(sock.queue),
        sock.drops,
        sock.rcvbuf,
    )
    flags = [
        f
        for f, on in (
            ("shut_rd", sock.shut_rd),
            ("shut_wr", sock.shut_wr),
            ("err=%s" % errno.errorcode.get(sock.err, sock.err), bool(sock.err)),
        )
        if on
    ]
    if flags:
        state += " " + ",".join(flags)
    return state


_DGRAM_KINDS = {"unix": "unix-dgram"}


def _stream_kind(sock: FakeSocket) -> str:
    family = int(sock.family)
    if family == int(_socket.AF_INET6):
        return "tcp6"
    if family == _AF_UNIX:
        return "unix"
    return "tcp"


def _fmt_addr(addr: Any) -> str:
    if addr is None or addr == "":
        return "*:*"
    if isinstance(addr, bytes):  # an abstract AF_UNIX name
        return "@" + addr[1:].decode("utf-8", "backslashreplace")
    if isinstance(addr, str):  # an AF_UNIX path
        return addr
    if ":" in str(addr[0]):
        return "[%s]:%s" % (addr[0], addr[1])
    return "%s:%s" % (addr[0], addr[1])


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
