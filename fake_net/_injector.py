"""The injector: the network's side of fault rules.

The rules themselves are values (``_faults``; plans of them in ``_plan``).
Here they are installed (``add_fault``) and applied where they act: a
connect, a send, a recv or a segment's delivery asks for the verdict of the
rules of its site (``_fault_verdict``); stream rules act at a byte offset of
a connection end or at a virtual time; wait rules interrupt a readiness call,
add a spurious event or hide a ready one; datagram rules
(``_datagram_faults``) act on each datagram a UDP socket sends
(``_datagram_out``, the one hook in ``_datagram``'s send path): it is lost,
delivered more than once, held back for later ones to overtake, cut, has a
byte flipped or arrives late, every delivery on the virtual clock.  The
sockets test a per-site flag (``_send_rules``, ..., ``_datagram_rules``)
first, so a network without rules pays nothing for them.

Rules: rules are tried in the order they were installed, and the first
verdict that is not "pass" wins; a probability is drawn from the network's
seeded random source (never the global random), and only for a rule that is
reached and matches (and, for a datagram rule, is past its ``skip``); a
stream rule fires at most once per connection end;
connections and descriptors are visited in order (``_sockets``, sorted fds),
never by set or hash order.

Each rule's uses are also counted (a :class:`~fake_net._coverage.RuleUse`
per rule, in ``_rule_uses``), never by drawing, so that ``_coverage`` can
say which faults never fired (``net.unfired_faults()``).
"""

from __future__ import annotations

import errno
from random import Random
from typing import Any, Callable, Dict, List, Optional, Tuple

from fake_net import _faults
from fake_net._datagram_faults import DatagramFault
from fake_net._coverage import RuleUse, _Coverage
from fake_net._socket import FakeSocket

__all__ = ["_Injector"]


