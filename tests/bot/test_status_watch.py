"""The bot keeps the instruments' trading status current once it may have changed: a symbol
halted when the bot starts is quoted as soon as it trades again, and a halt that begins
mid-run (an order refused "Market is closed.") is seen and waited out. Found by the chaos
fuzzer with a ``maintenance`` fault: the bot read the status once, at start-up, and never
quoted a symbol that was halted then."""

from __future__ import annotations

from typing import Any

import pytest

from mmbot.bot.account import AccountService
from mmbot.chaos.runner import run_once, run_scenario
from mmbot.chaos.scenario import scenario_from_dict
from mmbot.sim.engine import Execution
from mmbot.sim.history import EntryKind

MINE = ("user", "ETHUSDT")
HALTED_AT_START: dict[str, Any] = {
    "symbols": ["BTCUSDT", "ETHUSDT"],
    "seed": 3,
    "duration": 20,
    "heal": 10,
    "invariants": ["resumes_after_heal", "no_orphan_orders", "clean_exit"],
    "faults": [
        {"kind": "maintenance", "status": "HALT", "symbols": ["ETHUSDT"], "shutdown": False,
         "start": 0, "duration": 8},
    ],
}  # fmt: skip


def _first_eth_order_s(scenario: Any) -> float | None:
    run = run_once(scenario, scenario.seed)
    assert run.record is not None
    start = run.record.end.start_ms
    for entry in run.record.history.entries(EntryKind.EXECUTION, 0):
        report = entry.payload
        if isinstance(report, Execution) and (report.account, report.symbol) == MINE:
            return (entry.time_ms - start) / 1000
    return None


def test_a_symbol_halted_at_start_up_is_quoted_once_it_trades() -> None:
    scenario = scenario_from_dict(HALTED_AT_START, source="<halted>")
    first = _first_eth_order_s(scenario)
    assert first is not None and 8 <= first < 8 + 5 + 1  # the next poll after the halt
    assert run_scenario(scenario).passed


def test_without_the_watch_the_halted_symbol_is_never_quoted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(AccountService, "suspect_status", lambda self: None)
    scenario = scenario_from_dict(HALTED_AT_START, source="<halted>")
    assert _first_eth_order_s(scenario) is None
    assert run_scenario(scenario).violations["resumes_after_heal"]


def test_a_halt_mid_run_is_seen_after_a_refusal_and_waited_out() -> None:
    table = {
        **HALTED_AT_START,
        "faults": [
            {"kind": "maintenance", "status": "HALT", "symbols": ["ETHUSDT"],
             "shutdown": False, "start": 5, "duration": 8},
        ],
    }  # fmt: skip
    scenario = scenario_from_dict(table, source="<halted>")
    run = run_once(scenario, scenario.seed)
    assert run.record is not None
    start = run.record.end.start_ms
    refused = [
        (e.time_ms - start) / 1000
        for e in run.record.history.entries(EntryKind.REQUEST, 0)
        if e.payload.error_code == -1013
    ]
    info = [
        (e.time_ms - start) / 1000
        for e in run.record.history.entries(EntryKind.REQUEST, 0)
        if e.payload.path == "/api/v3/exchangeInfo"
    ]
    assert refused and all(5 <= t < 13 for t in refused)
    assert len(refused) <= 4  # pulled after the status read, not refused on and on
    assert [t for t in info if t > 1] and max(info) >= 13  # polled until TRADING again
    assert run_scenario(scenario).passed
