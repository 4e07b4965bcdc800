"""The quoting hot path's shortcuts give exactly what the plain code gives.

The stages are written for speed (issue 5, "Speed"): a fixed-field evolve, sums folded in
locals, ``min``/``max`` written out, memos keyed by object, quotes built into slots. Each
test here pins one shortcut to the plain form it replaces.
"""

from __future__ import annotations

import importlib
import math
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import Quote, QuoteSet, Side
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import (
    QuoteContext,
    StrategyState,
    TradeTick,
    VarianceState,
    evolve,
    replacer,
)
from mmbot.quoting.stages import rounding, sizing, spread, volatility
from mmbot.quoting.stages.spread import fee_floor_bps, optimal_spread_bps
from mmbot.quoting.stages.volatility import sigma_bps, variance_update
from mmbot.testing import sample_book, sample_instrument

D = Decimal
MID = 6_500_000  # ticks of 0.01: 65,000.00
# the stage modules (the package's names are the stage functions)
rounding_module = importlib.import_module("mmbot.quoting.stages.rounding")
volatility_module = importlib.import_module("mmbot.quoting.stages.volatility")


def ctx_for(config: StrategyConfig | None = None, **changes: Any) -> QuoteContext:
    ctx = QuoteContext(
        symbol="BTCUSDT",
        instrument=sample_instrument(),
        now=10.0,
        book=sample_book(MID, received_at=9.9),
        params=config or StrategyConfig(),
    )
    return evolve(ctx, **changes)


def with_table(config: StrategyConfig, table: str, **fields: Any) -> StrategyConfig:
    changes: dict[str, Any] = {table: attrs.evolve(getattr(config, table), **fields)}
    return attrs.evolve(config, **changes)


# -- evolve and replacer ----------------------------------------------------------------


def test_a_replacer_sets_the_same_fields_as_evolve() -> None:
    ctx = ctx_for()
    one = replacer("fair_value")(ctx, 1.5)
    two = replacer("fair_value", "reservation")(ctx, 1.5, 1.4)
    three = replacer("fair_value", "reservation", "pulled")(ctx, 1.5, 1.4, None)
    assert one == evolve(ctx, fair_value=1.5) == attrs.evolve(ctx, fair_value=1.5)
    assert two == attrs.evolve(ctx, fair_value=1.5, reservation=1.4)
    assert three == two
    assert type(one) is QuoteContext and one is not ctx and ctx.fair_value is None


@pytest.mark.parametrize("names", [(), ("fair_valu",), ("drafts", "drafts")])
def test_a_replacer_refuses_unknown_missing_or_repeated_fields(names: tuple[str, ...]) -> None:
    with pytest.raises(TypeError, match="distinct QuoteContext fields"):
        replacer(*names)


def test_a_replacer_for_three_fields_needs_three_values() -> None:
    with pytest.raises(TypeError, match="expected 3 values"):
        replacer("fair_value", "reservation", "pulled")(ctx_for(), 1.0)


def test_evolve_refuses_an_unknown_field_next_to_known_ones() -> None:
    with pytest.raises(TypeError, match="fair_valu"):
        evolve(ctx_for(), fair_value=1.0, fair_valu=1.0)


# -- quotes built into their slots --------------------------------------------------------


def test_quotes_built_into_slots_equal_quotes_built_by_init() -> None:
    price, qty = D("0.01") * 6_500_001, D("0.00001") * 150
    fast = rounding_module.make_quote(Side.SELL, 1, price, qty)
    plain = Quote(Side.SELL, 1, price, qty)
    assert rounding_module.make_quote is not Quote  # the slot path is the one in use
    assert (fast, hash(fast), repr(fast)) == (plain, hash(plain), repr(plain))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.price = D(1)
    fast_set = rounding_module.make_quote_set("BTCUSDT", (fast,), ())
    plain_set = QuoteSet("BTCUSDT", (plain,), ())
    assert (fast_set, hash(fast_set), repr(fast_set)) == (
        plain_set,
        hash(plain_set),
        repr(plain_set),
    )
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast_set.reason = "x"


