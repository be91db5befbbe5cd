"""The scenario directives of time: ``epoch`` (``time.time()`` at virtual
time 0 in the program's world, issue 12 item 5) and ``cost loopback`` (the
cost model measured on a real loopback, issue 16 item 1), and their bad
forms named by line."""

from __future__ import annotations

import pytest

from asyncore_sim.trace.scenario import ScenarioError, load_scenario, run_scenario

PROGRAM = """\
import datetime, time
print(time.time(), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))
print(datetime.datetime.now().isoformat())
"""


def _run(tmp_path, lines: str) -> str:
    (tmp_path / "p.py").write_text(PROGRAM)
    path = tmp_path / "e.scenario"
    path.write_text("program p.py\n" + lines)
    result = run_scenario(load_scenario(str(path)))
    assert result.error is None, result.error
    return str(result.output)


def test_the_epoch_sets_the_program_s_wall_clock(tmp_path):
    out = _run(tmp_path, "epoch 2024-05-01T12:00:00Z\n")
    assert out == "1714564800.0 2024-05-01 12:00:00\n2024-05-01T12:00:00\n"
    assert _run(tmp_path, "epoch 1700000000\n").startswith("1700000000.0 2023-11-14")


def test_without_the_directive_the_default_epoch_holds(tmp_path):
    assert _run(tmp_path, "").startswith("1000000000.0 2001-09-09 01:46:40\n")


@pytest.mark.parametrize(
    "line, message",
    [
        ("epoch", "usage: epoch SECONDS"),
        ("epoch tomorrow", "got 'tomorrow'"),
        ("epoch 2024-05-01T12:00:00+02:00", "give the time in UTC"),
        ("epoch 2024-05-01T12:00:00", "give the time in UTC"),
        ("epoch -1", "at or after 1970-01-01"),
        ("epoch nan", "at or after 1970-01-01"),
        ("epoch 1\nepoch 2", "a second 'epoch' line (the first is line 2)"),
    ],
)
def test_bad_epochs_are_named_by_line(tmp_path, line, message):
    path = tmp_path / "e.scenario"
    path.write_text("program p.py\n" + line + "\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    assert "e.scenario:" in str(info.value) and message in str(info.value)


def test_cost_loopback_is_the_measured_preset(tmp_path):
    from fake_net import Cost

    (tmp_path / "p.py").write_text("print('x')\n")
    path = tmp_path / "c.scenario"
    path.write_text("program p.py\ncost loopback\n")
    assert load_scenario(str(path)).cost == Cost.loopback()
    assert Cost.loopback() == Cost(wait=5e-6, send=8e-6, recv=1e-6)
    path.write_text("program p.py\ncost loopback wait=1us\n")
    with pytest.raises(ScenarioError, match="c.scenario:2: usage: cost .*loopback"):
        load_scenario(str(path))
