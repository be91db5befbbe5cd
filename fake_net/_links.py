"""Links: latency and capacity of in-process connections, per port or per connection.

``FakeNetwork(links=[Link(port=8080, latency=50e-6, capacity=4096,
accept_latency=20e-6)])`` (scenario: ``link port=8080 latency=50us
capacity=4096 accept_latency=20us``) gives every connection to port 8080:

- ``latency``: the bytes of a ``send()`` become readable at the peer at
  ``now + latency``, not at once (both directions; ``latency_to_server`` and
  ``latency_to_client`` set one direction: the data the client sends, the
  data the server sends).  Segments stay in order, and a FIN follows the
  data sent before it.  Virtual time moves only when nothing is ready,
  unless the cost model (``fake_net._cost``) makes it pass between busy
  loop passes: with it, a latency can land between two passes;
- ``capacity``: the bytes one direction of the connection holds, sent and
  not yet read (on Linux, the sender's send buffer and the receiver's
  receive buffer together), for both directions (``capacity_to_server``,
  ``capacity_to_client`` for one); a ``send()`` beyond it goes short or
  gives EAGAIN, as with ``FakeNetwork(capacity=)``, the default;
- ``accept_latency``: the client's connect completes as before, but the
  listener sees the connection (readable, ``accept()`` returns it) only
  ``accept_latency`` seconds later.  A listener closed meanwhile resets it.

``port`` is the listening port (the server end's local port: a
listener's, or a scripted server's, ``fake_net.RemoteServer``, whose
timeline's sends then arrive ``latency`` later too; accept latency is for
listeners only); ``conn`` is the connection's number (0 for the first
connection established on the network, as ``Match(conn=)``); a field left
None matches every connection.
The first link that matches a connection is its link, as it is made; a
connection no link matches is as without links.  Off by default
(``links=()``): nothing changes, and the send path costs nothing more.

Rules: values only (attrs, frozen), checked as made with a ValueError that
names the argument; the table is a tuple searched in order (no set, no hash
order); no clock but the network's virtual one, no random source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple

import attrs

from fake_net._checks import seconds

if TYPE_CHECKING:  # pragma: no cover
    from fake_net._network import FakeNetwork
    from fake_net._socket import FakeSocket

__all__ = ["Link", "links_table"]


def _bytes(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            "Link(%s=...) must be a positive whole number of bytes, got %r"
            % (attribute.name, value)
        )


def _port(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError("Link(port=...) must be within 1..65535, got %r" % (value,))


def _conn(instance: Any, attribute: Any, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            "Link(conn=...) must be a connection number (0, 1, ...), got %r" % (value,)
        )


@attrs.frozen(kw_only=True)
class Link:
    """The link properties of the connections it matches (see the module
    docstring): data latency per direction, capacity per direction, and the
    accept latency."""

    port: Optional[int] = attrs.field(default=None, validator=_port)
    conn: Optional[int] = attrs.field(default=None, validator=_conn)
    latency: float = attrs.field(default=0.0, validator=seconds("Link"))
    latency_to_server: Optional[float] = attrs.field(
        default=None, validator=seconds("Link", none_ok=True)
    )
    latency_to_client: Optional[float] = attrs.field(
        default=None, validator=seconds("Link", none_ok=True)
    )
    capacity: Optional[int] = attrs.field(default=None, validator=_bytes)
    capacity_to_server: Optional[int] = attrs.field(default=None, validator=_bytes)
    capacity_to_client: Optional[int] = attrs.field(default=None, validator=_bytes)
    accept_latency: float = attrs.field(default=0.0, validator=seconds("Link"))

    def matches(self, port: Optional[int], conn: Optional[int]) -> bool:
        return (self.port is None or self.port == port) and (
            self.conn is None or self.conn == conn
        )

    def delays(self) -> Tuple[float, float]:
        """(to the server, to the client): the data latency each way."""
        up, down = self.latency_to_server, self.latency_to_client
        return (
            float(self.latency if up is None else up),
            float(self.latency if down is None else down),
        )


def links_table(links: Any) -> Tuple[Link, ...]:
    """``FakeNetwork(links=...)`` checked: a sequence of :class:`Link`."""
    if isinstance(links, Link):
        links = (links,)
    if isinstance(links, (str, bytes, dict)) or not isinstance(links, Sequence):
        raise ValueError(
            "FakeNetwork(links=...) must be a sequence of Link, got %r" % (links,)
        )
    for item in links:
        if not isinstance(item, Link):
            raise ValueError(
                "FakeNetwork(links=...) must hold Link values only, got %r" % (item,)
            )
    return tuple(links)


def has_latency(table: Sequence[Link]) -> bool:
    """Whether any link delays data (the send path must then go the way of
    delivery rules, ``_Segments._transmit``)."""
    return any(link.delays() != (0.0, 0.0) for link in table)


def delay_rules(net: "FakeNetwork") -> bool:
    """Whether a delivery fault rule (``Delay``, ...) is installed."""
    return any(f.site == "deliver" for f in net.faults)


def rst_waits(net: "FakeNetwork") -> bool:
    """Whether an RST a send draws comes at the next wait rather than within
    the send: with delay rules it does; a link's latency is for data, and
    on loopback the RST is back at once (see ``_send_to_dead_peer``)."""
    return not net._link_table or delay_rules(net)


def _find(net: "FakeNetwork", server: "FakeSocket") -> Optional[Link]:
    port = server.local[1] if server.local is not None else None
    for link in net._link_table:
        if link.matches(port, server.conn):
            return link
    return None


def join(net: "FakeNetwork", client: "FakeSocket", server: "FakeSocket") -> None:
    """A connection is made (``_Stream._join``): give both ends their link's
    capacity, and note its data latency by connection number."""
    link = _find(net, server)
    if link is None:
        return
    up = link.capacity_to_server or link.capacity
    down = link.capacity_to_client or link.capacity
    if up is not None:
        client.capacity = up
    if down is not None:
        server.capacity = down
    delays = link.delays()
    if delays != (0.0, 0.0):
        assert client.conn is not None
        net._link_delays[client.conn] = delays


def data_latency(net: "FakeNetwork", sender: "FakeSocket") -> float:
    """The link's latency for data ``sender`` sends (0 without a link)."""
    delays = net._link_delays.get(sender.conn)  # type: ignore[arg-type]
    if delays is None:
        return 0.0
    return delays[1] if sender.side == "server" else delays[0]


def accept_latency(net: "FakeNetwork", server: "FakeSocket") -> float:
    """How long after the connect completes the listener sees ``server``."""
    link = _find(net, server)
    return 0.0 if link is None else float(link.accept_latency)


def accept_arrives(listener: "FakeSocket", server: "FakeSocket") -> None:
    """The accept latency is over: the listener sees the connection, or, if
    it stopped listening meanwhile, the client is reset (Linux resets a
    connection nobody will accept)."""
    if listener.fd is None or listener.state != "listening":
        client = server.peer
        if client is not None:
            client._reset_by_peer()
        return
    listener.accept_q.append(server)
    listener._refresh()
