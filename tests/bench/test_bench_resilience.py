"""``mmbot bench resilience --quick`` runs and prints its figures (timing is never asserted)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import resilience


def test_quick_run_prints_medians_p99s_goals_and_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert resilience.main(["--quick"]) == 0
    out = capsys.readouterr().out
    for case in ("breaker.call", "breaker.call (call_timeout=5s)", "retry.call", "limiter.acquire"):
        assert re.search(rf"{re.escape(case)}\s+median\s+[\d.]+ us\s+p99\s+[\d.]+ us", out), case
    assert re.search(r"breaker\.call\s+median.*goal <= 5 us: (met|MISSED)", out)
    assert re.search(r"retry\.call\s+median.*goal <= 15 us: (met|MISSED)", out)
    assert "machine" in out and "cpus" in out
