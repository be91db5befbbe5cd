"""Hosts and links (fake_net._hosts): addresses and names per host, latency,
jitter and bandwidth between hosts, partitions and heals for connects, data
and UDP (as verbs and as timed entries), bad input, netstat rows, and the
same seed giving the same run."""

from __future__ import annotations

import errno
import socket

import pytest

from fake_net import FakeNetwork, Host, HostLink, Link

LAT = 0.05


def two_hosts(**kw):
    links = kw.pop("host_links", [HostLink("a", "b", latency=LAT)])
    return FakeNetwork(
        seed=kw.pop("seed", 1),
        hosts=[
            Host("a", ["10.0.0.1"]),
            Host("b", ["10.0.0.2", "10.0.1.2"], names=["srv.example"]),
        ],
        host_links=links,
        **kw,
    )


def advance_to(net, when):
    assert when >= net.now
    net.sleep(when - net.now)


def listener(net, host="b", port=80):
    with net.on_host(host):
        lst = net.socket()
        lst.bind(("", port))
        lst.listen(5)
    return lst


def connect(net, address=("srv.example", 80), host="a"):
    with net.on_host(host):
        c = net.socket()
        c.setblocking(False)
        assert c.connect_ex(address) == errno.EINPROGRESS
    return c


def connected_pair(net):
    lst = listener(net)
    c = connect(net)
    advance_to(net, net.now + 2 * LAT)
    s, _ = lst.accept()
    s.setblocking(False)
    return c, s


# -- addresses and names ----------------------------------------------------


def test_each_host_has_its_addresses_and_names():
    net = two_hosts()
    assert [h.name for h in net.hosts] == ["sim-host", "a", "b"]
    assert net.getaddrinfo("b", 80)[0][4] == ("10.0.0.2", 80)
    assert net.getaddrinfo("srv.example", 80)[0][4] == ("10.0.0.2", 80)
    assert net.getaddrinfo("a", 80)[0][4] == ("10.0.0.1", 80)
    lst = listener(net)
    assert lst.getsockname() == ("10.0.0.2", 80)
    assert net.host_of(lst) == "b"
    c = connect(net)
    assert c.getsockname()[0] == "10.0.0.1"  # the source is host a's address
    assert net.host_of(c) == "a"
    # A socket bound to a host's second address is that host's, context or not.
    other = net.socket()
    other.bind(("10.0.1.2", 81))
    assert net.host_of(other) == "b"
    # Outside any on_host block: the default host, today's addresses.
    plain = net.socket()
    plain.setblocking(False)
    plain.connect_ex(("10.0.0.2", 80))
    assert plain.getsockname()[0] == "192.0.2.1"
    assert net.host_of(plain) == "sim-host"


def test_without_hosts_nothing_changes():
    net = FakeNetwork(seed=1)
    assert net._hosts is None
    assert [h.name for h in net.hosts] == ["sim-host"]
    assert "hosts:" not in net.netstat()
    c = net.socket()
    c.setblocking(False)
    c.connect_ex(("10.0.0.2", 80))
    assert c.getsockname()[0] == "192.0.2.1"


def test_a_declared_host_is_not_reached_through_a_wildcard_elsewhere():
    net = two_hosts()
    lst = net.socket()  # on the default host, on every one of its addresses
    lst.bind(("0.0.0.0", 80))
    lst.listen(5)
    c = connect(net, ("10.0.0.2", 80))  # b has no listener on port 80
    advance_to(net, 1.0)
    assert c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
    ok = connect(net, ("192.0.2.1", 80))
    advance_to(net, 2.0)
    assert ok.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    assert ok.getpeername() == ("192.0.2.1", 80)


# -- latency, jitter, bandwidth -----------------------------------------------


