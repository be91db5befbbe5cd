"""Recording: a network wrapper that writes every I/O event and callback of a run.

Rules (recording must stay deterministic): descriptors are renumbered lowest
free from 3, as POSIX allocates; time is read from the wrapped network only
when a wait or sleep returns; nothing recorded depends on ``id()``.

Recording is cheap: each event is kept as a compact tuple (the time, the
kind, the trace's descriptor, the arguments, the result; a callback keeps
the dispatcher's class and its answer, and the core's recording step puts
the readable()/writable() records itself, with ``rec._answers``, a call
fewer each; a plain send or recv keeps its payload alone as its result),
and its :class:`TraceEvent` is
built only when ``rec.events`` or ``rec.trace`` is read, its text only when
it is written (:mod:`._records`).  Readiness texts are cached per poller,
keyed by the network's descriptors and masks, and forgotten whenever the
numbering changes; the argument tuples that repeat (a wait's, with the
same timeout object and interest text; a plain send's or recv's size) are
shared by the records that repeat them.  Where events go:

* by default, all of them stay in memory (``rec.trace``, ``rec.events``);
* ``stream=`` (a path or an open text file): written to the trace file as
  the run goes, in batches of at most ``SPILL`` events (the file is complete
  when the recording stops), so memory stays constant;
* ``keep=N``: only the last N stay in memory (``rec.kept``, with a
  ``# dropped:`` header saying how many came before), so memory stays
  constant.

``rec.trace``/``rec.events`` are the whole recording or an
:class:`IncompleteTrace` error saying where the rest is, never a part that
would compare as if it were the whole.
"""

from __future__ import annotations

import collections
import errno as _errno
import itertools
import socket as _socket
import sys
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
)


import asyncore_seam as _seam

from asyncore_sim.trace._format import Trace, TraceEvent
from asyncore_sim.trace._records import (
    Raw,
    TraceStream,
    _events,
    _Log,
    _raw,
    _traffic,
    header_text,
    raw_pieces,
    raw_text,
    write_pieces,
)
from asyncore_sim.trace._values import (
    _err_value,
    addr_value,
    readiness_text,
    shutdown_args,
    size_args,
    socket_args,
    sockopt_args,
)

__all__ = ["Recorder", "TracingPoller", "TracingSocket", "IncompleteTrace"]

#: Events a streaming or bounded recorder holds before it writes or trims them.
SPILL = 256

_NOT_YET = sys.maxsize  # a threshold never reached
_NO_TIMEOUT = object()  # a timeout no wait is given


class IncompleteTrace(RuntimeError):
    """``rec.trace``/``rec.events`` of a recording that does not hold every
    event (``stream=``, or ``keep=`` once events were dropped)."""


