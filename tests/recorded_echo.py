"""A recorded echo on fake_net: the scaffold the recorder's fast-path tests
run their recordings on (a helper module of the tests, not a test)."""

from __future__ import annotations

import asyncore_sim as asyncore
from fake_net import FakeNetwork


def quiet_net(**kw):
    """A fake network that records nothing of its own (the Recorder does)."""
    return FakeNetwork(world=False, record=False, max_steps=1 << 40, **kw)


def echo(rec, handler, rounds, first, later, *, method="select", passes=20,
         extra=None):
    """``rounds`` round trips recorded by ``rec``: a server whose accepted
    connections are ``handler`` instances, a client that sends ``first %
    0``, then ``later % k`` after its k-th reply, and closes after the last;
    ``extra`` map entries (fd -> object) take part in every pass.  Returns
    ``rec``."""

    class Server(asyncore.dispatcher):
        def handle_accepted(self, sock, addr):
            handler(sock, map=self._map)

    class Client(asyncore.dispatcher_with_send):
        done = 0

        def handle_connect(self):
            self.send(first % self.done)

        def handle_read(self):
            self.recv(100)
            self.done += 1
            if self.done == rounds:
                self.close()
            else:
                self.send(later % self.done)

    extra = extra or {}
    with rec:
        m = rec.map()
        server = Server(map=m)
        server.create_socket()
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        client = Client(map=m)
        client.create_socket()
        client.connect(server.socket.getsockname())
        m.update(extra)
        asyncore.loop(timeout=0.01, use_poll=method, map=m, count=passes * rounds)
        for fd in extra:
            del m[fd]
        asyncore.close_all(map=m)
    return rec