def test_a_connect_takes_a_round_trip_and_data_one_latency():
    net = two_hosts()
    lst = listener(net)
    c = connect(net)
    advance_to(net, 2 * LAT - 0.001)
    assert c.state == "connecting"
    advance_to(net, 2 * LAT)
    assert c.state == "connected"
    s, addr = lst.accept()
    assert addr == c.getsockname()
    c.send(b"hello")
    t = net.now
    advance_to(net, t + LAT - 0.001)
    assert not s.rbuf
    advance_to(net, t + LAT)
    assert s.recv(10) == b"hello"


def test_one_host_has_no_link_latency():
    net = two_hosts()
    lst = listener(net)
    c = connect(net, host="b")  # a client on b itself
    advance_to(net, 0.0)
    assert c.state == "connected"
    s, _ = lst.accept()
    c.send(b"x")
    assert s.recv(1) == b"x"


def test_a_host_link_adds_to_a_connection_link():
    net = two_hosts(links=[Link(port=80, latency=0.5)])
    c, s = connected_pair(net)
    c.send(b"abc")
    t = net.now
    advance_to(net, t + 0.5 + LAT - 0.001)
    assert not s.rbuf
    advance_to(net, t + 0.5 + LAT)
    assert s.recv(10) == b"abc"


def test_bandwidth_makes_a_bulk_transfer_take_time():
    net = two_hosts(host_links=[HostLink("a", "b", latency=LAT, bandwidth=1000)])
    c, s = connected_pair(net)
    t = net.now
    for _ in range(5):
        assert c.send(b"x" * 1000) == 1000  # each takes a second on the wire
    advance_to(net, t + 4 + LAT)
    assert len(s.recv(100000)) == 4000
    advance_to(net, t + 5 + LAT)
    assert len(s.recv(100000)) == 1000


def test_jitter_is_drawn_from_the_seed_and_keeps_tcp_order():
    def run(seed):
        net = two_hosts(
            seed=seed, host_links=[HostLink("a", "b", latency=LAT, jitter=0.5)]
        )
        c, s = connected_pair(net)
        times = []
        for i in range(20):
            c.send(b"%02d" % i)
            t = net.now
            got = b""
            while len(got) < 2:
                advance_to(net, net.now + 0.01)
                try:
                    got += s.recv(10)
                except BlockingIOError:
                    pass
            assert got == b"%02d" % i
            times.append(round(net.now - t, 6))
        return times, net.event_lines()

    a, b, other = run(3), run(3), run(4)
    assert a == b
    assert a[0] != other[0]
    assert all(LAT - 0.01 <= d <= LAT + 0.5 + 0.01 for d in a[0])
    assert len(set(a[0])) > 1  # the delays do vary


# -- partitions: connect ------------------------------------------------------


def test_a_connect_through_a_partition_completes_at_the_first_syn_after_heal():
    net = two_hosts()
    lst = listener(net)
    net.partition("a", "b")
    assert net.partitioned("b", "a")
    c = connect(net)
    advance_to(net, 5.0)
    assert c.state == "connecting"  # SYNs at 0, 1, 3 lost
    net.heal("a", "b")
    advance_to(net, 7.0 + 2 * LAT - 0.001)
    assert c.state == "connecting"
    advance_to(net, 7.0 + 2 * LAT)  # the SYN of t=7 gets through
    assert c.state == "connected"
    assert lst.accept()[1] == c.getsockname()


def test_a_connect_through_a_partition_that_never_heals_times_out_at_127s():
    net = two_hosts()
    listener(net)
    net.partition("a", "b")
    c = connect(net)
    advance_to(net, 126.9)
    assert c.state == "connecting"
    advance_to(net, 127.0)
    assert c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ETIMEDOUT


# -- partitions: data ---------------------------------------------------------


