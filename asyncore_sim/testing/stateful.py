"""Stateful testing of protocol handlers with Hypothesis.

:func:`protocol_machine` builds a Hypothesis ``RuleBasedStateMachine`` that
runs a server and a client of yours on a fresh simulated network
(:class:`fake_net.FakeNetwork`) for every example, and lets Hypothesis
interleave sends, loop iterations, fault rules (sends and reads cut short,
delayed segments, an urgent byte, a reset) and a close of the client, while
checking invariants you supply after every step::

    from hypothesis import settings
    from asyncore_sim.testing.stateful import protocol_machine

    def echo_is_a_prefix(run):
        assert run.sent.startswith(run.received), "echoed bytes differ"

    def all_echoed(run):  # checked once the network has gone quiet
        if run.intact:
            assert run.received == run.sent

    EchoMachine = protocol_machine(
        server=lambda net, map, address: EchoServer(address, map=map),
        client=lambda net, map, address: EchoClient(address, map=map),
        invariants=[echo_is_a_prefix],
        final=[all_echoed],
    )
    TestEcho = EchoMachine.TestCase  # collected by pytest (or unittest)
    TestEcho.settings = settings(max_examples=50, deadline=None)

Each example builds ``FakeNetwork(seed=seed)`` and a map on it, calls
``server(net, map, address)`` (it must return the listening dispatcher), then
``client(net, map, address)`` (a dispatcher connecting to ``address``; it
should buffer what it is asked to send, as ``async_chat`` or
``dispatcher_with_send`` do). The rules Hypothesis chooses from are:

``send(data)``
    hand 1..``max_send`` bytes to the client (``send(client, data)``; by
    default ``client.push(data)`` where the client has ``push``, else
    ``client.send(data)``). Only while the client is open.
``run(steps)``
    run the loop for up to ``max_run`` iterations (it stops early once the
    network is quiet).
``cut_send(side, max_bytes)``, ``cut_read(side, max_bytes)``
    the next send (recv) on that side's end of the connection that would
    move more than ``max_bytes`` bytes moves only ``max_bytes``
    (``PartialSend`` / ``ShortRead`` with ``times=1``; a send cut to 0
    bytes fails with EWOULDBLOCK).
``delay(side, seconds, segments)``
    the next ``segments`` segments sent by that side arrive ``seconds`` late.
``inject_oob(side, after)``
    an urgent (out-of-band) byte reaches that side after ``after`` more bytes
    have reached it (``InjectOOB``); at most once an example, since a second
    urgent byte turns an unread first one into ordinary data, as on Linux.
``reset(side, after)``
    the connection is reset after ``after`` more bytes have reached that
    side (``PeerReset``); at most once.
``close_client(settled)``
    the client's dispatcher closes, once something was sent (a close before
    any send tests little and ends the example early); no more sends or
    fault rules follow.  With ``settled=True`` the loop first runs until the
    network is quiet and the final checks run (the connection is still
    intact): a client that closes once everything was answered, so that a
    reply lost before an early close is still caught.

The fault rules are there with ``faults=True`` (the default), the close with
``closes=True``; the reset is both a fault and a close, so it needs both.

Invariants and final checks take a :class:`Run` (what happened so far) and
fail by raising ``AssertionError`` (use ``assert``) or by returning
``False`` (a lambda cannot assert). Invariants run after every step; final
checks run once at the end, after the loop has run until the network is
quiet (:data:`SETTLE_ITERATIONS` at most). A failure raises
:class:`InvariantFailed` (an ``AssertionError``) whose message has the step,
the steps so far, ``sent`` and ``received`` (shortened) and the netstat;
Hypothesis then prints the smallest sequence of rules it found.

A handler exception that reaches ``handle_error()`` fails the example too
(``fail_on_handler_error=False`` lets it pass; ``Run.errors`` keeps them).

Everything is deterministic: the network is seeded, time is virtual, and
nothing reads the wall clock or the global random.
"""

from __future__ import annotations

import sys
import traceback
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
)

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import asyncore_sim
from asyncore_seam import NetworkMap
from fake_net import (
    Delay,
    FakeNetwork,
    FakeSocket,
    Fault,
    InjectOOB,
    Match,
    PartialSend,
    PeerReset,
    ShortRead,
)

__all__ = [
    "protocol_machine",
    "Run",
    "InvariantFailed",
    "SETTLE_ITERATIONS",
]

