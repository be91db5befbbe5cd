"""A drop-in ``asynchat`` (as of CPython 3.11) on asyncore_sim's dispatcher.

``async_chat`` splits its input on a terminator (bytes, a byte count, or
None for "everything") and queues output as data or producers.  Behaviour,
including the order of ``collect_incoming_data``/``found_terminator`` calls
and the send-side quirks, follows CPython 3.11's ``Lib/asynchat.py``.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Deque, List

from asyncore_sim import asyncore

__all__ = ["async_chat", "simple_producer", "find_prefix_at_end"]


class async_chat(asyncore.dispatcher):
    """Abstract: subclasses supply collect_incoming_data() and found_terminator()."""

    # These are overridable class attributes, as in the stdlib.
    ac_in_buffer_size = 65536
    ac_out_buffer_size = 65536

    # A str terminator or str data is encoded with this when use_encoding is
    # true (a Python 2 convenience the stdlib kept).
    use_encoding = 0
    encoding = "latin-1"

    def __init__(self, sock: Any = None, map: Any = None) -> None:
        self.ac_in_buffer = b""
        # Incoming data for the default collect_incoming_data helpers.
        self.incoming: List[bytes] = []
        # The outgoing queue: bytes-like entries, producers, and None
        # (meaning "close when you get here").
        self.producer_fifo: Deque[Any] = deque()
        asyncore.dispatcher.__init__(self, sock, map)

    def collect_incoming_data(self, data: bytes) -> None:
        raise NotImplementedError("must be implemented in subclass")

    def _collect_incoming_data(self, data: bytes) -> None:
        self.incoming.append(data)

    def _get_data(self) -> bytes:
        data = b"".join(self.incoming)
        del self.incoming[:]
        return data

    def found_terminator(self) -> None:
        raise NotImplementedError("must be implemented in subclass")

    def set_terminator(self, term: Any) -> None:
        """Set the input delimiter: bytes of any length, a byte count, or None."""
        if isinstance(term, str) and self.use_encoding:
            term = bytes(term, self.encoding)
        elif isinstance(term, int) and term < 0:
            raise ValueError("the number of received bytes must be positive")
        self.terminator = term

    def get_terminator(self) -> Any:
        return self.terminator

    # -- input ---------------------------------------------------------------

    def handle_read(self) -> None:
        try:
            data = self.recv(self.ac_in_buffer_size)
        except BlockingIOError:
            return
        except OSError:
            self.handle_error()
            return
        if isinstance(data, str) and self.use_encoding:
            data = bytes(data, self.encoding)
        self.ac_in_buffer = self.ac_in_buffer + data
        # Consume the buffer in as many terminator-sized pieces as it holds;
        # found_terminator() may change the terminator between pieces.
        while self.ac_in_buffer:
            if not self._consume_one():
                break

    def _consume_one(self) -> bool:
        """Handle one piece of the input buffer; False when more input is needed."""
        buf = self.ac_in_buffer
        size = len(buf)
        terminator = self.get_terminator()
        if not terminator:
            # None (or 0 / b""): everything goes to the collector.
            self.collect_incoming_data(buf)
            self.ac_in_buffer = b""
        elif isinstance(terminator, int):
            if size < terminator:
                self.collect_incoming_data(buf)
                self.ac_in_buffer = b""
                self.terminator = self.terminator - size
            else:
                self.collect_incoming_data(buf[:terminator])
                self.ac_in_buffer = buf[terminator:]
                self.terminator = 0
                if asyncore._tracer is not None:
                    asyncore._tracer.callback(self, "found_terminator")
                self.found_terminator()
        else:
            index = buf.find(terminator)
            if index != -1:
                if index > 0:
                    self.collect_incoming_data(buf[:index])
                self.ac_in_buffer = buf[index + len(terminator):]
                if asyncore._tracer is not None:
                    asyncore._tracer.callback(self, "found_terminator")
                self.found_terminator()
            else:
                # Keep back a tail that may be the start of the terminator.
                keep = find_prefix_at_end(buf, terminator)
                if keep:
                    if keep != size:
                        self.collect_incoming_data(buf[:-keep])
                        self.ac_in_buffer = buf[-keep:]
                    return False
                self.collect_incoming_data(buf)
                self.ac_in_buffer = b""
        return True

    def handle_write(self) -> None:
        self.initiate_send()

    def handle_close(self) -> None:
        self.close()

    # -- output --------------------------------------------------------------

    def push(self, data: Any) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            # The stdlib passes the format and the type as two arguments.
            raise TypeError("data argument must be byte-ish (%r)", type(data))
        size = self.ac_out_buffer_size
        if len(data) > size:
            for i in range(0, len(data), size):
                self.producer_fifo.append(data[i:i + size])
        else:
            self.producer_fifo.append(data)
        self.initiate_send()

    def push_with_producer(self, producer: Any) -> None:
        self.producer_fifo.append(producer)
        self.initiate_send()

    def readable(self) -> Any:
        """Predicate for inclusion in the readable set."""
        return 1

    def writable(self) -> Any:
        """Predicate for inclusion in the writable set."""
        return self.producer_fifo or (not self.connected)

    def close_when_done(self) -> None:
        """Close this channel once the outgoing queue is empty."""
        self.producer_fifo.append(None)

    def initiate_send(self) -> None:
        # One send per call, as CPython 3.11 does.
        fifo = self.producer_fifo
        while fifo and self.connected:
            first = fifo[0]
            if not first:
                # An empty entry is dropped; None means "close now".  Like
                # the stdlib, an empty bytes entry then falls through and
                # sends b"" once.
                del fifo[0]
                if first is None:
                    self.handle_close()
                    return
            obs = self.ac_out_buffer_size
            try:
                data = first[:obs]
            except TypeError:
                # A producer: replace it by its next chunk, or drop it.
                data = first.more()
                if data:
                    fifo.appendleft(data)
                else:
                    del fifo[0]
                continue
            if isinstance(data, str) and self.use_encoding:
                data = bytes(data, self.encoding)
            try:
                num_sent = self.send(data)
            except OSError:
                self.handle_error()
                return
            if num_sent:
                if num_sent < len(data) or obs < len(first):
                    fifo[0] = first[num_sent:]
                else:
                    del fifo[0]
            return

    def discard_buffers(self) -> None:
        self.ac_in_buffer = b""
        del self.incoming[:]
        self.producer_fifo.clear()


class simple_producer:
    """Hands out ``data`` in pieces of at most ``buffer_size`` bytes."""

    def __init__(self, data: bytes, buffer_size: int = 512) -> None:
        self.data = data
        self.buffer_size = buffer_size

    def more(self) -> bytes:
        if len(self.data) > self.buffer_size:
            result = self.data[: self.buffer_size]
            self.data = self.data[self.buffer_size:]
            return result
        result = self.data
        self.data = b""
        return result


def find_prefix_at_end(haystack: bytes, needle: bytes) -> int:
    """Length of the longest proper prefix of ``needle`` that ends ``haystack``."""
    n = len(needle) - 1
    while n and not haystack.endswith(needle[:n]):
        n -= 1
    return n
