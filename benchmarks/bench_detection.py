#!/usr/bin/env python3
"""How often each tool finds the classic writer bug: a handler that ignores
``send()``'s return value and drops what the kernel did not accept.

The program under test is a line server on ``asyncore.dispatcher`` whose
``handle_write`` does ``self.send(self.out); self.out = b""``, and a client
that sends a few requests and checks every reply.  For each tool, the figure
is how many independent tries found the bug:

* ``sweep``: ``FaultPlan.random(seed)`` for seeds 0..49 (what ``asyncore-sim
  sweep`` and ``--sim-faults`` draw), one run each;
* ``fault_plans``: a Hypothesis ``@given(fault_plans())`` property at the
  default budget (100 examples), --tries times with different seeds;
* ``protocol_machine``: the stateful machine at the default budget (100
  examples), --tries times.

    python benchmarks/bench_detection.py            # ~1 minute
    python benchmarks/bench_detection.py --tries 5  # quicker

Deterministic: every run is seeded (network, plans and Hypothesis).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import hypothesis.core  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis.stateful import run_state_machine_as_test  # noqa: E402

import asyncore_sim as asyncore  # noqa: E402
from asyncore_sim.testing.stateful import protocol_machine  # noqa: E402
from asyncore_sim.testing.strategies import fault_plans  # noqa: E402
from fake_net import FakeNetwork, FaultPlan  # noqa: E402

ADDRESS = ("127.0.0.1", 7000)
REQUESTS = [b"SET alpha 1\n", b"GET alpha\n", b"SET beta a-longer-value-here\n"]


class LossyHandler(asyncore.dispatcher):
    """Answers each line with its upper-cased copy; drops short sends."""

    def __init__(self, sock: Any, map: Any) -> None:
        super().__init__(sock, map=map)
        self.out = b""

    def handle_read(self) -> None:
        self.out += self.recv(4096).upper()

    def writable(self) -> bool:
        return bool(self.out)

    def handle_write(self) -> None:
        self.send(self.out)  # the bug: what send() did not take is lost
        self.out = b""

    def handle_close(self) -> None:
        self.close()


class Server(asyncore.dispatcher):
    def __init__(self, address: Tuple[str, int], map: Any) -> None:
        super().__init__(map=map)
        self.create_socket()
        self.set_reuse_addr()
        self.bind(address)
        self.listen(5)

    def handle_accepted(self, sock: Any, addr: Any) -> None:
        LossyHandler(sock, self._map)


class Client(asyncore.dispatcher_with_send):
    def __init__(self, address: Tuple[str, int], map: Any) -> None:
        super().__init__(map=map)
        self.create_socket()
        self.connect(address)
        self.received = b""

    def handle_connect(self) -> None:
        pass

    def handle_read(self) -> None:
        self.received += self.recv(4096)

    def handle_close(self) -> None:
        self.close()


def one_run(plan: FaultPlan, net_seed: int = 0) -> bool:
    """True if the run shows the bug (a reply lost or garbled)."""
    net = FakeNetwork(seed=net_seed, faults=plan.rules(), idle_limit=1 << 30)
    m = net.map()
    Server(ADDRESS, m)
    client = Client(ADDRESS, m)
    for r in REQUESTS:
        client.send(r)
    asyncore.loop(timeout=1.0, map=m, count=300)
    asyncore.close_all(m)
    if plan.end is not None:
        return False  # an early close or reset may lose replies legitimately
    return client.received != b"".join(REQUESTS).upper()


def _found(e: BaseException) -> int:
    """1 if Hypothesis reported the bug (one failure, or several grouped);
    anything else is the harness failing, which must not count."""
    leaves = getattr(e, "exceptions", None)
    if leaves is not None:
        if all(isinstance(x, AssertionError) for x in leaves):
            return 1
    elif isinstance(e, AssertionError):
        return 1
    raise e


def sweep(n: int = 50) -> int:
    return sum(one_run(FaultPlan.random(s, closes=False)) for s in range(n))


def by_fault_plans(tries: int) -> int:
    found = 0
    for t in range(tries):

        @seed(t)
        @settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
        @given(plan=fault_plans())
        def prop(plan: FaultPlan) -> None:
            assert not one_run(plan)

        try:
            prop()
        except Exception as e:
            found += _found(e)
    return found


def _echo_server(net: Any, m: Any, address: Tuple[str, int]) -> Any:
    return Server(address, m)


def _echo_client(net: Any, m: Any, address: Tuple[str, int]) -> Any:
    return Client(address, m)


def _all_echoed(run: Any) -> None:
    if run.intact:
        assert run.received == run.sent.upper(), "replies differ"


def _prefix(run: Any) -> None:
    assert run.sent.upper().startswith(run.received), "replies are not a prefix"


def by_machine(tries: int) -> int:
    Machine = protocol_machine(
        server=_echo_server,
        client=_echo_client,
        received=lambda c: c.received,
        invariants=[_prefix],
        final=[_all_echoed],
        address=ADDRESS,
    )
    found = 0
    for t in range(tries):
        # The seed of a run, as pytest's --hypothesis-seed sets it.
        hypothesis.core.global_force_seed = t
        try:
            run_state_machine_as_test(
                Machine,
                settings=settings(
                    database=None,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                ),
            )
        except Exception as e:
            found += _found(e)
        finally:
            hypothesis.core.global_force_seed = None
    return found


def main(argv: List[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tries", type=int, default=10)
    ap.add_argument("--seeds", type=int, default=50)
    args = ap.parse_args(argv)
    rows = [
        ("sweep: FaultPlan.random, seeds 0..%d" % (args.seeds - 1),
         sweep(args.seeds), args.seeds),
        ("fault_plans(), 100 examples", by_fault_plans(args.tries), args.tries),
        ("protocol_machine, 100 examples", by_machine(args.tries), args.tries),
    ]
    width = max(len(r[0]) for r in rows)
    print("%-*s  found" % (width, "tool"))
    for name, found, of in rows:
        print("%-*s  %d of %d" % (width, name, found, of))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