def test_data_waits_out_a_partition_in_order_and_arrives_after_the_heal():
    net = two_hosts()
    c, s = connected_pair(net)
    net.partition("a", "b")
    t = net.now
    c.send(b"one ")
    net.heal("a", "b")  # healed, but "one" waits for its retransmission...
    c.send(b"two ")  # ...and what follows it waits behind it
    net.partition("a", "b")
    advance_to(net, t + 1.0)
    assert not s.rbuf
    net.heal("a", "b")
    c.send(b"three")
    c.close()
    # retransmissions at +0.2, +0.6, +1.4: the first after the heal is +1.4
    advance_to(net, t + 1.4 + LAT - 0.001)
    assert not s.rbuf
    advance_to(net, t + 1.4 + LAT)
    assert s.recv(100) == b"one two three"
    assert s.recv(100) == b""  # the FIN came after the data


def test_the_other_direction_and_other_hosts_are_not_held():
    net = FakeNetwork(
        seed=1,
        hosts=[
            Host("a", ["10.0.0.1"]),
            Host("b", ["10.0.0.2"]),
            Host("c", ["10.0.0.3"]),
        ],
    )
    lst = listener(net, "b")
    c = connect(net, ("10.0.0.2", 80), host="c")
    advance_to(net, 0.0)
    s, _ = lst.accept()
    net.partition("a", "b")
    c.send(b"via c")
    assert s.recv(10) == b"via c"


def test_data_through_a_partition_that_never_heals_times_out():
    net = two_hosts()
    c, s = connected_pair(net)
    net.partition("a", "b")
    t = net.now
    c.send(b"lost")
    # tcp_retries2 = 15: 0.2 + 0.4 + ... doubling, at most 120 s each.
    total = sum(min(0.2 * 2**k, 120.0) for k in range(16))
    advance_to(net, t + total - 0.01)
    assert c.state == "connected"
    advance_to(net, t + total)
    with pytest.raises(OSError) as info:
        c.send(b"more")
    assert info.value.errno == errno.ETIMEDOUT
    assert not s.rbuf  # the peer heard nothing


# -- partitions: UDP ----------------------------------------------------------


def test_udp_across_a_partition_is_lost_and_arrives_after_heal():
    net = two_hosts()
    with net.on_host("b"):
        server = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        server.bind(("", 161))
    with net.on_host("a"):
        client = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.setblocking(False)
        client.sendto(b"before", ("srv.example", 161))
    assert client.getsockname()[0] == "10.0.0.1"
    advance_to(net, LAT)
    data, src = server.recvfrom(100)
    assert (data, src) == (b"before", client.getsockname())
    net.partition("a", "b")
    client.sendto(b"during", ("10.0.0.2", 161))
    advance_to(net, 10.0)
    assert not server.queue
    assert any(" lost " in line for line in net.event_lines())
    net.heal("a", "b")
    client.sendto(b"after", ("10.0.0.2", 161))
    advance_to(net, 10.0 + LAT)
    assert server.recvfrom(100)[0] == b"after"


# -- timed entries -------------------------------------------------------------


def test_timed_partition_and_heal():
    net = two_hosts()
    c, s = connected_pair(net)
    net.at(1.0, "partition", "a", "b")
    net.at(3.0, "heal", "b", "a")
    advance_to(net, 0.5)
    assert not net.partitioned("a", "b")
    advance_to(net, 1.0)
    assert net.partitioned("a", "b")
    c.send(b"held")  # at 1.0: retransmitted 1.2, 1.6, 2.4, 4.0
    advance_to(net, 3.5)
    assert net.partitioned("a", "b") is False
    assert not s.rbuf
    advance_to(net, 4.0 + LAT)
    assert s.recv(10) == b"held"
    kinds = [line.split()[1] for line in net.event_lines()]
    assert "partition" in kinds and "heal" in kinds


