#!/usr/bin/env python3
"""Hypothesis examples per second for the echo property, with fault plans
against the same property with no faults.

The property: an echo server on the simulated network sends back what it
reads, and a client that sends a 1 KiB message (drawn by Hypothesis,
``st.binary(min_size=1024, max_size=1024)``; --msg-size changes the size)
gets exactly that message back.
The echo handler is a minimal ``asyncore_sim.dispatcher_with_send`` subclass
(``handle_read``: ``self.send(self.recv(4096))``; the buffer does the rest);
the client is a ``dispatcher_with_send`` too, and closes once it has read
len(message) bytes.  Each example is one ``simulate(plan, seed=0)`` block:
server and client set up, ``sim.run()``, the echo compared.  Variants:

A hyp         ``@given(plan=fault_plans(match=Match(side="server")), msg=...)``:
              send cuts (EWOULDBLOCK too), read cuts and segment delays on the
              echo handler's socket (the strategy's defaults).
B hyp         the same test body with ``plan=st.just(FaultPlan())`` (no
              faults), same message strategy.
A/B direct    the very examples of A hyp / B hyp (collected from the untimed
              warm-up run; derandomized, so every run draws the same ones,
              which the script checks), fed to the same test body in a plain
              ``for`` loop: the simulation's own cost, without Hypothesis.
              (simulate() makes networks that do not register with
              Hypothesis, so the loop does the same work as the body under
              @given; registering costs a gc.collect() per network.)
A/B norec     as direct, with ``simulate(..., record=False)``: no trace
              recorder (the FakeNetwork's own event log stays on, as it is
              by default).
A/B draw      the @given tests of A hyp / B hyp with a body that only
              records the example (no simulation): Hypothesis's own cost,
              measured rather than inferred (it draws the same examples).
M machine     ``protocol_machine`` (the stateful machine) on an echo server
              and client, faults and closes on, run by
              ``run_state_machine_as_test`` with the same settings; its
              examples are the machines the engine built.

Every @given run uses ``settings(max_examples=N, database=None,
derandomize=True, deadline=None, phases=[Phase.generate])`` (nothing fails,
so no shrinking; the too_slow health check is suppressed so a loaded machine
cannot fail the run), N = 200 (50 with --quick).  Derandomized examples
are fixed by the test function, its source included: editing the body or
the strategies draws other examples (the script prints what plans it
drew).  The body counts the examples actually executed; examples/s = count
/ wall time of the whole call (so the @given rows include Hypothesis's
per-run start-up, amortised over N).

Honesty rules (as bench_core.py): every variant runs once untimed as a
warm-up; variants alternate inside each repeat (A, B, ... and the order
rotates from repeat to repeat); ``gc.collect()`` runs before and gc is
disabled during every timed run; results are medians over repeats, ratios
are medians of per-repeat paired ratios (both sides measured in the same
repeat).  The script exits 0 unless the benchmark itself broke (a failed
echo, a run that did not settle).

``--callgrind`` counts instructions per example (valgrind; the @given and
machine rows per ``max_examples`` unit) instead of timing; ``--json PATH``
writes the figures; ``--compare BEFORE AFTER`` runs the script on two
source trees, alternating (``_trees.py``; ``BENCH_TREE=PATH`` measures one
other tree).

Run: ``python benchmarks/bench_hypothesis.py [--quick] [--repeats N]
[--examples N] [--msg-size BYTES] [--callgrind] [--json PATH]
[--compare BEFORE AFTER [--rounds R]]``
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shlex
import socket
import sys
import time

from _trees import compare_trees, use_tree, write_json  # (benchmarks/ is on sys.path)

# Measure the working tree's package, installed or not, or $BENCH_TREE's.
_ROOT = use_tree(__file__)

import hypothesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

import asyncore_sim  # noqa: E402
from asyncore_sim.testing.stateful import protocol_machine  # noqa: E402
from asyncore_sim.testing.strategies import fault_plans  # noqa: E402
from asyncore_sim.testing import simulate  # noqa: E402
from fake_net import FaultPlan, Match  # noqa: E402

from _common import (  # noqa: E402
    callgrind_main,
    callgrind_report,
    fmt_ratio,
    fmt_us,
    median,
    print_table,
    rotated,
)

perf_counter = time.perf_counter

MSG_SIZE = 1024  # default; --msg-size
MATCH = Match(side="server")
PLANS = {
    "A": fault_plans(match=MATCH),
    "B": st.just(FaultPlan()),
}


# ---------------------------------------------------------------------------
# The echo property
# ---------------------------------------------------------------------------


class EchoHandler(asyncore_sim.dispatcher_with_send):
    """Server side of the connection: sends back whatever it reads."""

    def handle_read(self):
        data = self.recv(4096)
        if data:
            self.send(data)  # buffered: dispatcher_with_send finishes it

    def handle_close(self):
        self.close()


class EchoServer(asyncore_sim.dispatcher):
    """Accepts one connection, hands it to an EchoHandler, stops listening."""

    def __init__(self):
        asyncore_sim.dispatcher.__init__(self)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.bind(("127.0.0.1", 0))
        self.listen(1)
        self.address = self.socket.getsockname()

    def handle_accepted(self, sock, addr):
        EchoHandler(sock)
        self.close()


class EchoClient(asyncore_sim.dispatcher_with_send):
    """Sends ``msg``, reads until as many bytes came back, then closes."""

    def __init__(self, address, msg):
        asyncore_sim.dispatcher_with_send.__init__(self)
        self.msg = msg
        self.chunks = []
        self.got = 0
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect(address)

    def handle_connect(self):
        self.send(self.msg)

    def handle_read(self):
        data = self.recv(4096)
        self.chunks.append(data)
        self.got += len(data)
        if self.got >= len(self.msg):
            self.close()

    def handle_close(self):
        self.close()


def echo_property(plan, msg, record):
    """The test body: one simulated run; returns (loop iterations, trace
    events or 0, virtual seconds).  Raises AssertionError on a bad echo."""
    with simulate(plan, seed=0, record=record) as sim:
        server = EchoServer()
        client = EchoClient(server.address, msg)
        iterations = sim.run()
        events = len(sim.trace.events) if record else 0
    got = b"".join(client.chunks)
    if got != msg:
        raise AssertionError(
            "echo mismatch under %r: sent %d bytes, got %d back"
            % (plan, len(msg), len(got))
        )
    return iterations, events, sim.net.now


# ---------------------------------------------------------------------------
# The same echo under protocol_machine (the stateful machine)
# ---------------------------------------------------------------------------


class MachineServer(asyncore_sim.dispatcher):
    """The listening side for protocol_machine: one EchoHandler per accept."""

    def __init__(self, address, map):
        asyncore_sim.dispatcher.__init__(self, map=map)
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(address)
        self.listen(5)

    def handle_accepted(self, sock, addr):
        EchoHandler(sock, map=self._map)


class MachineClient(asyncore_sim.dispatcher_with_send):
    """Sends what the machine gives it; keeps what comes back."""

    def __init__(self, address, map):
        asyncore_sim.dispatcher_with_send.__init__(self, map=map)
        self.received = b""
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect(address)

    def handle_connect(self):
        pass

    def handle_read(self):
        self.received += self.recv(4096)

    def handle_close(self):
        self.close()


def _echo_prefix(run):
    assert run.sent.startswith(run.received), "echoed bytes differ"


def _all_echoed(run):
    if run.intact:
        assert run.received == run.sent, "not everything came back"


def make_machine(n):
    """protocol_machine's echo test (faults and closes on, its defaults),
    run by ``run_state_machine_as_test`` with the @given rows' settings;
    returns (test, sink) as make_given does (the sink's examples count the
    machines built, its stats the steps each took)."""
    sink = {"examples": [], "stats": []}
    machine = protocol_machine(
        server=lambda net, m, address: MachineServer(address, m),
        client=lambda net, m, address: MachineClient(address, m),
        received=lambda c: c.received,
        invariants=[_echo_prefix],
        final=[_all_echoed],
        # A reset that reaches the client while its connect is still
        # unreported makes handle_connect_event raise ECONNRESET into
        # handle_error (as CPython's asyncore does): the machine finds such
        # an example within 200 and would stop the benchmark; this client
        # is measured, not judged, so a handler error is let pass.
        fail_on_handler_error=False,
    )

    class Counted(machine):  # type: ignore[misc, valid-type]
        def __init__(self):
            sink["examples"].append(None)
            super().__init__()

        def teardown(self):
            try:
                super().teardown()
            finally:
                sink["stats"].append((len(self.view.steps), 0, self.view.net.now))

    the_settings = settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )

    def test_machine():
        run_state_machine_as_test(Counted, settings=the_settings)

    return test_machine, sink


# ---------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------

# (key, plans, driver, record)
VARIANTS = [
    ("A hyp", "A", "hypothesis", True),
    ("B hyp", "B", "hypothesis", True),
    ("A direct", "A", "direct", True),
    ("B direct", "B", "direct", True),
    ("A norec", "A", "direct", False),
    ("B norec", "B", "direct", False),
    ("A draw", "A", "draw", None),
    ("B draw", "B", "draw", None),
    ("M machine", "M", "machine", None),
]
NO_STATS = (None, None, None)
PLAN_DESC = {
    "A": "fault_plans(match=Match(side='server'))",
    "B": "st.just(FaultPlan())",
    "M": "protocol_machine(echo server and client, faults and closes on)",
}


def make_given(which, n, msg_size, simulate_it=True):
    """The @given test for plan strategy ``which``; it appends each example
    it runs to ``sink["examples"]`` and its stats to ``sink["stats"]``.
    With ``simulate_it`` False the body does only that (the draw rows)."""
    sink = {"examples": [], "stats": []}

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        # A slow shared machine must not turn the benchmark into an error.
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(plan=PLANS[which], msg=st.binary(min_size=msg_size, max_size=msg_size))
    def test_echo(plan, msg):
        sink["examples"].append((plan, msg))
        sink["stats"].append(
            echo_property(plan, msg, True) if simulate_it else NO_STATS
        )

    return test_echo, sink


def timed(fn):
    gc.collect()
    gc.disable()
    try:
        t0 = perf_counter()
        fn()
        t1 = perf_counter()
    finally:
        gc.enable()
    return t1 - t0


def run_hypothesis(test, sink):
    """One timed @given run; returns (seconds, examples, stats, examples)."""
    sink["examples"] = examples = []
    sink["stats"] = stats = []
    seconds = timed(test)
    return seconds, len(stats), stats, examples


def run_direct(examples, record):
    """The same examples through the test body, no Hypothesis."""
    stats = []

    def body():
        append = stats.append
        for plan, msg in examples:
            append(echo_property(plan, msg, record))

    seconds = timed(body)
    return seconds, len(stats), stats, examples


# ---------------------------------------------------------------------------


def bench(n, repeats, msg_size):
    tests = {w: make_given(w, n, msg_size) for w in PLANS}
    draws = {w: make_given(w, n, msg_size, simulate_it=False) for w in PLANS}
    machine = make_machine(n)

    def run(v, drawn):
        key, which, driver, record = v
        if driver == "machine":
            return run_hypothesis(*machine)
        if driver == "hypothesis":
            return run_hypothesis(*tests[which])
        if driver == "draw":
            return run_hypothesis(*draws[which])
        return run_direct(drawn[which], record)

    # Warm-up: each variant once, untimed.  The @given runs (first) draw
    # the examples the direct rows replay.
    drawn = {}
    stats = {}
    for v in VARIANTS:
        _, count, st_, examples = run(v, drawn)
        if v[2] == "hypothesis":
            drawn[v[1]] = examples
        elif v[2] == "draw" and examples != drawn[v[1]]:
            raise RuntimeError("%s drew other examples than %s hyp" % v[:2])
        stats[v[0]] = st_
    for which, examples in drawn.items():
        if len(examples) < n:
            print(
                "note: variant %s ran %d examples, not %d (Hypothesis stopped "
                "early)" % (which, len(examples), n)
            )

    times = {v[0]: [] for v in VARIANTS}
    counts = {v[0]: [] for v in VARIANTS}
    same = {w: True for w in PLANS}
    t_start = perf_counter()
    for r in range(repeats):
        for v in rotated(VARIANTS, r):
            seconds, count, _, examples = run(v, drawn)
            times[v[0]].append(seconds)
            counts[v[0]].append(count)
            if v[2] in ("hypothesis", "draw") and examples != drawn[v[1]]:
                same[v[1]] = False
        sys.stdout.write(
            "  repeat %d/%d done (%.1f s)\n"
            % (r + 1, repeats, perf_counter() - t_start)
        )
        sys.stdout.flush()
    return times, counts, stats, drawn, same


def per_example(times, counts, key):
    """Seconds per example, one value per repeat."""
    return [t / c for t, c in zip(times[key], counts[key])]


# ---------------------------------------------------------------------------
# Instructions per example, under callgrind
# ---------------------------------------------------------------------------


def _cg_given(which):
    def factory():
        def run(k):
            make_given(which, k, MSG_SIZE)[0]()
        run.warmup = 2
        return run, lambda: None
    return factory


def _cg_direct(which, record):
    def factory():
        test, sink = make_given(which, 50, MSG_SIZE, simulate_it=False)
        test()
        examples = sink["examples"]

        def run(k):
            for i in range(k):
                plan, msg = examples[i % len(examples)]
                echo_property(plan, msg, record)
        return run, lambda: None
    return factory


def _cg_machine():
    def factory():
        def run(k):
            make_machine(k)[0]()
        run.warmup = 2
        return run, lambda: None
    return factory


CG_WORKLOADS = {
    "A hyp": _cg_given("A"),
    "B hyp": _cg_given("B"),
    "A direct": _cg_direct("A", True),
    "B direct": _cg_direct("B", True),
    "A norec": _cg_direct("A", False),
    "B norec": _cg_direct("B", False),
    "M machine": _cg_machine(),
}
CG_ROWS = [("A hyp", None), ("A direct", "A hyp"), ("A norec", "A direct"),
           ("B hyp", None), ("B direct", "B hyp"), ("B norec", "B direct"),
           ("M machine", None)]


def cg_ops(name):
    return 20 if name == "M machine" else 50


def bench_callgrind():
    print("Instructions per example (valgrind --tool=callgrind; an operation "
          "is one example: for")
    print("the @given and machine rows, max_examples=K counts K, whatever the "
          "engine ran):")
    res = callgrind_report(os.path.abspath(__file__), CG_WORKLOADS, CG_ROWS,
                           cg_ops, repeats=3)
    return {"cg %s instr/example" % name: ir for name, (_, ir) in res.items()
            if ir is not None}


def main(argv=None):
    if callgrind_main(CG_WORKLOADS, sys.argv[1:] if argv is None else argv):
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="fast smoke run (well under 20 s)"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repeats per variant (default 9, 3 with --quick)",
    )
    p.add_argument(
        "--examples",
        type=int,
        default=None,
        help="max_examples per @given run (default 200, 50 with --quick)",
    )
    p.add_argument(
        "--msg-size",
        type=int,
        default=MSG_SIZE,
        help="bytes in the message Hypothesis draws (default %d)" % MSG_SIZE,
    )
    p.add_argument(
        "--json", metavar="PATH", help="also write the examples/s figures here"
    )
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="run this script on two source trees, alternating, and report "
        "each figure side by side (see _trees.py)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="with --compare: runs per tree (default 5)",
    )
    p.add_argument(
        "--callgrind",
        action="store_true",
        help="instructions per example under valgrind (only that)",
    )
    args = p.parse_args(argv)
    if args.callgrind and not args.compare:
        figures = bench_callgrind()
        if args.json:
            write_json(args.json, figures)
        return 0
    if args.compare:
        child = ["--repeats", str(args.repeats or 3), "--msg-size", str(args.msg_size)]
        if args.callgrind:
            child.append("--callgrind")
        if args.examples:
            child += ["--examples", str(args.examples)]
        print("bench_hypothesis --compare: examples/s on two trees")
        compare_trees(
            os.path.abspath(__file__),
            args.compare,
            child,
            args.rounds,
            higher_is_better=[key + " examples/s" for key, *_ in VARIANTS],
        )
        return 0
    msg_size = args.msg_size
    repeats = args.repeats or (3 if args.quick else 9)
    n = args.examples or (50 if args.quick else 200)
    if repeats < 1 or n < 1 or msg_size < 1:
        p.error("--repeats, --examples and --msg-size must be at least 1")

    print(
        "bench_hypothesis: Hypothesis examples/s, echo property with and "
        "without fault plans%s" % (" [--quick]" if args.quick else "")
    )
    print("command: %s" % " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv))
    print(
        "python %s on %s, %s CPUs, loadavg %s"
        % (
            platform.python_version(),
            platform.platform(),
            os.cpu_count(),
            " ".join("%.2f" % x for x in os.getloadavg()),
        )
    )
    print(
        "hypothesis %s; asyncore_sim: %s"
        % (hypothesis.__version__, asyncore_sim.__file__)
    )
    print(
        "N = max_examples = %d per @given run, %d repeats, message %d bytes "
        "(st.binary)" % (n, repeats, msg_size)
    )
    print("  A: plan=%s" % PLAN_DESC["A"])
    print("  B: plan=%s" % PLAN_DESC["B"])

    t0 = perf_counter()
    times, counts, stats, drawn, same = bench(n, repeats, msg_size)

    def paired(a, b):
        """Median of per-repeat paired ratios of time per example a/b."""
        xa, xb = per_example(times, counts, a), per_example(times, counts, b)
        return median([x / y for x, y in zip(xa, xb)])

    def sim_share(which):
        """Direct time / @given time for the same examples (paired median)."""
        return paired(which + " direct", which + " hyp")

    print()
    print(
        "Per variant (time per example: median and min-max over repeats; "
        "events, loop iterations"
    )
    print("and virtual seconds are means per example, from the warm-up run):")
    rows = []
    for key, which, driver, record in VARIANTS:
        pe = per_example(times, counts, key)
        med = median(pe)
        s = stats[key]
        sim_ran = record is not None

        def mean(i, fmt, s=s, ok=sim_ran):
            return fmt % (sum(x[i] for x in s) / len(s)) if ok else "-"

        rows.append(
            [
                key,
                which,
                driver,
                {True: "on", False: "off", None: "-"}[record],
                "%d" % median(counts[key]),
                "%.0f" % (1 / med),
                fmt_us(med),
                "%s-%s" % (fmt_us(min(pe)), fmt_us(max(pe))),
                mean(1, "%.1f", ok=bool(record)),
                mean(0, "%.2f"),
                mean(2, "%.3f"),
            ]
        )
    print_table(
        [
            "variant",
            "plans",
            "driver",
            "trace",
            "examples/run",
            "examples/s",
            "us/example",
            "(min-max)",
            "events/ex",
            "iterations/ex",
            "virtual s/ex",
        ],
        rows,
        ["<", "<", "<", "<", ">", ">", ">", ">", ">", ">", ">"],
    )

    print()
    print("Ratios of time per example (median of per-repeat paired ratios):")
    rows = []
    for label, a, b in (
        ("fault plans cost, under Hypothesis", "A hyp", "B hyp"),
        ("fault plans cost, simulation alone", "A direct", "B direct"),
        ("fault plans cost, simulation, no trace", "A norec", "B norec"),
        ("Hypothesis + simulation / simulation (A)", "A hyp", "A direct"),
        ("Hypothesis + simulation / simulation (B)", "B hyp", "B direct"),
        ("recording cost (A)", "A direct", "A norec"),
        ("recording cost (B)", "B direct", "B norec"),
    ):
        rows.append([label, "%s / %s" % (a, b), fmt_ratio(paired(a, b))])
    print_table(["what", "time ratio", "paired"], rows, ["<", "<", ">"])

    print()
    print("Where an example's time goes (medians of per-repeat values, us):")
    rows = []
    for which in ("A", "B"):
        hyp = per_example(times, counts, which + " hyp")
        sim = per_example(times, counts, which + " direct")
        norec = per_example(times, counts, which + " norec")
        draw = per_example(times, counts, which + " draw")
        rows.append(
            [
                which,
                fmt_us(median(hyp)),
                fmt_us(median(sim)),
                fmt_us(median([h - s for h, s in zip(hyp, sim)])),
                fmt_us(median(draw)),
                "%.2f" % median([(d + s) / h for h, s, d in zip(hyp, sim, draw)]),
                "%.0f%%" % (100 * sim_share(which)),
                fmt_us(median([s - r for s, r in zip(sim, norec)])),
                "%.0f%%"
                % (100 * median([(s - r) / h for h, s, r in zip(hyp, sim, norec)])),
            ]
        )
    print_table(
        [
            "plans",
            "@given total",
            "simulation",
            "Hypothesis",
            "draw only",
            "(draw+sim)/total",
            "simulation share",
            "trace recording",
            "recording share",
        ],
        rows,
    )
    print(
        "  (simulation = the direct row; Hypothesis = @given total - simulation"
        " for the same examples:"
    )
    print(
        "   drawing the plan and the message, the engine's bookkeeping, "
        "its per-run start-up;"
    )
    print(
        "   draw only = the draw row, @given with a body that only records "
        "the example, which should"
    )
    print(
        "   come close to it; trace recording = direct - norec, its share is "
        "of the @given total)"
    )

    plans = [plan for plan, _ in drawn["A"]]
    k = len(plans)
    print()
    print(
        "Plans A drew (%d examples): %.0f%% non-empty, mean %.2f faults per "
        "plan; %.0f%% cut sends, %.0f%% cut reads, %.0f%% delay segments"
        % (
            k,
            100 * sum(1 for p_ in plans if p_) / k,
            sum(p_.size for p_ in plans) / k,
            100 * sum(1 for p_ in plans if any(x is not None for x in p_.sends)) / k,
            100 * sum(1 for p_ in plans if any(x is not None for x in p_.reads)) / k,
            100 * sum(1 for p_ in plans if any(p_.delays)) / k,
        )
    )
    for which in PLANS:
        print(
            "  %s: every timed @given run drew the warm-up's examples: %s"
            % (
                which,
                "yes"
                if same[which]
                else "NO (direct rows replay the warm-up's examples)",
            )
        )

    eps = {key: 1 / median(per_example(times, counts, key)) for key, *_ in VARIANTS}
    steps = [x[0] for x in stats["M machine"]]
    print()
    print(
        "protocol_machine (M): %d examples per run, %.1f steps per example "
        "(mean), %.0f examples/s, %.0f steps/s"
        % (
            len(steps),
            sum(steps) / len(steps),
            eps["M machine"],
            eps["M machine"] * sum(steps) / len(steps),
        )
    )
    if args.json:
        write_json(
            args.json, {key + " examples/s": x for key, x in eps.items()}
        )
    print()
    print("For the note:")
    print(
        "  echo property, %d-byte message, N=%d: with fault plans %.0f "
        "examples/s, without faults %.0f" % (msg_size, n, eps["A hyp"], eps["B hyp"])
    )
    print(
        "  examples/s (median); B/A = %.2f (paired).  The simulation alone "
        "(same examples, no" % paired("A hyp", "B hyp")
    )
    print(
        "  Hypothesis) runs %.0f (A) and %.0f (B) examples/s, i.e. %.0f%% and "
        "%.0f%% of the @given time."
        % (
            eps["A direct"],
            eps["B direct"],
            100 * sim_share("A"),
            100 * sim_share("B"),
        )
    )
    print()
    print("total wall time %.1f s" % (perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
