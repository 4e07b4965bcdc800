"""``mmbot bench chaos_sim --quick`` runs and prints its figures (shape only, never timing)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import chaos_sim
from mmbot.chaos.scenario import scenario_from_dict


def test_bench_chaos_sim_quick_prints_its_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert chaos_sim.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "bench chaos_sim: 2 symbols, 60 simulated s" in out
    assert re.search(r"run 1: [\d.]+ s wall \(run [\d.]+ s, checks [\d.]+ s\)", out)
    assert "every invariant held" in out
    for label in ("wall time:", "goal: <= 10 s", "cpu time:", "speed-up:", "machine:"):
        assert label in out


def test_the_benchmark_scenario_is_ten_minutes_of_four_symbols_under_a_fault_mix() -> None:
    table = chaos_sim.scenario_table()
    scenario = scenario_from_dict(table, source="<bench>")
    assert scenario.duration + scenario.heal == 600 and len(scenario.symbols) == 4
    assert {f["kind"] for f in table["faults"]} == {"latency", "error", "lost_ack", "crash_bot"}
