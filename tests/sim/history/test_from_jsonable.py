"""A history read back from its JSON form (the admin API's pages, the spill file's lines) is
the same history: every entry equal, the same digest, the same verdicts."""

from __future__ import annotations

import json

import attrs
import pytest

from mmbot.chaos.invariants import INVARIANTS, check
from mmbot.chaos.runner import run_once
from mmbot.chaos.scenario import scenario_from_dict
from mmbot.sim.history import History, from_jsonable, to_jsonable


def test_a_chaos_runs_history_survives_the_round_trip_through_json() -> None:
    scenario = scenario_from_dict(
        {
            "symbols": ["BTCUSDT"],
            "duration": 12,
            "heal": 6,
            "faults": [{"kind": "lost_ack", "start": 2, "duration": 6, "probability": 0.3}],
            "bot": {"strategy": {"spread": {"base_bps": 1.0, "min_edge_bps": 0.5}}},
        }
    )
    run = run_once(scenario, 3)
    assert run.record is not None
    original = run.record.history
    lines = [json.dumps(to_jsonable(e)) for e in original.entries()]
    read = History.from_entries(from_jsonable(json.loads(line)) for line in reversed(lines))
    assert read.entries() == original.entries()
    assert {e.kind for e in read.entries()} >= {e.kind for e in original.entries()}
    assert read.digest() == original.digest() and read.last_seq == original.last_seq
    again = attrs.evolve(run.record, history=read)
    assert check(again, INVARIANTS) == check(run.record, INVARIANTS)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"seq": 1, "time_ms": 2, "kind": "fault", "type": "Nope", "payload": {}},
        {"seq": 1, "time_ms": 2, "kind": "meteor", "type": "FaultRecord", "payload": {}},
        {"seq": 1, "time_ms": 2, "kind": "fault", "type": "FaultRecord", "payload": {"x": 1}},
        {
            "seq": "1",
            "time_ms": 2,
            "kind": "fault",
            "type": "FaultRecord",
            "payload": {"name": "plan", "target": "all", "detail": ""},
        },
        [],
    ],
)
def test_anything_else_is_a_value_error(data: object) -> None:
    with pytest.raises(ValueError, match="not a history entry"):
        from_jsonable(data)


def test_an_entry_given_twice_is_refused() -> None:
    entry = from_jsonable(
        {
            "seq": 4,
            "time_ms": 2,
            "kind": "fault",
            "type": "FaultRecord",
            "payload": {"name": "plan", "target": "all", "detail": "none"},
        }
    )
    with pytest.raises(ValueError, match="#4 given twice"):
        History.from_entries([entry, entry])
