"""Where the injected faults of a run fired, found from its trace.

A trace holds what the program saw, not the network's own fault log, so the
faults are found the way fake_net's injector applied them: from the rules
the run had installed (:func:`rules_of_trace`: a ``# plan:`` header's
:class:`fake_net.FaultPlan`, or the ``fault`` lines of the ``# scenario:``
that made it), walked over the events with the injector's own counting:

* cut scripts (``CutSends``, ``CutReads``) and ``DelaySegments`` count the
  calls on matching sockets in trace order (a send that moved bytes, a recv
  that returned more than one byte; where the trace cannot tell, a refused
  send or a one-byte read counts when the script says it was cut); a cut
  fires where it made the call return less;
* stream rules (``InjectOOB``, ``PeerClose``, ``PeerReset``,
  ``PendingError``) fire once per connection end, at the send (or, from a
  remote peer, the recv) that brings the victim's incoming stream to the
  rule's byte offset, or at the first event at or after its time;
* connect rules at the connects they match (a new connect, in order);
  ``InterruptWait`` at each wait that failed with EINTR; ``ExceptionalFile``
  at each file opened;
* ``times`` caps each rule, the first rule of a site that gives a verdict
  wins, and ``Match`` is read as the network reads it (``side``, ``conn``,
  the ports, ``fd``: a simulated world's 512 is the trace's 3).

What cannot be found this way is said, not guessed: a rule that draws from
the seed (``probability`` < 1, a size left to chance), ``SpuriousReady``, and
a send/recv/delay rule that also matches sockets the trace does not hold
(a scripted remote peer's).  Those are listed as not located.

Rules (deterministic): a pure function of the events and the rules; no
clock, no random source, no iteration over sets.
"""

from __future__ import annotations

import heapq
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

from asyncore_sim.trace import Trace, TraceEvent
from asyncore_sim.trace._values import Err

__all__ = ["locate_faults", "rules_of_trace"]

#: fake_net numbers a simulated world's descriptors from here (the trace
#: renumbers them from 3).
WORLD_FIRST_FD = 512

Located = Tuple[int, int, str, str]  # (event, lane, rule, words)
Unlocated = Tuple[str, str]  # (rule, words)


def rules_of_trace(
    trace: Trace, path: Optional[str] = None
) -> Tuple[List[Any], List[str], List[str]]:
    """(rules, their descriptions, notes) for the run that left ``trace``
    (read from ``path``): its ``# plan:``, or its ``# scenario:``'s faults."""
    notes: List[str] = []
    rules: List[Any] = []
    words: List[str] = []
    plan_text = trace.header.get("plan")
    if plan_text:
        from fake_net import FaultPlan

        try:
            plan = FaultPlan.from_json(plan_text)
        except (ValueError, TypeError) as e:
            notes.append("the '# plan:' header is not a fault plan (%s)" % e)
        else:
            rules.extend(plan.rules())
            words.extend(plan.describe())
    scenario = trace.header.get("scenario")
    if scenario and path is not None:
        from asyncore_sim.trace._format import program_path
        from asyncore_sim.trace.scenario import ScenarioError, load_scenario

        where = program_path(path, scenario)
        if not os.path.isfile(where):
            notes.append(
                "the scenario %s is not there: its faults are not shown" % scenario
            )
        else:
            try:
                scn = load_scenario(where)
            except (ScenarioError, OSError) as e:
                notes.append("the scenario %s cannot be read: %s" % (scenario, e))
            else:
                rules.extend(scn.faults)
                words.extend(repr(f) for f in scn.faults)
    return rules, words, notes


def _g(x: float) -> str:
    return "%g" % x


