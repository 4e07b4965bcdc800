"""Properties of the quoting stages (hypothesis): what every quote decision must satisfy.

Over random books, instruments, positions, limits and parameters: quotes never cross each
other or the market when post-only; prices sit on tick, sizes on step, notional at or
above the minimum; filling every desired quote never takes |position| past max_position
or spends more than the free balances; skew moves prices against inventory.

Most generated contexts are *roomy* (room on both sides of max_position, no balance or
notional limit in the way), so the properties are checked on real two-sided quotes, not
on empty decisions (review2 finding 12); the rest are drawn with every limit in play.
"""

from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import Instrument, QuoteSet
from mmbot.quoting.params import (
    FairValueParams,
    RoundingParams,
    SizingParams,
    SkewParams,
    SpreadParams,
    StrategyConfig,
    VolatilityParams,
)
from mmbot.quoting.pipeline import Decision, QuoteInputs, QuotePipeline, apply_output
from mmbot.quoting.stages import BUILTIN_STAGES, skew
from mmbot.quoting.stages.skew import skew_bps
from mmbot.testing import run_stage, sample_book

D = Decimal
# everything after the guards: the properties must hold even on books the guards would pull
AFTER_GUARDS = QuotePipeline(
    [
        BUILTIN_STAGES[n]
        for n in ("fair_value", "volatility", "calibration", "spread", "skew", "sizing", "rounding")
    ]
)


def timer() -> int:
    return 0


@st.composite
def instruments(draw: st.DrawFn, roomy: bool = False) -> Instrument:
    tick = draw(st.sampled_from([D("0.01"), D("0.1"), D("0.5"), D("1"), D("0.0001")]))
    step = draw(st.sampled_from([D("0.00001"), D("0.001"), D("0.1"), D("1")]))
    if roomy:
        return Instrument("XYZ", "X", "Y", tick, step, min_price=tick, min_qty=step)
    return Instrument(
        symbol="XYZ",
        base_asset="X",
        quote_asset="Y",
        tick_size=tick,
        step_size=step,
        min_price=tick,
        min_qty=step * draw(st.integers(1, 3)),
        max_qty=draw(st.sampled_from([D(0), step * 500])),
        min_notional=draw(st.sampled_from([D(0), D(1), D(5), D(10)])),
        max_notional=draw(st.sampled_from([D(0), D(5_000)])),
    )


@st.composite
def configs(draw: st.DrawFn, step: Decimal, roomy: bool = False) -> StrategyConfig:
    order_lots = draw(st.integers(1, 2_000))
    levels = draw(st.integers(1, 4))
    if roomy:  # every level fits twice over on each side
        max_position = step * order_lots * draw(st.integers(4 * levels * 4, 40 * levels * 4))
        max_order_notional = D(0)
    else:
        max_position = step * draw(st.integers(0, 5 * order_lots))
        max_order_notional = draw(st.sampled_from([D(0), D(50), D(2_000)]))
    return StrategyConfig(
        fair_value=FairValueParams(method=draw(st.sampled_from(["mid", "micro", "ewma"]))),
        volatility=VolatilityParams(prior=draw(st.floats(0, 20))),
        spread=SpreadParams(
            mode=draw(st.sampled_from(["fixed", "volatility", "avellaneda_stoikov", "glft"])),
            base_bps=draw(st.floats(0, 80)),
            maker_fee_bps=draw(st.floats(-2, 10)),
            min_edge_bps=draw(st.floats(0, 3)),
        ),
        skew=SkewParams(
            mode=draw(st.sampled_from(["none", "linear", "avellaneda_stoikov", "glft"])),
            linear_bps=draw(st.floats(0, 50)),
            gamma=draw(st.floats(0.001, 1)),
            kappa=draw(st.floats(0.01, 5)),
            max_skew_bps=draw(st.floats(0, 200)),
        ),
        sizing=SizingParams(
            levels=levels,
            level_spacing_bps=draw(st.floats(0, 30)),
            order_size=step * order_lots,
            shape=draw(st.sampled_from(["flat", "linear", "geometric"])),
            shape_factor=draw(st.floats(0.1, 3)),
            max_position=max_position,
            max_order_notional=max_order_notional,
        ),
        rounding=RoundingParams(post_only=True),
    )