#: A factory: ``(net, map, address) -> dispatcher``.
Factory = Callable[[FakeNetwork, NetworkMap, Tuple[str, int]], Any]
#: An invariant or final check: it asserts (or returns False) on a Run.
Check = Callable[["Run"], object]

#: Loop iterations the teardown runs at most, waiting for the network to go
#: quiet before the final checks.
SETTLE_ITERATIONS = 2000

#: Consecutive iterations without any network activity that count as quiet.
_QUIET_ITERATIONS = 3

#: The loop's timeout, in virtual seconds (nothing sleeps).
_LOOP_TIMEOUT = 1.0

_SIDES = ("client", "server")
_DELAYS = (0.001, 0.01, 0.1, 0.5)
_SHOWN_BYTES = 48


class InvariantFailed(AssertionError):
    """An invariant, a final check or the handler-error check failed.

    ``check`` names it; ``steps`` are the steps run (the last one is where
    it failed, ``"teardown"`` for a final check); ``sent``, ``received`` and
    ``netstat`` are the state at that moment.
    """

    def __init__(
        self,
        message: str,
        *,
        check: str,
        steps: Sequence[str],
        sent: bytes,
        received: bytes,
        netstat: str,
    ) -> None:
        super().__init__(message)
        self.check = check
        self.steps = tuple(steps)
        self.sent = sent
        self.received = received
        self.netstat = netstat


@attrs.define(eq=False)
class Run:
    """What an invariant sees: the network, the dispatchers and the record.

    ``sent`` is every byte the machine handed the client, concatenated;
    ``received`` what the client has received: by default every byte its
    ``recv()`` returned, or what ``received(client)`` returns when
    :func:`protocol_machine` was given ``received=``. ``closed`` and
    ``reset`` say that the ``close_client`` / ``reset`` rule ran (a reset
    rule fires only once its byte offset is reached; look for a ``fault``
    event in ``events`` to know it did). ``intact`` is neither: no rule has
    cut the connection. ``faults`` are the rules installed so far; ``steps``
    the steps run; ``errors`` the handler exceptions seen (tracebacks);
    ``quiet`` is set for final checks, True when the network went quiet.
    """

    net: FakeNetwork
    map: NetworkMap
    server: Any = None
    client: Any = None
    closed: bool = False
    reset: bool = False
    quiet: bool = False
    faults: List[Fault] = attrs.field(factory=list)
    steps: List[str] = attrs.field(factory=list)
    errors: List[str] = attrs.field(factory=list)
    _sent: bytearray = attrs.field(factory=bytearray, init=False)
    _observed: bytearray = attrs.field(factory=bytearray, init=False)
    _received_fn: Optional[Callable[[Any], bytes]] = attrs.field(
        default=None, init=False
    )

    @property
    def sent(self) -> bytes:
        return bytes(self._sent)

    @property
    def received(self) -> bytes:
        if self._received_fn is not None:
            return bytes(self._received_fn(self.client))
        return bytes(self._observed)

    @property
    def intact(self) -> bool:
        return not (self.closed or self.reset)

    @property
    def handler(self) -> Any:
        """The server's dispatcher for the client's connection, while open."""
        peer = getattr(getattr(self.client, "socket", None), "peer", None)
        if peer is None:
            return None
        for obj in list(self.map.values()):
            if getattr(obj, "socket", None) is peer:
                return obj
        return None

    @property
    def events(self) -> List[Any]:
        """The network's recorded events (:class:`fake_net.Event` values)."""
        return self.net.events

    def netstat(self) -> str:
        return self.net.netstat()


@attrs.frozen
class _Config:
    server: Factory
    client: Factory
    send: Callable[[Any, bytes], object]
    received: Optional[Callable[[Any], bytes]]
    invariants: Tuple[Check, ...]
    final: Tuple[Check, ...]
    max_send: int
    max_run: int
    seed: int
    address: Tuple[str, int]
    use_poll: Any
    fail_on_handler_error: bool


def _default_send(client: Any, data: bytes) -> None:
    push = getattr(client, "push", None)
    if push is not None:
        push(data)
    else:
        client.send(data)


def _short(data: bytes) -> str:
    """``data``'s repr, cut after _SHOWN_BYTES bytes."""
    if len(data) <= _SHOWN_BYTES:
        return repr(data)
    return "%r...(%d bytes)" % (data[:_SHOWN_BYTES], len(data))


def _sized(data: bytes) -> str:
    return "%d byte%s: %s" % (len(data), "" if len(data) == 1 else "s", _short(data))


