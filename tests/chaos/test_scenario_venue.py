"""Scenario files with the exchange-behaviour faults (``rate_limit``, ``clock_skew``,
``maintenance``, ``flash_move``, ``fill_before_ack``, ``cancel_fill_race``): what each table
builds, and a bad one refused naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from mmbot.chaos.scenario import ScenarioError, scenario_from_dict
from mmbot.sim.faults import (
    CancelFillRace,
    ClockSkew,
    FillBeforeAck,
    FlashMove,
    Maintenance,
    RateLimit,
    Target,
)

BASE: dict[str, Any] = {"symbols": ["BTCUSDT", "ETHUSDT"], "duration": 60}


def test_each_venue_fault_table_builds_its_fault() -> None:
    scenario = scenario_from_dict(
        {
            **BASE,
            "faults": [
                {"kind": "rate_limit", "start": 10, "duration": 20, "orders_per_10s": 3},
                {"kind": "clock_skew", "start": "5s", "duration": "10s", "step": "-2s"},
                {"kind": "clock_skew", "drift": 40},
                {"kind": "maintenance", "start": 30, "duration": 5, "symbols": ["ETHUSDT"]},
                {"kind": "flash_move", "start": "12s", "percent": -4},
                {"kind": "fill_before_ack", "delay": "300ms", "probability": 0.2},
                {"kind": "cancel_fill_race", "target": ["order.cancel"], "start": 1},
            ],
        }
    )
    assert scenario.faults.faults == (
        RateLimit(orders_per_10s=3, start=10, duration=20),
        ClockSkew(step=-2.0, start=5, duration=10),
        ClockSkew(drift=40.0, start=0, duration=60),
        Maintenance("BREAK", ["ETHUSDT"], start=30, duration=5),
        FlashMove(-4.0, start=12),
        FillBeforeAck(0.3, Target.orders(), start=0, duration=60, probability=0.2),
        CancelFillRace(Target.named("order.cancel"), start=1, duration=59),
    )


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"kind": "rate_limit"}, "faults[0]: give at least one limit"),
        ({"kind": "rate_limit", "orders_per_10s": "many"}, "orders_per_10s: expected an integer"),
        ({"kind": "rate_limit", "orders_per_10s": 0}, "orders_per_10s must be an integer >= 1"),
        (
            {"kind": "rate_limit", "orders_per_10s": 2, "probability": 0.5},
            "unknown key(s) ['probability'] for a rate_limit fault",
        ),
        ({"kind": "clock_skew", "step": "soon"}, "faults[0]: step: expected a time"),
        ({"kind": "clock_skew", "drift": "fast"}, "drift: expected milliseconds per second"),
        ({"kind": "clock_skew"}, "give a step (seconds) or a drift"),
        (
            {"kind": "clock_skew", "step": 1, "target": "orders"},
            "unknown key(s) ['target'] for a clock_skew fault",
        ),
        ({"kind": "maintenance", "status": "CLOSED"}, "status must be one of ['BREAK', 'HALT']"),
        ({"kind": "maintenance", "shutdown": "yes"}, "shutdown: expected true or false"),
        ({"kind": "maintenance", "symbols": "BTCUSDT"}, "symbols: expected a list of symbols"),
        (
            {"kind": "maintenance", "symbols": ["SOLUSDT"]},
            "faults[0]: symbols: ['SOLUSDT'] not among the scenario's symbols",
        ),
        (
            {"kind": "maintenance", "start": 50, "duration": 20},
            "must start and end within the safety phase (0..60 s)",
        ),
        ({"kind": "flash_move"}, "percent: expected a number"),
        ({"kind": "flash_move", "percent": 0}, "percent must be non-zero"),
        ({"kind": "flash_move", "percent": 5, "start": 60}, "must come within the safety phase"),
        (
            {"kind": "flash_move", "percent": 5, "duration": 3},
            "unknown key(s) ['duration'] for a flash_move fault",
        ),
        ({"kind": "fill_before_ack", "delay": "later"}, "faults[0]: delay: expected a time"),
        ({"kind": "cancel_fill_race", "delay": 1}, "unknown key(s) ['delay']"),
    ],
)
def test_a_bad_venue_fault_names_its_field(fault: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({**BASE, "faults": [fault]}, source="s.toml")
    assert str(caught.value).startswith("s.toml: ") and message in str(caught.value)
