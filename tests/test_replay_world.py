"""A replay is a simulated world: a program whose stdlib client blocks on its
own sockets, reads the clock and resolves names replays from a recording
made on fake_net, byte for byte (asyncore_sim/trace/_replay_world.py)."""

from __future__ import annotations

import os
import select
import smtplib
import socket
import subprocess
import sys
import textwrap
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from asyncore_sim import asyncore
from asyncore_sim.trace import Recorder, ReplayDiverged, ReplayNetwork, Trace
from asyncore_sim.trace import first_difference
from fake_net import FakeNetwork, SimulationError
from fake_net._world import active_world

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "world"))
from smtp_server import SMTPServer  # noqa: E402

SERVER = ("192.0.2.25", 25)
NAMES = {"mail.example": SERVER[0]}


def _message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "alice@example.org"
    msg["To"] = "bob@example.net"
    msg["Subject"] = "note %d" % n
    msg.set_content("".join("line %d of note %d\n" % (i, n) for i in range(20)))
    return msg


def _mail_session(net: Any, mails: int = 2) -> Tuple[Trace, List[Any]]:
    """smtplib sends ``mails`` mails to the asynchat server, both in the
    world of ``net`` (a FakeNetwork, or a ReplayNetwork of its recording)."""
    with Recorder(net) as rec:
        server = SMTPServer(SERVER)
        stamps = []
        try:
            for n in range(mails):
                with smtplib.SMTP("mail.example", 25, timeout=30) as client:
                    client.send_message(_message(n))
                stamps.append((time.time(), time.monotonic()))
            received = [mail[2] for mail in server.received]
        finally:
            server.close()
            asyncore.close_all()
    return rec.trace, [stamps, received]


def test_a_smtplib_session_replays_byte_for_byte():
    recorded, seen = _mail_session(FakeNetwork(names=NAMES, seed=5))
    assert len(seen[1]) == 2 and b"line 19 of note 1" in seen[1][1]
    kinds = {e.kind for e in recorded.events}
    assert {"connect", "send", "recv", "wait", "handle_read"} <= kinds
    replay = ReplayNetwork(Trace.loads(recorded.dumps()), names=NAMES)
    replayed, seen_again = _mail_session(replay)
    assert first_difference(recorded.events, replayed.events) is None
    assert replay.finished
    # The client's clocks were the recording's, and the server got the same mail.
    assert seen_again == seen
    assert socket.socket is not None and active_world() is None


def test_the_replayed_clock_is_the_recordings():
    def program() -> List[float]:
        server = SMTPServer(SERVER)
        try:
            with smtplib.SMTP("mail.example", 25, timeout=30) as client:
                client.noop()
                before = time.monotonic()
                time.sleep(2.5)  # runs the recorded passes of 2.5 s
                client.noop()
            return [before, time.monotonic(), time.time()]
        finally:
            server.close()
            asyncore.close_all()

    with Recorder(FakeNetwork(names=NAMES)) as rec:
        stamps = program()
    assert stamps[1] - stamps[0] == pytest.approx(2.5)
    replay = ReplayNetwork(rec.trace, names=NAMES, epoch=2_000_000_000.0)
    with Recorder(replay) as again:
        replayed = program()
    assert replayed[:2] == stamps[:2]
    assert replayed[2] == pytest.approx(2_000_000_000.0 + stamps[1])
    assert first_difference(rec.trace.events, again.trace.events) is None


def test_a_client_that_departs_from_the_recording_diverges():
    recorded, _ = _mail_session(FakeNetwork(names=NAMES), mails=1)
    replay = ReplayNetwork(recorded, names=NAMES)
    with pytest.raises(ReplayDiverged) as info:
        with Recorder(replay):
            server = SMTPServer(SERVER)
            try:
                with smtplib.SMTP("mail.example", 25, timeout=30) as client:
                    client.ehlo("somebody-else")
            finally:
                server.close()
                asyncore.close_all()
    assert "the program tried to send" in str(info.value)
    assert "somebody-else" in str(info.value)
    # Whatever happened inside, the world is gone and the names are back.
    assert active_world() is None
    assert socket.socket.__module__ == "socket" and select.select.__module__ == "select"


def test_what_a_recording_does_not_hold_is_refused_by_name():
    with Recorder(FakeNetwork()) as rec:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 7))
        listener.listen(1)
    for call, what in [
        (lambda s: select.select([s], [], [], 0), "select()"),
        (lambda s: select.poll(), None),
        (lambda s: os.pipe(), "os.pipe()"),
        (lambda s: socket.socketpair(), "socket.socketpair()"),
    ]:
        replay = ReplayNetwork(rec.trace)
        with Recorder(replay):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 7))
            sock.listen(1)
            if what is None:
                call(sock)  # making a poll object is fine; waiting is not
                poller = select.poll()
                poller.register(sock.fileno(), select.POLLIN)
                with pytest.raises(SimulationError, match=r"poll\(\) inside a replay"):
                    poller.poll(0)
            else:
                with pytest.raises(SimulationError) as info:
                    call(sock)
                assert what in str(info.value) and "inside a replay" in str(info.value)
            sock.close()


def test_replayed_descriptors_are_not_the_process_s_own():
    with Recorder(FakeNetwork()) as rec:
        s = socket.socket()
        s.close()
    with Recorder(ReplayNetwork(rec.trace)):
        s = socket.socket()
        fd = s.fileno()
        s.close()
    assert fd >= 512  # as a FakeNetwork world numbers them
    assert rec.trace.events[0].fd == 3
    with Recorder(ReplayNetwork(rec.trace, world=False)) as rec2:
        assert active_world() is None
        sock = rec2.socket()
        assert sock.fileno() == 3  # no world: the recording's own numbers
        sock.close()


PROGRAM = textwrap.dedent(
    """
    import socket, time
    from asyncore_sim import asynchat, asyncore

    class Echo(asynchat.async_chat):
        def __init__(self, sock):
            super().__init__(sock)
            self.set_terminator(b"\\n")
            self.buf = []
        def collect_incoming_data(self, data):
            self.buf.append(data)
        def found_terminator(self):
            self.push(b"echo:" + b"".join(self.buf) + b"\\n")
            self.buf = []

    class Server(asyncore.dispatcher):
        def __init__(self):
            super().__init__()
            self.create_socket()
            self.bind(("127.0.0.1", 8123))
            self.listen(5)
        def handle_accepted(self, sock, addr):
            Echo(sock)

    server = Server()
    client = socket.create_connection(("localhost", 8123), timeout=5)
    lines = client.makefile("rb")
    for i in range(3):
        client.sendall(b"hello %d\\n" % i)
        print(lines.readline().decode().strip(), round(time.monotonic(), 6))
    print("date", time.strftime("%Y-%m-%d", time.gmtime()))
    client.close()
    server.close()
    """
)


def test_the_command_line_replays_a_world_program(tmp_path):
    prog = tmp_path / "prog.py"
    prog.write_text(PROGRAM)
    trace = tmp_path / "run.trace"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cli = [sys.executable, "-m", "asyncore_sim"]
    rec = subprocess.run(
        cli + ["record", "--network", "fake", "-o", str(trace), str(prog)],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path),
    )
    assert rec.returncode == 0, rec.stderr
    assert "echo:hello 2" in rec.stdout and "date 2001-09-09" in rec.stdout
    rep = subprocess.run(
        cli + ["replay", str(trace)],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(tmp_path),
    )
    assert rep.returncode == 0, rep.stdout + rep.stderr
    assert "identical" in rep.stdout
    # The replayed program printed what the recorded one did.
    assert rep.stdout.startswith(rec.stdout)
