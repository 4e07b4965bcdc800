"""``mmbot bench market --quick`` runs and prints its figures (shape only, never timing)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import market


def test_quick_market_benchmark_prints_speed_cost_and_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert market.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"speed: [\d,]+x real time", out)
    assert re.search(r"cpu per simulated second per symbol: median [\d,.]+ us, p99 [\d,.]+ us", out)
    assert re.search(r"\d+ taker orders", out)
    assert "machine: " in out


def test_market_benchmark_refuses_too_many_symbols() -> None:
    with pytest.raises(SystemExit):
        market.main(["--symbols", "99"])