# -- bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda net: net.partition("a", "nowhere"), "b="),
        (lambda net: net.partition("nowhere", "b"), "a="),
        (lambda net: net.partition("a", "a"), "b="),
        (lambda net: net.heal("a", "a"), "b="),
        (lambda net: net.at(1.0, "explode", "a", "b"), "verb="),
        (lambda net: net.at(-1.0, "partition", "a", "b"), "when="),
        (lambda net: net.at(1.0, "partition", "a", "zz"), "b="),
        (lambda net: net.at(1.0, "partition", "a"), "two hosts"),
        (lambda net: net.on_host("zz").__enter__(), "name="),
        (lambda net: net.add_host("a", ["10.9.9.9"]), "name="),
        (lambda net: net.add_host("c", ["10.0.0.1"]), "ips="),
        (lambda net: net.add_host("c", ["127.0.0.2"]), "ips="),
        (lambda net: net.add_host("c", ["not-an-ip"]), "ips="),
        (lambda net: net.add_host("c", []), "ips="),
        (lambda net: net.add_host("c d", ["10.9.9.9"]), "name="),
        (lambda net: net.add_host_link("a", "zz"), "b="),
        (lambda net: net.add_host_link("a", "a"), "b="),
        (lambda net: net.add_host_link("a", "b", latency=-1), "latency="),
        (lambda net: net.add_host_link("a", "b", jitter=float("nan")), "jitter="),
        (lambda net: net.add_host_link("a", "b", bandwidth=0), "bandwidth="),
        (lambda net: net.crash("sim-host"), "host="),
        (lambda net: net.crash("zz"), "host="),
        (lambda net: net.restart("zz"), "host="),
        (lambda net: net.at(1.0, "crash", "a", "b"), "one host"),
        (lambda net: net.at(1.0, "restart", "nowhere"), "host="),
    ],
)
def test_bad_input_is_a_value_error_naming_the_argument(make, argument):
    net = two_hosts()
    with pytest.raises(ValueError) as info:
        make(net)
    assert argument in str(info.value)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="host_links="):
        FakeNetwork(host_links=HostLink("a", "b"))
    with pytest.raises(ValueError, match=r"HostLink\(a=...\): unknown host"):
        FakeNetwork(host_links=[HostLink("x", "y")])
    with pytest.raises(ValueError, match="default host"):
        FakeNetwork(hosts=[Host("sim-host", ["10.0.0.9"])])
    with pytest.raises(ValueError, match="hosts="):
        FakeNetwork(hosts=["a"])


# -- netstat and determinism ----------------------------------------------------


def test_netstat_shows_hosts_and_links():
    net = two_hosts()
    c, s = connected_pair(net)
    net.partition("a", "b")
    c.send(b"x")
    lines = net.netstat().splitlines()
    i = lines.index("hosts:")
    assert lines[i + 1].split() == [
        "host",
        "sim-host",
        "127.0.0.1,192.0.2.1",
        "(default)",
        "fds",
        "-",
    ]
    assert lines[i + 2].split() == ["host", "a", "10.0.0.1", "fds", str(c.fd)]
    assert lines[i + 3].split() == [
        "host",
        "b",
        "10.0.0.2,10.0.1.2",
        "fds",
        "%d,%d" % (3, s.fd),
    ]
    assert lines[i + 4].split() == [
        "link",
        "a<->b",
        "latency",
        "0.05s",
        "PARTITIONED",
        "(1",
        "direction(s)",
        "retransmitting)",
    ]
    net.heal("a", "b")
    advance_to(net, net.now + 1)
    assert net.netstat().splitlines()[i + 4].split()[-1] == "up"


def _scripted_run(seed):
    net = two_hosts(
        seed=seed, host_links=[HostLink("a", "b", latency=LAT, jitter=0.02)]
    )
    net.at(0.3, "partition", "a", "b")
    net.at(2.0, "heal", "a", "b")
    c, s = connected_pair(net)
    for i in range(10):
        c.send(b"segment %d;" % i)
        advance_to(net, net.now + 0.1)
    advance_to(net, 10.0)
    assert s.recv(1000) == b"".join(b"segment %d;" % i for i in range(10))
    return net.event_lines()


def test_same_seed_same_run():
    assert _scripted_run(5) == _scripted_run(5)
    assert _scripted_run(5) != _scripted_run(6)


# -- hold and release --------------------------------------------------------------