def test_the_slot_path_is_only_taken_for_classes_whose_init_just_stores() -> None:
    @attrs.frozen
    class Plain:
        a: int
        b: int

    @attrs.frozen
    class Checked:
        a: int = attrs.field(validator=attrs.validators.instance_of(int))
        b: int = 0

    @attrs.frozen
    class PostInit:
        a: int
        b: int

        def __attrs_post_init__(self) -> None:
            pass

    @attrs.frozen(cache_hash=True)
    class CachedHash:
        a: int
        b: int

    plain_slots = rounding_module._plain_slots
    assert plain_slots(Quote, ("side", "level", "price", "quantity"))
    assert plain_slots(Plain, ("a", "b"))
    assert not plain_slots(Plain, ("b", "a"))
    assert not plain_slots(Checked, ("a", "b"))
    assert not plain_slots(PostInit, ("a", "b"))
    assert not plain_slots(CachedHash, ("a", "b"))


# -- volatility: the folded sums ----------------------------------------------------------

prices = st.floats(1.0, 1e6)
times = st.floats(0.0, 1e4)
states = st.one_of(
    st.none(),
    st.builds(VarianceState, st.floats(-1.0, 1e6), times, st.floats(0.0, 1e6), st.floats(0, 1e4)),
)


@given(
    state=states,
    ticks=st.lists(st.tuples(prices, times), max_size=6),
    halflife=st.floats(0.1, 1e3),
    log_returns=st.booleans(),
)
def test_folding_trades_matches_variance_update_trade_by_trade(
    state: VarianceState | None,
    ticks: list[tuple[float, float]],
    halflife: float,
    log_returns: bool,
) -> None:
    trades = tuple(TradeTick(t, D(repr(p)), D(1), Side.BUY) for p, t in ticks)
    expected = state
    for trade in trades:
        expected = variance_update(expected, float(trade.price), trade.time, halflife, log_returns)
    folded = volatility_module._fold_trades(state, trades, halflife, log_returns)
    assert repr(folded) == repr(expected)  # exact floats, and nan (inf - inf) matches nan
    assert (folded is state) == (expected is state)  # unchanged means the same object


def test_a_repeated_trade_leaves_the_trade_state_as_it_was() -> None:
    state = VarianceState(65_000.0, 5.0, 2.0, 3.0)
    same = (TradeTick(5.0, D("65000"), D(1), Side.SELL),) * 3
    assert volatility_module._fold_trades(state, same, 60.0, True) is state


@given(
    mid_state=states,
    trade_state=states,
    ticks=st.lists(st.tuples(st.integers(1, 10**9), times), max_size=4),
    source=st.sampled_from(["mid", "trades", "max"]),
    returns=st.sampled_from(["log", "simple"]),
    prior=st.floats(0.0, 50.0),
    max_bps=st.floats(0.5, 200.0),
)
def test_the_volatility_stage_matches_variance_update_and_sigma_bps(
    mid_state: VarianceState | None,
    trade_state: VarianceState | None,
    ticks: list[tuple[int, float]],
    source: str,
    returns: str,
    prior: float,
    max_bps: float,
) -> None:
    config = with_table(
        StrategyConfig(), "volatility", source=source, returns=returns, prior=prior, max_bps=max_bps
    )
    trades = tuple(TradeTick(t, D("0.01") * p, D(1), Side.BUY) for p, t in ticks)
    state = StrategyState(None, mid_state, trade_state)
    ctx = ctx_for(config, state=state, trades=trades, now=20.0)
    out = volatility(ctx)
    params = config.volatility
    log = returns == "log"
    mid_var, trade_var, sigma = mid_state, trade_state, 0.0
    if source != "trades":
        mid = (float(ctx.book.bids[0].price) + float(ctx.book.asks[0].price)) * 0.5
        mid_var = variance_update(mid_var, mid, 20.0, params.halflife, log)
        sigma = sigma_bps(mid_var, prior, params.prior_weight)
    if source != "mid":
        cutoff = trade_state.last_time if trade_state and trade_state.last_price > 0 else None
        for trade in trades:
            if cutoff is not None and trade.time <= cutoff:
                continue  # folded by an earlier decision: never counted twice
            trade_var = variance_update(
                trade_var, float(trade.price), trade.time, params.halflife, log
            )
        sigma = max(sigma, sigma_bps(trade_var, prior, params.prior_weight))
    assert repr(out.volatility) == repr(min(sigma, max_bps))  # exact, nan included
    assert repr(out.state) == repr(StrategyState(None, mid_var, trade_var))


