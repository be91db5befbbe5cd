"""Conformance checks: the behaviour a network behind the seam must have.

Each ``check_<behaviour>(net)`` takes a network object, real
(:class:`real_net.RealNetwork`) or simulated (:class:`fake_net.FakeNetwork`),
and asserts one behaviour of Linux TCP (or UDP) over 127.0.0.1 with plain
``assert`` statements (an :class:`AssertionError` says what differed).  Every check
passes on the real kernel; the same checks passing on the fake is what makes
it a *verified* fake.  Run them all with::

    from fake_net import conformance
    for check in conformance.CHECKS:
        check(network)

The checks use the seam only: ``net.socket(family, type)``,
``net.poller("poll")``/``net.poller("select")`` (whose ``wait(fds, masks,
changed, reset, timeout)`` is the only call that waits), ``net.monotonic()``,
``net.socketpair()`` and the socket methods.  Every socket is nonblocking and
closed in a ``finally``; every wait is bounded (by virtual time on a fake
network, by real time on a real one); nothing sleeps.

:data:`DIFFERENCES` lists, in one place, where a real and a simulated network
may legitimately differ; the checks assert only what holds on both.

The suite is a package by concern: the helpers every check uses
(``_support``), :data:`DIFFERENCES` (``_differences``), and the checks of a
connection and its data (``_basics``), of closing (``_closing``), of
out-of-band data (``_oob``), of connecting (``_connecting``), of errno
details (``_errnos``), of call details (``_calls``: ``recv(0)``, receive
flags, ``connect_ex`` again), of UDP datagram sockets (``_datagram``) and
of the other families, AF_UNIX stream and datagram and IPv6 TCP and UDP
(``_families``).
Everything public is re-exported here.

Rules: no test framework (no pytest, in any module of the package); the
checks assert only what holds on both networks.
"""

from __future__ import annotations

from typing import Any, Callable, List

from fake_net.conformance._basics import (
    check_large_transfer_partial_sends,
    check_listen_connect_accept,
    check_recv_empty_would_block,
    check_small_message_both_ways,
)
from fake_net.conformance._calls import (
    check_connect_ex_again,
    check_msg_dontwait,
    check_msg_peek,
    check_recv_zero,
)
from fake_net.conformance._closing import (
    check_close_with_linger_zero_resets,
    check_data_after_shutdown_rdwr_resets,
    check_eof_after_peer_close,
    check_half_close,
    check_reset_on_close_with_unread_data,
    check_send_after_shutdown_wr,
    check_send_to_closed_peer,
    check_sends_to_gone_peer_stop,
)
from fake_net.conformance._connecting import (
    check_backlog,
    check_many_connections,
    check_refused_connect,
    check_shutdown_while_connecting,
    check_socketpair,
)
from fake_net.conformance._datagram import (
    check_udp_sendto_recvfrom,
    check_udp_boundaries,
    check_udp_truncation,
    check_udp_peek,
    check_udp_connect_filter,
    check_udp_refused_on_connected_socket,
    check_udp_readiness,
    check_udp_recv_empty_would_block,
    check_udp_broadcast_refused,
    check_udp_receive_queue_overflow,
    check_udp_refused_calls,
)
from fake_net.conformance._differences import DIFFERENCES
from fake_net.conformance._families import (
    check_unix_stream_connect_accept,
    check_unix_path_errors,
    check_unix_abstract_names,
    check_unix_peer_close,
    check_unix_socketpair,
    check_unix_datagram,
    check_unix_datagram_full_receiver,
    check_ipv6_tcp,
    check_ipv6_udp,
)
from fake_net.conformance._errnos import (
    check_argument_errors,
    check_bind_in_use,
    check_closed_socket,
    check_unconnected_socket_errors,
)
from fake_net.conformance._oob import (
    check_oob,
    check_oob_mark,
    check_urgent_then_reset,
)
from fake_net.conformance._support import (
    LOOPBACK,
    poll_names,
    poll_until,
    revents_now,
    wait_for,
)