def test_a_held_link_delays_everything_and_loses_nothing():
    net = two_hosts()
    c, s = connected_pair(net)
    with net.on_host("b"):
        udp_b = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp_b.bind(("", 161))
    with net.on_host("a"):
        udp_a = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp_a.sendto(b"warm-up", ("b", 161))
    advance_to(net, net.now + LAT)
    assert udp_b.recvfrom(100)[0] == b"warm-up"
    late_listener = net.socket()
    late_listener.bind(("10.0.1.2", 80))
    late_listener.listen(1)
    net.hold("a", "b")
    late = connect(net, ("10.0.1.2", 80))  # its SYN waits too
    c.send(b"first ")
    c.send(b"second")
    udp_a.sendto(b"datagram", ("b", 161))
    advance_to(net, 300.0)  # far longer than any retransmission timer
    assert not s.rbuf and not udp_b.queue and late.state == "connecting"
    assert c.state == "connected"  # nothing timed out: a hold loses nothing
    net.release("a", "b")
    advance_to(net, 300.0 + LAT)
    assert s.recv(100) == b"first second"
    assert udp_b.recvfrom(100)[0] == b"datagram"
    advance_to(net, 300.0 + 2 * LAT)
    assert late.state == "connected"
    assert [line.split()[1] for line in net.event_lines()].count("release") == 1


def test_timed_hold_and_release_and_a_partition_meanwhile():
    net = two_hosts()
    c, s = connected_pair(net)
    t = net.now
    net.at(t + 1.0, "hold", "a", "b")
    net.at(t + 2.0, "partition", "a", "b")
    net.at(t + 3.0, "release", "a", "b")  # released into the partition...
    net.at(t + 4.0, "heal", "a", "b")
    advance_to(net, t + 1.5)
    c.send(b"x")
    advance_to(net, t + 3.5)
    assert not s.rbuf
    # ...so from t+3 it is retransmitted: +3.2, +3.6, +4.4 (after the heal).
    advance_to(net, t + 4.4 + LAT - 0.001)
    assert not s.rbuf
    advance_to(net, t + 4.4 + LAT)
    assert s.recv(10) == b"x"


# -- crash and restart -------------------------------------------------------------


def test_a_crashed_host_vanishes_and_answers_with_rst_once_restarted():
    net = two_hosts()
    c, s = connected_pair(net)
    lst_fd = 3
    assert s.fd in net.open_fds() and lst_fd in net.open_fds()
    net.crash("b")
    assert s.fd is None and lst_fd not in net.open_fds()
    assert "DOWN" in net.netstat()
    advance_to(net, net.now + 5)
    with pytest.raises(BlockingIOError):
        c.recv(10)  # the peer saw nothing: no FIN, no RST
    t = net.now
    c.send(b"anyone?")  # retransmitted at +0.2, +0.6, +1.4, +3.0
    advance_to(net, t + 1.0)
    net.restart("b")
    advance_to(net, t + 1.4 + 2 * LAT - 0.001)
    assert c.state == "connected"
    advance_to(net, t + 1.4 + 2 * LAT)  # the RST answering the retransmission
    with pytest.raises(ConnectionResetError):
        c.send(b"again")
    # The port is free again: a new server on b.
    lst = listener(net)
    fresh = connect(net)
    advance_to(net, net.now + 2 * LAT)
    assert lst.accept()[1] == fresh.getsockname()


def test_a_peer_of_a_host_that_stays_down_times_out():
    net = two_hosts()
    c, s = connected_pair(net)
    net.at(net.now + 0.5, "crash", "b")
    advance_to(net, net.now + 0.5)
    assert s.fd is None
    t = net.now
    c.send(b"x")
    total = sum(min(0.2 * 2**k, 120.0) for k in range(16))
    advance_to(net, t + total)
    with pytest.raises(TimeoutError):
        c.recv(10)


