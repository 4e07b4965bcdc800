"""Scenario files with the transport faults: each kind's keys, its defaults, ``timeout`` as
``blackhole``'s other name, and a bad value refused naming its field."""

from __future__ import annotations

from typing import Any

import pytest

from mmbot.chaos.fuzz import KINDS
from mmbot.chaos.scenario import FAULT_KEYS, ScenarioError, scenario_from_dict
from mmbot.sim.faults import Bandwidth, Blackhole, Reset, Slicer, Target

BASE: dict[str, Any] = {"symbols": ["BTCUSDT"], "duration": 30}


def _faults(*tables: dict[str, Any]) -> tuple[object, ...]:
    return scenario_from_dict({**BASE, "faults": list(tables)}, source="t.toml").faults.faults


def test_each_transport_kind_is_read_with_its_keys() -> None:
    faults = _faults(
        {"kind": "reset", "when": "after", "target": "all", "start": "5s", "duration": "10s"},
        {"kind": "blackhole", "target": ["order.place"], "probability": 0.5},
        {"kind": "timeout", "target": "account"},
        {"kind": "bandwidth", "rate": 4000, "target": "market_data"},
        {"kind": "slicer", "size": 64, "jitter": 8, "delay": "2ms", "target": "all"},
    )
    assert faults == (
        Reset(Target.all(), start=5, duration=10, when="after"),
        Blackhole(Target.named("order.place"), duration=30, probability=0.5),
        Blackhole(Target.endpoint_class("account"), duration=30),
        Bandwidth(4000, Target.endpoint_class("market_data"), duration=30),
        Slicer(64, jitter=8, delay=0.002, target=Target.all(), duration=30),
    )


def test_transport_kinds_default_to_a_reset_before_the_work_on_orders() -> None:
    (reset,) = _faults({"kind": "reset"})
    assert reset == Reset(Target.orders(), duration=30, when="before")
    (slicer,) = _faults({"kind": "slicer", "size": 10})
    assert slicer == Slicer(10, target=Target.orders(), duration=30)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"kind": "reset", "when": "during"}, "faults[0]: when must be 'before' or 'after'"),
        ({"kind": "reset", "rate": 10}, "faults[0]: unknown key(s) ['rate'] for a reset fault"),
        ({"kind": "blackhole", "mode": "drop"}, "unknown key(s) ['mode'] for a blackhole"),
        ({"kind": "bandwidth"}, "faults[0]: rate: expected a whole number of bytes >= 1, got None"),
        ({"kind": "bandwidth", "rate": 0}, "faults[0]: rate: expected a whole number of bytes"),
        ({"kind": "bandwidth", "rate": "1MB"}, "faults[0]: rate: expected a whole number"),
        ({"kind": "slicer"}, "faults[0]: size: expected a whole number of bytes >= 1"),
        ({"kind": "slicer", "size": 8, "jitter": -1}, "faults[0]: jitter: expected a whole"),
        ({"kind": "slicer", "size": 8, "delay": "soon"}, "faults[0]: delay: expected a time"),
        ({"kind": "timeout", "target": "order.teleport"}, "target: unknown operation(s)"),
    ],
)
def test_a_bad_transport_fault_names_its_field(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({**BASE, "faults": [table]}, source="s.toml")
    assert str(caught.value).startswith("s.toml: ") and message in str(caught.value)


def test_the_fuzzer_draws_every_transport_kind_once() -> None:
    transport = {"reset", "blackhole", "bandwidth", "slicer"}
    assert transport <= set(KINDS) <= set(FAULT_KEYS)
    assert "timeout" not in KINDS  # the same fault as blackhole: not drawn twice