def _check_name(check: Callable[..., object], kind: str, index: int) -> str:
    name = getattr(check, "__name__", None) or repr(check)
    return "%s[%d] (%s)" % (kind, index, name)


def _callables(value: Any, what: str) -> Tuple[Check, ...]:
    if value is None:
        return ()
    if callable(value) or isinstance(value, (str, bytes)):
        raise TypeError(
            "%s= takes a list of callables, got %r (wrap a single check in a list)"
            % (what, value)
        )
    try:
        checks = tuple(value)
    except TypeError:
        raise TypeError(
            "%s= takes a list of callables, got %r" % (what, value)
        ) from None
    for check in checks:
        if not callable(check):
            raise TypeError(
                "%s= takes a list of callables; %r is not callable" % (what, check)
            )
    return checks


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s= must be an int, got %r" % (what, value))
    if value < 1:
        raise ValueError("%s= must be at least 1, got %r" % (what, value))
    return value


class _ProtocolMachine(RuleBasedStateMachine):
    """The machinery behind every machine protocol_machine() builds."""

    _config: _Config

    def __init__(self) -> None:
        super().__init__()
        # An exception already being handled when the example started (the
        # test may run inside an ``except`` block): teardown compares with it.
        self._outer_exc = sys.exc_info()[1]
        self._watched: Dict[int, Any] = {}
        config = self._config
        # A network made inside an example is not registered with Hypothesis;
        # its seed fixes it. The loops here are bounded, so fake_net's idle
        # guard (meant for unbounded loops) is set out of the way.
        net = FakeNetwork(seed=config.seed, idle_limit=1 << 30)
        self.view = Run(net=net, map=net.map())
        self.view._received_fn = config.received
        try:
            self.view.server = config.server(net, self.view.map, config.address)
            self.view.client = config.client(net, self.view.map, config.address)
        except BaseException:
            asyncore_sim.close_all(self.view.map, ignore_all=True)
            raise
        if config.received is None:
            self._observe_recv(self.view.client)
        self._watch_map()

    # -- helpers ----------------------------------------------------------------

    def _observe_recv(self, client: Any) -> None:
        original = client.recv
        observed = self.view._observed

        def recv(*args: Any, **kwargs: Any) -> Any:
            data = original(*args, **kwargs)
            if data:
                observed.extend(data)
            return data

        client.recv = recv

    def _watch_map(self) -> None:
        """Record what reaches handle_error() on every dispatcher in the map."""
        for obj in list(self.view.map.values()):
            if id(obj) in self._watched:
                continue
            self._watched[id(obj)] = obj  # kept alive: ids stay unique
            original = getattr(obj, "handle_error", None)
            if original is None:
                continue
            self._wrap_handle_error(obj, original)

    def _wrap_handle_error(self, obj: Any, original: Callable[[], Any]) -> None:
        errors = self.view.errors

        def handle_error() -> Any:
            errors.append("%s: %s" % (type(obj).__name__, traceback.format_exc()))
            return original()

        try:
            obj.handle_error = handle_error
        except AttributeError:
            pass

    def _client_open(self) -> bool:
        view = self.view
        if view.closed:
            return False
        client = view.client
        return any(obj is client for obj in view.map.values())

    def _end(self, side: str) -> Optional[FakeSocket]:
        sock = getattr(self.view.client, "socket", None)
        if not isinstance(sock, FakeSocket):
            return None
        return sock if side == "client" else sock.peer

    def _match(self, side: str) -> Tuple[Match, int]:
        """A Match for ``side``'s end of the client's connection, and the
        bytes that end has received so far."""
        end = self._end(side)
        if end is None or end.conn is None:
            return Match(side=side), (0 if end is None else end.received)
        return Match(side=side, conn=end.conn), end.received

    def _add_fault(self, fault: Fault) -> None:
        self.view.net.add_fault(fault)
        self.view.faults.append(fault)

    def _activity(self) -> Tuple[int, bool]:
        # An iteration that did no I/O with nothing scheduled did nothing.
        net = self.view.net
        return net.activity, bool(net.scheduled)

    def _advance(self, iterations: int) -> bool:
        """Run up to ``iterations`` loop iterations; True once quiet."""
        config = self._config
        m = self.view.map
        idle = 0
        for _ in range(iterations):
            if not m:
                return True
            before = self._activity()[0]
            asyncore_sim.loop(
                timeout=_LOOP_TIMEOUT, use_poll=config.use_poll, map=m, count=1
            )
            self._watch_map()
            logged, pending = self._activity()
            if logged == before and not pending:
                idle += 1
                if idle >= _QUIET_ITERATIONS:
                    return True
            else:
                idle = 0
        return False

    def _fail(self, check: str, where: str, detail: str) -> InvariantFailed:
        view = self.view
        sent, received = view.sent, view.received
        lines = ["%s failed %s" % (check, where)]
        if detail:
            lines.append(detail)
        lines.append("sent:     " + _sized(sent))
        lines.append("received: " + _sized(received))
        lines.append("steps:")
        lines.extend("  %d. %s" % (i, s) for i, s in enumerate(view.steps, 1))
        netstat = view.netstat()
        lines.append("netstat:")
        lines.extend("  " + line for line in netstat.splitlines())
        return InvariantFailed(
            "\n".join(lines),
            check=check,
            steps=view.steps,
            sent=sent,
            received=received,
            netstat=netstat,
        )

    def _where(self) -> str:
        steps = self.view.steps
        if not steps:
            return "before the first step"
        return "after step %d, %s" % (len(steps), steps[-1])

    def _run_checks(self, checks: Sequence[Check], kind: str, where: str) -> None:
        __tracebackhide__ = True  # pytest: the failure is the check's
        view = self.view
        if self._config.fail_on_handler_error and view.errors:
            raise self._fail(
                "a handler's exception (reached handle_error())",
                where,
                view.errors[0].rstrip(),
            )
        for index, check in enumerate(checks):
            try:
                result = check(view)
            except AssertionError as err:
                raise self._fail(
                    _check_name(check, kind, index), where, str(err)
                ) from err
            if result is False:
                raise self._fail(_check_name(check, kind, index), where, "")

    # -- invariants and teardown -----------------------------------------------

    @invariant()
    def user_invariants(self) -> None:
        self._run_checks(self._config.invariants, "invariants", self._where())

    def _settle_and_check(self, moment: str) -> None:
        """Let the network settle, then run the final checks."""
        view = self.view
        view.quiet = self._advance(SETTLE_ITERATIONS)
        if view.quiet:
            where = "%s, once the network was quiet" % moment
        else:
            where = "%s; the network was NOT quiet after %d loop iterations" % (
                moment,
                SETTLE_ITERATIONS,
            )
        self._run_checks(self._config.final, "final", where)
        view.quiet = False

    def teardown(self) -> None:
        view = self.view
        try:
            if sys.exc_info()[1] is self._outer_exc:
                # Nothing is failing: let the network settle, then check.
                view.steps.append("teardown")
                quiet = self._advance(SETTLE_ITERATIONS)
                view.quiet = quiet
                if quiet:
                    where = "at teardown, once the network was quiet"
                else:
                    where = (
                        "at teardown; the network was NOT quiet after %d loop "
                        "iterations" % SETTLE_ITERATIONS
                    )
                self._run_checks(self._config.final, "final", where)
        finally:
            asyncore_sim.close_all(view.map, ignore_all=True)


