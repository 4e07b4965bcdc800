"""Rigs, taps and sample values for tests of this package and of users' stages.

What it is for: the values and helpers that mmbot's own tests, its benchmarks and a user's
tests build on, so none of them reaches into another test module or into ``mmbot.bench``
for a fixture. Everything here is a plain function or class: importable without pytest,
usable from a pytest fixture, a hypothesis strategy or a script.

What it must never do: be imported by the bot's running code (quoting, venue, sim,
resilience, bot); assert anything (a test does that); contact any address but 127.0.0.1.

Sections:

- **Sample market values**: an instrument with BTCUSDT-like filters and a book around a
  mid (:func:`sample_instrument`, :func:`sample_book`).
- **Quoting**: the inputs of one quote decision (:func:`sample_inputs`) and one stage run
  as the pipeline runs it (:func:`run_stage`), for tests of built-in and users' stages::

      inputs = sample_inputs(position=Decimal("0.005"))
      assert my_stage(inputs, Decision(half_spread_bps=10.0)) == HalfSpread(20.0)
      after = run_stage(my_stage, inputs, Decision(half_spread_bps=10.0))
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs

from mmbot.model import BookLevel, BookSnapshot, Instrument
from mmbot.quoting.params import StrategyConfig
from mmbot.quoting.pipeline import Decision, QuoteInputs, Stage, apply_output

# -- sample market values ----------------------------------------------------------------


def sample_instrument(symbol: str = "BTCUSDT") -> Instrument:
    """BTCUSDT-like filters: tick 0.01, step 0.00001, min notional 5."""
    return Instrument(
        symbol=symbol,
        base_asset="BTC",
        quote_asset="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_price=Decimal("0.01"),
        max_price=Decimal("1000000"),
        min_qty=Decimal("0.00001"),
        max_qty=Decimal("9000"),
        min_notional=Decimal("5"),
    )


def sample_book(
    mid_ticks: int,
    *,
    symbol: str = "BTCUSDT",
    spread_ticks: int = 2,
    depth: int = 20,
    tick: Decimal = Decimal("0.01"),
    received_at: float = 0.0,
    bid_qty: Decimal = Decimal("0.5"),
    ask_qty: Decimal = Decimal("0.4"),
    is_valid: bool = True,
) -> BookSnapshot:
    """A book whose best bid and ask straddle ``mid_ticks`` (in ticks), ``depth`` a side.

    Each level further out holds one more unit than the one inside it.
    """
    best_bid = mid_ticks - spread_ticks // 2
    best_ask = best_bid + spread_ticks
    bids = tuple(BookLevel(tick * (best_bid - i), bid_qty + i) for i in range(depth))
    asks = tuple(BookLevel(tick * (best_ask + i), ask_qty + i) for i in range(depth))
    return BookSnapshot(symbol, bids, asks, 1, received_at, is_valid)


# -- quoting: one decision's inputs, and one stage run as the pipeline runs it --------------

#: The sample book's mid, in ticks of 0.01: 65,000.00.
SAMPLE_MID_TICKS = 6_500_000


def sample_inputs(params: StrategyConfig | None = None, **changes: Any) -> QuoteInputs:
    """Inputs for one quote decision, for a stage's test.

    BTCUSDT (:func:`sample_instrument`) at ``now = 10.0`` with a fresh, valid book around
    65,000.00 (received at 9.9), the default strategy (or ``params``), flat position, no
    trades, no risk flags, no balance limits; ``changes`` replace any of those fields.
    """
    inputs = QuoteInputs(
        symbol="BTCUSDT",
        instrument=sample_instrument(),
        now=10.0,
        book=sample_book(SAMPLE_MID_TICKS, received_at=9.9),
        params=params if params is not None else StrategyConfig(),
    )
    return attrs.evolve(inputs, **changes) if changes else inputs


def run_stage(stage: Stage, inputs: QuoteInputs, so_far: Decision | None = None) -> Decision:
    """The decision after ``stage``, as the pipeline would write it (``so_far`` is untouched).

    ``so_far`` is what earlier stages decided (default: nothing yet, a fresh state). The
    stage's output, a pull included, is written into a copy with
    :func:`~mmbot.quoting.pipeline.apply_output`.
    """
    decision = Decision() if so_far is None else attrs.evolve(so_far)
    apply_output(decision, stage(inputs, decision), inputs.symbol)
    return decision
