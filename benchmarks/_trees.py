"""Running one benchmark script against two source trees, side by side
(helpers shared by the benchmark scripts; not a benchmark itself).

A speed claim ("before" and "after") is only worth its paired ratio: both
trees measured in the same run, alternating, on the same loaded machine.
``compare_trees(script, trees, child_args, rounds)`` runs ``script`` once per
tree and round, in a child process whose ``BENCH_TREE`` environment variable
names the tree to import ``asyncore_sim``/``fake_net`` from (every script
reads it through :func:`tree_root`), the order of the trees rotating from
round to round; each child writes its figures as JSON (``--json PATH``:
``{name: number}``) and the parent reports, per figure, each tree's median
over the rounds and the median of the per-round ratios.

A tree is any checkout of the project, for instance a worktree of the
commit before a change::

    git -C /work/main worktree add /tmp/before17 <rev>
    python benchmarks/bench_scale.py --compare /tmp/before17 /work/main
    git -C /work/main worktree remove /tmp/before17
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from _common import fmt_ratio, median, print_table, rotated

ENV = "BENCH_TREE"


def tree_root(script_file):
    """The tree to measure: ``$BENCH_TREE`` if set, else the tree that holds
    ``script_file`` (put first on ``sys.path`` by the caller)."""
    root = os.environ.get(ENV)
    if root:
        return os.path.abspath(root)
    return os.path.dirname(os.path.dirname(os.path.abspath(script_file)))


def use_tree(script_file):
    """Put the tree to measure first on ``sys.path``; returns its path."""
    root = tree_root(script_file)
    if sys.path[:1] != [root]:
        sys.path.insert(0, root)
    return root


def write_json(path, figures):
    with open(path, "w") as f:
        json.dump(figures, f, indent=1, sort_keys=True)


def run_child(script, tree, child_args, timeout=3600):
    """One run of ``script`` on ``tree``; returns its figures."""
    with tempfile.TemporaryDirectory(prefix="bench-trees-") as tmp:
        out = os.path.join(tmp, "figures.json")
        env = dict(os.environ)
        env[ENV] = tree
        cmd = [sys.executable, script, "--json", out] + list(child_args)
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
        if proc.returncode != 0 or not os.path.exists(out):
            raise RuntimeError("%s on %s failed (exit %d):\n%s"
                               % (os.path.basename(script), tree,
                                  proc.returncode, proc.stdout[-3000:]))
        with open(out) as f:
            return json.load(f)


def _rev(tree):
    try:
        return subprocess.run(["git", "-C", tree, "log", "-1", "--format=%h %s"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, timeout=30).stdout.strip()[:70]
    except (OSError, subprocess.SubprocessError):
        return "?"


def compare_trees(script, trees, child_args, rounds, higher_is_better=()):
    """Run ``script`` on each of ``trees`` (two paths: before, after),
    ``rounds`` times, alternating; print each figure's medians and the
    paired ratio after/before.  ``higher_is_better`` names the figures
    (rates) for which a ratio above 1 is the gain; for the rest (times,
    ratios to a floor) below 1 is.  Returns ``{tree: {name: [values]}}``."""
    trees = [os.path.abspath(t) for t in trees]
    if len(trees) != 2:
        raise ValueError("compare_trees needs two trees, before and after")
    print("trees (%d rounds, the order alternating):" % rounds)
    for label, tree in zip(("before", "after"), trees):
        print("  %-6s %s  (%s)" % (label, tree, _rev(tree)))
    print("child: %s %s --json FILE %s"
          % (os.path.basename(sys.executable), os.path.basename(script),
             " ".join(child_args)))
    sys.stdout.flush()
    values = {t: {} for t in trees}
    for r in range(rounds):
        for tree in rotated(trees, r):
            for name, x in run_child(script, tree, child_args).items():
                values[tree].setdefault(name, []).append(x)
        sys.stdout.write("  round %d/%d done\n" % (r + 1, rounds))
        sys.stdout.flush()
    before, after = trees
    rows = []
    for name in values[after]:
        a, b = values[after][name], values[before].get(name)
        if not b or len(a) != len(b):
            rows.append([name, "-", "%.4g" % median(a), "-", ""])
            continue
        ratio = median([x / y if y else float("nan") for x, y in zip(a, b)])
        better = "higher" if name in higher_is_better else "lower"
        rows.append([name, "%.4g" % median(b), "%.4g" % median(a),
                     fmt_ratio(ratio), better])
    print()
    print_table(["figure", "before", "after", "after/before (paired)",
                 "better"], rows, ["<", ">", ">", ">", "<"])
    return values