class Recorder:
    """Records a run on any network (real, fake, or a replay) as a trace.

    Use it as the network: ``with Recorder(net) as rec:`` makes it current
    (dispatchers on the default map use it), ``rec.map()`` gives a map bound
    to it.  While it is active, the dispatcher core reports every callback to
    it (:meth:`callback`).

    By default every event is kept in memory: about 125 bytes an event
    besides the bytes each send and recv carried (a 4 KiB echo round trip
    on fake_net is 20 events: 2.5 KB, plus its payloads where the network
    does not share them).  ``rec.trace`` is the :class:`Trace` so far and
    ``rec.events`` its events (the same list, brought up to date each time
    either is read).  For long runs, in constant memory:

    * ``stream=path`` (or an open text file): each event is written to that
      trace file as the run goes (in batches; the file is complete when the
      recording stops, or at :meth:`flush`); ``rec.trace`` is then an
      :class:`IncompleteTrace` error: read the file
      (``Trace.load(path)``).  The header is written at once, so
      ``header=`` is the place for it.
    * ``keep=N``: only the last N events are kept (the end of a run is what
      explains its failure).  ``rec.kept`` is a :class:`Trace` of them whose
      ``# dropped:`` header says how many came before; ``rec.trace`` is
      the whole trace until the first event is dropped, then an
      :class:`IncompleteTrace` error.  With ``stream=`` too, the file has
      every event and ``rec.kept`` the last N.

    ``rec.count`` is the number of events recorded, ``rec.dropped`` how many
    of them are not in memory.  :meth:`save` and :meth:`dumps` write the
    trace as ``rec.trace.save()``/``.dumps()`` do, byte for byte, faster.
    """

    def __init__(
        self,
        network: Any = None,
        header: Optional[Dict[str, str]] = None,
        *,
        stream: Any = None,
        keep: Optional[int] = None,
    ) -> None:
        if network is None:
            from asyncore_seam import current_network

            network = current_network()
        if keep is not None and (
            not isinstance(keep, int) or isinstance(keep, bool) or keep < 1
        ):
            raise ValueError("keep=%r: the number of events to keep (>= 1)" % (keep,))
        self.inner = network
        self.name = getattr(network, "name", type(network).__name__)
        self._trace = Trace(header=dict(header or {}))
        self._trace.header.setdefault("network", self.name)
        self._events = self._trace.events  # built from the records when read
        self._spilled = 0  # records handed to the stream or the bounded store
        self._keep = keep
        self._kept: Optional[Deque[Raw]] = (
            collections.deque(maxlen=keep) if keep is not None else None
        )
        self._stream: Optional[TraceStream] = (
            TraceStream(stream, self._trace.header) if stream is not None else None
        )
        # Records pending at which _spill() runs (an inactive stream: at once).
        limit = (
            _NOT_YET if stream is None and keep is None
            else 1 if stream is not None else SPILL
        )
        self._log = log = _Log(network.monotonic, limit, self._spill)
        self._pending = log.pending
        # The core calls rec.callback(...) for every callback: an instance
        # attribute is found sooner than a method on a class with __getattr__.
        self.callback = log.callback  # type: ignore[method-assign]
        # What the core's recording step puts readable()/writable() answers
        # with, one record each without a call (see _Log.callback).
        self._answers = (log, log.put, log.fds.get)
        self._stack: List[Any] = []

    def __repr__(self) -> str:
        return "Recorder(%r, %d events)" % (self.inner, self.count)

    # -- what was recorded --------------------------------------------------

    @property
    def count(self) -> int:
        """Events recorded so far (kept, streamed or dropped)."""
        return (
            len(self._events) + self._spilled + len(self._pending)
        )

    @property
    def dropped(self) -> int:
        """Events recorded that :attr:`kept` does not hold (with ``stream=``,
        they are in the file)."""
        if self._keep is not None:
            return max(0, self.count - self._keep)
        return self.count if self._stream is not None else 0

    def _whole(self) -> None:
        """IncompleteTrace unless every event is in memory."""
        if self._stream is not None:
            raise IncompleteTrace(
                "this Recorder streams its events to %s (stream=): read the "
                "trace from there (Trace.load) once the recording stopped%s"
                % (
                    self._stream.name,
                    "; rec.kept has the last %d" % self._keep if self._keep else "",
                )
            )
        if self.dropped:
            keep = self._keep or 0
            raise IncompleteTrace(
                "this Recorder keeps only the last %d events (keep=%d): %d of the "
                "%d recorded were dropped; rec.kept is a trace of the last %d "
                "(its '# dropped:' header says so), or record with stream=path "
                "for the whole trace" % (keep, keep, self.dropped, self.count, keep)
            )

    def _raws(self) -> Iterable[Raw]:
        """Every record in memory, oldest first (iterated in C: no
        generator frame to resume per record)."""
        if self._kept is not None:
            return itertools.chain(self._kept, self._pending)
        if not self._events:
            return iter(self._pending)
        return itertools.chain(map(_raw, self._events), self._pending)

    @property
    def events(self) -> List[TraceEvent]:
        """Every event so far (the list of :attr:`trace`)."""
        return self.trace.events

    @property
    def trace(self) -> Trace:
        """The :class:`Trace` so far: every event (else :class:`IncompleteTrace`)."""
        self._whole()
        if self._kept is not None:
            return Trace(events=_events(self._raws()), header=self._trace.header)
        if self._pending:
            self._events.extend(_events(self._pending))
            self._pending.clear()
        return self._trace

    @property
    def kept(self) -> Trace:
        """A :class:`Trace` of the events in memory (with ``keep=N``, the
        last N), after a ``# dropped:`` header when earlier ones are gone."""
        if self._stream is not None and self._kept is None:
            raise IncompleteTrace(
                "this Recorder keeps no events: they are streamed to %s"
                % self._stream.name
            )
        raws = list(self._raws())
        header = dict(self._trace.header)
        if self._keep is not None and len(raws) > self._keep:
            raws = raws[-self._keep :]
        if self.dropped:
            header["dropped"] = "%d events before these (Recorder keep=%d)" % (
                self.dropped,
                self._keep or 0,
            )
        return Trace(events=_events(raws), header=header)

    def dumps(self) -> str:
        """``rec.trace.dumps()``, written without building the events."""
        self._whole()
        return header_text(self._trace.header) + raw_text(self._raws())

    def save(self, path: Any) -> None:
        """``rec.trace.save(path)``, written without building the events."""
        self._whole()
        pieces = raw_pieces(self._raws())  # (ASCII bytes: no text layer)
        pieces.insert(0, header_text(self._trace.header).encode("ascii"))
        with open(path, "wb", buffering=0) as f:
            write_pieces(f, pieces)

    def flush(self) -> None:
        """Write what a streaming recorder holds (and flush its file)."""
        self._spill()
        if self._stream is not None and self._stream.file is not None:
            flush = getattr(self._stream.file, "flush", None)
            if flush is not None:
                flush()

    def _spill(self) -> None:
        """Hand the pending records to the stream and the bounded store."""
        pending = self._pending
        if not pending or (self._stream is None and self._kept is None):
            return
        if self._stream is not None:
            self._stream.write(raw_pieces(pending))
        if self._kept is not None:
            self._kept.extend(pending)
        self._spilled += len(pending)
        pending.clear()

    # -- activation ---------------------------------------------------------

    def __enter__(self) -> "Recorder":
        from asyncore_sim import asyncore

        if asyncore._tracer is not None:
            raise RuntimeError("another Recorder is already active")
        inner_enter = getattr(self.inner, "__enter__", None)
        already_active = bool(getattr(self.inner, "active", False))
        real = self.inner.name == "real"
        if inner_enter is not None and not real and not already_active:
            # (A network already active, as inside simulate(record=False),
            # stays as it is: the recorder only wraps it.)
            inner_enter()
            self._stack.append(self.inner)
        self._stack.append(_seam.push_current(self))
        asyncore._tracer = self
        if self._stream is not None:
            self._stream.start()
            self._log.limit = SPILL
        return self

    def __exit__(self, *exc: Any) -> None:
        from asyncore_sim import asyncore

        asyncore._tracer = None
        try:
            _seam.pop_current(self._stack.pop())
            if self._stack:
                self._stack.pop().__exit__(*exc)
        finally:
            if self._stream is not None:
                # Complete the file; later events (a descriptor closed after
                # the recording stopped) are appended as they happen.
                self._log.limit = 1
                try:
                    self._spill()
                finally:
                    self._stream.stop()

    def start(self) -> "Recorder":
        """Activate without ``with`` (pair with :meth:`stop`)."""
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def map(self) -> Any:
        from asyncore_seam import NetworkMap

        return NetworkMap(self)

    # -- bookkeeping --------------------------------------------------------

    @property
    def now(self) -> float:
        """The time stamp of the events being recorded (seconds)."""
        return self._log.now

    def tfd(self, fd: Any) -> int:
        """The trace's number for the network's descriptor ``fd``."""
        return self._log.tfd(fd)

    def _close_fd(self, fd: Any) -> int:
        return self._log.close_fd(fd)

    def _tick(self) -> None:
        self._log.tick()

    def add(
        self,
        kind: str,
        fd: int,
        args: Tuple[Any, ...] = (),
        result: Optional[Tuple[Any, ...]] = None,
    ) -> None:
        """Record one I/O event (``result``: a tuple, or None)."""
        self._log.add(kind, fd, args, result)

    def callback(self, obj: Any, name: str, result: Any = None) -> None:
        """Called by the core (only while a Recorder is active); in use, the
        instance's own ``callback`` (the same) answers first."""
        self._log.callback(obj, name, result)

    # -- the Network seam -----------------------------------------------------

    def socket(
        self, family: int = _socket.AF_INET, type: int = _socket.SOCK_STREAM
    ) -> "TracingSocket":
        try:
            sock = self.inner.socket(family, type)
        except BaseException as e:
            self.add("socket", -1, socket_args(family, type), (_err_value(e),))
            raise
        wrapped = TracingSocket(self, sock)
        self.add("socket", wrapped._tfd, socket_args(family, type))
        return wrapped

    def socketpair(self) -> Tuple["TracingSocket", "TracingSocket"]:
        """The wrapped network's ``socketpair()``, recorded."""
        a, b = self.inner.socketpair()
        wa, wb = TracingSocket(self, a), TracingSocket(self, b)
        self.add("socketpair", wa._tfd, (), (wb._tfd,))
        return wa, wb

    def has_poller(self, method: str) -> bool:
        return bool(self.inner.has_poller(method))

    def poller(self, method: str) -> "TracingPoller":
        return TracingPoller(self, self.inner.poller(method), method)

    def sleep(self, seconds: Optional[float]) -> None:
        self.add("sleep", -1, (seconds,))
        self.inner.sleep(seconds)
        self._tick()

    def monotonic(self) -> float:
        return float(self.inner.monotonic())

    def wrap_file(self, fd: int) -> "TracingSocket":
        f = self.inner.wrap_file(fd)
        wrapped = TracingSocket(self, f)
        self.add("file", wrapped._tfd, ())
        return wrapped

    def set_fd_blocking(self, fd: int, flag: bool) -> None:
        self.inner.set_fd_blocking(fd, flag)

    def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.getaddrinfo(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Anything else the wrapped network offers (netstat, add_fault...).
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.inner, name)