# Not in __all__, but importable from here, as when the suite was one module.
from fake_net.conformance._support import (  # noqa: F401
    ALL,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLNVAL,
    POLLOUT,
    POLLPRI,
    WAIT,
)

__all__ = [
    "CHECKS",
    "DIFFERENCES",
    "LOOPBACK",
    "wait_for",
    "poll_until",
    "revents_now",
    "poll_names",
    "check_listen_connect_accept",
    "check_small_message_both_ways",
    "check_large_transfer_partial_sends",
    "check_recv_empty_would_block",
    "check_eof_after_peer_close",
    "check_half_close",
    "check_send_after_shutdown_wr",
    "check_reset_on_close_with_unread_data",
    "check_send_to_closed_peer",
    "check_data_after_shutdown_rdwr_resets",
    "check_sends_to_gone_peer_stop",
    "check_close_with_linger_zero_resets",
    "check_oob",
    "check_oob_mark",
    "check_urgent_then_reset",
    "check_refused_connect",
    "check_backlog",
    "check_shutdown_while_connecting",
    "check_many_connections",
    "check_socketpair",
    "check_unconnected_socket_errors",
    "check_bind_in_use",
    "check_argument_errors",
    "check_closed_socket",
    "check_recv_zero",
    "check_msg_peek",
    "check_msg_dontwait",
    "check_connect_ex_again",
    "check_udp_sendto_recvfrom",
    "check_udp_boundaries",
    "check_udp_truncation",
    "check_udp_peek",
    "check_udp_connect_filter",
    "check_udp_refused_on_connected_socket",
    "check_udp_readiness",
    "check_udp_recv_empty_would_block",
    "check_udp_broadcast_refused",
    "check_udp_receive_queue_overflow",
    "check_udp_refused_calls",
    "check_unix_stream_connect_accept",
    "check_unix_path_errors",
    "check_unix_abstract_names",
    "check_unix_peer_close",
    "check_unix_socketpair",
    "check_unix_datagram",
    "check_unix_datagram_full_receiver",
    "check_ipv6_tcp",
    "check_ipv6_udp",
]

#: Every check, in a sensible order.
CHECKS: List[Callable[[Any], None]] = [
    check_listen_connect_accept,
    check_small_message_both_ways,
    check_large_transfer_partial_sends,
    check_recv_empty_would_block,
    check_eof_after_peer_close,
    check_half_close,
    check_send_after_shutdown_wr,
    check_reset_on_close_with_unread_data,
    check_send_to_closed_peer,
    check_data_after_shutdown_rdwr_resets,
    check_sends_to_gone_peer_stop,
    check_close_with_linger_zero_resets,
    check_oob,
    check_oob_mark,
    check_urgent_then_reset,
    check_refused_connect,
    check_backlog,
    check_shutdown_while_connecting,
    check_many_connections,
    check_socketpair,
    check_unconnected_socket_errors,
    check_bind_in_use,
    check_argument_errors,
    check_closed_socket,
    check_recv_zero,
    check_msg_peek,
    check_msg_dontwait,
    check_connect_ex_again,
    check_udp_sendto_recvfrom,
    check_udp_boundaries,
    check_udp_truncation,
    check_udp_peek,
    check_udp_connect_filter,
    check_udp_refused_on_connected_socket,
    check_udp_readiness,
    check_udp_recv_empty_would_block,
    check_udp_broadcast_refused,
    check_udp_receive_queue_overflow,
    check_udp_refused_calls,
    check_unix_stream_connect_accept,
    check_unix_path_errors,
    check_unix_abstract_names,
    check_unix_peer_close,
    check_unix_socketpair,
    check_unix_datagram,
    check_unix_datagram_full_receiver,
    check_ipv6_tcp,
    check_ipv6_udp,
]
