"""The seeded market simulator, driven directly against the real matching engine."""

from __future__ import annotations

import itertools
import random
import statistics
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmbot.model import ExecutionType, OrderType, Side, SymbolStatus, TimeInForce
from mmbot.sim.engine import EngineEvent, Execution, Fees, MatchingEngine, OrderRequest
from mmbot.sim.market import (
    INFORMED_ACCOUNT,
    MAKER_ACCOUNT,
    TAKER_ACCOUNT,
    MarketConfig,
    MarketSimulator,
    default_market,
    split_symbol,
)

START = 1_700_000_000_000
BOT = "bot"


def build(
    symbols: Sequence[str] = ("BTCUSDT",), seed: int = 1, **overrides: Any
) -> tuple[MatchingEngine, MarketSimulator]:
    instruments, configs = default_market(symbols)
    configs = [attrs.evolve(c, **overrides) for c in configs]
    engine = MatchingEngine(instruments, Fees())
    market = MarketSimulator(engine, configs, random.Random(seed))
    market.start(START)
    return engine, market


def run(engine: MatchingEngine, market: MarketSimulator, seconds: float) -> list[EngineEvent]:
    """Advance event by event for ``seconds`` of simulated time; the drained events."""
    until = market.next_event_ms() + int(seconds * 1000)
    events = list(engine.drain_events())
    while market.next_event_ms() <= until:
        market.advance(market.next_event_ms())
        events.extend(engine.drain_events())
    return events


def bot_place(
    engine: MatchingEngine, side: Side, price: Decimal, qty: str, now_ms: int, cid: str
) -> None:
    request = OrderRequest(
        account=BOT,
        symbol="BTCUSDT",
        side=side,
        type=OrderType.LIMIT,
        client_order_id=cid,
        quantity=Decimal(qty),
        price=price,
        time_in_force=TimeInForce.GTC,
    )
    result = engine.place(request, now_ms)
    assert hasattr(result, "order"), result


def trades_of(events: Sequence[EngineEvent], account: str) -> list[Execution]:
    return [
        e
        for e in events
        if isinstance(e, Execution)
        and e.account == account
        and e.execution_type is ExecutionType.TRADE
    ]


# ---- built-in market ---------------------------------------------------------------------


def test_default_market_has_realistic_btcusdt() -> None:
    (btc,), (config,) = default_market(["BTCUSDT"])
    assert (btc.base_asset, btc.quote_asset) == ("BTC", "USDT")
    assert (btc.tick_size, btc.step_size, btc.min_notional) == (
        Decimal("0.01"),
        Decimal("0.00001"),
        Decimal(5),
    )
    assert config.initial_price == Decimal(60000)


@pytest.mark.parametrize(
    ("symbol", "base", "quote"),
    [("DOGEUSDT", "DOGE", "USDT"), ("XRPBTC", "XRP", "BTC"), ("1000PEPEUSDC", "1000PEPE", "USDC")],
)
def test_default_market_falls_back_to_a_generic_instrument(
    symbol: str, base: str, quote: str
) -> None:
    (instrument,), _ = default_market([symbol])
    assert (instrument.base_asset, instrument.quote_asset) == (base, quote)


@pytest.mark.parametrize(
    "symbol", ["btcusdt", "BTC-USDT", "USDT", "BTCXYZ", "", "B" * 30, "BTCUSDT\n"]
)
def test_unknown_symbol_formats_are_refused_clearly(symbol: str) -> None:
    with pytest.raises(ValueError, match="unknown symbol format"):
        default_market([symbol])


def test_duplicate_symbols_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        default_market(["BTCUSDT", "BTCUSDT"])


@settings(max_examples=25)
@given(
    st.from_regex(r"[A-Z][A-Z0-9]{1,7}", fullmatch=True),
    st.sampled_from(["USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB"]),
)
def test_default_configs_fit_their_instruments_filters(base: str, quote: str) -> None:
    (instrument,), (config,) = default_market([base + quote])
    assert split_symbol(base + quote) == (base, quote)
    assert instrument.price_filter_ok(config.initial_price)
    for qty in (config.level_base_qty, config.taker_min_qty, config.taker_max_qty):
        assert instrument.lot_size_ok(qty)
    assert instrument.notional_ok(config.initial_price, config.taker_min_qty)