# -- spread: min and max written out --------------------------------------------------------


@given(
    mode=st.sampled_from(["fixed", "volatility", "avellaneda_stoikov"]),
    base=st.floats(0.0, 100.0),
    ceiling=st.floats(0.01, 100.0),
    fee=st.floats(-20.0, 20.0),
    edge=st.floats(0.0, 10.0),
    sigma=st.one_of(st.none(), st.floats(0.0, 100.0)),
)
def test_the_spread_is_the_capped_then_floored_half_spread(
    mode: str, base: float, ceiling: float, fee: float, edge: float, sigma: float | None
) -> None:
    config = with_table(
        StrategyConfig(),
        "spread",
        mode=mode,
        base_bps=base,
        max_bps=ceiling,
        maker_fee_bps=fee,
        min_edge_bps=edge,
    )
    ctx = ctx_for(config, volatility=sigma)
    s = sigma if sigma is not None else config.volatility.prior
    p, k = config.spread, config.skew
    if mode == "volatility":
        raw = p.base_bps + p.vol_multiplier * s * math.sqrt(p.vol_horizon)
    elif mode == "avellaneda_stoikov":
        raw = 0.5 * optimal_spread_bps(k.gamma, k.kappa, s, k.horizon)
    else:
        raw = p.base_bps
    expected = max(min(raw, ceiling), fee_floor_bps(fee, edge))
    assert spread(ctx).half_spread_bps == expected


# -- memos keyed by object ------------------------------------------------------------------


def test_each_sizing_table_gets_its_own_ladder_even_past_the_memo_size() -> None:
    base = ctx_for(reservation=65_000.0, half_spread_bps=10.0)
    for n in range(1, 80):  # more tables than the memo keeps
        size = D(n) / 1000
        config = with_table(StrategyConfig(), "sizing", order_size=size, max_position=D(1))
        drafts = sizing(evolve(base, params=config)).drafts
        assert [d.qty for d in drafts] == [float(size), float(size)]


def test_each_instrument_gets_its_own_filters_even_past_the_memo_size() -> None:
    ctx = ctx_for(reservation=65_000.0, half_spread_bps=10.0)
    ctx = sizing(ctx)
    for n in range(1, 80):  # more instruments than the memo keeps
        tick = D(n) / 100
        inst = attrs.evolve(sample_instrument(), tick_size=tick, min_price=tick)
        quotes = rounding(evolve(ctx, instrument=inst)).decision.all()
        assert quotes and all(q.price % tick == 0 for q in quotes)


def test_an_instrument_with_no_tick_is_pulled_every_time() -> None:
    inst = attrs.evolve(sample_instrument(), tick_size=D(0))
    ctx = sizing(ctx_for(instrument=inst, reservation=65_000.0, half_spread_bps=10.0))
    first, again = rounding(ctx), rounding(ctx)  # nothing about it is kept
    assert first.pulled == again.pulled
    assert (again.pulled or "").startswith("bad_instrument: tick 0")


# -- rounding: whole ticks exactly, whatever the digits (review2 finding 10) ---------------


def test_tick_counts_are_exact_where_a_28_digit_division_would_round_up() -> None:
    # 0.8999...9 / 0.3 = 2.999...97: rounded to 28 digits it would be 3, one tick too many
    near = D("0.8" + "9" * 30)  # 31 significant digits, just under 0.9
    assert rounding_module._ticks_floor(near, D("0.3")) == 2
    assert rounding_module._ticks_ceil(near, D("0.3")) == 3
    assert rounding_module._ticks_floor(D("0.9"), D("0.3")) == 3
    assert rounding_module._ticks_ceil(D("0.9"), D("0.3")) == 3
    assert rounding_module._ticks_floor(D("-0.1"), D("0.3")) == -1
    assert rounding_module._ticks_ceil(D("-0.1"), D("0.3")) == 0