class TracingPoller:
    """Records each wait: timeout, interest (``fd:letters``) and answer.

    The texts are cached by the descriptors, masks and answer they were
    made from, and dropped whenever the recorder's numbering changes."""

    def __init__(self, rec: Recorder, inner: Any, method: str) -> None:
        self.rec = rec
        self.log = rec._log
        self.inner = inner
        self.method = method
        self._select = method == "select"
        self._epoch = self.log.epoch
        self._interest: Optional[str] = None  # the last wait's
        self._args: Tuple[Any, ...] = (method, _NO_TIMEOUT, None)  # the last wait's
        self._interests: Dict[Any, str] = {}
        self._answers: Dict[Any, Tuple[str]] = {}  # answer -> (its text,)

    def _fresh(self) -> None:
        """Forget texts made under another numbering."""
        if self._epoch != self.log.epoch:
            self._interest = None
            self._interests.clear()
            self._answers.clear()
            self._epoch = self.log.epoch

    def _remember(self, cache: Dict[Any, Any], key: Any, text: Any) -> None:
        self._fresh()  # making the text may have numbered new descriptors
        if len(cache) >= 256:
            cache.clear()
        cache[key] = text

    def wait(
        self,
        fds: List[int],
        masks: List[int],
        changed: bool,
        reset: Sequence[int],
        timeout: Optional[float],
    ) -> Any:
        log = self.log
        if changed or self._epoch != log.epoch or self._interest is None:
            # (Unchanged means the last wait's descriptors and masks, as the
            # wrapped poller also takes it.)
            if self._epoch != log.epoch:
                self._fresh()
            self._interest = self._interest_text(fds, masks)
        interest = self._interest
        # The arguments' tuple, shared by the waits that repeat it (the
        # same timeout object and interest text: equal values of other
        # types, 1 and 1.0, print apart).
        args = self._args
        if args[1] is not timeout or args[2] is not interest:
            args = self._args = (self.method, timeout, interest)
        try:
            answer = self.inner.wait(fds, masks, changed, reset, timeout)
        except BaseException as e:
            log.tick()
            log.add("wait", -1, args, (_err_value(e),))
            raise
        m = log.monotonic()  # log.tick(), inline
        if m != log.last:
            log.last = m
            log.now = round(m - log.t0, 6)
        if self._epoch != log.epoch:
            self._fresh()
        try:
            if self._select:
                r, w, x = answer
                if not w and not x and len(r) == 1:
                    key: Any = r[0]
                else:
                    key = (tuple(r), tuple(w), tuple(x))
                    if len(r) + len(w) + len(x) > 1:  # ordered as the interest
                        key = (tuple(fds), key)
            elif len(answer) == 1:
                key = answer[0]
            else:
                key = (tuple(fds), tuple(answer))
            result = self._answers.get(key)
        except TypeError:  # something unhashable in there
            key = result = None
        if result is None:
            result = (self._ready_text(fds, answer, self._select),)
            if key is not None:
                self._remember(self._answers, key, result)
        log.put((log.now, "wait", -1, args, result))
        if len(log.pending) >= log.limit:
            log.spill()
        return answer

    def _interest_text(self, fds: List[int], masks: List[int]) -> str:
        try:
            key: Any = (tuple(fds), tuple(masks))
            text = self._interests.get(key)
        except TypeError:
            key = text = None
        if text is None:
            tfd = self.log.tfd
            text = readiness_text((tfd(fd), m) for fd, m in zip(fds, masks))
            if key is not None:
                self._remember(self._interests, key, text)
        return text

    def _ready_text(self, fds: List[int], answer: Any, select: bool) -> str:
        tfd = self.log.tfd
        got: Dict[int, int] = {}
        if select:
            r, w, x = answer
            for lst, bit in ((r, 1), (w, 4), (x, 2)):
                for fd in lst:
                    got[fd] = got.get(fd, 0) | bit
        else:
            for fd, ev in answer:
                got[fd] = got.get(fd, 0) | ev
        pos = {fd: i for i, fd in enumerate(fds)}
        return readiness_text(
            (tfd(fd), m)
            for fd, m in sorted(got.items(), key=lambda kv: pos.get(kv[0], len(pos)))
        )

    def forget(self, fd: int) -> None:
        self.inner.forget(fd)

    def close(self) -> None:
        self.inner.close()


