"""``asyncore-sim show`` pages in a real browser: headless Chromium loads each
page from disk, and the test reads back the DOM the page's script built.

Checked: the page renders without a script error (the page writes any error
into ``#status`` through ``window.onerror``; a page with broken data shows
that this is caught), the documented HTTP run's diagram shows its two
connections and every one of their segments, two traces open at their first
difference, and the page stays responsive (it times its own redraws,
search and expanding with ``#bench``).  A screenshot of the HTTP run is kept
under ``.asyncore-sim/artifacts/show/`` (git-ignored) and the test's tmp dir.

Chromium: the one on PATH (``chromium``, Debian's package); where there is
none, the fixture installs it with ``apt-get install -y chromium`` only when
running as root with apt-get and ``CI`` set, and otherwise skips saying how
to get it.  Every browser run is bounded by a timeout and killed with its
children if it overruns.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from html.parser import HTMLParser
from typing import Dict, List, Optional, Tuple

import pytest

from asyncore_sim.cli import main
from asyncore_sim.trace import Trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYMOTW = os.path.join(ROOT, "traces", "pymotw")
ARTIFACTS = os.path.join(ROOT, ".asyncore-sim", "artifacts", "show")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
RUN_TIMEOUT = 60  # seconds for one page load
INSTALL_TIMEOUT = 900


def _find_browser() -> Optional[str]:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _find_browser()
    if found:
        return found
    geteuid = getattr(os, "geteuid", None)
    root = geteuid is not None and geteuid() == 0
    if os.environ.get("CI") and root and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "install", "-y", "chromium"],
                    ["apt-get", "update"],
                    ["apt-get", "install", "-y", "chromium"]):
            try:
                done = subprocess.run(cmd, env=env, capture_output=True, text=True,
                                      timeout=INSTALL_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.skip("apt-get did not finish within %d s" % INSTALL_TIMEOUT)
            if cmd[1] == "install" and done.returncode == 0:
                break
        found = _find_browser()
        if found:
            return found
        pytest.skip("chromium could not be installed: %s"
                    % (done.stderr.strip().splitlines() or ["apt-get failed"])[-1])
    pytest.skip(
        "no Chromium on PATH: install Debian's chromium (apt-get install -y "
        "chromium, as root), or run the tests as root with CI=1 set and apt-get "
        "available to let this test install it"
    )


def browse(browser: str, url: str, *flags: str) -> Tuple[str, str]:
    """Load ``url`` headless; (stdout, stderr).  Killed, children and all,
    after RUN_TIMEOUT seconds."""
    profile = tempfile.mkdtemp(prefix="show-browser-")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--user-data-dir=" + profile,
           *flags, url]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail("chromium did not finish %s within %d s" % (url, RUN_TIMEOUT))
        return out, err
    finally:
        shutil.rmtree(profile, ignore_errors=True)


class Dom(HTMLParser):
    """Each start tag of a dumped DOM: (tag, attributes, text that follows)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: List[Tuple[str, Dict[str, str], List[str]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}, []))

    def handle_data(self, data):
        if self.tags:
            self.tags[-1][2].append(data)

    def find(self, tag: str, **want: str) -> List[Tuple[Dict[str, str], str]]:
        out = []
        for t, attrs, text in self.tags:
            if t == tag and all(attrs.get(k.replace("_", "-")) == v
                                for k, v in want.items()):
                out.append((attrs, "".join(text)))
        return out

    def groups(self, cls: str, text_cls: str) -> List[Tuple[Dict[str, str], str]]:
        """(attributes, words) of each ``<g>`` whose class starts with
        ``cls``: the words of the first ``<text>`` in it of class
        ``text_cls`` (a lifeline's name, an arrow's label)."""
        out = []
        for k, (t, attrs, _) in enumerate(self.tags):
            if t == "g" and attrs.get("class", "").startswith(cls):
                words = next("".join(text) for t2, a2, text in self.tags[k + 1:]
                             if t2 == "text" and a2.get("class") == text_cls)
                out.append((attrs, words))
        return out

    def status(self) -> Dict[str, str]:
        (found,) = [a for t, a, _ in self.tags if a.get("id") == "status"]
        return found


def page_of(tmp_path, *traces: str, name: str = "page.html") -> str:
    out = os.path.join(str(tmp_path), name)
    assert main(["show", *traces, "-o", out]) == 0
    return out


def url(path: str, fragment: str = "") -> str:
    return "file://" + os.path.abspath(path) + fragment


