"""The real network: OS sockets, the OS clock, select/poll/epoll."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import asyncore_seam as _seam
from real_net._pollers import EpollPoller, PollPoller, SelectPoller

__all__ = ["RealNetwork"]


class RealNetwork:
    """The operating system's network, as the dispatcher core sees it.

    ``namespace`` is the object whose ``socket``, ``select``, ``time`` and
    ``os`` attributes are used, looked up on every call.  The default is the
    ``asyncore_sim.asyncore`` module itself (see the package docstring).
    """

    name = "real"

    def __init__(self, namespace: Any = None) -> None:
        self._namespace = namespace

    @property
    def ns(self) -> Any:
        if self._namespace is not None:
            return self._namespace
        return _seam.patch_namespace()

    def __repr__(self) -> str:
        return "RealNetwork()"

    # -- sockets -------------------------------------------------------------

    def socket(self, family: int, type: int) -> Any:
        _seam.check_real_sockets_allowed()
        return self.ns.socket.socket(family, type)

    def socketpair(self) -> Tuple[Any, Any]:
        """Two connected TCP sockets on 127.0.0.1, blocking, as
        ``socket.socketpair()`` returns them.

        They are made with listen/connect/accept (as CPython's fallback
        ``socketpair`` does where ``AF_UNIX`` is missing) so that they behave
        as the TCP connections fake_net's ``socketpair()`` simulates; Linux's
        own ``socketpair()`` gives ``AF_UNIX`` sockets, which differ (no
        urgent data, other errors on reset).
        """
        sockmod = self.ns.socket
        listener = self.socket(sockmod.AF_INET, sockmod.SOCK_STREAM)
        try:
            listener.settimeout(10.0)
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            a = self.socket(sockmod.AF_INET, sockmod.SOCK_STREAM)
            try:
                a.settimeout(10.0)
                a.connect(listener.getsockname())
                b, addr = listener.accept()
                if addr != a.getsockname():  # someone else got in first
                    b.close()
                    raise ConnectionError("socketpair: unexpected peer %r" % (addr,))
                a.settimeout(None)
                b.settimeout(None)
            except BaseException:
                a.close()
                raise
        finally:
            listener.close()
        return a, b

    def getaddrinfo(self, *args: Any, **kwargs: Any) -> Any:
        return self.ns.socket.getaddrinfo(*args, **kwargs)

    # -- files ---------------------------------------------------------------

    def wrap_file(self, fd: int) -> Any:
        return self.ns.file_wrapper(fd)

    def set_fd_blocking(self, fd: int, flag: bool) -> None:
        self.ns.os.set_blocking(fd, flag)

    # -- readiness -----------------------------------------------------------

    def has_poller(self, method: str) -> bool:
        # Asked on every loop(use_poll=True) call, as the stdlib asks
        # hasattr(select, "poll"): no property, one attribute test.
        if method == "select":
            return True
        ns = self._namespace
        if ns is None:
            ns = _seam._patch_namespace or _seam.patch_namespace()
        return hasattr(ns.select, method)

    def poller(self, method: str) -> Any:
        ns = self.ns
        if method == "select":
            return SelectPoller(ns)
        if method == "poll":
            return PollPoller(ns)
        if method == "epoll":
            return EpollPoller(ns)
        raise ValueError(
            "unknown readiness method %r (expected 'select', 'poll' or 'epoll')"
            % (method,)
        )

    # -- clock ---------------------------------------------------------------

    def sleep(self, seconds: Optional[float]) -> None:
        self.ns.time.sleep(seconds)

    def monotonic(self) -> float:
        return self.ns.time.monotonic()  # type: ignore[no-any-return]
