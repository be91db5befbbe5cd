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
        "and the like do not change its behaviour.  (UDP sockets are the "
        "exception for SO_RCVBUF: see udp_receive_queue.)"
    ),
    "udp_receive_queue": (
        "How many datagrams a UDP receive queue holds: Linux charges each "
        "queued datagram its buffer's truesize (on loopback about 840 bytes "
        "for a 100-byte datagram, 2,300 for 1,000 bytes) and drops what "
        "arrives while the charge is over SO_RCVBUF; fake_net charges the "
        "payload plus 768 bytes, by the same rule.  setsockopt(SO_RCVBUF, n) "
        "reads back 2n on both, at least 2,304; Linux clamps n to the "
        "machine's net.core.rmem_max, fake_net to its default (212,992).  The "
        "checks assert the doubling, that an overfull queue drops, and that "
        "the datagrams kept are the first ones, whole and in order."
    ),
    "udp_msg_trunc_recv": (
        "recv() and recvfrom() with MSG_TRUNC on a datagram longer than the "
        "buffer: Linux returns the datagram's length and CPython grows the "
        "result to it, so the bytes past the buffer are whatever its memory "
        "held; fake_net gives zero bytes there.  The checks assert the length "
        "and the head only (recv_into/recvfrom_into/recvmsg agree exactly)."
    ),
    "udp_unsimulated": (
        "UDP details fake_net refuses rather than simulates: two sockets "
        "sharing a port (SO_REUSEADDR/SO_REUSEPORT; EADDRINUSE naming it), "
        "multicast and the IP_PKTINFO/IP_RECVERR/IP_RECVTOS/IP_RECVTTL "
        "family of options (ENOPROTOOPT naming it), ancillary data, and "
        "flags other than MSG_PEEK, MSG_DONTWAIT and MSG_TRUNC (receive) or "
        "MSG_DONTWAIT and MSG_NOSIGNAL (send) (EOPNOTSUPP naming them).  "
        "Linux supports all of them; the checks use none."
    ),
    "udp_broadcast": (
        "Broadcast: fake_net knows two broadcast addresses, 255.255.255.255 "
        "and 127.255.255.255 (it has no interfaces, so no subnet ones); with "
        "SO_BROADCAST a datagram to one reaches the sockets bound to its port "
        "on 0.0.0.0 or on that address, where Linux sends it out of the "
        "route's interface.  The checks assert only the EACCES without "
        "SO_BROADCAST and that the send succeeds with it."
    ),
    "udp_send_buffer": (
        "A UDP send never blocks or fails with EAGAIN on fake_net (as on "
        "loopback, where the kernel frees the send buffer at once); on a "
        "real interface a full send buffer can make send() wait."
    ),
    "getaddrinfo_type_0": (
        "getaddrinfo() with type 0 and protocol 0: glibc answers one entry "
        "each for SOCK_STREAM, SOCK_DGRAM and SOCK_RAW; fake_net answers "
        "SOCK_STREAM only (SOCK_DGRAM when asked for it or for protocol 17), "
        "so code that takes the first entry behaves the same."
    ),
    "families_and_types": (
        "socket(): fake_net simulates AF_INET, AF_INET6 and AF_UNIX, each "
        "with SOCK_STREAM and SOCK_DGRAM.  Any other family is refused with "
        "EAFNOSUPPORT, SOCK_RAW with EPROTONOSUPPORT, SOCK_SEQPACKET/SOCK_RDM "
        "(AF_UNIX SOCK_SEQPACKET too) with ESOCKTNOSUPPORT (the errnos Linux "
        "gives where it lacks one), each message naming what was asked for, "
        "where Linux makes the socket."
    ),
    "unix_socket_files": (
        "AF_UNIX paths: fake_net never touches the filesystem.  Its network "
        "keeps a table of bound names; a path stays taken after its socket "
        "closes (bind: EADDRINUSE, connect: ECONNREFUSED, as the file Linux "
        "leaves behind) until net.unlink(path); a real os.unlink() of the "
        "path does not free it, os.path.exists() does not see it, and a "
        "path in a folder that does not exist binds (Linux: ENOENT).  The "
        "checks make paths in a real temporary folder and remove a socket "
        "file with net.unlink() where the network has it, os.unlink() "
        "elsewhere."
    ),
    "unix_autobind_names": (
        "bind('') on AF_UNIX: both pick an abstract name b'\\0' + 5 hex "
        "digits; Linux counts them up, fake_net draws them from its seed. "
        "The checks assert the form only."
    ),
    "unix_datagram_queue": (
        "How many AF_UNIX datagrams a receiver holds before a nonblocking "
        "sender gets EAGAIN: Linux stops at net.unix.max_dgram_qlen + 1 "
        "queued (11 by default) or earlier when the sender's SO_SNDBUF is "
        "spent (bytes in flight, counted with the kernel's overhead); "
        "fake_net at 11, whatever their size, and a datagram over SO_SNDBUF "
        "- 32 bytes is EMSGSIZE.  The checks assert only that the sender is "
        "pushed back, loses nothing, and may send again once the receiver "
        "read."
    ),
    "unix_stream_details": (
        "AF_UNIX stream sockets use fake_net's TCP buffers: the capacity per "
        "direction (64 KiB) stands for Linux's send buffer accounting, "
        "MSG_OOB works as TCP's urgent byte (Linux 5.15+ has its own "
        "AF_UNIX OOB, not checked), connect fault rules do not apply (the "
        "connect completes at once, as on Linux), rules matching a port "
        "never match (no ports); ancillary data (SCM_RIGHTS, "
        "SCM_CREDENTIALS) and SO_PEERCRED are not simulated."
    ),
    "ipv6_scope": (
        "IPv6: fake_net's hosts have the loopback ::1 only; another IPv6 "
        "address is ENETUNREACH to connect to and EADDRNOTAVAIL to bind "
        "(Linux: per its routes and interfaces), IPv4-mapped addresses, flow "
        "labels and scope ids are refused by name, IPV6_V6ONLY is stored "
        "but not acted on (a [::] socket is always dual stack), and an IPv4 "
        "datagram does not reach a UDP socket bound to [::] (Linux delivers "
        "it from ::ffff:a.b.c.d; TCP does connect, as on Linux).  Names: "
        "an AF_INET6 lookup answers only names the table gives an IPv6 "
        "address, so 'localhost' fails as on a host whose /etc/hosts lacks "
        "::1.  The IPv6 checks use ::1 and skip where the machine lacks it."
    ),
    "socketpair_family": (
        "net.socketpair() (what the asyncore seam and file_dispatcher tests "
        "use) gives two TCP sockets on 127.0.0.1, as fake_net always has, and "
        "socket.socketpair(AF_INET) in the simulated world gives that pair "
        "too, where Linux refuses AF_INET pairs.  socket.socketpair() with no "
        "family, or AF_UNIX, in the world gives the Unix pair, as on Linux."
    ),
}