def protocol_machine(
    *,
    server: Optional[Factory] = None,
    client: Optional[Factory] = None,
    send: Optional[Callable[[Any, bytes], object]] = None,
    received: Optional[Callable[[Any], bytes]] = None,
    invariants: Iterable[Check] = (),
    final: Iterable[Check] = (),
    max_send: int = 64,
    max_run: int = 20,
    faults: bool = True,
    closes: bool = True,
    seed: int = 0,
    address: Tuple[str, int] = ("127.0.0.1", 8007),
    use_poll: Any = False,
    fail_on_handler_error: bool = True,
) -> Type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` class driving ``client`` against ``server``.

    ``server(net, map, address)`` makes the listening dispatcher and
    ``client(net, map, address)`` the client connecting to it, both on
    ``map`` (a map of ``net``, a ``FakeNetwork(seed=seed)`` made for each
    example). ``send(client, data)`` hands the client bytes to send;
    ``received(client)`` returns all the client has received (default: what
    its ``recv()`` returned). ``invariants`` run after every step, ``final``
    at teardown once the network is quiet. ``max_send`` bounds a send's size
    (and the byte counts of the fault rules), ``max_run`` the iterations of
    one ``run`` step. ``faults`` and ``closes`` add those rules;
    ``use_poll`` is passed to ``loop()``. See the module's documentation.

    Run the result with ``Machine.TestCase`` (pytest/unittest) or
    ``hypothesis.stateful.run_state_machine_as_test(Machine)``.
    """
    if server is None or not callable(server):
        raise TypeError(
            "protocol_machine() needs server=, a callable (net, map, address) "
            "returning the listening dispatcher; got %r" % (server,)
        )
    if client is None or not callable(client):
        raise TypeError(
            "protocol_machine() needs client=, a callable (net, map, address) "
            "returning a dispatcher connected to address; got %r" % (client,)
        )
    if send is not None and not callable(send):
        raise TypeError("send= must be a callable (client, data), got %r" % (send,))
    if received is not None and not callable(received):
        raise TypeError(
            "received= must be a callable (client) -> bytes, got %r" % (received,)
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError("seed= must be an int, got %r" % (seed,))
    config = _Config(
        server=server,
        client=client,
        send=_default_send if send is None else send,
        received=received,
        invariants=_callables(invariants, "invariants"),
        final=_callables(final, "final"),
        max_send=_positive_int(max_send, "max_send"),
        max_run=_positive_int(max_run, "max_run"),
        seed=seed,
        address=(address[0], address[1]),
        use_poll=use_poll,
        fail_on_handler_error=bool(fail_on_handler_error),
    )
    sides = st.sampled_from(_SIDES)
    sizes = st.integers(0, config.max_send)

    class ProtocolMachine(_ProtocolMachine):
        _config = config

        @precondition(lambda self: self._client_open())
        @rule(data=st.binary(min_size=1, max_size=config.max_send))
        def send(self, data: bytes) -> None:
            self.view.steps.append("send(data=%s)" % _short(data))
            config.send(self.view.client, data)
            self.view._sent.extend(data)

        @rule(steps=st.integers(1, config.max_run))
        def run(self, steps: int) -> None:
            self.view.steps.append("run(steps=%d)" % steps)
            self._advance(steps)

        if faults:

            @precondition(lambda self: not self.view.closed)
            @rule(side=sides, max_bytes=sizes)
            def cut_send(self, side: str, max_bytes: int) -> None:
                self.view.steps.append(
                    "cut_send(side=%r, max_bytes=%d)" % (side, max_bytes)
                )
                match = self._match(side)[0]
                self._add_fault(PartialSend(max_bytes=max_bytes, times=1, match=match))

            @precondition(lambda self: not self.view.closed)
            @rule(side=sides, max_bytes=st.integers(1, config.max_send))
            def cut_read(self, side: str, max_bytes: int) -> None:
                self.view.steps.append(
                    "cut_read(side=%r, max_bytes=%d)" % (side, max_bytes)
                )
                match = self._match(side)[0]
                self._add_fault(ShortRead(max_bytes=max_bytes, times=1, match=match))

            @precondition(lambda self: not self.view.closed)
            @rule(
                side=sides,
                seconds=st.sampled_from(_DELAYS),
                segments=st.integers(1, 4),
            )
            def delay(self, side: str, seconds: float, segments: int) -> None:
                self.view.steps.append(
                    "delay(side=%r, seconds=%r, segments=%d)"
                    % (side, seconds, segments)
                )
                match = self._match(side)[0]
                self._add_fault(Delay(seconds=seconds, times=segments, match=match))

            @precondition(
                lambda self: (
                    not self.view.closed
                    and not any(isinstance(f, InjectOOB) for f in self.view.faults)
                )
            )
            @rule(side=sides, after=sizes)
            def inject_oob(self, side: str, after: int) -> None:
                self.view.steps.append("inject_oob(side=%r, after=%d)" % (side, after))
                match, base = self._match(side)
                self._add_fault(InjectOOB(after_bytes=base + after, match=match))

        if faults and closes:

            @precondition(lambda self: self.view.intact)
            @rule(side=sides, after=sizes)
            def reset(self, side: str, after: int) -> None:
                self.view.steps.append("reset(side=%r, after=%d)" % (side, after))
                match, base = self._match(side)
                self._add_fault(PeerReset(after_bytes=base + after, match=match))
                self.view.reset = True

        if closes:

            @precondition(lambda self: self._client_open() and bool(self.view._sent))
            @rule(settled=st.sampled_from([True, True, True, False]))
            def close_client(self, settled: bool) -> None:
                self.view.steps.append("close_client(settled=%r)" % settled)
                if settled:
                    # A client that closes once everything is answered: the
                    # connection is still intact and the network quiet, so
                    # the final checks hold here too (without this, a close
                    # drawn early hides a reply lost before it).
                    self._settle_and_check("before close_client(settled=True)")
                self.view.closed = True
                self.view.client.close()

    return ProtocolMachine
