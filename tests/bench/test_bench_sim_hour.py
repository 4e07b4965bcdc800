"""``mmbot bench sim_hour --quick`` runs the command and prints its figures (not timed)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import sim_hour


@pytest.mark.slow
def test_sim_hour_quick_times_the_command_and_prints_what_the_run_held(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sim_hour.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "mmbot run --mode sim --duration 60 --seed 1" in out
    assert re.search(r"wall time: +[\d.]+ s \(goal: <= 60 s for an hour: not judged", out)
    assert re.search(r"speed-up: +\d+x real time", out)
    assert re.search(r"the run: +[\d,]+ decisions, [\d,]+ order actions, \d+ fills", out)
    assert re.search(r"machine: +\w+", out)
