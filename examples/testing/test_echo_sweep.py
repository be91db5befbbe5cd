"""A module to sweep: PyMOTW 004's echo server, as documented and corrected.

    asyncore-sim sweep examples/testing/test_echo_sweep.py --seeds 200

runs both tests under 200 seeds of random fault plans (cuts, delays; no
closes, which an echo cannot survive intact) on all cores.  The documented
handler fails on the seeds whose plan cuts one of its sends or splits the
client's message with a pause (see tests/test_demo_echo_004.py); each
failing seed's trace lands in .asyncore-sim/sweeps/test_echo_sweep/
(``asyncore-sim promote TRACE`` keeps one as a regression case).  The
corrected pair passes every seed.
"""

import importlib.util
import logging
import os
import socket

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, os.pardir, "pymotw", "asyncore_echo_server.py")
with open(
    os.path.join(HERE, os.pardir, os.pardir, "traces", "pymotw", "lorem-004.txt"), "rb"
) as f:
    MESSAGE = f.read()


def load(name):
    spec = importlib.util.spec_from_file_location(name, PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.socket = socket  # the program imports it in its __main__ block
    return module


documented = load("echo_004_documented")
corrected = load("echo_004_corrected")


class Handler(corrected.EchoHandler):
    """Echoes until the client's EOF; closes when everything is echoed."""

    done = False

    def handle_read(self):
        data = self.recv(self.chunk_size)
        if data:
            self.data_to_write.insert(0, data)

    def readable(self):
        return not self.done

    def handle_write(self):
        data = self.data_to_write.pop()
        sent = self.send(data[: self.chunk_size])
        if sent < len(data):
            self.data_to_write.append(data[sent:])  # not self.data.to_write
        if self.done and not self.data_to_write:
            self.close()

    def handle_close(self):  # asyncore calls it at the client's EOF
        self.done = True
        if not self.data_to_write:
            self.close()


class Client(corrected.EchoClient):
    def handle_write(self):
        super().handle_write()
        if not self.to_send:
            self.socket.shutdown(socket.SHUT_WR)  # "that was all"


corrected.EchoHandler = Handler


@pytest.fixture(autouse=True)
def quiet_logs(caplog):
    caplog.set_level(logging.WARNING)


@pytest.mark.sim_faults(closes=False)
def test_documented(sim_net):
    server = documented.EchoServer(("localhost", 0))
    client = documented.EchoClient(*server.address, message=MESSAGE)
    sim_net.run()
    assert b"".join(client.received_data) == MESSAGE


@pytest.mark.sim_faults(closes=False)
def test_corrected(sim_net):
    server = corrected.EchoServer(("localhost", 0))
    client = Client(*server.address, message=MESSAGE)
    sim_net.run()
    assert b"".join(client.received_data) == MESSAGE