@pytest.mark.parametrize(
    ("field", "value"),
    [("levels", 0), ("informed_share", 1.5), ("volatility_bps", -1.0), ("taker_min_qty", 5)],
)
def test_market_config_refuses_nonsense(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        MarketConfig(symbol="BTCUSDT", initial_price=Decimal(100), **{field: value})


# ---- scheduling and determinism ----------------------------------------------------------


def test_advance_before_start_is_an_error() -> None:
    instruments, configs = default_market(["BTCUSDT"])
    market = MarketSimulator(MatchingEngine(instruments, Fees()), configs, random.Random(1))
    with pytest.raises(RuntimeError, match="not started"):
        market.advance(START)


def test_advance_processes_everything_due_and_nothing_later() -> None:
    _, market = build(["BTCUSDT", "ETHUSDT"])
    first = market.next_event_ms()
    assert first > START
    market.advance(START + 5000)
    assert market.next_event_ms() > START + 5000
    assert market.statistics().reference_updates == 2 * 20  # every 250 ms, two symbols


def test_same_seed_gives_the_same_engine_event_sequence() -> None:
    one = run(*build(["BTCUSDT", "ETHUSDT"], seed=7), seconds=60)
    two = run(*build(["BTCUSDT", "ETHUSDT"], seed=7), seconds=60)
    other = run(*build(["BTCUSDT", "ETHUSDT"], seed=8), seconds=60)
    assert len(one) > 500
    assert one == two
    assert one != other


# ---- the ladder --------------------------------------------------------------------------


@settings(max_examples=15)
@given(st.integers(min_value=0, max_value=2**32))
def test_ladder_is_two_sided_uncrossed_on_tick_and_at_least_the_configured_spread(
    seed: int,
) -> None:
    engine, market = build(["ETHUSDT"], seed=seed, jump_probability_per_s=0.05)
    (instrument,), (config,) = default_market(["ETHUSDT"])
    tick, step = instrument.tick_size, instrument.step_size
    until = START + 20_000
    while market.next_event_ms() <= until:
        market.advance(market.next_event_ms())
        engine.drain_events()
        depth = engine.depth("ETHUSDT", 100)
        assert config.levels - 2 <= len(depth.bids) <= config.levels + 2
        assert config.levels - 2 <= len(depth.asks) <= config.levels + 2
        best_bid, best_ask = depth.bids[0][0], depth.asks[0][0]
        assert best_ask - best_bid >= 2 * config.half_spread_ticks * tick
        reference = market.reference_price("ETHUSDT")
        assert best_bid < reference < best_ask
        for price, qty in depth.bids + depth.asks:
            assert price % tick == 0 and qty % step == 0 and qty > 0


def test_ladder_recovers_after_a_foreign_order_sweeps_one_side() -> None:
    engine, market = build()
    engine.open_account(BOT, {"BTC": Decimal(0), "USDT": Decimal(10**9)})
    now = market.next_event_ms()
    market.advance(now)
    sweep = OrderRequest(BOT, "BTCUSDT", Side.BUY, OrderType.MARKET, "sweep", Decimal(100))
    assert hasattr(engine.place(sweep, now), "order")
    assert engine.best_bid_ask("BTCUSDT")[1] is None  # every ask taken
    run(engine, market, seconds=6)  # a full reconciliation runs every 5 s
    assert len(engine.depth("BTCUSDT", 100).asks) >= 10


# ---- takers ------------------------------------------------------------------------------


def test_taker_flow_trades_against_a_resting_foreign_order() -> None:
    engine, market = build(informed_share=0.0)
    engine.open_account(BOT, {"BTC": Decimal(1), "USDT": Decimal(100_000)})
    reference = market.reference_price("BTCUSDT")
    bot_place(engine, Side.BUY, reference - Decimal("0.01"), "0.001", START, "bid")
    bot_place(engine, Side.SELL, reference + Decimal("0.01"), "0.001", START, "ask")
    events = run(engine, market, seconds=20)
    fills = trades_of(events, BOT)
    assert fills and all(f.is_maker for f in fills)
    takers = {
        e.trade_id: e.account for e in trades_of(events, TAKER_ACCOUNT) if e.symbol == "BTCUSDT"
    }
    assert any(takers.get(f.trade_id) == TAKER_ACCOUNT for f in fills)


def markouts(informed_share: float, seed: int = 3) -> list[Decimal]:
    """Signed reference move after each fill of a bot quoting one tick around the reference."""
    engine, market = build(
        seed=seed, informed_share=informed_share, jump_probability_per_s=0.0, taker_rate_per_s=4
    )
    engine.open_account(BOT, {"BTC": Decimal(1000), "USDT": Decimal(10**9)})
    tick = Decimal("0.01")
    pending: list[tuple[Side, Decimal, Decimal]] = []  # side, price, reference at the fill
    result: list[Decimal] = []
    quoted_at: Decimal | None = None
    n = 0
    until = START + 300_000
    while market.next_event_ms() <= until:
        now = market.next_event_ms()
        reference = market.reference_price("BTCUSDT")
        if reference != quoted_at:  # a new reference: settle markouts, re-quote
            for side, price, _ in pending:
                result.append(side.sign * (reference - price))
            pending.clear()
            engine.cancel_all(BOT, "BTCUSDT", now)
            n += 1
            bot_place(engine, Side.BUY, reference - tick, "0.0002", now, f"b{n}")
            bot_place(engine, Side.SELL, reference + tick, "0.0002", now, f"a{n}")
            quoted_at = reference
        market.advance(now)
        for fill in trades_of(engine.drain_events(), BOT):
            pending.append((fill.side, fill.last_price, reference))
    return result


def test_informed_takers_leave_the_maker_with_adverse_selection() -> None:
    informed = markouts(informed_share=1.0)
    uninformed = markouts(informed_share=0.0)
    assert len(informed) > 200 and len(uninformed) > 200
    mean_informed = statistics.mean(informed)
    mean_uninformed = statistics.mean(uninformed)
    assert mean_informed < 0  # the reference moves against the bot's fills
    assert mean_uninformed > mean_informed + 1  # by more than a dollar on BTC


def test_jumps_move_the_reference_by_the_jump_size() -> None:
    engine, market = build(
        volatility_bps=0.0, jump_probability_per_s=1.0, jump_size_bps=100.0, taker_rate_per_s=0
    )
    references = [market.reference_price("BTCUSDT")]
    until = START + 30_000
    while market.next_event_ms() <= until:
        market.advance(market.next_event_ms())
        references.append(market.reference_price("BTCUSDT"))
    moves = [(a, b) for a, b in itertools.pairwise(references) if a != b]
    assert market.statistics().jumps == len(moves) > 3
    for before, after in moves:
        assert abs(after - before) == (before / 100).quantize(Decimal("0.01"))
    assert len(engine.depth("BTCUSDT", 100).bids) >= 10


def test_without_volatility_or_jumps_the_reference_stays_put() -> None:
    _, market = build(volatility_bps=0.0, jump_probability_per_s=0.0)
    market.advance(START + 10_000)
    assert market.reference_price("BTCUSDT") == Decimal(60000)


# ---- rejections --------------------------------------------------------------------------


def test_simulator_survives_a_halt_and_a_break_and_requotes_after() -> None:
    engine, market = build()
    run(engine, market, seconds=2)
    now = market.next_event_ms()
    engine.set_symbol_status("BTCUSDT", SymbolStatus.HALT, now)
    run(engine, market, seconds=5)
    engine.set_symbol_status("BTCUSDT", SymbolStatus.BREAK, market.next_event_ms())
    run(engine, market, seconds=5)
    rejected = market.statistics().rejections
    assert rejected > 0
    engine.set_symbol_status("BTCUSDT", SymbolStatus.TRADING, market.next_event_ms())
    run(engine, market, seconds=3)
    depth = engine.depth("BTCUSDT", 100)
    assert len(depth.bids) >= 10 and len(depth.asks) >= 10


def test_simulator_survives_filter_rejections() -> None:
    instruments, configs = default_market(["BTCUSDT"])
    tight = [attrs.evolve(instruments[0], max_qty=Decimal("0.01"))]  # most levels too big
    engine = MatchingEngine(tight, Fees())
    market = MarketSimulator(engine, configs, random.Random(5))
    market.start(START)
    run(engine, market, seconds=10)
    stats = market.statistics()
    assert stats.rejections > 0 and stats.reference_updates == 40


def test_accounts_are_opened_for_every_asset() -> None:
    engine, _ = build(["BTCUSDT", "ETHBTC"])
    for account in (MAKER_ACCOUNT, TAKER_ACCOUNT, INFORMED_ACCOUNT):
        assets = {b.asset for b in engine.balances(account)}
        assert {"BTC", "ETH", "USDT"} <= assets
