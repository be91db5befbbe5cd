"""A small SMTP server on async_chat, for the simulated-world demonstrations.

The stdlib's ``smtpd`` is gone from Python 3.12 on; this is just enough of
RFC 5321 for ``smtplib.SMTP.sendmail``: greeting, ``HELO``/``EHLO``,
``MAIL FROM``, ``RCPT TO``, ``DATA`` (with dot-unstuffing), ``RSET``,
``NOOP``, ``QUIT``.  Received mail goes to ``server.received`` as
``(mail_from, rcpt_tos, data)`` tuples.  It uses only asyncore/asynchat
names, so it runs on ``asyncore_sim`` over real sockets or on fake_net.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

import asyncore_sim as asyncore


class SMTPChannel(asyncore.async_chat):
    def __init__(self, server: "SMTPServer", sock: Any, map: Any) -> None:
        asyncore.async_chat.__init__(self, sock, map=map)
        self.server = server
        self.lines: List[bytes] = []
        self.in_data = False
        self.mail_from: Optional[str] = None
        self.rcpt_tos: List[str] = []
        self.set_terminator(b"\r\n")
        self.reply("220 %s ESMTP asyncore-sim demo" % server.name)

    def reply(self, line: str) -> None:
        self.push(line.encode("ascii") + b"\r\n")

    def collect_incoming_data(self, data: bytes) -> None:
        self.lines.append(data)

    def found_terminator(self) -> None:
        line = b"".join(self.lines)
        self.lines = []
        if self.in_data:
            self.end_of_data(line)
            return
        verb, _, arg = line.decode("ascii", "replace").partition(" ")
        verb = verb.upper()
        if verb in ("HELO", "EHLO"):
            self.reply("250 %s" % self.server.name)
        elif verb == "MAIL" and arg.upper().startswith("FROM:"):
            self.mail_from = arg[5:].strip()
            self.reply("250 OK")
        elif verb == "RCPT" and arg.upper().startswith("TO:"):
            if self.mail_from is None:
                self.reply("503 need MAIL first")
            else:
                self.rcpt_tos.append(arg[3:].strip())
                self.reply("250 OK")
        elif verb == "DATA":
            if not self.rcpt_tos:
                self.reply("503 need RCPT first")
            else:
                self.in_data = True
                self.set_terminator(b"\r\n.\r\n")
                self.reply("354 end data with <CR><LF>.<CR><LF>")
        elif verb == "RSET":
            self.mail_from, self.rcpt_tos = None, []
            self.reply("250 OK")
        elif verb == "NOOP":
            self.reply("250 OK")
        elif verb == "QUIT":
            self.reply("221 bye")
            self.close_when_done()
        else:
            self.reply("500 unknown command %r" % verb)

    def end_of_data(self, data: bytes) -> None:
        # Undo the sender's dot-stuffing (RFC 5321 4.5.2).
        lines = [x[1:] if x.startswith(b".") else x for x in data.split(b"\r\n")]
        assert self.mail_from is not None
        self.server.received.append(
            (self.mail_from, tuple(self.rcpt_tos), b"\r\n".join(lines))
        )
        self.mail_from, self.rcpt_tos, self.in_data = None, [], False
        self.set_terminator(b"\r\n")
        self.reply("250 OK: queued")


class SMTPServer(asyncore.dispatcher):
    def __init__(
        self, address: Tuple[str, int], map: Any = None, name: str = "mail.example"
    ) -> None:
        asyncore.dispatcher.__init__(self, map=map)
        self.name = name
        self.received: List[Tuple[str, Tuple[str, ...], bytes]] = []
        self.channels = 0
        self.create_socket()
        self.set_reuse_addr()
        self.bind(address)
        self.listen(5)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        self.channels += 1
        SMTPChannel(self, sock, self._map)
