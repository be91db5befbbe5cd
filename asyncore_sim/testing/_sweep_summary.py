"""A sweep's summary file: what one shard of a sweep found, for merging.

``pytest --sim-sweep=N --sim-sweep-start=S --sim-sweep-summary=FILE`` (which
``asyncore-sim sweep --shard K/M`` passes) writes one JSON object:

    {"format": "asyncore-sim sweep summary 1",
     "shard": [K, M] or null, "start": S, "seeds": N, "runs": R,
     "failed": [{"nodeid": ..., "seed": S, "trace": ..., "diagram": ...,
                 "reproduce": ...}, ...],
     "unfired": [{"nodeid": ..., "seed": S, "text": ...}, ...]}

Paths (``trace``, ``diagram``) are relative to the summary file's folder when
they lie under it, so a CI job can upload the folder and a later job merge
the folders of every shard (``asyncore-sim sweep --merge DIR``).

Rules: the file is written with sorted keys and the failures in seed order,
so the same results give the same bytes.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["FORMAT", "write_summary", "read_summary", "seed_of", "SummaryError"]

FORMAT = "asyncore-sim sweep summary 1"


class SummaryError(ValueError):
    """A summary file that cannot be read: the message names it and says why."""


def seed_of(nodeid: str) -> Optional[int]:
    """The sweep seed in a node id (``test_x[sim-seed-7]``), or None."""
    m = re.search(r"\[(?:.*-)?sim-seed-(\d+)(?:-.*)?\]$", nodeid)
    return int(m.group(1)) if m else None


def _relative(path: str, folder: str) -> str:
    if not path:
        return ""
    full = os.path.abspath(path)
    if full.startswith(os.path.abspath(folder) + os.sep):
        return os.path.relpath(full, folder)
    return path


def write_summary(
    path: str,
    *,
    shard: Optional[Tuple[int, int]],
    start: int,
    seeds: int,
    runs: int,
    failed: List[Tuple[str, str, str, str]],
    unfired: List[Tuple[str, str]],
) -> None:
    """Write the summary of one sweep (``failed``: (nodeid, trace, diagram,
    reproduce); ``unfired``: (nodeid, text))."""
    folder = os.path.dirname(os.path.abspath(path))

    def order(nodeid: str) -> Tuple[int, str]:
        s = seed_of(nodeid)
        return (-1 if s is None else s, nodeid)

    data = {
        "format": FORMAT,
        "shard": list(shard) if shard else None,
        "start": start,
        "seeds": seeds,
        "runs": runs,
        "failed": [
            {
                "nodeid": nodeid,
                "seed": seed_of(nodeid),
                "trace": _relative(trace, folder),
                "diagram": _relative(diagram, folder),
                "reproduce": reproduce,
            }
            for nodeid, trace, diagram, reproduce in sorted(
                failed, key=lambda f: order(f[0])
            )
        ],
        "unfired": [
            {"nodeid": nodeid, "seed": seed_of(nodeid), "text": text}
            for nodeid, text in sorted(unfired, key=lambda u: order(u[0]))
        ],
    }
    os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")


def read_summary(path: str) -> Dict[str, Any]:
    """A summary file's contents, checked; SummaryError names what is wrong."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise SummaryError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    except ValueError as e:
        raise SummaryError(
            "%s: not a sweep summary (bad JSON: %s)" % (path, e)
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SummaryError(
            "%s: not a sweep summary (expected \"format\": %r)" % (path, FORMAT)
        )
    for key, kind in (("start", int), ("seeds", int), ("runs", int)):
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise SummaryError("%s: %r must be a number" % (path, key))
    for key in ("failed", "unfired"):
        items = data.get(key)
        if not isinstance(items, list) or not all(
            isinstance(x, dict) and isinstance(x.get("nodeid"), str) for x in items
        ):
            raise SummaryError("%s: %r must be a list of results" % (path, key))
    shard = data.get("shard")
    if shard is not None and not (
        isinstance(shard, list)
        and len(shard) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
        and 1 <= shard[0] <= shard[1]
    ):
        raise SummaryError("%s: 'shard' must be [K, M] with 1 <= K <= M" % path)
    return data