def _sizes(trace: Trace, fd: int) -> List[int]:
    """The byte count of each send and recv that moved bytes on ``fd``."""
    return [
        len(e.result[-1]) for e in trace.events
        if e.fd == fd and e.kind in ("send", "recv") and e.result
        and isinstance(e.result[-1], bytes) and e.result[-1]
    ]


def _segments(trace: Trace, fd: int) -> int:
    return len(_sizes(trace, fd))


def test_the_http_run_shows_two_connections_and_their_segments_responsively(
    chromium, tmp_path, capsys
):
    path = os.path.join(PYMOTW, "001-http-client.trace")
    page = page_of(tmp_path, path)
    capsys.readouterr()
    # (#bench: the page also times itself, then goes back to its first view.)
    out, err = browse(chromium, url(page, "#bench"), "--window-size=1400,4000",
                      "--dump-dom")
    dom = Dom(out)
    status = dom.status()
    assert status.get("data-state") == "ready", (status, err[-2000:])
    assert "Uncaught" not in err
    (count,) = dom.find("span", **{"class": "nconn"})
    assert count[0]["data-connections"] == "2"
    trace = Trace.load(path)
    heads = dom.groups("head lane", "name")
    assert len(heads) == 4
    for conn in ("0", "1"):
        mine = [(a, name) for a, name in heads if a["data-conn"] == conn]
        roles = sorted(a["class"].split()[-1] for a, _ in mine)
        assert roles == ["client", "peer"], mine
        client_head = next(n for a, n in mine if a["class"].endswith("client"))
        fd = int(client_head.split()[1])  # "fd 4 HttpClient"
        drawn = [(a, label) for a, label in dom.groups("arrow", "al data")
                 if a["data-conn"] == conn and a["data-kind"] == "data"]
        assert len(drawn) == _segments(trace, fd) > 1
        sizes = [int(label.split()[0]) for _, label in drawn]
        assert sizes == _sizes(trace, fd)  # in trace order
        (connect,) = dom.find("g", **{"class": "arrow", "data-conn": conn,
                                      "data-kind": "connect"})
    # The whole run fits the window: every row was drawn.
    assert int(status["data-drawn"]) == int(status["data-entries"])
    # Responsive: the page's own figures (ms), generous bounds for a shared
    # machine (benchmarks/bench_show.py measures a 100,000-event page).
    assert float(status["data-render-max-ms"]) < 250, status
    assert float(status["data-search-ms"]) < 500, status
    assert float(status["data-expand-ms"]) < 500, status
    assert float(status["data-load-ms"]) < 5000, status


def test_a_screenshot_of_the_http_run_is_kept(chromium, tmp_path, capsys):
    page = page_of(tmp_path, os.path.join(PYMOTW, "001-http-client.trace"))
    capsys.readouterr()
    shot = os.path.join(str(tmp_path), "http-client.png")
    browse(chromium, url(page), "--window-size=1400,1000", "--screenshot=" + shot,
           "--hide-scrollbars")
    with open(shot, "rb") as f:
        png = f.read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    os.makedirs(ARTIFACTS, exist_ok=True)
    shutil.copyfile(shot, os.path.join(ARTIFACTS, "001-http-client.png"))


def test_a_script_error_is_caught_and_shown(chromium, tmp_path, capsys):
    page = page_of(tmp_path, os.path.join(PYMOTW, "001-echo-server.trace"))
    capsys.readouterr()
    with open(page, encoding="utf-8") as f:
        text = f.read()
    broken = os.path.join(str(tmp_path), "broken.html")
    with open(broken, "w", encoding="utf-8") as f:
        f.write(text.replace('"lanes":', '"lanez":', 1))
    out, _ = browse(chromium, url(broken), "--window-size=1000,800", "--dump-dom")
    status = Dom(out).status()
    assert status.get("data-state") == "error"
    (found,) = [t for a, t in Dom(out).find("div", id="status")]
    assert found.startswith("script error:")


def test_two_traces_open_at_their_first_difference(chromium, tmp_path, capsys):
    a = os.path.join(PYMOTW, "001-loop.trace")
    b = os.path.join(PYMOTW, "004-loop.trace")
    page = page_of(tmp_path, a, b)
    capsys.readouterr()
    out, err = browse(chromium, url(page), "--window-size=1400,1000", "--dump-dom")
    dom = Dom(out)
    assert dom.status().get("data-state") == "ready", err[-2000:]
    assert dom.find("rect", **{"class": "band diff"})  # drawn in view
    (detail,) = [t for a, t in dom.find("div", id="detail")]
    (link,) = [a for a, _ in dom.find("a", **{"data-trace": "0"})]
    assert detail.startswith("row %s," % link["data-row"])  # it jumped there
    assert len(dom.find("button")) >= 3  # two tabs and "first difference"
