"""Sweeps beyond one machine: ``sweep --shard K/M`` splits the seed range
deterministically, ``sweep --merge DIR`` makes one report of the shards
(asyncore_sim/cli/_shards.py, asyncore_sim/testing/_sweep_summary.py)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any, List

import pytest

from asyncore_sim.cli._shards import shard_range
from test_toolkit_plugin import PEERS, SIM_TESTS


@pytest.mark.parametrize("seeds", [1, 7, 10, 101])
@pytest.mark.parametrize("shards", [1, 2, 3, 7])
def test_shards_cover_the_range_once_in_near_equal_parts(seeds, shards) -> None:
    if shards > seeds:
        return
    parts = [shard_range(5, seeds, k, shards) for k in range(1, shards + 1)]
    covered: List[int] = []
    for first, count in parts:
        covered.extend(range(first, first + count))
    assert covered == list(range(5, 5 + seeds))
    sizes = [count for _, count in parts]
    assert max(sizes) - min(sizes) <= 1


def _cli(cwd: Any, *args: str) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "asyncore_sim", *args],
        cwd=str(cwd), capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def project(tmp_path: Any) -> Any:
    (tmp_path / "peers.py").write_text(PEERS)
    (tmp_path / "test_sim.py").write_text(SIM_TESTS)
    return tmp_path


def _failing(stdout: str) -> List[str]:
    return re.findall(r"^FAILED (test_sim\.py::\S+)$", stdout, re.M)


def test_two_shards_merged_find_what_one_sweep_finds(project) -> None:
    test = "test_sim.py::test_lossy"
    whole = _cli(project, "sweep", test, "--seeds", "6", "-n", "0", "--out", "whole")
    assert whole.returncode == 1, whole.stdout + whole.stderr
    gathered = project / "gathered"
    for k in (1, 2):
        r = _cli(project, "sweep", test, "--seeds", "6", "--shard", "%d/2" % k,
                 "-n", "0", "--out", str(gathered / ("job%d" % k)))
        assert r.returncode in (0, 1), r.stdout + r.stderr
        job = gathered / ("job%d" % k)
        assert (job / ("shard-%d-of-2.xml" % k)).read_text().startswith("<?xml")
        summary = json.loads((job / ("shard-%d-of-2.json" % k)).read_text())
        assert summary["shard"] == [k, 2] and summary["seeds"] == 3
        assert summary["start"] == (0 if k == 1 else 3)
    merged = _cli(project, "sweep", "--merge", str(gathered))
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert "2 shards, seeds 0..5" in merged.stdout
    assert _failing(merged.stdout) == sorted(
        _failing(whole.stdout), key=lambda n: int(re.search(r"(\d+)\]$", n).group(1))
    )
    # Each failure's trace is named, and is there.
    traces = re.findall(r"^    trace: (.*)$", merged.stdout, re.M)
    assert len(traces) == len(_failing(merged.stdout))
    assert all(os.path.exists(project / t) for t in traces), traces
    reproduce = r"^    reproduce: .*--sim-seed=\d+ --sim-faults$"
    assert re.findall(reproduce, merged.stdout, re.M)


def test_merge_refuses_a_missing_or_repeated_shard(project) -> None:
    test = "test_sim.py::test_seeded"
    r = _cli(project, "sweep", test, "--seeds", "4", "--shard", "1/2", "-n", "0",
             "--out", "g/a")
    assert r.returncode == 0, r.stdout + r.stderr
    missing = _cli(project, "sweep", "--merge", "g")
    assert missing.returncode == 2
    assert "shard 2 of 2 missing" in missing.stderr
    (project / "g" / "b").mkdir()
    (project / "g" / "b" / "shard-1-of-2.json").write_text(
        (project / "g" / "a" / "shard-1-of-2.json").read_text()
    )
    twice = _cli(project, "sweep", "--merge", "g")
    assert twice.returncode == 2 and "shard 1/2 twice" in twice.stderr
    (project / "g" / "b" / "shard-1-of-2.json").write_text("{not json")
    bad = _cli(project, "sweep", "--merge", "g")
    assert bad.returncode == 2 and "not a sweep summary" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--shard", "0/2"], "K must be between 1 and M"),
        (["--shard", "3/2"], "K must be between 1 and M"),
        (["--shard", "x"], "expects K/M"),
        (["--seeds", "2", "--shard", "1/3"], "holds none"),
    ],
)
def test_bad_shards_are_clean_errors(project, args, message) -> None:
    r = _cli(project, "sweep", "test_sim.py", "-n", "0", *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr


def test_merge_needs_a_folder_and_sweep_needs_tests(project) -> None:
    r = _cli(project, "sweep", "--merge", "nowhere")
    assert r.returncode == 2 and "no such folder" in r.stderr
    r = _cli(project, "sweep")
    assert r.returncode == 2 and "give the tests" in r.stderr
