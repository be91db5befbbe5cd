"""fake_net: a deterministic simulated network behind the I/O seam (asyncore_seam).

The same dispatcher code that runs on real sockets runs unchanged here, where
every byte boundary, every readiness answer and every failure is under the
test's control and reproducible from a seed or a script::

    import asyncore_sim as asyncore
    from fake_net import FakeNetwork, PartialSend

    net = FakeNetwork(seed=7, faults=[PartialSend(max_bytes=3)])
    map = net.map()
    server = EchoServer(map=map)      # ordinary asyncore dispatchers
    client = Client(map=map)
    asyncore.loop(map=map, timeout=1.0)
    print(net.netstat())              # every socket, like netstat
    print(net.event_lines()[:5])      # what happened, in virtual time

Sockets raise real ``OSError``s with Linux's errnos; time is virtual (a
loop's timeout advances it, nothing sleeps); a run that can never make
progress stops with :class:`SimulationStuck`.

This package depends on the seam alone (``asyncore_seam``), never on the
dispatcher core, the traces or the toolkit above it.
"""

from typing import Any

from fake_net._errors import (
    RealSocketForbidden,
    SimulationBudgetExceeded,
    SimulationError,
    SimulationHalted,
    SimulationStuck,
    oserror,
)
from fake_net._events import Event
from fake_net._faults import (
    ANY,
    LINUX_CONNECT_TIMEOUT,
    ConnectLatency,
    ConnectTimeout,
    CutReads,
    CutSends,
    Delay,
    DelaySegments,
    ExceptionalFile,
    Fault,
    HideReady,
    InjectOOB,
    InterruptWait,
    Match,
    PartialSend,
    PeerClose,
    PeerReset,
    PendingError,
    RefuseConnect,
    ShortRead,
    SpuriousReady,
)
from fake_net._cost import Cost
from fake_net._links import Link
from fake_net._hosts import Host, HostLink
from fake_net._datagram_faults import (
    CorruptDatagram,
    DatagramFault,
    DelayDatagram,
    DropDatagram,
    DuplicateDatagram,
    ReorderDatagrams,
    TruncateDatagram,
)
from fake_net._files import FakeFileWrapper
from fake_net._network import DEFAULT_NAMES, FakeNetwork
from fake_net._plan import FaultPlan, StreamEnd
from fake_net._poller import FakePoller
from fake_net._remote import RemoteServer
from fake_net._datagram import DatagramSocket
from fake_net._socket import FakeSocket

__all__ = [
    "ANY",
    "ConnectLatency",
    "Cost",
    "Link",
    "Host",
    "HostLink",
    "ConnectTimeout",
    "CorruptDatagram",
    "CutReads",
    "CutSends",
    "DEFAULT_NAMES",
    "Delay",
    "DelaySegments",
    "Event",
    "ExceptionalFile",
    "FakeFileWrapper",
    "FakeNetwork",
    "FakePoller",
    "FakeSocket",
    "DatagramFault",
    "DatagramSocket",
    "DelayDatagram",
    "DropDatagram",
    "DuplicateDatagram",
    "Fault",
    "FaultPlan",
    "HideReady",
    "InjectOOB",
    "InterruptWait",
    "LINUX_CONNECT_TIMEOUT",
    "Match",
    "PartialSend",
    "PeerClose",
    "PeerReset",
    "PendingError",
    "RealSocketForbidden",
    "RefuseConnect",
    "RemoteServer",
    "ReorderDatagrams",
    "ShortRead",
    "SimulationBudgetExceeded",
    "SimulationError",
    "SimulationHalted",
    "SimulationStuck",
    "SpuriousReady",
    "StreamEnd",
    "TruncateDatagram",
    "oserror",
]

# Names that lived here once and moved up a layer (to the traces, which
# depend on this package).  They keep working, resolved on first use and
# never while fake_net itself is imported, so no import runs upward.
__moved__ = {
    "ReplayNetwork": "asyncore_sim.trace",
    "ReplayDiverged": "asyncore_sim.trace",
}


def __getattr__(name: str) -> Any:
    home = __moved__.get(name)
    if home is None:
        raise AttributeError("module 'fake_net' has no attribute %r" % name)
    import importlib

    return getattr(importlib.import_module(home), name)
