"""Sweeps beyond one machine: ``sweep --shard K/M`` and ``sweep --merge DIR``.

A CI matrix of M jobs runs one sweep together: job K runs
``asyncore-sim sweep TESTS --seeds N --shard K/M --out OUT``, which takes
the K-th of M contiguous, nearly equal parts of the seed range (the same
split on every machine: it depends only on N, the first seed and M), and
writes, besides the failing runs' traces, ``OUT/shard-K-of-M.xml`` (JUnit
XML, pytest's own ``--junitxml``) and ``OUT/shard-K-of-M.json`` (the
summary, :mod:`asyncore_sim.testing._sweep_summary`).  A last job gathers
the OUT folders under one DIR and runs ``asyncore-sim sweep --merge DIR``:
one summary of every shard, each failing seed with its trace and the command
that reproduces it; a missing, repeated or inconsistent shard is an error.

Workers on other machines of one sweep are pytest-xdist's business
(``-- --tx ssh=host//python=python3 --rsyncdir .``): this module invents no
transport.

Rules: shards and merged results are ordered by seed, never by arrival.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any, Dict, List, Tuple

from asyncore_sim.cli._errors import InputError

__all__ = ["parse_shard", "shard_range", "shard_files", "cmd_merge"]


def parse_shard(text: str) -> Tuple[int, int]:
    """``"2/4"`` as ``(2, 4)``; InputError for anything else."""
    m = re.fullmatch(r"([0-9]+)/([0-9]+)", text or "")
    if not m:
        raise InputError("sweep: --shard expects K/M (e.g. 2/4), got %r" % text)
    k, total = int(m.group(1)), int(m.group(2))
    if not 1 <= k <= total:
        raise InputError(
            "sweep: --shard %s: K must be between 1 and M (%d)" % (text, total)
        )
    return k, total


def shard_range(start: int, seeds: int, k: int, total: int) -> Tuple[int, int]:
    """(first seed, count) of shard ``k`` of ``total`` over ``seeds`` seeds
    from ``start``: contiguous parts whose sizes differ by at most one."""
    lo = start + (k - 1) * seeds // total
    hi = start + k * seeds // total
    return lo, hi - lo


def shard_files(out: str, k: int, total: int) -> Tuple[str, str]:
    """The JUnit XML report and the summary file of shard ``k``."""
    stem = os.path.join(out, "shard-%d-of-%d" % (k, total))
    return stem + ".xml", stem + ".json"


def cmd_merge(folder: str) -> int:
    """``sweep --merge DIR``: print one summary of every shard's results."""
    from asyncore_sim.testing._sweep_summary import SummaryError, read_summary

    if not os.path.isdir(folder):
        raise InputError("sweep --merge: %s: no such folder" % folder)
    paths = sorted(
        glob.glob(os.path.join(folder, "**", "*.json"), recursive=True)
    )
    summaries: List[Tuple[str, Dict[str, Any]]] = []
    for path in paths:
        try:
            summaries.append((path, read_summary(path)))
        except SummaryError as e:
            if os.path.basename(path).startswith("shard-"):
                raise InputError(str(e)) from None
    if not summaries:
        raise InputError(
            "sweep --merge: %s holds no sweep summary (shard-K-of-M.json)" % folder
        )
    _check_shards(summaries)
    runs = sum(s["runs"] for _, s in summaries)
    failed: List[Tuple[int, str, str, str, str]] = []
    unfired: List[Tuple[int, str]] = []
    for path, s in summaries:
        base = os.path.dirname(path)
        for f in s["failed"]:
            failed.append(
                (
                    f.get("seed") if isinstance(f.get("seed"), int) else -1,
                    f["nodeid"],
                    _under(base, f.get("trace", "")),
                    _under(base, f.get("diagram", "")),
                    str(f.get("reproduce", "")),
                )
            )
        for u in s["unfired"]:
            seed = u.get("seed") if isinstance(u.get("seed"), int) else -1
            unfired.append((seed, str(u.get("text", ""))))
    failed.sort()
    unfired.sort()
    first = min(s["start"] for _, s in summaries)
    count = sum(s["seeds"] for _, s in summaries)
    print(
        "asyncore-sim sweep: %d shard%s, seeds %d..%d, %d runs, %d failing"
        % (
            len(summaries),
            "" if len(summaries) == 1 else "s",
            first,
            first + count - 1,
            runs,
            len(failed),
        )
    )
    for _, nodeid, trace, diagram, command in failed:
        print("FAILED %s" % nodeid)
        if trace:
            print("    trace: %s" % trace)
        if diagram:
            print("    diagram: %s" % diagram)
        if command:
            print("    reproduce: %s" % command)
    for _, text in unfired:
        print(text)
    return 1 if failed else 0


def _under(base: str, path: str) -> str:
    if not path or os.path.isabs(path):
        return path
    return os.path.relpath(os.path.join(base, path))


def _check_shards(summaries: List[Tuple[str, Dict[str, Any]]]) -> None:
    """Every shard of one split, once each, covering the range exactly."""
    whole = [path for path, s in summaries if s.get("shard") is None]
    if whole:
        if len(summaries) > 1:
            raise InputError(
                "sweep --merge: %s is a whole sweep, not a shard: merge shards "
                "of one split only" % whole[0]
            )
        return
    shards: List[Tuple[List[int], str, Dict[str, Any]]] = [
        (s["shard"], path, s) for path, s in summaries
    ]
    totals = sorted({shard[1] for shard, _, _ in shards})
    if len(totals) > 1:
        raise InputError(
            "sweep --merge: shards of different splits (of %s) in one folder"
            % ", ".join(str(t) for t in totals)
        )
    total = totals[0]
    seen: Dict[int, str] = {}
    for shard, path, _ in shards:
        if shard[0] in seen:
            raise InputError(
                "sweep --merge: shard %d/%d twice: %s and %s"
                % (shard[0], total, seen[shard[0]], path)
            )
        seen[shard[0]] = path
    missing = [k for k in range(1, total + 1) if k not in seen]
    if missing:
        raise InputError(
            "sweep --merge: shard%s %s of %d missing"
            % ("" if len(missing) == 1 else "s", ", ".join(map(str, missing)), total)
        )
    ordered = sorted(shards, key=lambda x: x[0][0])
    for (_, pa, sa), (_, pb, sb) in zip(ordered, ordered[1:]):
        if sa["start"] + sa["seeds"] != sb["start"]:
            raise InputError(
                "sweep --merge: %s and %s do not cover adjacent seeds (one sweep "
                "split K/M must use the same --seeds and --start)" % (pa, pb)
            )
