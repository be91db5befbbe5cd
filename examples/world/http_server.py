"""A small HTTP/1.0 server on async_chat, for the simulated-world demonstrations.

It answers ``GET`` and ``HEAD`` for the paths in its ``pages`` dict with the
page and a ``Date:`` header from ``email.utils.formatdate`` (which reads
``time.time()``: inside a simulated world, the virtual clock), ``404`` for
other paths, and closes the connection after each response, as HTTP/1.0
does.  It uses only asyncore/asynchat names.
"""

from __future__ import annotations

from email.utils import formatdate
from typing import Any, Dict, List, Tuple

import asyncore_sim as asyncore


class HTTPChannel(asyncore.async_chat):
    def __init__(self, server: "HTTPServer", sock: Any, map: Any) -> None:
        asyncore.async_chat.__init__(self, sock, map=map)
        self.server = server
        self.data: List[bytes] = []
        self.set_terminator(b"\r\n\r\n")

    def collect_incoming_data(self, data: bytes) -> None:
        self.data.append(data)

    def found_terminator(self) -> None:
        head = b"".join(self.data).decode("latin-1")
        request_line = head.split("\r\n", 1)[0]
        method, _, rest = request_line.partition(" ")
        path = rest.split(" ", 1)[0]
        self.server.requests.append((method, path))
        body = self.server.pages.get(path)
        status = "200 OK" if body is not None else "404 Not Found"
        if body is None:
            body = b"no such page\n"
        headers = [
            "HTTP/1.0 %s" % status,
            "Date: %s" % formatdate(usegmt=True),
            "Server: asyncore-sim-demo",
            "Content-Type: text/plain",
            "Content-Length: %d" % len(body),
        ]
        self.push("\r\n".join(headers).encode("latin-1") + b"\r\n\r\n")
        if method != "HEAD":
            self.push(body)
        self.close_when_done()


class HTTPServer(asyncore.dispatcher):
    def __init__(
        self, address: Tuple[str, int], pages: Dict[str, bytes], map: Any = None
    ) -> None:
        asyncore.dispatcher.__init__(self, map=map)
        self.pages = pages
        self.requests: List[Tuple[str, str]] = []
        self.create_socket()
        self.set_reuse_addr()
        self.bind(address)
        self.listen(5)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        HTTPChannel(self, sock, self._map)
