"""Where a real and a simulated network may legitimately differ.

The checks never assert these details; each entry says what differs and
what the checks assert instead.  Keep it the one place that says so.
"""

from __future__ import annotations

from typing import Dict

__all__ = ["DIFFERENCES"]

#: Where real and simulated networks may legitimately differ.  The checks
#: never assert these details.
DIFFERENCES: Dict[str, str] = {
    "buffer_capacity": (
        "How many bytes a connection buffers before send() goes short or "
        "raises BlockingIOError, and so how much one send() accepts: Linux "
        "autotunes its socket buffers (megabytes on loopback), fake_net holds "
        "a fixed capacity per direction (64 KiB by default); the checks only "
        "require that a large enough transfer is pushed back at some point."
    ),
    "writable_threshold": (
        "When a socket whose buffer was full polls writable again: Linux "
        "reports POLLOUT only once a good part of the send buffer is free "
        "(about a third), fake_net as soon as one byte fits."
    ),
    "ports": (
        "Ephemeral port numbers: Linux picks them from ip_local_port_range by "
        "its own hash, fake_net draws them from the same range with its "
        "seeded random source; the checks compare ports only between the two "
        "ends of a connection."
    ),
    "file_descriptors": (
        "Descriptor numbers: the process's own table on Linux, a per-network "
        "table (lowest free from 3) on fake_net."
    ),
    "timing": (
        "Time: a real network delivers segments, FINs and RSTs "
        "asynchronously (on loopback within microseconds) and waits take "
        "real time; fake_net delivers at once (or after scripted delays) and "
        "moves its virtual clock only inside waits, so the checks wait for "
        "readiness before asserting anything and never assert how long a "
        "wait took."
    ),
    "backlog_retry": (
        "A connection beyond a full accept queue (backlog + 1 on Linux): "
        "Linux drops its SYN and the client retransmits it after 1 s, 3 s, "
        "7 s, ..., so it completes at the first retransmission after accept() "
        "made room, and when several connects race Linux may complete a "
        "client's handshake whose final ACK it then drops (the client is "
        "writable before the server can accept it); fake_net queues the "
        "connection and completes it the moment accept() makes room.  The "
        "checks assert only that backlog + 1 connections complete, that the "
        "next one does not complete before an accept(), and that it "
        "completes afterwards."
    ),
    "poll_bits": (
        "Poll bits outside the seam: the seam asks for POLLIN, POLLPRI and "
        "POLLOUT only; Linux can also report POLLRDHUP and the band bits "
        "(POLLRDNORM, POLLWRNORM, ...) to callers who ask, fake_net never "
        "does."
    ),
    "shutdown_unconnected": (
        "shutdown() on a socket that is not connected: on a new socket both "
        "raise ENOTCONN, but Linux still records the shutdown (the socket "
        "then polls POLLIN|POLLHUP, recv() returns b'' after SHUT_RD, and "
        "the flags survive a later connect); on a listening socket Linux "
        "succeeds (SHUT_RD and SHUT_RDWR stop the listener) where fake_net "
        "raises ENOTCONN.  The checks assert only the errno on a new socket."
    ),
    "unsimulated_flags": (
        "send() and recv() flags: fake_net simulates MSG_OOB, MSG_PEEK and "
        "MSG_DONTWAIT (and MSG_NOSIGNAL on send, a no-op in Python, which "
        "ignores SIGPIPE); any other flag (MSG_WAITALL, MSG_TRUNC, MSG_EOR, "
        "MSG_MORE, ...) raises OSError(EOPNOTSUPP) with a message naming it, "
        "where Linux acts on some and silently ignores others: a program "
        "passing one learns at once that the fake does not model it, "
        "instead of a run that quietly differs.  The checks pass only the "
        "simulated flags."
    ),
    "socket_options": (
        "Socket options: fake_net stores what setsockopt() sets and returns "
        "it, but buffer sizes (SO_SNDBUF, SO_RCVBUF), Nagle (TCP_NODELAY) "
        "and the like do not change its behaviour."
    ),
}