# Taken now: inside a simulated world, socket.socket is the world's.
_MAKEFILE = _socket.socket.makefile


class TracingSocket:
    """A socket (or file wrapper) whose calls are recorded."""

    def __init__(self, rec: Recorder, sock: Any) -> None:
        self._rec = rec
        self._log = rec._log
        self._sock = sock
        self._fd = sock.fileno()
        self._tfd = self._log.tfd(self._fd)
        self._io_refs = 0  # files from makefile() still open
        self._closed = False
        self.send, self.recv = _traffic(self._log, sock, self._tfd)

    def __repr__(self) -> str:
        return "<TracingSocket fd=%d %r>" % (self._tfd, self._sock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def fileno(self) -> int:
        return self._sock.fileno()  # type: ignore[no-any-return]

    def _call(self, kind: str, args: Tuple[Any, ...], fn: Any, *call: Any) -> Any:
        try:
            value = fn(*call)
        except BaseException as e:
            self._log.add(kind, self._tfd, args, (_err_value(e),))
            raise
        return value

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def bind(self, address: Any) -> None:
        self._call("bind", (addr_value(address),), self._sock.bind, address)
        self._log.add("bind", self._tfd, (addr_value(address),))

    def listen(self, backlog: int) -> None:
        self._call("listen", (backlog,), self._sock.listen, backlog)
        self._log.add("listen", self._tfd, (backlog,))

    def connect_ex(self, address: Any) -> int:
        err = self._call(
            "connect", (addr_value(address),), self._sock.connect_ex, address
        )
        self._log.add(
            "connect",
            self._tfd,
            (addr_value(address),),
            (_errno.errorcode.get(err, err) if err else 0,),
        )
        return err  # type: ignore[no-any-return]

    def connect(self, address: Any) -> None:
        self._call("connect", (addr_value(address),), self._sock.connect, address)
        self._log.add("connect", self._tfd, (addr_value(address),), (0,))

    def accept(self) -> Tuple[Any, Any]:
        conn, addr = self._call("accept", (), self._sock.accept)
        wrapped = TracingSocket(self._rec, conn)
        self._log.add("accept", self._tfd, (), (wrapped._tfd, addr_value(addr)))
        return wrapped, addr

    # send and recv are the instance's own (see _traffic): one per socket.
    send: Callable[..., int]
    recv: Callable[..., bytes]

    # -- datagrams: each with its address (a UDP socket's send/recv above) --

    def sendto(self, data: Any, flags_or_address: Any, *address: Any) -> int:
        if address:
            flags, dest = int(flags_or_address), address[0]
        else:
            flags, dest = 0, flags_or_address
        args = size_args(len(data), flags) + (addr_value(dest),)
        sock = self._sock
        try:
            n = sock.sendto(data, flags, dest) if flags else sock.sendto(data, dest)
        except BaseException as e:
            self._log.add("sendto", self._tfd, args, (_err_value(e),))
            raise
        self._log.add("sendto", self._tfd, args, (n, bytes(data[:n])))
        return n  # type: ignore[no-any-return]

    def recvfrom(self, bufsize: int, flags: int = 0) -> Tuple[bytes, Any]:
        args = size_args(bufsize, flags)
        try:
            data, source = self._sock.recvfrom(bufsize, flags)
        except BaseException as e:
            self._log.add("recvfrom", self._tfd, args, (_err_value(e),))
            raise
        self._log.add("recvfrom", self._tfd, args, (bytes(data), addr_value(source)))
        return data, source

    def recvfrom_into(
        self, buffer: Any, nbytes: int = 0, flags: int = 0
    ) -> Tuple[int, Any]:
        view = memoryview(buffer).cast("B")
        data, source = self.recvfrom(nbytes or len(view), flags)
        view[: len(data)] = data
        return len(data), source

    def read(self, bufsize: int, flags: int = 0) -> bytes:
        return self.recv(bufsize, flags)

    def write(self, data: Any, flags: int = 0) -> int:
        return self.send(data, flags)

    # -- the rest of the surface, for stdlib clients in a simulated world --
    # (each goes through send()/recv() above, so every byte is recorded)

    def sendall(self, data: Any, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        while view:
            n = self.send(view, flags)
            view = view[n:]

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or len(view), flags)
        view[: len(data)] = data
        return len(data)

    def makefile(self, *args: Any, **kwargs: Any) -> Any:
        """As ``socket.socket.makefile``: CPython's own, run on this wrapper."""
        return _MAKEFILE(self, *args, **kwargs)  # type: ignore[call-overload]

    def _decref_socketios(self) -> None:
        if self._io_refs > 0:
            self._io_refs -= 1
        if self._closed and self._io_refs == 0:
            self._real_close()

    def sendfile(self, file: Any, offset: int = 0, count: Optional[int] = None) -> int:
        # Through sendall(), so every byte is recorded, as the fake does it.
        from fake_net._socket_io import send_file_through

        return send_file_through(self.sendall, file, offset, count)

    def __enter__(self) -> "TracingSocket":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def shutdown(self, how: int) -> None:
        args = shutdown_args(how)
        self._call("shutdown", args, self._sock.shutdown, how)
        self._log.add("shutdown", self._tfd, args)

    def getsockopt(self, level: int, optname: int, *rest: Any) -> Any:
        args = sockopt_args(level, optname) + rest
        value = self._call(
            "getsockopt", args, self._sock.getsockopt, level, optname, *rest
        )
        if isinstance(value, int) and optname == _socket.SO_ERROR and value:
            shown: Any = _errno.errorcode.get(value, value)
        else:
            shown = value
        self._log.add("getsockopt", self._tfd, args, (shown,))
        return value

    def setsockopt(self, level: int, optname: int, value: Any, *rest: Any) -> None:
        args = sockopt_args(level, optname) + (value,) + rest
        self._call(
            "setsockopt", args, self._sock.setsockopt, level, optname, value, *rest
        )
        self._log.add("setsockopt", self._tfd, args)

    def getsockname(self) -> Any:
        value = self._call("getsockname", (), self._sock.getsockname)
        self._log.add("getsockname", self._tfd, (), (addr_value(value),))
        return value

    def getpeername(self) -> Any:
        value = self._call("getpeername", (), self._sock.getpeername)
        self._log.add("getpeername", self._tfd, (), (addr_value(value),))
        return value

    def close(self) -> None:
        # As socket.socket.close(): a file from makefile() keeps it open.
        self._closed = True
        if self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        log = self._log
        if self._fd is None or self._fd < 0:
            self._sock.close()
            return
        self._call("close", (), self._sock.close)
        fd, self._fd = self._fd, -1
        log.add("close", self._tfd, ())
        log.close_fd(fd)
