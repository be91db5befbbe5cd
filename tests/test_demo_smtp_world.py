"""Demonstration: the stdlib's blocking ``smtplib`` client, unmodified, sends
mail to an asynchat SMTP server, both inside one simulated world.

The server (``examples/world/smtp_server.py``) is ordinary async_chat code in
the default socket map; the client is ``smtplib.SMTP`` from the standard
library, which opens its socket with ``socket.create_connection`` and reads
through ``makefile()``.  Its blocking calls run the server's map in virtual
time.  Every run is deterministic (run twice: the same trace), and holds
under cut sends and reads on either side; a reset in the middle of DATA
fails that one session and the server goes on serving the next client.
"""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any, List, Tuple

import pytest

from asyncore_sim.testing import simulate
from fake_net import FaultPlan, Match, StreamEnd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "world"))
from smtp_server import SMTPServer  # noqa: E402

SERVER = ("192.0.2.25", 25)
NAMES = {"mail.example": SERVER[0]}


def _message(n: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "alice@example.org"
    msg["To"] = "bob@example.net"
    msg["Subject"] = "note %d" % n
    # Lines that start with a dot exercise the client's dot-stuffing.
    msg.set_content("".join(".line %d of note %d\n" % (i, n) for i in range(60)))
    return msg


def _body(msg: EmailMessage) -> bytes:
    return msg.as_bytes().replace(b"\n", b"\r\n").rstrip(b"\r\n")


def _send(n: int) -> None:
    with smtplib.SMTP("mail.example", 25, timeout=30) as client:
        client.send_message(_message(n))


def _session(
    plan: Any = None, seed: int = 0, clients: int = 2, drawn: bool = False
) -> Tuple[Any, List[Any]]:
    # drawn: the plan came from FaultPlan.random (its unused entries are
    # not the test's doing, so no UnfiredFaultWarning).
    with simulate(plan, seed=seed, drawn=drawn) as sim:
        sim.net.names.update(NAMES)
        server = SMTPServer(SERVER)
        outcomes: List[Any] = []
        for n in range(clients):
            try:
                _send(n)
                outcomes.append("sent")
            except (smtplib.SMTPException, OSError) as exc:
                outcomes.append(type(exc).__name__)
        sim.run()
        received = list(server.received)
        server.close()
    return sim, [outcomes, received]


def _expected(clients: int = 2) -> List[Tuple[str, Tuple[str, ...], bytes]]:
    return [
        ("<alice@example.org>", ("<bob@example.net>",), _body(_message(n)))
        for n in range(clients)
    ]


def test_smtplib_sends_two_mails_to_the_simulated_server() -> None:
    sim, (outcomes, received) = _session()
    assert outcomes == ["sent", "sent"]
    assert received == _expected()


def test_the_same_session_twice_gives_the_same_trace() -> None:
    first, _ = _session(FaultPlan(sends=(1, 3, None, 2), reads=(1, None, 5)))
    second, _ = _session(FaultPlan(sends=(1, 3, None, 2), reads=(1, None, 5)))
    assert first.trace.dumps() == second.trace.dumps()
    assert len(first.trace.events) > 50


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("seed", range(8))
def test_mail_arrives_whole_under_cut_sends_and_reads(side: str, seed: int) -> None:
    plan = FaultPlan.random(seed, closes=False, oob=False, connect=False)
    plan = FaultPlan(
        sends=plan.sends, reads=plan.reads, delays=plan.delays, match=Match(side=side)
    )
    _, (outcomes, received) = _session(plan, seed=seed, drawn=True)
    assert outcomes == ["sent", "sent"], plan
    assert received == _expected(), plan


def test_a_reset_mid_data_fails_that_session_and_the_server_serves_the_next() -> None:
    # The server's side of the first connection is reset after 200 bytes
    # have reached it: inside the DATA of the first mail.
    plan = FaultPlan(end=StreamEnd("reset", 200), match=Match(side="server", conn=0))
    _, (outcomes, received) = _session(plan)
    assert outcomes[0] in ("SMTPServerDisconnected", "ConnectionResetError",
                           "SMTPRecipientsRefused", "SMTPDataError"), outcomes
    assert outcomes[1] == "sent"
    assert received == _expected()[1:]  # only the second mail; nothing half-kept


def test_an_early_close_by_the_client_side_is_survived() -> None:
    plan = FaultPlan(end=StreamEnd("close", 30), match=Match(side="client", conn=0))
    _, (outcomes, received) = _session(plan)
    assert outcomes[0] != "sent" and outcomes[1] == "sent"
    assert received == _expected()[1:]
