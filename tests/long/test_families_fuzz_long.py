"""Differential fuzz of the other families: random datagram and Unix-socket
operation sequences on the real kernel and on fake_net, side by side.

Each sequence picks a setting, makes the same sockets on both networks and
runs the same random operations on both, comparing each result (value, or
errno name) and the readiness of every open socket after it:

* ``unix_dgram``: three AF_UNIX datagram sockets (two bound to paths in a
  fresh temporary folder, one unbound): ``sendto`` (to each other or to a
  missing path), ``connect``, ``send``, ``recvfrom`` (0, MSG_PEEK,
  MSG_DONTWAIT), ``shutdown``, ``close``, unlink of a path, ``getpeername``,
  ``SO_ERROR``; up to a dozen datagrams queued, so a full receiver is hit;
* ``unix_stream``: a connection through a listener on a path: ``send``,
  ``recv`` (0, MSG_PEEK, MSG_DONTWAIT), ``shutdown``, ``close``,
  ``getpeername``, ``SO_ERROR``, ``connect_ex`` again;
* ``udp4`` and ``udp6`` (where ::1 is available): three UDP sockets on
  loopback: ``sendto``, ``connect``, ``send``, ``recvfrom``, ``close``,
  ``SO_ERROR``.

Addresses are compared by name (which socket, or the missing path), never
by port number or folder (DIFFERENCES: ports, unix_socket_files).  A path is
unlinked with ``os.unlink`` on the real side and ``net.unlink`` on the fake
one.  ``ASYNCORE_SIM_FAMILIES_SECONDS`` (default 300) bounds the run in
time, ``ASYNCORE_SIM_FAMILIES_COUNT`` (default 100000) in sequences,
``ASYNCORE_SIM_FAMILIES_SEED`` (default 0) is the first seed;
``ASYNCORE_SIM_FAMILIES_REPORT`` names a JSON file for the report.
``tests/test_fake_families.py`` runs a few seconds of it in every run.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import socket
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

import asyncore_sim  # noqa: F401  (registers the real network's namespace)
import fake_net
import real_net
from fake_net.conformance import _support as S

SETTLE = 0.001
NAMES = ("a", "b", "c")
SETTINGS = ("unix_dgram", "unix_stream", "udp4", "udp6")
RECV_FLAGS = (0, 0, 0, socket.MSG_PEEK, socket.MSG_DONTWAIT)


def ipv6_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def make_ops(rng: random.Random, setting: str, count: int) -> List[Tuple[Any, ...]]:
    ops: List[Tuple[Any, ...]] = []
    stream = setting == "unix_stream"
    sides = ("client", "server") if stream else NAMES
    for _ in range(count):
        side = rng.choice(sides)
        r = rng.random()
        if r < 0.40:
            size = rng.choice((0, 1, 3, 10, 100, 1000))
            if stream:
                ops.append(("send", side, size))
            else:
                dest = rng.choice(NAMES + ("missing",))
                how = "send" if rng.random() < 0.25 else "sendto"
                ops.append((how, side, size, dest))
        elif r < 0.75:
            size = rng.choice((0, 1, 5, 4096))
            ops.append(("recv", side, size, rng.choice(RECV_FLAGS)))
        elif r < 0.80 and not stream:
            ops.append(("connect", side, rng.choice(NAMES + ("missing",))))
        elif r < 0.85:
            how = rng.choice((socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR))
            ops.append(("shutdown", side, how))
        elif r < 0.89:
            ops.append(("close", side))
        elif r < 0.92 and setting == "unix_dgram":
            ops.append(("unlink", rng.choice(("a", "b"))))
        elif r < 0.96:
            ops.append(("so_error", side))
        else:
            ops.append(("getpeername", side))
    return ops


def _errname(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


class Run:
    """One network's side of a sequence."""

    def __init__(self, net: Any, setting: str, folder: str) -> None:
        self.net = net
        self.setting = setting
        self.folder = folder
        self.socks: List[Any] = []
        self.by: Dict[str, Any] = {}
        self.closed: Dict[str, bool] = {}
        self.counter = 0
        self.names: Dict[Any, str] = {}  # address -> label
        if setting == "unix_stream":
            listener = self._new(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(self.path("srv"))
            listener.listen(5)
            client = self._new(socket.AF_UNIX, socket.SOCK_STREAM)
            rc = client.connect_ex(self.path("srv"))
            assert rc == 0, rc
            S.wait_for(net, listener, S.POLLIN)
            server, _ = listener.accept()
            server.setblocking(False)
            self.socks.append(server)
            self.by = {"client": client, "server": server, "listener": listener}
            self.address = self.path("srv")
            return
        family = {
            "unix_dgram": socket.AF_UNIX,
            "udp4": socket.AF_INET,
            "udp6": socket.AF_INET6,
        }[setting]
        for name in NAMES:
            sock = self._new(family, socket.SOCK_DGRAM)
            self.by[name] = sock
            if setting == "unix_dgram":
                if name != "c":
                    sock.bind(self.path(name))
                    self.names[self.path(name)] = name
                self.names[None] = "unbound"
            else:
                sock.bind(("127.0.0.1", 0) if family == socket.AF_INET else ("::1", 0))
                self.names[sock.getsockname()] = name
        self.missing = self._address("missing")

    def _new(self, family: int, type: int) -> Any:
        sock = self.net.socket(family, type)
        sock.setblocking(False)
        self.socks.append(sock)
        return sock

    def path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def _address(self, name: str) -> Any:
        if self.setting == "unix_dgram":
            return self.path(name)
        if name == "missing":
            return ("127.0.0.1", 9) if self.setting == "udp4" else ("::1", 9, 0, 0)
        for addr, label in self.names.items():
            if label == name:
                return addr
        raise AssertionError(name)

    def label(self, addr: Any) -> str:
        if isinstance(addr, tuple) and len(addr) == 4:
            addr = addr if addr in self.names else (addr[0], addr[1], 0, 0)
        return self.names.get(addr, "?")

    def close(self) -> None:
        S._close_all(self.socks)

    def settle(self) -> None:
        poller = self.net.poller("poll")
        try:
            poller.wait([], [], True, [], SETTLE)
        finally:
            poller.close()

    def apply(self, op: Tuple[Any, ...]) -> Any:
        kind = op[0]
        if kind == "unlink":
            try:
                unlink = getattr(self.net, "unlink", None) or os.unlink
                unlink(self.path(op[1]))
                return "ok"
            except OSError as exc:
                return ("error", _errname(exc))
        sock = self.by[op[1]]
        try:
            if kind in ("send", "sendto"):
                self.counter += 1
                data = bytes((self.counter + i) % 251 for i in range(op[2]))
                if kind == "send":
                    return ("sent", sock.send(data))
                return ("sent", sock.sendto(data, self._address(op[3])))
            if kind == "recv":
                if self.setting == "unix_stream":
                    return ("data", sock.recv(op[2], op[3]))
                data, src = sock.recvfrom(op[2], op[3])
                return ("data", data, self.label(src))
            if kind == "connect":
                sock.connect(self._address(op[2]))
                return "ok"
            if kind == "shutdown":
                sock.shutdown(op[2])
                return "ok"
            if kind == "close":
                sock.close()
                self.closed[op[1]] = True
                return "ok"
            if kind == "so_error":
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                return ("so_error", errno.errorcode.get(err, err))
            if kind == "getpeername":
                return ("peer", self.label(sock.getpeername()))
        except OSError as exc:
            return ("error", _errname(exc))
        raise AssertionError(op)

    def readiness(self) -> Dict[str, str]:
        out = {}
        for side, sock in self.by.items():
            if self.closed.get(side):
                continue
            out[side] = S.poll_names(S.revents_now(self.net, sock))
        return out


def run_sequence(seed: int, length: int, setting: str) -> Optional[Dict[str, Any]]:
    """None when both networks agree, else the first divergence."""
    rng = random.Random(seed)
    ops = make_ops(rng, setting, length)
    folders = [tempfile.mkdtemp(prefix="fam-fuzz-") for _ in range(2)]
    real = fake = None
    try:
        real = Run(real_net.RealNetwork(), setting, folders[0])
        # Same paths on both sides, so labels and lengths agree.
        fake = Run(fake_net.FakeNetwork(seed=seed), setting, folders[0])
        for i, op in enumerate(ops):
            got = (real.apply(op), fake.apply(op))
            real.settle()
            fake.settle()
            ready = (real.readiness(), fake.readiness())
            if got[0] != got[1] or ready[0] != ready[1]:
                return {
                    "seed": seed,
                    "setting": setting,
                    "step": i,
                    "ops": [repr(o) for o in ops[: i + 1]],
                    "real": [repr(got[0]), ready[0]],
                    "fake": [repr(got[1]), ready[1]],
                }
        return None
    finally:
        for run in (real, fake):
            if run is not None:
                run.close()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def signature(div: Dict[str, Any]) -> str:
    return "%s %s -> real %s / fake %s" % (
        div["setting"],
        div["ops"][-1],
        div["real"],
        div["fake"],
    )


def fuzz(seconds: float, count: int, seed: int) -> Dict[str, Any]:
    settings = [s for s in SETTINGS if s != "udp6" or ipv6_available()]
    end = time.monotonic() + seconds
    tried = 0
    divergences: List[Dict[str, Any]] = []
    seen: Dict[str, int] = {}
    while tried < count and time.monotonic() < end:
        n = seed + tried
        div = run_sequence(n, 4 + n % 24, settings[n % len(settings)])
        tried += 1
        if div is not None:
            sig = signature(div)
            seen[sig] = seen.get(sig, 0) + 1
            if seen[sig] == 1:
                divergences.append(div)
    return {
        "seconds": seconds,
        "sequences_tried": tried,
        "settings": settings,
        "divergent_sequences": sum(seen.values()),
        "distinct_divergences": len(divergences),
        "first_examples": divergences[:20],
    }


def test_families_differential_fuzz() -> None:
    report = fuzz(
        float(os.environ.get("ASYNCORE_SIM_FAMILIES_SECONDS", "300")),
        int(os.environ.get("ASYNCORE_SIM_FAMILIES_COUNT", "100000")),
        int(os.environ.get("ASYNCORE_SIM_FAMILIES_SEED", "0")),
    )
    print("\nasyncore-sim families fuzz:", json.dumps(report, indent=2))
    path = os.environ.get("ASYNCORE_SIM_FAMILIES_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=2)
    assert not report["first_examples"], "%d sequence(s) diverged; first: %s" % (
        report["divergent_sequences"],
        json.dumps(report["first_examples"][0], indent=2),
    )
