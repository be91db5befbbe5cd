"""What a simulated wait should answer, computed from each socket's own
``_revents()``: the oracle the speed-path tests hold the poller's kept
interest and fast paths to, and a wait's answer in the oracle's form (a
helper module of the tests, not a test)."""

from __future__ import annotations

import errno


def oracle(net, method, fds, masks):
    """The answer of a ``method`` wait on ``fds`` with ``masks``: select's
    three lists (or EBADF for a closed descriptor), poll's sorted pairs."""
    live = {fd: net._objects[fd]._revents() for fd in fds if fd in net._objects}
    wanted = [(fd, m) for fd, m in zip(fds, masks) if m]
    if method == "select":
        if any(fd not in live for fd, _ in wanted):
            return ("OSError", errno.EBADF)
        r = [fd for fd, m in wanted if m & 1 and live[fd] & (1 | 8 | 16)]
        w = [fd for fd, m in wanted if m & 4 and live[fd] & (4 | 8)]
        e = [fd for fd, m in wanted if m & 2 and live[fd] & 2]
        return (r, w, e)
    out = []
    for fd, m in wanted:
        bits = 32 if fd not in live else live[fd] & (m | 8 | 16)
        if bits:
            out.append((fd, bits))
    return sorted(out)


def wait_answer(poller, fds, masks, changed):
    """What ``poller.wait`` answers (at once), or ``("OSError", errno)``."""
    try:
        return poller.wait(fds, masks, changed, [], 0.0)
    except OSError as e:
        return ("OSError", e.errno)


def normal(answer):
    """A wait's answer in the oracle's form: poll's pairs sorted, select's
    three lists as a tuple of lists; an error as it is."""
    if isinstance(answer, list):
        return sorted(answer)
    if isinstance(answer, tuple) and len(answer) == 3:
        return tuple(list(x) for x in answer)
    return answer
