"""Legacy code runs unchanged: the 3.11 stdlib's smtpd on asyncore_sim.

In a subprocess, the interpreter's own asyncore/asynchat are made
unimportable (as on Python 3.12+), ``asyncore_sim.compat.install()`` is
called, and the unmodified ``smtpd`` module serves one mail over loopback to
``smtplib`` running in a thread.  The same script on the interpreter's own
asyncore (where it still has one) must receive the same mail.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    r'''
    import importlib.abc, sys, threading, warnings

    class Block(importlib.abc.MetaPathFinder):
        """Python 3.12+ has no asyncore/asynchat: refuse the stdlib's."""
        def find_spec(self, name, path=None, target=None):
            if name in ("asyncore", "asynchat"):
                raise ImportError("no stdlib %s here (as on 3.12+)" % name)
            return None

    SIM = sys.argv[1] == "sim"
    if SIM:
        sys.meta_path.insert(0, Block())
        try:
            import asyncore
        except ImportError as exc:
            print("blocked:", exc)
        import asyncore_sim.compat
        asyncore_sim.compat.install()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import smtpd
        except ImportError:
            print("no smtpd in this interpreter")
            sys.exit(3)
        import asyncore
    import smtplib
    if SIM:
        assert smtpd.asyncore is asyncore_sim.asyncore, smtpd.asyncore
        assert smtpd.asynchat is asyncore_sim.asynchat, smtpd.asynchat

    received = []

    class Server(smtpd.SMTPServer):
        def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
            received.append((mailfrom, tuple(rcpttos), data))

    server = Server(("127.0.0.1", 0), None, decode_data=False)
    port = server.socket.getsockname()[1]
    errors = []

    def client():
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.sendmail("a@example.org", ["b@example.org"],
                              b"Subject: hi\r\n\r\nIt's not dead, it's sleeping!\r\n")
        except Exception as exc:  # reported by the main thread
            errors.append(repr(exc))

    t = threading.Thread(target=client)
    t.start()
    for _ in range(400):
        asyncore.loop(timeout=0.02, count=1)
        if not t.is_alive():
            break
    t.join(10)
    asyncore.close_all()
    print("errors:", errors)
    for mailfrom, rcpttos, data in received:
        print("mail:", mailfrom, rcpttos, data)
    '''
)


def _run(which: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    proc = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", SCRIPT, which],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(ROOT),
    )
    if proc.returncode == 3:
        # Python 3.12 removed smtpd, and CPython 3.11's smtpd.py cannot be
        # borrowed unmodified: its warnings._deprecated(remove=(3, 12)) call
        # raises RuntimeError on 3.12+.
        pytest.skip("this interpreter has no smtpd module (removed in Python "
                    "3.12; 3.11's smtpd.py refuses to import on 3.12+)")
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.network
def test_stdlib_smtpd_serves_mail_on_asyncore_sim() -> None:
    sim = _run("sim").stdout.splitlines()
    assert sim[0].startswith("blocked: no stdlib asyncore here")
    assert "errors: []" in sim
    mails = [line for line in sim if line.startswith("mail: ")]
    # smtpd joins the DATA lines with "\n" (its own doing, not ours).
    assert mails == [
        "mail: a@example.org ('b@example.org',) "
        "b\"Subject: hi\\n\\nIt's not dead, it's sleeping!\""
    ]
    stdlib = _run("stdlib").stdout.splitlines()
    assert [line for line in stdlib if line.startswith("mail: ")] == mails
