"""``mmbot bench pipeline --quick`` runs and prints its figures in the expected shape."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import pipeline


def test_quick_run_prints_per_stage_median_p99_total_and_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert pipeline.main(["--quick"]) == 0
    out = capsys.readouterr().out
    number = r"\d+\.\d{2}"
    stages = ("guards", "fair_value", "volatility", "calibration", "spread", "skew", "sizing")
    for stage in (*stages, "rounding"):
        assert re.search(rf"^{stage}\s+{number}\s+{number}$", out, re.MULTILINE), stage
    assert re.search(rf"^total\s+{number}\s+{number}\s+\(goal", out, re.MULTILINE)
    assert re.search(r"^decisions: 200 \(200 with quotes\)$", out, re.MULTILINE)
    assert re.search(r"^reconcile", out, re.MULTILINE)
    assert re.search(r"^machine: .+cpus$", out, re.MULTILINE)


def test_a_stage_can_be_left_out_to_see_its_cost(capsys: pytest.CaptureFixture[str]) -> None:
    assert pipeline.main(["--quick", "--without", "calibration"]) == 0
    out = capsys.readouterr().out
    assert "strategy 'adaptive', without calibration," in out
    assert not re.search(r"^calibration\s", out, re.MULTILINE)
    assert re.search(r"^spread\s", out, re.MULTILINE)


def test_leaving_out_a_stage_the_strategy_does_not_have_is_an_error() -> None:
    with pytest.raises(SystemExit):
        pipeline.main(["--quick", "--without", "news"])
