"""``mmbot chaos fuzz``: among a few dozen random faults a planted bug fails a run, and
hypothesis shrinks that schedule to three faults or fewer that still fail, replayable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mmbot.chaos.fuzz import FuzzSpace, fuzz, scenario_toml, schedules, shrink, write_found
from mmbot.chaos.runner import run_scenario
from mmbot.chaos.scenario import load_scenario, scenario_from_dict
from mmbot.model import Outcome
from mmbot.quoting.orders import OrderTracker


@settings(max_examples=30, suppress_health_check=list(HealthCheck), deadline=None)
@given(schedules(FuzzSpace(max_faults=40)))
def test_every_drawn_schedule_is_a_scenario_the_harness_runs(table: dict[str, Any]) -> None:
    scenario = scenario_from_dict(table, source="<fuzz>")
    kinds = {f["kind"] for f in table["faults"]}
    assert kinds and len(table["faults"]) >= 1
    assert len(scenario.faults.faults) + len(scenario.crashes) == len(table["faults"])


def test_a_planted_bug_among_dozens_of_faults_shrinks_to_three_or_fewer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The planted bug: a lost answer's placement is believed never made.
    real = OrderTracker.on_place_outcome

    def forgetful(self: OrderTracker, cid: str, outcome: Outcome, *args: Any, **kw: Any) -> Any:
        return real(
            self, cid, Outcome.FAILED if outcome is Outcome.UNKNOWN else outcome, *args, **kw
        )

    monkeypatch.setattr(OrderTracker, "on_place_outcome", forgetful)
    space = FuzzSpace(kinds=("latency", "lost_ack", "error"), min_faults=20, max_faults=40)
    lines: list[str] = []
    outcome = fuzz(examples=10, seed=3, space=space, progress=lines.append)
    assert outcome.minimal is not None and outcome.result is not None and outcome.table
    assert len(outcome.table["faults"]) <= 3
    assert not outcome.result.passed
    assert any("faults of" in line for line in lines)  # each example said what it tried
    assert outcome.result.violations["no_duplicate_orders"]  # the bug's own symptom
    # written out, the file replays the failure
    path = write_found(outcome, tmp_path)
    replayed = run_scenario(load_scenario(path))
    assert not replayed.passed and replayed.digest == outcome.result.digest
    # and the bot as built passes the same schedule
    monkeypatch.setattr(OrderTracker, "on_place_outcome", real)
    assert run_scenario(load_scenario(path)).passed


def test_the_written_scenario_is_toml_that_loads_back_the_same() -> None:
    table = {
        "name": "fuzz", "symbols": ["BTCUSDT"], "seed": 9, "duration": 20.0, "heal": 10.0,
        "invariants": ["no_orphan_orders"],
        "faults": [{"kind": "error", "start": 1.0, "duration": 2.0, "target": "orders",
                    "probability": 0.5, "status": 503, "code": -1008}],
        "bot": {"strategy": {"spread": {"base_bps": 1.0}}},
    }  # fmt: skip
    text = scenario_toml(table, "found-9")
    again = scenario_from_dict(__import__("tomllib").loads(text), source="found-9.toml")
    original = scenario_from_dict(table, source="found-9.toml")
    assert again.faults == original.faults and again.seed == 9 and again.bot == original.bot
    assert again.name == "found-9"


def test_shrink_keeps_only_the_faults_the_failure_needs() -> None:
    faults = [{"n": n} for n in range(30)]
    calls: list[int] = []

    def fails(subset: list[dict[str, Any]]) -> bool:
        calls.append(len(subset))
        return {3, 17} <= {f["n"] for f in subset}

    assert shrink(faults, fails) == [{"n": 3}, {"n": 17}]
    assert len(calls) < 60  # delta debugging, not every subset
    assert shrink(faults, lambda subset: True) == []  # a failure that needs no fault
