"""The network's event log is bounded (``keep_events``), so long runs and
sweeps run in constant memory, and says what it dropped."""

from __future__ import annotations



import pytest

from fake_net import FakeNetwork


def _round_trips(net: FakeNetwork, n: int) -> None:
    """n blocking echo round trips over a simulated socketpair; each wait
    in between is a blocking recv (which trims the log)."""
    a, b = net.socketpair()
    for i in range(n):
        a.sendall(b"x%d" % i)
        data = b.recv(100)
        b.sendall(data)
        assert a.recv(100) == data


def test_the_log_keeps_the_last_events_and_counts_the_rest() -> None:
    net = FakeNetwork(keep_events=50, world=False)
    _round_trips(net, 500)
    assert 50 <= len(net.events) <= 100
    assert net.events_dropped > 0
    total = net.events_dropped + len(net.events)
    lines = net.event_lines()
    assert lines[0] == "# %d earlier events dropped (keep_events=50)" % (
        net.events_dropped
    )
    # What is kept is the end of the run, in order.
    whole = FakeNetwork(keep_events=None, world=False)
    _round_trips(whole, 500)
    assert whole.events_dropped == 0
    assert len(whole.events) == total
    assert whole.event_lines()[-len(lines) + 1 :] == lines[1:]


def test_the_default_keeps_a_short_run_whole() -> None:
    net = FakeNetwork(world=False)
    _round_trips(net, 100)
    assert net.events_dropped == 0
    assert not net.event_lines()[0].startswith("#")


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_keep_events_is_checked(bad) -> None:
    with pytest.raises(ValueError, match="keep_events"):
        FakeNetwork(keep_events=bad)


def test_record_false_keeps_nothing() -> None:
    net = FakeNetwork(record=False, world=False)
    _round_trips(net, 10)
    assert net.events == [] and net.events_dropped == 0

