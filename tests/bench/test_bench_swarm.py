"""``mmbot bench swarm --quick`` runs and prints its figures (shape only, never timing)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import swarm


@pytest.mark.slow
def test_bench_swarm_quick_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert swarm.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for workers in (1, 2):
        assert re.search(rf"{workers} worker\(s\): [\d.]+ s wall, \d+ schedules/min, \d+ per", out)
    assert re.search(r"scaling 1 -> 2 workers: [\d.]+x", out)
    assert re.search(r"swarm digests: ([0-9a-f]{16}) / \1: the same", out)
    assert "machine:" in out