class _Locator:
    def __init__(self, events: Sequence[TraceEvent], scan: Any, rules: List[Any]):
        from fake_net import _faults

        self.F = _faults
        self.events = events
        self.scan = scan
        self.rules = rules
        self.uses = [0] * len(rules)
        self.calls = [0] * len(rules)
        self.fired: Dict[Tuple[int, int, str], bool] = {}
        self.found: List[Located] = []
        self.unlocated: List[Unlocated] = []
        self.reached: Dict[Tuple[int, int], bool] = {}  # (rule, entry) fired
        self.cut: Dict[int, bool] = {}  # victim lanes a PeerClose cut
        self.dead: Dict[int, bool] = {}  # lanes whose peer is gone
        self.site_blocked: Dict[str, str] = {}
        self.unfollowed: List[int] = []  # rules check_rules gave up on
        self.once: Dict[int, bool] = {}  # Delay: noted once
        self.delay = 0.0  # the delay the current send's segment was given
        self.arrived: Dict[int, int] = {}  # lane -> bytes of its stream arrived
        self.read: Dict[int, int] = {}  # lane -> bytes it has read
        self.urgent: Dict[int, int] = {}  # lane -> offset of its urgent mark

    # matching ---------------------------------------------------------------

    def lane_matches(self, match: Any, lane: int, port: Optional[int] = None) -> bool:
        if lane < 0:
            return False
        ln = self.scan.lanes[lane]
        if match.fd is not None:
            fd = match.fd
            if fd >= WORLD_FIRST_FD:
                fd -= WORLD_FIRST_FD - 3
            if ln.fd != fd:
                return False
        if port is not None and match.port is not None:
            if match.port != port:
                return False
        elif match.port is not None and match.port not in ln.ports():
            return False
        if match.conn is not None:
            c = ln.conn
            if port is not None or c < 0 or self.scan.conns[c].number != match.conn:
                return False
        if match.side is not None and ln.side != match.side:
            return False
        return True

    def applies(self, index: int, lane: int, port: Optional[int] = None) -> bool:
        rule = self.rules[index]
        if rule.times is not None and self.uses[index] >= rule.times:
            return False
        return self.lane_matches(rule.match, lane, port)

    def fire(self, index: int, event: int, lane: int, words: str) -> None:
        self.uses[index] += 1
        self.found.append((event, lane, type(self.rules[index]).__name__, words))

    # which rules can be followed ------------------------------------------

    def check_rules(self) -> None:
        F = self.F
        peers = [ln for ln in self.scan.lanes if ln.role == "peer"]
        for index, rule in enumerate(self.rules):
            site = rule.site
            name = type(rule).__name__
            why = ""
            if rule.probability < 1.0:
                why = "it fires with probability %g, drawn from the seed" % (
                    rule.probability)
            elif isinstance(rule, (F.PartialSend, F.ShortRead)) and (
                rule.max_bytes is None
            ):
                why = "its sizes are drawn from the seed"
            elif isinstance(rule, F.SpuriousReady):
                why = "a spurious readiness answer looks like any other"
            elif site == "datagram":
                why = "datagram faults are not followed in diagrams yet"
            elif site in ("send", "recv", "deliver") and any(
                self.lane_matches(rule.match, ln.index) for ln in peers
            ):
                why = "it also applies to remote peers, whose calls the trace " \
                      "does not hold"
            if why:
                self.unlocated.append((name, "%r: not located (%s)" % (rule, why)))
                self.unfollowed.append(index)
                self.site_blocked.setdefault(site, name)

    # the walk ---------------------------------------------------------------

    def run(self) -> None:
        self.check_rules()
        scan = self.scan
        deliveries: Dict[int, List[Tuple[int, int, int]]] = {}
        for ev_i, victim, start, end in scan.deliveries:
            deliveries.setdefault(ev_i, []).append((scan.victim(victim), start, end))
        timed = [
            (rule.at_time, index)
            for index, rule in enumerate(self.rules)
            if rule.site == "stream" and getattr(rule, "at_time", None) is not None
        ]
        timed.sort()
        closed_by: Dict[int, int] = {}
        # Segments in flight: (arrival, order, victim, start, end).
        flight: List[Tuple[float, int, int, int, int]] = []
        last_arrival: Dict[int, float] = {}
        order = 0
        for i, ev in enumerate(self.events):
            while timed and ev.time >= timed[0][0]:
                self.timed_stream(timed.pop(0)[1], i)
            while flight and flight[0][0] <= ev.time:
                _, _, victim, start, end = heapq.heappop(flight)
                if victim not in closed_by:
                    self.deliver(i, victim, start, end)
            kind = ev.kind
            lane = scan.lane_of[i]
            self.delay = 0.0
            if kind == "send":
                self.on_send(i, ev, lane)
            elif kind == "recv":
                self.on_recv(i, ev, lane)
            elif kind == "connect":
                self.on_connect(i, ev, lane)
            elif kind == "wait":
                self.on_wait(i, ev)
            elif kind == "file":
                self.on_file(i, lane)
            elif kind == "close" and lane >= 0:
                closed_by[lane] = i
                other = scan.other_end(lane)
                if other >= 0:
                    self.dead[other] = True
            for victim, start, end in deliveries.get(i, ()):
                if victim < 0 or victim in closed_by:
                    continue
                if kind != "send":  # a connection made, or bytes from a peer
                    self.deliver(i, victim, start, end)
                    continue
                if self.dead.get(lane):
                    continue  # sent to a peer that is gone: it never arrives
                # As the network does: a segment arrives after its delay, and
                # never before one sent earlier on the same connection.
                # (Rounded as the trace rounds times: 0.25 + 0.035 is 0.285.)
                arrival = max(ev.time + self.delay, last_arrival.get(lane, 0.0))
                arrival = round(arrival, 6)
                last_arrival[lane] = arrival
                if arrival <= ev.time and not any(f[2] == victim for f in flight):
                    self.deliver(i, victim, start, end)
                else:
                    heapq.heappush(flight, (arrival, order, victim, start, end))
                    order += 1
        self.not_reached()

    def site_rules(self, site: str) -> List[int]:
        if site in self.site_blocked:
            return []
        return [k for k, r in enumerate(self.rules) if r.site == site]

    def on_send(self, i: int, ev: TraceEvent, lane: int) -> None:
        F = self.F
        r = ev.result or ()
        offered = int(ev.args[0])
        refused = len(r) == 1 and isinstance(r[0], Err)
        if refused and str(r[0]) not in ("EAGAIN", "EWOULDBLOCK"):
            return
        if offered <= 0 or lane < 0 or self.dead.get(lane):
            return
        sent = 0 if refused else int(r[0])
        for k in self.site_rules("send"):
            rule = self.rules[k]
            if not self.applies(k, lane):
                continue
            cap: Optional[int] = None
            if isinstance(rule, F.CutSends):
                call = self.calls[k]
                cap = rule.sizes[call] if call < len(rule.sizes) else None
                if refused and cap != 0:
                    return  # a full buffer: the rules were never asked
                self.calls[k] += 1
                if cap is not None and cap == sent < offered:
                    self.reached[(k, call)] = True
                    label = "send #%d%s" % (call + 1, rule.match.words())
                else:
                    cap = None
            elif isinstance(rule, F.PartialSend):
                cap = rule.max_bytes
                if cap is not None and cap == sent < offered:
                    label = "a send%s" % rule.match.words()
                else:
                    cap = None
            if cap is not None:
                what = ("fails with EWOULDBLOCK" if cap == 0
                        else "accepts at most %d" % cap)
                self.fire(k, i, lane, "%s %s" % (label, what))
                break
            if refused:
                return
        if sent > 0:
            self.on_segment(i, lane)

    def on_segment(self, i: int, lane: int) -> None:
        F = self.F
        for k in self.site_rules("deliver"):
            rule = self.rules[k]
            if not self.applies(k, lane):
                continue
            if isinstance(rule, F.DelaySegments):
                call = self.calls[k]
                self.calls[k] += 1
                if call < len(rule.seconds):
                    self.uses[k] += 1
                    self.delay = float(rule.seconds[call])
                    if rule.seconds[call]:
                        self.reached[(k, call)] = True
                        self.found.append((i, lane, "DelaySegments",
                                           "segment #%d%s is delayed %gs" % (
                                               call + 1, rule.match.words(),
                                               rule.seconds[call])))
                    return
            elif isinstance(rule, F.Delay):
                self.uses[k] += 1
                self.delay = rule.seconds + rule.jitter / 2  # (its draw is unknown)
                if not self.once.get(k):
                    self.once[k] = True
                    jitter = " (+ up to %gs)" % rule.jitter if rule.jitter else ""
                    self.found.append((i, lane, "Delay",
                                       "segments%s from here on are delayed %gs%s"
                                       % (rule.match.words(), rule.seconds, jitter)))
                return

    def available(self, lane: int) -> Optional[int]:
        """Bytes waiting in ``lane``'s receive buffer (up to an urgent mark),
        as the deliveries so far say; None where the trace cannot tell (the
        peer is not in the trace)."""
        other = self.scan.other_end(lane)
        if other < 0 or self.scan.lanes[other].role == "peer":
            return None
        have = self.arrived.get(lane, 0) - self.read.get(lane, 0)
        mark = self.urgent.get(lane)
        if mark is not None and mark >= self.read.get(lane, 0):
            have = min(have, mark - self.read.get(lane, 0))
        return have

    def on_recv(self, i: int, ev: TraceEvent, lane: int) -> None:
        F = self.F
        data = (ev.result or (None,))[0]
        if len(ev.args) > 1 or not isinstance(data, bytes) or not data or lane < 0:
            return
        got, size = len(data), int(ev.args[0])
        have = self.available(lane)
        self.read[lane] = self.read.get(lane, 0) + got
        # What the network's recv computed before asking the rules: the
        # bytes it could return.  Known where the peer is in the trace; else
        # a read that returned exactly a cap is taken to be cut by it.
        could = None if have is None or have < got else min(have, size)
        for k in self.site_rules("recv"):
            rule = self.rules[k]
            if not self.applies(k, lane):
                continue
            cap: Optional[int] = None
            if isinstance(rule, F.CutReads):
                call = self.calls[k]
                cap = rule.sizes[call] if call < len(rule.sizes) else None
                asked = could > 1 if could is not None else (got > 1 or cap == 1)
                if not asked:
                    return  # a one-byte read never asks the rules
                self.calls[k] += 1
                if cap is None or cap != got or not (
                    cap < could if could is not None else got < size
                ):
                    continue
                self.reached[(k, call)] = True
                label = "recv #%d%s" % (call + 1, rule.match.words())
            elif isinstance(rule, F.ShortRead):
                cap = max(1, rule.max_bytes)
                if cap != got or not (cap < could if could is not None else got < size):
                    continue
                label = "a recv%s" % rule.match.words()
            if cap is not None:
                self.fire(k, i, lane, "%s returns at most %d" % (label, cap))
                return

    def on_connect(self, i: int, ev: TraceEvent, lane: int) -> None:
        F = self.F
        if lane < 0:
            return
        ln = self.scan.lanes[lane]
        if ln.conn < 0:
            return
        conn = self.scan.conns[ln.conn]
        if conn.started != i or conn.client != lane:
            return
        port = int(ev.args[0][1])
        for k in self.site_rules("connect"):
            rule = self.rules[k]
            if not self.applies(k, lane, port):
                continue
            target = conn.target
            if isinstance(rule, F.RefuseConnect):
                words = "the connect to %s is refused (ECONNREFUSED)" % target
            elif isinstance(rule, F.ConnectTimeout):
                words = "the connect to %s never completes: ETIMEDOUT after %gs" % (
                    target, rule.after)
            else:
                words = "the connect to %s takes %gs" % (target, rule.seconds)
            self.fire(k, i, lane, words)
            return

    def on_wait(self, i: int, ev: TraceEvent) -> None:
        r = ev.result or ()
        if not (len(r) == 1 and isinstance(r[0], Err) and str(r[0]) == "EINTR"):
            return
        for k in self.site_rules("interrupt"):
            rule = self.rules[k]
            if rule.times is not None and self.uses[k] >= rule.times:
                continue
            self.fire(k, i, -1, "the readiness call is interrupted (EINTR), as by "
                                "a signal")
            return

    def on_file(self, i: int, lane: int) -> None:
        for k, rule in enumerate(self.rules):
            if isinstance(rule, self.F.ExceptionalFile):
                words = "this file polls with an exceptional condition (select's " \
                        "third list)"
                if rule.no_getsockopt:
                    words += ", and its file_wrapper has no getsockopt()"
                self.fire(k, i, lane, words)

    def stream_words(self, rule: Any, at: str) -> str:
        F = self.F
        where = rule.match.words()
        if isinstance(rule, F.InjectOOB):
            return "an urgent byte %r arrives%s %s" % (rule.byte, where, at)
        if isinstance(rule, F.PeerClose):
            return "the peer closes%s %s" % (where, at)
        if isinstance(rule, F.PeerReset):
            return "a reset%s %s: ECONNRESET" % (where, at)
        import errno as _errno

        name = _errno.errorcode.get(rule.errno, str(rule.errno))
        return "an error (%s) appears in SO_ERROR%s %s" % (name, where, at)

    def claim(self, k: int, victim: int) -> bool:
        ln = self.scan.lanes[victim]
        conn = self.scan.conns[ln.conn].number if ln.conn >= 0 else -1
        key = (k, conn, ln.side or "")
        if key in self.fired or not self.applies(k, victim):
            return False
        self.fired[key] = True
        return True

    def deliver(self, i: int, victim: int, start: int, end: int) -> None:
        """Bytes ``start``..``end`` of ``victim``'s stream arrive at event ``i``."""
        if self.cut.get(victim):
            return
        self.arrived[victim] = max(self.arrived.get(victim, 0), end)
        if "stream" not in self.site_blocked:
            self.stream(i, victim, start, end)

    def stream(self, i: int, victim: int, start: int, end: int) -> None:
        for k in self.site_rules("stream"):
            rule = self.rules[k]
            offset = getattr(rule, "after_bytes", None)
            if offset is None or not (start <= offset <= end):
                continue
            if not self.claim(k, victim):
                continue
            self.fire(k, i, victim, self.stream_words(rule, "after byte %d" % offset))
            self.stream_effect(rule, victim)
            if self.cut.get(victim):
                self.arrived[victim] = offset  # the rest is lost
            elif isinstance(rule, self.F.InjectOOB):
                self.urgent[victim] = offset
            if self.cut.get(victim):
                return
            self.stream(i, victim, offset, end)
            return

    def stream_effect(self, rule: Any, victim: int) -> None:
        """As the network's: a close cuts the victim's stream and leaves both
        ends sending to a gone peer; a reset ends both ends' streams."""
        other = self.scan.other_end(victim)
        if isinstance(rule, self.F.PeerClose):
            self.cut[victim] = True
            self.dead[victim] = True
            if other >= 0:
                self.dead[other] = True
        elif isinstance(rule, self.F.PeerReset):
            for lane in (victim, other):
                if lane >= 0:
                    self.cut[lane] = True
                    self.dead[lane] = True

    def timed_stream(self, k: int, i: int) -> None:
        rule = self.rules[k]
        scan = self.scan
        for conn in sorted(scan.conns, key=lambda c: c.number):
            if conn.number < 0:
                continue
            for victim in (conn.client, conn.server):
                if victim < 0 or scan.lanes[victim].first_row > i:
                    continue
                last = scan.lanes[victim].last_row
                if 0 <= last < i or not self.claim(k, victim):
                    continue
                words = self.stream_words(rule, "at %gs" % rule.at_time)
                self.fire(k, i, victim, words)
                self.stream_effect(rule, victim)

    def not_reached(self) -> None:
        F = self.F
        for k, rule in enumerate(self.rules):
            name = type(rule).__name__
            if k in self.unfollowed:
                continue
            if rule.site in self.site_blocked:
                self.unlocated.append(
                    (name, "%r: not located (another %s rule cannot be followed)"
                     % (rule, rule.site)))
                continue
            if isinstance(rule, (F.CutSends, F.CutReads, F.DelaySegments)):
                if isinstance(rule, F.DelaySegments):
                    script: Sequence[Any] = rule.seconds
                    what = "segment"
                else:
                    script = rule.sizes
                    what = "send" if isinstance(rule, F.CutSends) else "recv"
                for call, v in enumerate(script):
                    if v is None or (what == "segment" and not v):
                        continue
                    if not self.reached.get((k, call)):
                        self.unlocated.append(
                            (name, "%s #%d%s: %s" % (
                                what, call + 1, rule.match.words(),
                                "not reached" if call >= self.calls[k]
                                else "reached, but it cut nothing")))
            elif self.uses[k] == 0:
                self.unlocated.append((name, "%r: did not fire" % (rule,)))


def locate_faults(
    events: Sequence[TraceEvent], scan: Any, rules: List[Any]
) -> Tuple[List[Located], List[Unlocated]]:
    """(located, unlocated): each firing as (event index, victim lifeline,
    rule name, words); each rule or script entry not found firing, in words.
    ``scan`` is the model's first pass (lifelines, connections, deliveries)."""
    if not rules:
        return [], []
    loc = _Locator(events, scan, rules)
    loc.run()
    found = sorted(loc.found, key=lambda f: f[0])
    return found, loc.unlocated
