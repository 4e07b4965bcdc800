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
"""

from __future__ import annotations

from decimal import Decimal

from mmbot.model import BookLevel, BookSnapshot, Instrument

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
