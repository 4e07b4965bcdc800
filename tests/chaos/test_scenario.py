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
from mmbot.sim.faults import (
    Latency,
    PacketLoss,
    SeqGap,
    StaleSnapshot,
    WsDrop,
    WsDupReorder,
    WsStall,
)

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
            "faults[0]: kind: expected one of ['",
        ),
        ({"faults": [{"kind": "meteor"}]}, "'ws_stall'], got 'meteor'"),
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


def test_stream_faults_take_their_keys_targets_and_symbols() -> None:
    scenario = scenario_from_dict(
        {
            "symbols": ["BTCUSDT", "ETHUSDT"],
            "duration": 60,
            "faults": [
                {"kind": "ws_drop", "start": 10, "duration": 40, "period": "8s"},
                {"kind": "ws_stall", "target": "ws_api", "start": 5, "duration": 10},
                {"kind": "seq_gap", "symbols": ["ETHUSDT"], "probability": 0.1},
                {"kind": "ws_dup_reorder", "target": "all", "duplicate": 0.2, "reorder": 0.1,
                 "window": 3},
                {"kind": "packet_loss", "target": ["market_streams", "user_data"], "burst": 6},
                {"kind": "stale_snapshot", "lag": 40, "symbols": ["BTCUSDT"]},
                {"kind": "stale_snapshot", "age": "3s", "target": ["depth"]},
            ],
        }
    )  # fmt: skip
    drop, stall, gap, mix, loss, lag, age = scenario.faults.faults
    assert isinstance(drop, WsDrop) and (drop.period, drop.start, drop.duration) == (8, 10, 40)
    assert drop.target.name == "market_streams"  # the default target
    assert isinstance(stall, WsStall) and stall.target.streams == {"ws_api"}
    assert isinstance(gap, SeqGap) and gap.target.symbols == {"ETHUSDT"} and gap.probability == 0.1
    assert isinstance(mix, WsDupReorder) and (mix.duplicate, mix.reorder, mix.window) == (
        0.2,
        0.1,
        3,
    )
    assert mix.target.streams is None  # all
    assert isinstance(loss, PacketLoss) and loss.burst == 6 and loss.probability == 0.05
    assert loss.target.streams == {"market_streams", "user_data"}
    assert isinstance(lag, StaleSnapshot) and lag.lag == 40 and lag.target.matches("depth")
    assert isinstance(age, StaleSnapshot) and age.age == 3 and age.lag is None
    assert lag.target.symbols == {"BTCUSDT"}


STREAM = {"symbols": ["BTCUSDT"], "duration": 20}


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            {"kind": "ws_drop", "target": "orders"},
            "faults[0]: target: a ws_drop fault aims at 'all', a stream class (market_streams, "
            "user_data, ws_api) or a list of them, got 'orders'",
        ),
        ({"kind": "ws_drop", "period": 0}, "faults[0]: period: must be > 0"),
        ({"kind": "ws_drop", "period": "often"}, "faults[0]: period: expected a time"),
        (
            {"kind": "seq_gap", "target": "user_data"},
            "faults[0]: target: a seq_gap drops market-stream depth diffs",
        ),
        (
            {"kind": "seq_gap", "symbols": "BTCUSDT"},
            "faults[0]: symbols: expected a non-empty list",
        ),
        ({"kind": "seq_gap", "symbols": ["SOLUSDT"]}, "faults[0]: symbols: ['SOLUSDT'] not among"),
        ({"kind": "ws_dup_reorder"}, "faults[0]: a ws_dup_reorder needs duplicate or reorder"),
        ({"kind": "ws_dup_reorder", "duplicate": 2}, "faults[0]: duplicate: expected a number"),
        (
            {"kind": "ws_dup_reorder", "reorder": 0.1, "window": 0},
            "faults[0]: window: expected an integer >= 1",
        ),
        (
            {"kind": "ws_dup_reorder", "reorder": 0.1, "target": "ws_api"},
            "faults[0]: target: a ws_dup_reorder fault touches market-stream messages",
        ),
        ({"kind": "packet_loss", "burst": 0.5}, "faults[0]: burst: expected the mean burst"),
        ({"kind": "stale_snapshot"}, "faults[0]: a stale_snapshot needs exactly one of lag"),
        (
            {"kind": "stale_snapshot", "lag": 3, "age": "1s"},
            "faults[0]: a stale_snapshot needs exactly one of lag",
        ),
        ({"kind": "stale_snapshot", "lag": 0}, "faults[0]: lag: expected an integer >= 1"),
        ({"kind": "stale_snapshot", "age": 0}, "faults[0]: age: must be > 0"),
        (
            {"kind": "stale_snapshot", "lag": 3, "target": "orders"},
            "faults[0]: target: a stale_snapshot answers depth requests",
        ),
        ({"kind": "ws_stall", "lag": 3}, "faults[0]: unknown key(s) ['lag'] for a ws_stall fault"),
    ],
)
def test_a_bad_stream_fault_names_its_field(fault: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({**STREAM, "faults": [fault]}, source="s.toml")
    assert str(caught.value).startswith("s.toml: ") and message in str(caught.value)
