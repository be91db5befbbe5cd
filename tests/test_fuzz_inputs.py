"""A fast sample of the input fuzz (tests/fuzz_inputs.py): mutated real
files through the scenario and trace readers and every subcommand that
reads files.  The long run is tests/long/ (ASYNCORE_SIM_LONG=1)."""

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz_inputs import Workspace, cases, mutate, reader_cases

SAMPLE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return Workspace(str(tmp_path_factory.mktemp("fuzz")))


def test_the_workspace_has_replayable_recordings(workspace):
    # Every scenario was recorded with its program named, so that the
    # replay and check targets reach the replay itself; unmutated, each
    # replays identically.
    assert len(workspace.recorded) == len(workspace.scenarios) == 8
    before = workspace.statuses[("replay", 0)]
    for i in range(len(workspace.recorded)):
        assert workspace.run(("replay", i, "scenario", [])) is None
    assert workspace.statuses[("replay", 0)] == before + 8


@settings(SAMPLE, max_examples=300)
@given(case=reader_cases)
def test_readers_take_mutated_files(workspace, case):
    assert workspace.run(case) is None


@settings(SAMPLE, max_examples=150)
@given(case=cases)
def test_subcommands_take_mutated_files(workspace, case):
    assert workspace.run(case) is None


def test_mutations_change_the_input():
    data = b'at 1ms www.python.org:80 send "abc"\nseed 3\n'
    assert mutate(data, [("escape", 0, 1)], [b"x"], ["y"]) == (
        b'at 1ms www.python.org:80 send "\\qabc"\nseed 3\n'
    )
    assert mutate(data, [("number", 2, 11)], [b"x"], ["y"]).endswith(
        b"seed 500000000\n"
    )
    assert mutate(data, [("delete_line", 0, 0)], [b"x"], ["y"]) == b"seed 3\n"
