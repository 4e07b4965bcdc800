"""Simulated chaos runs: deterministic from their seed, and a planted bug is caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
import trio.lowlevel
from planted import unknown_taken_for_failed

from mmbot.bot.actions import OrderActions
from mmbot.bot.bot import Bot
from mmbot.bot.quoter import Quoter
from mmbot.bot.session import VenueSession
from mmbot.chaos.history import BookData, BreakerChange, Decision, Ending, Invoke
from mmbot.chaos.runner import fault_windows, run_once, run_scenario
from mmbot.chaos.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict
from mmbot.resilience.ratelimit import RateLimiter
from mmbot.sim.history import EntryKind


def short(**changes: object) -> Scenario:
    """Two symbols, 12 s of order latency in a 20 s safety phase, 10 s to heal."""
    latency = {"kind": "latency", "delay": "300ms", "jitter": "100ms", "start": 4, "duration": 12}
    tight = {"spread": {"base_bps": 1.0, "maker_fee_bps": 0.0, "min_edge_bps": 0.5}}
    data: dict[str, object] = {
        "name": "short",
        "symbols": ["BTCUSDT", "ETHUSDT"],
        "duration": 20,
        "heal": 10,
        "faults": [latency],
        "bot": {"strategy": tight},
    }
    data.update(changes)
    return scenario_from_dict(data)


def test_the_same_seed_replays_bit_for_bit_and_another_seed_does_not() -> None:
    scenario = short()
    first, again, other = run_once(scenario, 5), run_once(scenario, 5), run_once(scenario, 6)
    assert first.digest == again.digest
    assert other.digest != first.digest
    assert first.orders > 0


def test_every_invariant_holds_for_the_bot_under_order_latency() -> None:
    result = run_scenario(short())
    assert result.passed, [v.describe() for found in result.violations.values() for v in found]
    assert result.replay_digest == result.digest and result.fills > 0
    assert result.replay_command() == "mmbot chaos run short --seed 1"


def test_a_bot_whose_stop_forgets_its_orders_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planted bug: the quoters stop without cancelling, and the final sweep reports a
    # clean exchange without looking. The bot believes it left nothing behind.
    async def forget(self: Quoter, inflight: object) -> None:
        return None

    async def claim_clean(self: OrderActions, symbol: str) -> list[str]:
        return []

    monkeypatch.setattr(Quoter, "_stop", forget)
    monkeypatch.setattr(OrderActions, "sweep", claim_clean)
    result = run_scenario(short(invariants=["no_orphan_orders", "clean_exit"]))
    assert not result.passed
    orphans = result.violations["no_orphan_orders"]
    assert {v.symbol for v in orphans} == {"BTCUSDT", "ETHUSDT"}
    assert all(v.orders and v.orders[0].startswith("mm-") for v in orphans)
    assert result.violations["clean_exit"] == []  # the bot's own report is fooled


def test_a_venue_slow_on_market_data_at_start_up_does_not_stop_the_bot() -> None:
    # Found by chaos/slow_market_data.toml: the server time read through a request held 2 s
    # put the bot's clock 1 s ahead (the midpoint of a lopsided round trip), every signed
    # subscription was refused -1021 with that same offset, and the bot gave up starting.
    scenario = short(
        symbols=["BTCUSDT", "ETHUSDT"],
        duration=25,
        faults=[{"kind": "latency", "target": "market_data", "delay": "2s", "duration": 20}],
        invariants=["clean_exit", "resumes_after_heal", "no_orphan_orders"],
    )
    result = run_scenario(scenario)
    assert result.passed, [v.describe() for found in result.violations.values() for v in found]


def test_a_bot_that_takes_an_unknown_placement_for_failed_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The planted bug: an order whose answer was lost is believed never placed, so its
    # slot is quoted again while the lost order rests at the exchange.
    unknown_taken_for_failed(monkeypatch)
    lost = {"kind": "lost_ack", "mode": "unknown", "start": 4, "duration": 12, "probability": 0.3}
    result = run_scenario(short(faults=[lost], invariants=["no_duplicate_orders"]))
    duplicates = result.violations["no_duplicate_orders"]
    assert duplicates, "the lost orders' slots were quoted twice and nobody noticed"
    assert all("slot" in v.detail and len(v.orders) == 2 for v in duplicates)
    # the same scenario with the bot as built: no duplicate
    monkeypatch.undo()  # the bot as built
    assert run_scenario(short(faults=[lost], invariants=["no_duplicate_orders"])).passed


def crashing(**changes: object) -> Scenario:
    crash = {"kind": "crash_bot", "start": 8, "restart_after": 1}
    return short(faults=[crash], duration=20, **changes)


def test_a_killed_bot_leaves_its_orders_and_the_next_one_cleans_them_up() -> None:
    result = run_scenario(crashing())
    assert result.passed, [v.describe() for found in result.violations.values() for v in found]
    assert result.scenario.crashes[0].describe() == "crash_bot at 8 s, restarted 1 s later"
    record = result.record
    assert record is not None
    [crash] = [e for e in record.history.entries(EntryKind.FAULT) if e.payload.name == "crash_bot"]
    assert crash.time_ms - record.end.start_ms == 8_000  # at its instant, not later
    dead_run = crash.payload.detail.split()[1]
    left = [
        o.client_order_id
        for o in record.history.open_orders(record.end.account, at_seq=crash.seq)
        if f"-{dead_run}-" in o.client_order_id
    ]
    assert left  # the dead run left orders on the book...
    assert (
        not [  # ...which the next run cancelled
            o
            for o in record.history.open_orders(record.end.account)
            if f"-{dead_run}-" in o.client_order_id
        ]
    )
    assert record.end.run_id and record.end.run_id != dead_run


def test_a_restarted_bot_that_ignores_the_dead_runs_orders_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The planted bug: start-up reconciliation forgets the earlier run's orders, so they
    # rest beside the new run's quotes in the same slots until the final sweep.
    async def forget_orphans(self: VenueSession, venue: object) -> None:
        await trio.lowlevel.checkpoint()

    monkeypatch.setattr(VenueSession, "_reconcile_open_orders", forget_orphans)
    result = run_scenario(crashing(invariants=["no_duplicate_orders", "no_orphan_orders"]))
    duplicates = result.violations["no_duplicate_orders"]
    assert duplicates and all(len({o.split("-")[1] for o in v.orders}) == 2 for v in duplicates)


def test_a_restart_into_order_errors_cancels_the_dead_runs_orders_and_books_their_fills() -> None:
    # chaos/restart_into_errors.toml, found by the fuzzer: see the file for the story.
    scenario = load_scenario(Path(__file__).parents[2] / "chaos" / "restart_into_errors.toml")
    result = run_scenario(scenario)
    assert result.passed, [v.describe() for found in result.violations.values() for v in found]


def _throttled() -> Scenario:
    refusal = {
        "kind": "error", "status": 429, "code": -1003, "retry_after": "3s",
        "target": "order.place", "start": 4, "duration": 6, "probability": 0.5,
    }  # fmt: skip
    return short(faults=[refusal], invariants=["no_request_during_retry_after", "clean_exit"])


def test_the_bot_side_history_holds_what_crossed_the_bots_links() -> None:
    run = run_once(_throttled(), 3)
    assert run.record is not None and run.record.bot is not None
    trace = run.record.bot
    invokes = list(trace.of_kind(Invoke))
    placements = [i for i in invokes if i.places]
    assert placements and all(i.symbol and i.client_order_id for i in placements)
    endings = trace.completions()
    throttled = [c for c in endings.values() if c.status == 429]
    assert throttled and all(c.retry_after_s == 3.0 and c.code == -1003 for c in throttled)
    assert all(c.ending is Ending.OK for c in endings.values() if c.status == 200)
    snapshots = [b for b in trace.of_kind(BookData) if b.snapshot]
    assert {b.symbol for b in snapshots} == {"BTCUSDT", "ETHUSDT"}
    assert any(not b.snapshot for b in trace.of_kind(BookData))
    decisions = list(trace.of_kind(Decision))
    acted = [d for d in decisions if d.actions > 0]
    assert {d.symbol for d in acted} == {"BTCUSDT", "ETHUSDT"}
    assert all(0 <= d.book_age_s <= 2.0 and d.pulled is None for d in acted)


def test_a_bot_that_ignores_retry_after_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_scenario(_throttled()).passed  # the bot as built holds back
    # The planted bug: a 429's Retry-After no longer blocks the client's limiter.
    monkeypatch.setattr(RateLimiter, "block_until", lambda self, until: None)
    result = run_scenario(_throttled())
    found = result.violations["no_request_during_retry_after"]
    assert found and "before the Retry-After of a 429 (3 s" in found[0].detail


def test_the_bots_breaker_transitions_are_recorded_when_they_happen() -> None:
    errors = {"kind": "error", "status": 500, "code": -1000, "start": 4, "duration": 5}
    run = run_once(short(faults=[errors]), 2)
    assert run.record is not None and run.record.bot is not None
    changes = [c for c in run.record.bot.of_kind(BreakerChange) if c.breaker == "binance:orders"]
    assert [c.state for c in changes[:2]] == ["open", "half_open"]
    start = run.record.end.start_ms
    assert 4.0 <= (changes[0].time_ms - start) / 1000 <= 9.0  # within the fault's window


def test_recording_the_bots_side_changes_nothing_of_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = short()
    recorded = run_once(scenario, 4)
    original = Bot.__init__

    def untapped(self: Bot, *args: Any, **kwargs: Any) -> None:
        for hook in ("wrap_transport", "wrap_connector", "on_breaker", "on_decision"):
            kwargs.pop(hook, None)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Bot, "__init__", untapped)
    bare = run_once(scenario, 4)
    assert bare.record is not None and bare.record.bot is not None
    assert not bare.record.bot.records  # nothing was recorded this time
    assert recorded.digest == bare.digest


def test_fault_windows_say_when_each_fault_acts_and_on_which_symbols() -> None:
    scenario = short(
        faults=[
            {"kind": "maintenance", "symbols": ["BTCUSDT"], "start": 2, "duration": 3},
            {"kind": "seq_gap", "symbols": ["ETHUSDT"], "start": 4, "duration": 2},
            {"kind": "flash_move", "percent": 3, "symbols": ["ETHUSDT"], "start": 6},
            {"kind": "latency", "delay": "100ms", "start": 1, "duration": 1},
            {"kind": "crash_bot", "start": 8},
            {"kind": "ws_stall", "symbols": ["BTCUSDT"], "start": 1, "duration": 2},
        ]
    )
    windows = fault_windows(scenario, 1_000)
    assert [(w.start_ms, w.end_ms, w.symbols) for w in windows] == [
        (3_000, 6_000, frozenset({"BTCUSDT"})),
        (5_000, 7_000, frozenset({"ETHUSDT"})),
        (7_000, 12_000, frozenset({"ETHUSDT"})),  # a flash move's effect: FLASH_EFFECT_S
        (2_000, 3_000, None),  # on requests of every symbol
        (2_000, 4_000, None),  # a connection stalled carries every symbol's data
        (9_000, 21_000, None),  # a crash: every symbol, to the heal
    ]


def test_a_breaker_the_scenario_expects_to_open_is_checked() -> None:
    errors = {"kind": "error", "status": 500, "code": -1000, "start": 4, "duration": 5}
    bites = run_scenario(short(faults=[errors], breakers_open=["orders"]))
    assert bites.violations["breakers_open"] == []
    misses = run_scenario(short(faults=[errors], breakers_open=["orders", "market_data"]))
    [violation] = misses.violations["breakers_open"]
    assert "the market_data breaker never opened" in violation.detail and not misses.passed
    with pytest.raises(ScenarioError, match="breakers_open: expected a list of endpoint"):
        short(breakers_open=["engine"])