@st.composite
def contexts(draw: st.DrawFn, roomy: bool | None = None) -> QuoteInputs:
    if roomy is None:
        roomy = draw(st.sampled_from([True, True, True, False]))
    inst = draw(instruments(roomy))
    config = draw(configs(inst.step_size, roomy))
    mid_ticks = draw(st.integers(20, 2_000_000))
    book = sample_book(
        mid_ticks,
        symbol="XYZ",
        tick=inst.tick_size,
        spread_ticks=draw(st.integers(1, 40)),
        depth=2,
        bid_qty=D(draw(st.integers(1, 50))),
        ask_qty=D(draw(st.integers(1, 50))),
    )
    max_lots = int(config.sizing.max_position / inst.step_size)
    if roomy:  # at most half the limit either way: room left on both sides
        position = inst.step_size * draw(st.integers(-(max_lots // 2), max_lots // 2))
        optional_balance: st.SearchStrategy[Decimal | None] = st.none()
    else:
        position = inst.step_size * draw(st.integers(-2 * max_lots - 3, 2 * max_lots + 3))
        optional_balance = st.one_of(st.none(), st.decimals(0, 100_000, places=3))
    return QuoteInputs(
        symbol="XYZ",
        instrument=inst,
        now=1.0,
        book=book,
        params=config,
        position=position,
        quote_free=draw(optional_balance),
        base_free=draw(optional_balance),
    )


def decide(inputs: QuoteInputs) -> QuoteSet:
    result, _ = AFTER_GUARDS.run(inputs, timer)
    assert result.pulled is None
    assert result.quotes is not None
    return result.quotes


@given(contexts(roomy=True))
def test_roomy_limits_always_give_a_two_sided_quote(inputs: QuoteInputs) -> None:
    # no limit binds, so nothing may be dropped: both sides quote, at least level 0
    quotes = decide(inputs)
    assert quotes.bids and quotes.asks


@given(contexts())
def test_quotes_never_cross_each_other_or_the_market_when_post_only(inputs: QuoteInputs) -> None:
    quotes = decide(inputs)
    best_bid, best_ask = inputs.book.best_bid, inputs.book.best_ask
    assert best_bid is not None and best_ask is not None
    assert all(q.price < best_ask for q in quotes.bids)
    assert all(q.price > best_bid for q in quotes.asks)
    if quotes.bids and quotes.asks:
        assert max(q.price for q in quotes.bids) < min(q.price for q in quotes.asks)
    bid_prices = [q.price for q in quotes.bids]
    ask_prices = [q.price for q in quotes.asks]
    assert bid_prices == sorted(set(bid_prices), reverse=True)  # distinct, inside first
    assert ask_prices == sorted(set(ask_prices))


@given(contexts())
def test_prices_on_tick_sizes_on_step_notional_above_minimum(inputs: QuoteInputs) -> None:
    inst = inputs.instrument
    for quote in decide(inputs).all():
        assert quote.price % inst.tick_size == 0 and quote.price > 0
        assert quote.quantity % inst.step_size == 0
        assert quote.quantity >= inst.min_qty
        assert not inst.max_qty or quote.quantity <= inst.max_qty
        assert quote.price * quote.quantity >= inst.min_notional
        assert not inst.max_notional or quote.price * quote.quantity <= inst.max_notional
        limit = inputs.params.sizing.max_order_notional
        assert not limit or quote.price * quote.quantity <= limit


@given(contexts())
def test_filling_every_quote_never_takes_inventory_past_max_position(inputs: QuoteInputs) -> None:
    quotes = decide(inputs)
    max_position = inputs.params.sizing.max_position
    bought = sum((q.quantity for q in quotes.bids), D(0))
    sold = sum((q.quantity for q in quotes.asks), D(0))
    # a side already at or past the limit is dropped; otherwise it stops at the limit exactly
    assert bought <= max(D(0), max_position - inputs.position)
    assert sold <= max(D(0), max_position + inputs.position)


@given(contexts())
def test_quotes_stay_within_the_free_balances(inputs: QuoteInputs) -> None:
    quotes = decide(inputs)
    if inputs.quote_free is not None:
        assert sum((q.price * q.quantity for q in quotes.bids), D(0)) <= inputs.quote_free
    if inputs.base_free is not None:
        assert sum((q.quantity for q in quotes.asks), D(0)) <= inputs.base_free


@given(contexts(), st.integers(1, 1_000), st.floats(0, 50))
def test_skew_moves_the_reservation_price_against_inventory(
    inputs: QuoteInputs, lots: int, volatility: float
) -> None:
    inventory = inputs.instrument.step_size * lots
    so_far = Decision(fair_value=1_000.0, volatility=volatility)
    flat = run_stage(skew, attrs.evolve(inputs, position=D(0)), so_far).reservation
    long = run_stage(skew, attrs.evolve(inputs, position=inventory), so_far).reservation
    short = run_stage(skew, attrs.evolve(inputs, position=-inventory), so_far).reservation
    assert flat == 1_000.0
    assert long is not None and short is not None
    assert long <= flat <= short
    if abs(skew_bps(attrs.evolve(inputs, position=inventory), so_far)) > 1e-6:  # a float shift
        assert long < flat < short


@given(contexts(), st.integers(1, 1_000))
def test_skew_moves_both_quoted_prices_against_inventory(inputs: QuoteInputs, lots: int) -> None:
    inventory = inputs.instrument.step_size * lots
    params = inputs.params
    roomy = attrs.evolve(
        params,
        skew=attrs.evolve(params.skew, mode="linear", linear_bps=10.0, max_skew_bps=100.0),
        sizing=attrs.evolve(params.sizing, max_position=inventory * 10),
    )
    base = attrs.evolve(inputs, params=roomy, quote_free=None, base_free=None)
    long = decide(attrs.evolve(base, position=inventory))
    short = decide(attrs.evolve(base, position=-inventory))
    for mine, theirs in ((long.bids, short.bids), (long.asks, short.asks)):
        if mine and theirs:
            assert mine[0].price <= theirs[0].price  # long quotes no higher than short


@given(contexts())
def test_no_built_in_stage_writes_the_decision_it_reads(inputs: QuoteInputs) -> None:
    # stages are pure: each returns its output and leaves the decision so far as it was
    decision = Decision()
    for name in ("guards", "fair_value", "volatility", "calibration", *StrategyConfig().stages[3:]):
        before = attrs.evolve(decision)
        output = BUILTIN_STAGES[name](inputs, decision)
        assert decision == before, name
        if apply_output(decision, output, inputs.symbol):
            break
