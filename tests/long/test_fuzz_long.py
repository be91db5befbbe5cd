"""The input fuzz for minutes (tests/fuzz_inputs.py; see README.md)."""

import json
import os
import time

from hypothesis import HealthCheck, Phase, given, settings

from fuzz_inputs import LIMIT, Workspace, cases


class Crash(Exception):
    def __init__(self, signature, case):
        super().__init__(signature)
        self.signature = signature
        self.case = case


def test_fuzz_inputs_for_minutes(tmp_path):
    ws = Workspace(str(tmp_path))
    seconds = float(os.environ.get("ASYNCORE_SIM_FUZZ_SECONDS", "600"))
    end = time.monotonic() + seconds
    found = {}  # crash signature -> the shrunk case that shows it
    rounds = 0
    while time.monotonic() < end:
        rounds += 1

        @settings(
            max_examples=500,
            deadline=None,
            database=None,
            report_multiple_bugs=False,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def one_round(case):
            if time.monotonic() >= end:
                return
            signature = ws.run(case)
            if signature is not None and signature not in found:
                raise Crash(signature, case)

        try:
            one_round()
        except Crash as e:
            found[e.signature] = repr(e.case)
    report = {
        "seconds": seconds,
        "rounds": rounds,
        "inputs_tried": sum(ws.count.values()),
        "per_target": dict(sorted(ws.count.items())),
        "exit_statuses": {"%s=%s" % k: v for k, v in sorted(ws.statuses.items())},
        "program_failures_reported": ws.program_failures,
        "program_failures_by_kind": dict(ws.failure_kinds.most_common()),
        "limit_seconds_per_input": LIMIT,
        "crash_signatures": found,
    }
    print("\nasyncore-sim input fuzz:", json.dumps(report, indent=2))
    path = os.environ.get("ASYNCORE_SIM_FUZZ_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    assert not found, found
