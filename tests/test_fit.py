"""``asyncore-sim fit``: the scenario lines that reproduce a documented run
with a kernel's one-pass lag are found, printed, and judged by ``check``'s own
byte-for-byte comparison (asyncore_sim/cli/_fit.py)."""

from __future__ import annotations

import sys
from pathlib import Path


from asyncore_sim.__main__ import main
from asyncore_sim.trace.scenario import compare_output, load_scenario, run_scenario

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_one_pass_lag import PROGRAM, REAL_OUTPUT  # noqa: E402


def _scenario(tmp_path: Path, expected: str = REAL_OUTPUT, extra: str = "") -> Path:
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "prog.expected").write_text(expected)
    path = tmp_path / "lag.scenario"
    path.write_text("program prog.py\nexpect prog.expected\n" + extra)
    return path


def test_fit_finds_the_one_pass_lag_and_check_agrees(tmp_path, capsys):
    path = _scenario(tmp_path)
    plain = run_scenario(load_scenario(str(path)))
    assert compare_output(load_scenario(str(path)), REAL_OUTPUT, plain.output)[0]
    out = tmp_path / "found.scenario"
    assert main(["fit", str(path), "--write", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "reproduces prog.expected byte for byte" in printed
    added = out.read_text()[len(path.read_text()) :].strip().splitlines()
    assert added and all(line in printed for line in added)
    assert added[0].startswith("fault HideReady events=r at_pass=")
    # The lines found are a scenario that check accepts, byte for byte.
    assert main(["check", str(out)]) == 0
    assert "1 ok" in capsys.readouterr().out
    found = load_scenario(str(out))
    assert compare_output(found, REAL_OUTPUT, run_scenario(found).output)[0] is None


def test_fit_is_deterministic(tmp_path, capsys):
    path = _scenario(tmp_path)
    assert main(["fit", str(path)]) == 0
    first = capsys.readouterr().out
    assert main(["fit", str(path)]) == 0
    assert capsys.readouterr().out == first


def test_a_scenario_that_already_matches_needs_nothing(tmp_path, capsys):
    plain = run_scenario(load_scenario(str(_scenario(tmp_path))))
    path = _scenario(tmp_path, expected=plain.output)
    assert main(["fit", str(path)]) == 0
    assert "already reproduces" in capsys.readouterr().out


def test_no_candidate_is_reported_with_the_closest(tmp_path, capsys):
    path = _scenario(tmp_path, expected=REAL_OUTPUT.replace("BYE", "bye"))
    assert main(["fit", str(path), "--max", "12"]) == 1
    out = capsys.readouterr().out
    assert "none of 12 candidates reproduces prog.expected" in out
    assert "the closest" in out and "fault HideReady" in out


def test_bad_input_is_named(tmp_path, capsys):
    path = _scenario(tmp_path)
    path.write_text("program prog.py\n")
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err
    assert "lag.scenario" in err and "no expect line" in err
    assert main(["fit", str(_scenario(tmp_path)), "--max", "0"]) == 2
    assert "--max must be at least 1" in capsys.readouterr().err
