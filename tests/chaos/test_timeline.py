"""The picture's series, read from a hand-made truth log (no matplotlib)."""

from __future__ import annotations

from decimal import Decimal

from history_kit import START_MS, record, report

from mmbot.chaos.history import BotHistory, BreakerChange
from mmbot.chaos.record import RunRecord
from mmbot.chaos.scenario import scenario_from_dict
from mmbot.chaos.timeline import Band, OrderSpan, timeline
from mmbot.model import ExecutionType, Side
from mmbot.sim.engine import TradePrint

CANCELED = ExecutionType.CANCELED


def test_orders_become_spans_fills_move_the_position_and_faults_become_bands() -> None:
    trade = report(
        "mm-r-1-b0", 11, Side.BUY, "100", ExecutionType.TRADE, last_qty="0.5", trade_id=1,
        time_ms=START_MS + 3000,
    )  # fmt: skip
    run = record(
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (1.0, report("mm-r-2-s0", 12, Side.SELL, "102")),
        (3.0, trade),
        (4.0, report("c", 11, Side.BUY, "100", CANCELED, orig="mm-r-1-b0")),
        (5.0, report("foreign", 13, Side.BUY, "99")),  # not the bot's: not drawn
    )
    for at, price in ((2.0, "101"), (6.0, "103")):
        tape = TradePrint("BTCUSDT", 1, Decimal(price), Decimal(1), START_MS, True)
        run.history.append_events(START_MS + int(at * 1000), [tape])
    scenario = scenario_from_dict(
        {
            "name": "t",
            "symbols": ["BTCUSDT"],
            "duration": 10,
            "faults": [
                {"kind": "latency", "delay": 1, "start": 2, "duration": 3},
                {"kind": "crash_bot", "start": 6},
            ],
        }
    )
    drawn = timeline(run, scenario, seed=4)
    [btc] = drawn.symbols
    assert btc.orders == (
        OrderSpan(Side.BUY, 100.0, 1.0, 4.0),
        OrderSpan(Side.SELL, 102.0, 1.0, 6.0),  # still open when the history ends
    )
    assert btc.fills == ((3.0, 100.0, Side.BUY),)
    assert btc.position == ((0.0, 0.0), (3.0, 0.5))
    # PnL at each trade: cash -50 after the buy, plus 0.5 at the last trade price
    assert btc.pnl == ((2.0, 0.0), (6.0, -50.0 + 0.5 * 103))
    assert btc.trades == ((2.0, 101.0), (6.0, 103.0))
    assert drawn.bands == (
        Band("latency 1000 ms on orders, from 2 s to 5 s", 2.0, 5.0),
        Band("crash_bot at 6 s, restarted 1 s later", 6.0, 6.0),
    )
    assert drawn.heal == 10 and drawn.end == 6.0 and drawn.title.startswith("t, seed 4")


def test_breakers_out_of_closed_become_spans_and_a_crash_ends_its_incarnations() -> None:
    trace = BotHistory()
    for at, incarnation, state in (
        (1.0, 0, "open"), (3.0, 0, "half_open"), (3.5, 0, "open"),  # killed at 6 s while open
        (7.5, 1, "open"), (8.0, 1, "half_open"), (8.5, 1, "closed"),
    ):  # fmt: skip
        trace.breaker(
            BreakerChange(START_MS + int(at * 1000), incarnation, "binance:orders", state)
        )
    base = record((9.0, report("mm-r-1-b0", 11, Side.BUY, "100")))
    run = RunRecord(base.history, base.end, trace)
    scenario = scenario_from_dict(
        {"name": "t", "symbols": ["BTCUSDT"], "duration": 10,
         "faults": [{"kind": "crash_bot", "start": 6, "restart_after": 1}]}
    )  # fmt: skip
    spans = timeline(run, scenario, seed=1).breakers
    assert [(s.breaker, s.state, s.start, s.end) for s in spans] == [
        ("orders", "open", 1.0, 3.0),
        ("orders", "half_open", 3.0, 3.5),
        ("orders", "open", 3.5, 6.0),  # the crash ended that process and its breakers
        ("orders", "open", 7.5, 8.0),
        ("orders", "half_open", 8.0, 8.5),
    ]
    assert timeline(base, scenario, seed=1).breakers == ()  # no bot side recorded
