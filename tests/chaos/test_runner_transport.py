"""The transport faults against the bot: a reset or a black hole leaves a placement
UNKNOWN (settled by query, never re-sent), and the suites catch a bot that guesses."""

from __future__ import annotations

from typing import Any

import pytest
from planted import unknown_taken_for_failed

from mmbot.chaos.runner import run_scenario
from mmbot.chaos.scenario import Scenario, scenario_from_dict
from mmbot.model import Outcome
from mmbot.quoting.orders import OrderTracker
from mmbot.sim.history import EntryKind

TIGHT = {"spread": {"base_bps": 1.0, "maker_fee_bps": 0.0, "min_edge_bps": 0.5}}


def short(fault: dict[str, Any], invariants: list[str] | None = None) -> Scenario:
    """Two symbols, ``fault`` from 4 s to 16 s of a 20 s safety phase, 10 s to heal."""
    data: dict[str, Any] = {
        "name": "short",
        "symbols": ["BTCUSDT", "ETHUSDT"],
        "duration": 20,
        "heal": 10,
        "faults": [{"start": 4, "duration": 12, **fault}],
        "bot": {"strategy": TIGHT},
    }
    if invariants is not None:
        data["invariants"] = invariants
    return scenario_from_dict(data)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "reset", "when": "before", "target": "order.place", "probability": 0.3},
        {"kind": "reset", "when": "after", "target": "order.place", "probability": 0.3},
        {"kind": "blackhole", "target": "order.place", "probability": 0.3},
    ],
    ids=["reset-before", "reset-after", "blackhole"],
)
def test_a_struck_placement_is_unknown_to_the_bot_and_every_invariant_holds(
    monkeypatch: pytest.MonkeyPatch, fault: dict[str, Any]
) -> None:
    real = OrderTracker.on_place_outcome
    outcomes: list[Outcome] = []

    def recording(self: OrderTracker, cid: str, outcome: Outcome, *args: Any, **kw: Any) -> Any:
        outcomes.append(outcome)
        return real(self, cid, outcome, *args, **kw)

    monkeypatch.setattr(OrderTracker, "on_place_outcome", recording)
    result = run_scenario(short(fault))
    assert result.passed, result.violations
    assert result.record is not None
    struck = [
        e
        for e in result.record.history.entries(EntryKind.FAULT)
        if e.payload.name == fault["kind"] and e.payload.target == "order.place"
    ]
    assert struck, "the fault never struck"
    # each struck placement came back unknown (not failed, not placed); a reset also cuts
    # whatever else was in flight on its connection, so there may be more unknowns
    assert outcomes.count(Outcome.UNKNOWN) >= len(struck)


def test_a_bot_that_takes_a_reset_after_the_work_for_failed_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The planted bug: a placement whose connection dropped is believed never made, so its
    # slot is quoted again while the order rests at the exchange.
    unknown_taken_for_failed(monkeypatch)
    reset = {"kind": "reset", "when": "after", "target": "order.place", "probability": 0.3}
    result = run_scenario(short(reset, invariants=["no_duplicate_orders"]))
    duplicates = result.violations["no_duplicate_orders"]
    assert duplicates, "the reset orders' slots were quoted twice and nobody noticed"
    monkeypatch.undo()  # the bot as built
    assert run_scenario(short(reset, invariants=["no_duplicate_orders"])).passed
