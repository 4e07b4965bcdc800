"""``mmbot bench reconcile --quick`` prints its figures in the expected shape."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import reconcile as bench


def test_quick_run_prints_median_p99_and_machine(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^median_us: \d+\.\d\d$", out, re.M)
    assert re.search(r"^p99_us: \d+\.\d\d$", out, re.M)
    assert re.search(r"^reconcile: 10 live orders, 4 actions per call$", out, re.M)
    assert "machine: " in out


def test_time_reconcile_returns_one_sample_per_call() -> None:
    samples = bench.time_reconcile(7)
    assert len(samples) == 7 and all(s > 0 for s in samples)
