"""``FakeNetwork(allow_real=[...])``: a program in the simulated world may
reach the real services a test names, and nothing else (fake_net/_passthrough.py)."""

from __future__ import annotations

import select
import socket
import threading
from typing import Iterator, List, Tuple

import pytest

from fake_net import FakeNetwork, RealSocketForbidden, SimulationError
from fake_net._world import WORLD_FIRST_FD


@pytest.fixture
def real_upper() -> Iterator[Tuple[int, List[int]]]:
    """A real server on loopback, in a thread: answers each connection's
    first message in capitals.  Yields its port and the count of
    connections it accepted."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(0.05)  # so the thread sees `stop` soon
    accepted: List[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            accepted.append(1)
            with conn:
                conn.settimeout(10)
                data = conn.recv(100)
                if data:
                    conn.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield srv.getsockname()[1], accepted
    finally:
        stop.set()
        srv.close()
        thread.join(10)


def test_an_allowed_address_is_a_real_connection(real_upper) -> None:
    port, accepted = real_upper
    net = FakeNetwork(allow_real=["127.0.0.1:%d" % port])
    with net:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        with s:
            assert s.fileno() < WORLD_FIRST_FD  # the kernel's descriptor
            s.sendall(b"hello")
            r, _, _ = select.select([s], [], [], 10)  # the kernel waits
            assert r == [s]
            assert s.recv(100) == b"HELLO"
            assert "allowed real" in repr(s)
        # Everything else stays simulated.
        other = socket.socket()
        assert other.fileno() >= WORLD_FIRST_FD
        other.close()
    assert accepted == [1]
    assert net.now == 0.0  # real waits do not move virtual time


def test_an_allowed_name_resolves_by_the_real_resolver(real_upper) -> None:
    port, accepted = real_upper
    with FakeNetwork(allow_real=[("localhost", port)]):
        with socket.create_connection(("localhost", port), timeout=10) as s:
            s.sendall(b"abc")
            assert s.makefile("rb").read(3) == b"ABC"
    assert accepted == [1]


def test_an_address_not_allowed_stays_simulated(real_upper) -> None:
    port, accepted = real_upper
    with FakeNetwork(allow_real=["127.0.0.1:%d" % (port + 1 if port < 65535 else 1)]):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1)
    assert accepted == []  # the kernel never saw it


def test_a_wait_that_mixes_real_and_simulated_descriptors_is_an_error(
    real_upper,
) -> None:
    port, _ = real_upper
    with FakeNetwork(allow_real=["127.0.0.1:%d" % port]):
        real = socket.create_connection(("127.0.0.1", port), timeout=10)
        simulated = socket.socket()
        try:
            with pytest.raises(SimulationError, match=r"127\.0\.0\.1:%d" % port):
                select.select([real, simulated], [], [], 0)
        finally:
            real.close()
            simulated.close()


def test_a_bound_socket_cannot_become_real(real_upper) -> None:
    port, accepted = real_upper
    with FakeNetwork(allow_real=["127.0.0.1:%d" % port]):
        with pytest.raises(RealSocketForbidden, match="source_address"):
            socket.create_connection(
                ("127.0.0.1", port), timeout=1, source_address=("192.0.2.1", 0)
            )
    assert accepted == []


@pytest.mark.parametrize(
    "entries, message",
    [
        (["127.0.0.1"], "expected 'host:port'"),
        (["127.0.0.1:http"], "expected 'host:port'"),
        (["127.0.0.1:0"], "port out of range"),
        ([("127.0.0.1", "80")], r"expected \(host, port\)"),
        ([5432], "expected 'host:port' or"),
    ],
)
def test_malformed_allow_real_entries_are_named(entries, message) -> None:
    with pytest.raises(ValueError, match=message):
        FakeNetwork(allow_real=entries)


def test_allow_real_must_be_a_list_not_a_string() -> None:
    with pytest.raises(TypeError, match="list"):
        FakeNetwork(allow_real="127.0.0.1:5432")
