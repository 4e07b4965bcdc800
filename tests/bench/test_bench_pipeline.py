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
    for stage in ("guards", "fair_value", "volatility", "spread", "skew", "sizing", "rounding"):
        assert re.search(rf"^{stage}\s+{number}\s+{number}$", out, re.MULTILINE), stage
    assert re.search(rf"^total\s+{number}\s+{number}\s+\(goal", out, re.MULTILINE)
    assert re.search(r"^decisions: 200 \(200 with quotes\)$", out, re.MULTILINE)
    assert re.search(r"^reconcile", out, re.MULTILINE)
    assert re.search(r"^machine: .+cpus$", out, re.MULTILINE)
