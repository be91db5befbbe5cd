"""Demonstration: unmodified pyftpdlib (its own IOLoop, epoll and sendfile)
serves the stdlib's unmodified ``ftplib`` client inside one simulated world.

pyftpdlib runs its own event loop over ``select.epoll`` and sends files with
``os.sendfile``; in the world both answer from the simulation.  The test
registers one pass of that loop with the network (``net.add_loop``), so the
client's blocking calls run the server.  Login, ``LIST``, ``RETR`` and
``STOR`` of a 1 MiB file in passive mode; under cuts and delays every byte
arrives, and when the data connection is reset mid-transfer the server never
reports a transfer complete that is not.
"""

from __future__ import annotations

import ftplib
import io
import logging
import os
import random
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from asyncore_sim.testing import simulate
from fake_net import FaultPlan, Match, StreamEnd

with warnings.catch_warnings():
    # pyftpdlib 1.5 imports crypt, deprecated since Python 3.11.
    warnings.simplefilter("ignore", DeprecationWarning)
    pyftpdlib = pytest.importorskip("pyftpdlib")
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

PAYLOAD = random.Random(21).randbytes(1 << 20)
ADDRESS = ("192.0.2.21", 21)
FIXED_MTIME = 1_000_000_000


@pytest.fixture(autouse=True)
def _quiet_pyftpdlib() -> Iterator[None]:
    log = logging.getLogger("pyftpdlib")
    level, log.level = log.level, logging.CRITICAL
    yield
    log.setLevel(level)


def _session(
    root: Path, plan: Any = None, seed: int = 0, drawn: bool = False
) -> Dict[str, Any]:
    (root / "big.bin").write_bytes(PAYLOAD)
    os.utime(root / "big.bin", (FIXED_MTIME, FIXED_MTIME))  # a LIST line to compare
    result: Dict[str, Any] = {"replies": []}
    # drawn: the plan came from FaultPlan.random (its unused entries are
    # not the test's doing, so no UnfiredFaultWarning).
    with simulate(plan, seed=seed, drawn=drawn) as sim:
        sim.net.names["ftp.example"] = ADDRESS[0]
        auth = DummyAuthorizer()
        auth.add_user("user", "12345", str(root), perm="elradfmwMT")
        handler = type("Handler", (FTPHandler,), {"authorizer": auth})
        server = FTPServer(ADDRESS, handler)
        sim.net.add_loop(lambda: server.ioloop.loop(timeout=0, blocking=False))
        ftp = ftplib.FTP()
        try:
            ftp.connect("ftp.example", 21, timeout=60)
            ftp.login("user", "12345")
            lines: List[str] = []
            ftp.retrlines("LIST", lines.append)
            result["list"] = lines
            got = io.BytesIO()
            try:
                result["replies"].append(ftp.retrbinary("RETR big.bin", got.write))
            except (ftplib.Error, OSError) as exc:
                # The client saw the data connection fail; what does the
                # server say on the control connection about the transfer?
                try:
                    verdict = ftp.getresp()
                except ftplib.Error as reply:
                    verdict = str(reply)
                result["replies"].append(
                    "RETR failed: %s; server: %s" % (type(exc).__name__, verdict)
                )
            result["retr"] = got.getvalue()
            try:
                result["replies"].append(
                    ftp.storbinary("STOR up.bin", io.BytesIO(PAYLOAD))
                )
            except (ftplib.Error, OSError) as exc:
                result["replies"].append("STOR failed: %s" % type(exc).__name__)
            ftp.quit()
        finally:
            ftp.close()
            server.close_all()
        result["trace"] = sim.trace.dumps()
    up = root / "up.bin"
    result["stored"] = up.read_bytes() if up.exists() else None
    return result


def test_login_list_retr_and_stor_a_mebibyte(tmp_path: Path) -> None:
    result = _session(tmp_path)
    assert len(result["list"]) == 1 and result["list"][0].endswith(" big.bin")
    assert " 1048576 " in result["list"][0]
    assert result["retr"] == PAYLOAD
    assert result["stored"] == PAYLOAD
    assert [r[:3] for r in result["replies"]] == ["226", "226"]


def test_the_same_session_twice_gives_the_same_trace(tmp_path: Path) -> None:
    plan = FaultPlan(sends=(1, None, 7), reads=(3, 5), match=Match(side="client"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _session(tmp_path / "a", plan)
    second = _session(tmp_path / "b", plan)
    assert first["trace"] == second["trace"]
    assert first["trace"].count("\n") > 100


@pytest.mark.parametrize("side", ["client", "server"])
@pytest.mark.parametrize("seed", range(4))
def test_every_byte_arrives_under_cuts_and_delays(
    tmp_path: Path, side: str, seed: int
) -> None:
    drawn = FaultPlan.random(seed, closes=False, oob=False, connect=False)
    plan = FaultPlan(
        sends=drawn.sends,
        reads=drawn.reads,
        delays=drawn.delays,
        match=Match(side=side),
    )
    result = _session(tmp_path, plan, seed=seed, drawn=True)
    assert result["retr"] == PAYLOAD, plan
    assert result["stored"] == PAYLOAD, plan


@pytest.mark.parametrize("after", [1, 65536, 500_000])
def test_a_reset_data_connection_is_never_reported_complete(
    tmp_path: Path, after: int
) -> None:
    # Connection 0 is the control connection, 1 the LIST data connection,
    # 2 the RETR data connection: reset the client's end after `after` bytes.
    plan = FaultPlan(end=StreamEnd("reset", after), match=Match(conn=2, side="client"))
    result = _session(tmp_path, plan)
    retr_reply = result["replies"][0]
    if retr_reply.startswith("226"):
        assert result["retr"] == PAYLOAD  # "complete" must mean complete
    else:
        assert result["retr"] != PAYLOAD
        assert "226" not in retr_reply, retr_reply
        assert "server: 426" in retr_reply, retr_reply
    assert result["stored"] == PAYLOAD  # the server goes on with the session