class _Injector(_Coverage):
    """FakeNetwork's fault rules: ``add_fault()`` and where the rules act
    (and, from ``_Coverage``, ``unfired_faults()``)."""

    # This part's state (set by FakeNetwork.__init__).
    faults: List[_faults.Fault]
    _fault_uses: List[int]  # how often each rule fired
    _fault_calls: List[int]  # matching calls seen, per scripted rule
    _fired: Dict[Tuple[int, int, str], bool]  # (rule, conn, side): stream rules
    _rule_uses: List[RuleUse]  # per rule: calls met, for fault coverage
    _send_rules: bool
    _recv_rules: bool
    _deliver_rules: bool
    _stream_rules: bool
    _connect_rules: bool
    _wait_rules: bool
    _replan: Callable[[], None]  # FakeNetwork._replan: the rule flags changed
    # Datagram rules: a class-level default, so that a network made before
    # any is installed pays one attribute test per datagram and nothing else.
    _datagram_rules: bool = False
    _held: Dict[int, List[Any]]  # ReorderDatagrams: datagrams held back
    _held_seq: int
    # From the other parts.
    now: float
    latency: float
    random: Random
    _objects: Dict[int, Any]
    _ready: Dict[int, int]
    _sockets: List[FakeSocket]
    _schedule: Callable[..., None]
    _log_event: Callable[[str, Optional[int], Tuple[Any, ...]], None]

    def add_fault(self, fault: _faults.Fault) -> None:
        """Install a rule after those already installed."""
        if not isinstance(fault, _faults.Fault):
            raise TypeError("not a fault rule: %r" % (fault,))
        index = len(self.faults)
        self.faults.append(fault)
        self._fault_uses.append(0)
        self._fault_calls.append(0)
        if index == 0:
            # Made with the first rule, as FakeNetwork.__init__ makes the
            # other per-rule lists empty before installing any.
            self._rule_uses = []
        self._rule_uses.append(RuleUse())
        site = fault.site
        if site == "send":
            self._send_rules = True
        elif site == "recv":
            self._recv_rules = True
        elif site == "deliver":
            self._deliver_rules = True
        elif site == "stream":
            self._stream_rules = True
            at = getattr(fault, "at_time", None)
            if at is not None:
                self._schedule(max(at, self.now), self._timed_stream_fault, index)
        elif site == "connect":
            self._connect_rules = True
        elif site in ("wait", "interrupt"):
            self._wait_rules = True
        elif site == "datagram":
            if not self._datagram_rules:
                self._held = {}
                self._held_seq = 0
            self._datagram_rules = True
        self._replan()

    def _rule_applies(
        self,
        index: int,
        fault: _faults.Fault,
        sock: FakeSocket,
        port: Optional[int] = None,
    ) -> bool:
        if fault.times is not None and self._fault_uses[index] >= fault.times:
            return False
        match = fault.match
        if port is not None and match.port is not None:
            if match.port != port:
                return False
            match = _faults.Match(
                fd=match.fd, conn=match.conn, side=match.side, host=match.host
            )
        if not match.matches(sock):
            return False
        use = self._rule_uses[index]
        use.seen += 1
        if fault.probability < 1.0 and self.random.random() >= fault.probability:
            return False
        use.drawn += 1
        return True

    def _fire(
        self, index: int, fault: _faults.Fault, sock: FakeSocket, what: Any
    ) -> None:
        self._fault_uses[index] += 1
        self._log_event(
            "fault",
            sock.fd if sock.fd is not None else -1,
            (type(fault).__name__, what),
        )

    def _fault_verdict(self, site: str, sock: FakeSocket, n: int) -> Any:
        """The first verdict that is not "pass" among the rules for ``site``.

        ``n`` is the size at stake for "send" and "recv", the destination
        port for "connect"; "deliver" rules take no size.
        """
        port = n if site == "connect" else None
        sized = site in ("send", "recv")
        for index, fault in enumerate(self.faults):
            if fault.site != site or not self._rule_applies(index, fault, sock, port):
                continue
            if fault.scripted:
                call = self._fault_calls[index]
                self._fault_calls[index] = call + 1
                verdict = fault.verdict_at(call, n)  # type: ignore[attr-defined]
                if verdict is None and sized:
                    script = fault.sizes  # type: ignore[attr-defined]
                    if call < len(script):
                        self._rule_uses[index].misses[call] = n  # coverage
            elif sized:
                use = self._rule_uses[index]
                if n > use.reach:
                    use.reach = n
                verdict = fault.verdict(n, self.random)  # type: ignore[attr-defined]
            else:
                verdict = fault.verdict(self.random)  # type: ignore[attr-defined]
            if verdict is not None:
                self._fire(index, fault, sock, verdict)
                return verdict
        return None

    def _deliver_delay(self, sender: FakeSocket) -> float:
        delay = self._fault_verdict("deliver", sender, 0)
        return self.latency if delay is None else delay  # type: ignore[no-any-return]

    def _stream_faults(self, victim: FakeSocket, data: bytes) -> bytes:
        """Apply stream rules (by byte offset) to ``data`` arriving at ``victim``;
        deliver what comes before the first one that fires, and return the rest."""
        start = victim.received
        end = start + len(data)
        for index, fault in enumerate(self.faults):
            if fault.site != "stream":
                continue
            offset = getattr(fault, "after_bytes", None)
            if offset is None:
                continue
            use = self._rule_uses[index]
            if end > use.reach and fault.match.matches(victim):
                use.reach = end  # how far a matching end got (coverage)
            if not (start <= offset <= end):
                continue
            if not self._claim_stream_rule(index, fault, victim):
                continue
            before = data[: offset - start]
            if before:
                victim._append(before)
            self._fire(index, fault, victim, offset)
            self._stream_effect(fault, victim)
            if victim.cut:
                return b""
            return self._stream_faults(victim, data[offset - start :])
        return data

    def _timed_stream_fault(self, index: int) -> None:
        fault = self.faults[index]
        self._rule_uses[index].reach = 0  # its moment came (coverage)
        for sock in list(self._sockets):
            if sock.state != "connected":
                continue
            if not self._claim_stream_rule(index, fault, sock):
                continue
            self._fire(index, fault, sock, self.now)
            self._stream_effect(fault, sock)

    def _claim_stream_rule(
        self, index: int, fault: _faults.Fault, sock: FakeSocket
    ) -> bool:
        """A stream rule fires once per connection end: True the first time
        it applies to ``sock``'s end (and marks it fired), else False."""
        key = (index, sock.conn if sock.conn is not None else -1, sock.side or "")
        if key in self._fired or not self._rule_applies(index, fault, sock):
            return False
        self._fired[key] = True
        return True

    def _stream_effect(self, fault: _faults.Fault, victim: FakeSocket) -> None:
        peer = victim.peer
        if isinstance(fault, _faults.InjectOOB):
            victim._urgent_arrives(fault.byte)
        elif isinstance(fault, _faults.PeerClose):
            victim.eof_in = True
            victim.cut = True
            victim.dead_link = True
            if peer is not None:
                peer.dead_link = True
        elif isinstance(fault, _faults.PeerReset):
            victim._reset_by_peer(errno.ECONNRESET)
            if peer is not None:
                peer._reset_by_peer(errno.ECONNRESET)
        elif isinstance(fault, _faults.PendingError):
            victim.err = fault.errno
        victim._refresh()

    def _wait_faults(self, step: int) -> Tuple[bool, List[Tuple[int, int]]]:
        """(interrupt?, spurious events) for this wait (number ``step``).

        The list holds ``(fd, events)`` pairs: events > 0 are added to what
        the wait reports (SpuriousReady), events < 0 remove the bits
        ``-events`` (HideReady); the removals come last, so hiding wins.
        """
        spurious: List[Tuple[int, int]] = []
        hidden: List[Tuple[int, int]] = []
        for index, fault in enumerate(self.faults):
            if isinstance(fault, _faults.HideReady):
                if not fault.covers(step):
                    continue
                bits = fault.bits
                for fd in sorted(self._objects):
                    sock = self._objects[fd]
                    if isinstance(sock, FakeSocket) and self._rule_applies(
                        index, fault, sock
                    ):
                        if self._ready.get(fd, 0) & bits:
                            self._fire(index, fault, sock, fault.events)
                        hidden.append((fd, -bits))
                continue
            if isinstance(fault, _faults.InterruptWait):
                use = self._rule_uses[index]
                use.reach = step
                if fault.times is not None and self._fault_uses[index] >= fault.times:
                    continue
                if fault.at_step is not None and fault.at_step != step:
                    continue
                use.seen += 1
                if (
                    fault.probability < 1.0
                    and self.random.random() >= fault.probability
                ):
                    continue
                use.drawn += 1
                self._fault_uses[index] += 1
                self._log_event("fault", -1, ("InterruptWait", step))
                return True, []
            if isinstance(fault, _faults.SpuriousReady):
                for fd in sorted(self._objects):
                    sock = self._objects[fd]
                    if isinstance(sock, FakeSocket) and self._rule_applies(
                        index, fault, sock
                    ):
                        self._fire(index, fault, sock, fault.events)
                        spurious.append((fd, fault.events))
                        break
        if hidden:
            spurious.extend(hidden)
        return False, spurious

    # -- datagram rules ------------------------------------------------------

    def _datagram_out(
        self,
        sender: Any,
        src: Tuple[str, int],
        dest: Tuple[str, int],
        payload: bytes,
        deliver: Callable[..., None],
    ) -> None:
        """A datagram leaves ``sender``: the first datagram rule that acts on
        it says what becomes of it; ``deliver(sender, src, dest, payload)``
        (``_datagram._arrive``) is called at each moment a copy arrives."""
        action: Optional[Tuple[Any, ...]] = None
        rule = -1
        for index, fault in enumerate(self.faults):
            if fault.site != "datagram":
                continue
            assert isinstance(fault, DatagramFault)
            if not self._datagram_rule_applies(index, fault, sender, src, dest):
                continue
            use = self._rule_uses[index]
            if len(payload) > use.reach:
                use.reach = len(payload)  # the longest it was asked about
            action = fault.verdict(payload, self.random)
            if action is not None:
                what = action[2] if action[0] == "payload" else (
                    action[1] if len(action) > 1 else len(payload)
                )
                self._fire(index, fault, sender, what)
                rule = index
                break
        kind = "pass" if action is None else action[0]
        if kind == "drop":
            return
        if kind == "hold":
            assert action is not None
            self._held_seq += 1
            key = self._held_seq
            self._held[key] = [rule, action[1], sender, src, dest, payload, deliver]
            self._schedule(self.now + action[2], self._release_held, key)
            return
        delay = self.latency
        if kind == "payload":
            assert action is not None
            payload = action[1]
        elif kind == "delay":
            assert action is not None
            delay = action[1]
        self._datagram_goes(sender, src, dest, payload, deliver, delay)
        if kind == "copies":
            assert action is not None
            for i in range(1, action[1] + 1):
                self._datagram_goes(
                    sender, src, dest, payload, deliver, delay + action[2] * i
                )
        self._datagram_passed(sender, src, dest)

    def _datagram_rule_applies(
        self,
        index: int,
        fault: DatagramFault,
        sender: Any,
        src: Tuple[str, int],
        dest: Tuple[str, int],
    ) -> bool:
        if fault.times is not None and self._fault_uses[index] >= fault.times:
            return False
        if not fault.matches(sender, src, dest):
            return False
        use = self._rule_uses[index]
        use.seen += 1
        if use.seen <= fault.skip:
            return False
        if fault.probability < 1.0 and self.random.random() >= fault.probability:
            return False
        use.drawn += 1
        return True

    def _datagram_goes(
        self,
        sender: Any,
        src: Tuple[str, int],
        dest: Tuple[str, int],
        payload: bytes,
        deliver: Callable[..., None],
        delay: float,
    ) -> None:
        if delay > 0:
            self._schedule(self.now + delay, deliver, sender, src, dest, payload)
        else:
            deliver(sender, src, dest, payload)

    def _datagram_passed(
        self, sender: Any, src: Tuple[str, int], dest: Tuple[str, int]
    ) -> None:
        """A datagram went on: it overtakes the held ones whose rule matches
        it; those it was the last to overtake go on right behind it (in the
        order they were held)."""
        if not self._held:
            return
        due = []
        for key, entry in self._held.items():
            fault = self.faults[entry[0]]
            assert isinstance(fault, DatagramFault)
            if fault.matches(sender, src, dest):
                entry[1] -= 1
                if entry[1] <= 0:
                    due.append(key)
        for key in due:
            self._release_held(key)

    def _release_held(self, key: int) -> None:
        entry = self._held.pop(key, None)
        if entry is None:
            return  # already overtaken and gone on
        _, _, sender, src, dest, payload, deliver = entry
        self._datagram_goes(sender, src, dest, payload, deliver, self.latency)
