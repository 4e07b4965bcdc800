"""``mmbot bench sim --quick`` runs and prints its figures (shape only, never timing)."""

from __future__ import annotations

import pytest

from mmbot.bench import sim


def test_bench_sim_quick_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim.main(["--quick", "--symbols", "2"]) == 0
    out = capsys.readouterr().out
    for label in ("wall time:", "speed-up:", "messages delivered:", "machine:"):
        assert label in out
