"""Scenario files: the committed suites load; a bad one is refused naming its field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmbot.chaos.invariants import INVARIANTS
from mmbot.chaos.scenario import (
    ScenarioError,
    known_scenarios,
    load_scenario,
    scenario_from_dict,
    seconds,
)
from mmbot.sim.faults import Latency

SUITES = Path(__file__).parents[2] / "chaos"


def test_every_committed_suite_loads() -> None:
    paths = known_scenarios(SUITES)
    assert paths, "chaos/ holds no scenario"
    for path in paths:
        scenario = load_scenario(path)
        assert scenario.path == str(path) and scenario.symbols and scenario.description


def test_times_take_units_and_faults_their_window() -> None:
    assert seconds("250ms", "x") == 0.25 and seconds("2m", "x") == 120 and seconds(3, "x") == 3
    scenario = scenario_from_dict(
        {
            "symbols": ["BTCUSDT"],
            "duration": "20s",
            "faults": [{"kind": "latency", "delay": "200ms", "start": 5, "duration": "10s"}],
        }
    )
    [fault] = scenario.faults.faults
    assert isinstance(fault, Latency)
    assert (fault.delay, fault.start, fault.duration, fault.target.name) == (0.2, 5, 10, "orders")
    assert scenario.invariants == INVARIANTS and scenario.seed == 1 and scenario.heal == 30


BASE: dict[str, Any] = {"symbols": ["BTCUSDT"], "duration": 20}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown key(s) ['colour']"),
        ({"symbols": ["btcusdt"]}, "symbols: expected a list of distinct symbols"),
        ({"duration": "soon"}, "duration: expected a time"),
        ({"seed": -1}, "seed: expected an integer >= 0"),
        ({"invariants": ["no_bugs"]}, "invariants: unknown ['no_bugs']"),
        (
            {"faults": [{"kind": "meteor"}]},
            "faults[0]: kind: expected one of [",  # every kind FAULT_KEYS names
        ),
        ({"faults": [{"kind": "error", "status": 503}]}, "needs an integer status and code"),
        (
            {"faults": [{"kind": "error", "status": 503, "code": -2010}]},
            "faults[0]: code must be one of [-1016, -1008, -1007, -1003, -1001, -1000], got -2010",
        ),
        (
            {"faults": [{"kind": "lost_ack", "mode": "maybe"}]},
            "faults[0]: mode must be 'drop' or 'unknown', got 'maybe'",
        ),
        ({"faults": [{"kind": "latency", "delay": 1, "colour": 2}]}, "faults[0]: unknown key"),
        (
            {"faults": [{"kind": "latency", "delay": 1, "start": 15, "duration": 10}]},
            "faults[0]: must start and end within the safety phase (0..20 s)",
        ),
        (
            {"faults": [{"kind": "latency", "delay": 1, "target": "order.teleport"}]},
            "faults[0]: target: unknown operation(s) ['order.teleport']",
        ),
        ({"faults": [{"kind": "latency", "probability": 2}]}, "probability: expected a number"),
        ({"bot": {"orders": 3}}, "bot: expected tables of config sections"),
        (
            {"faults": [{"kind": "crash_bot", "start": 19, "restart_after": 2}]},
            "faults[0]: a crash_bot must crash after the start and restart within",
        ),
        (
            {"faults": [{"kind": "crash_bot", "start": 5, "target": "orders"}]},
            "faults[0]: unknown key(s) ['target'] for a crash_bot fault",
        ),
        (
            {
                "faults": [
                    {"kind": "crash_bot", "start": 5, "restart_after": 3},
                    {"kind": "crash_bot", "start": 7},
                ]
            },
            "faults: a crash_bot at 7 s comes before the bot crashed at 5 s has restarted",
        ),
        ({"heal": 10, "resumes_within": "20s"}, "resumes_within: must be within the liveness"),
    ],
)
def test_a_bad_scenario_names_its_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({**BASE, **change}, source="s.toml")
    assert str(caught.value).startswith("s.toml: ") and message in str(caught.value)


def test_a_file_that_is_not_toml_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("symbols = [\n")
    with pytest.raises(ScenarioError, match=r"bad\.toml: not valid TOML"):
        load_scenario(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")


def test_crashes_are_the_runners_and_the_rest_the_exchanges() -> None:
    scenario = scenario_from_dict(
        {
            "symbols": ["BTCUSDT"],
            "duration": 30,
            "faults": [
                {"kind": "crash_bot", "start": "20s", "restart_after": "2s"},
                {"kind": "lost_ack", "mode": "unknown"},
                {"kind": "crash_bot", "start": 5},
            ],
        }
    )
    assert [(c.start, c.restart_after) for c in scenario.crashes] == [(5, 1), (20, 2)]
    assert [f.kind for f in scenario.faults.faults] == ["lost_ack"]
    assert scenario.describe_faults() == (
        "lost ack (unknown) on orders, from 0 s to 30 s; crash_bot at 5 s, restarted 1 s "
        "later; crash_bot at 20 s, restarted 2 s later"
    )