def test_connects_and_datagrams_to_a_crashed_host():
    net = two_hosts()
    listener(net)
    with net.on_host("b"):
        udp_b = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp_b.bind(("", 161))
    net.crash("b")
    assert udp_b.fd is None
    with net.on_host("a"):
        udp_a = net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp_a.sendto(b"hello?", ("b", 161))
    assert any(" lost " in line for line in net.event_lines())
    c = connect(net)  # SYNs at 0, 1, 3 lost
    net.at(5.0, "restart", "b")
    advance_to(net, 7.0 + 2 * LAT)  # the SYN of t=7: nobody listens now
    assert c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED
    net.crash("b")
    never = connect(net)
    advance_to(net, net.now + 127)
    assert never.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ETIMEDOUT


def test_on_host_without_hosts_knows_the_default_host_only():
    net = FakeNetwork(seed=1)
    with net.on_host("sim-host") as host:
        assert host.ips == ("192.0.2.1",)
    with pytest.raises(ValueError, match="name="):
        with net.on_host("client"):
            pass
    assert net._hosts is None  # asking made no table: nothing changed


def test_a_scripted_server_on_a_host_is_behind_its_link():
    net = two_hosts()
    remote = net.add_remote("srv.example", 80)
    remote.at(1.0, "send", b"banner")
    net.at(0.5, "partition", "a", "b")
    net.at(3.0, "heal", "a", "b")
    c = connect(net)
    advance_to(net, 2 * LAT)
    assert c.state == "connected"
    # The banner, sent at 1.0 into the partition, is retransmitted at
    # 1.2, 1.6, 2.4, 4.0: the first after the heal.
    advance_to(net, 4.0 + LAT - 0.001)
    assert not c.rbuf
    advance_to(net, 4.0 + LAT)
    assert c.recv(100) == b"banner"


def test_an_aborted_connect_leaves_no_held_syn_behind():
    net = two_hosts()
    lst = listener(net)
    net.hold("a", "b")
    c = connect(net)
    c.shutdown(socket.SHUT_RDWR)  # Linux: the connect is aborted
    assert c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNRESET
    # The same socket connects again, elsewhere (held too): only that SYN goes.
    assert c.connect_ex(("10.0.1.2", 80)) == errno.EINPROGRESS
    net.release("a", "b")
    advance_to(net, 1.0)
    assert not lst.accept_q  # the aborted attempt's SYN did not go
    assert c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == errno.ECONNREFUSED


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
def test_the_default_hosts_wildcard_does_not_take_a_declared_hosts_port(kind):
    net = two_hosts()
    everywhere = net.socket(socket.AF_INET, kind)
    everywhere.bind(("0.0.0.0", 80))  # the default host, all its addresses
    with net.on_host("b"):
        mine = net.socket(socket.AF_INET, kind)
        mine.bind(("", 80))  # b's own port 80: no conflict
    assert mine.getsockname() == ("10.0.0.2", 80)
    again = net.socket(socket.AF_INET, kind)
    with pytest.raises(OSError) as info:
        again.bind(("192.0.2.1", 80))  # but on the default host it is taken
    assert info.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError) as info:
        again.bind(("10.0.0.2", 80))
    assert info.value.errno == errno.EADDRINUSE


def test_a_link_redeclared_later_keeps_its_connections_and_partition():
    net = two_hosts()
    c, s = connected_pair(net)
    net.partition("a", "b")
    net.add_host_link("b", "a", latency=0.5)  # the other way round: same link
    assert net.partitioned("a", "b")
    net.heal("a", "b")
    c.send(b"slow")
    t = net.now
    advance_to(net, t + 0.5 - 0.001)
    assert not s.rbuf
    advance_to(net, t + 0.5)
    assert s.recv(10) == b"slow"
    with pytest.raises(ValueError, match="declared twice"):
        FakeNetwork(
            hosts=[Host("a", ["10.0.0.1"]), Host("b", ["10.0.0.2"])],
            host_links=[HostLink("a", "b"), HostLink("b", "a", latency=1)],
        )
