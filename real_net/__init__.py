"""real_net: the operating system's sockets behind asyncore_sim's I/O seam.

``RealNetwork`` makes real ``socket.socket`` objects (they satisfy the seam's
socket interface without a wrapper) and waits with select, poll or epoll.

By default the network looks up ``socket``, ``select``, ``time`` and ``os``
on the ``asyncore_sim.asyncore`` module *at call time*, so that a legacy test
that monkeypatches ``asyncore.socket`` or ``asyncore.select`` sees its patch
take effect exactly as with the stdlib module.
"""

from __future__ import annotations

from real_net._network import RealNetwork
from real_net._pollers import EpollPoller, PollPoller, SelectPoller

__all__ = ["RealNetwork", "SelectPoller", "PollPoller", "EpollPoller"]
