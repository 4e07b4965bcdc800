"""Price levels of depth diffs and ``/depth`` snapshots, the codec's hot path (sans-IO).

What it is for: :func:`read_levels` (``[[price, qty], ...]`` as Decimal pairs) and
:func:`read_wire_levels` (prices as Decimals from a memo, quantities left as validated wire
texts, every check made in bulk over both sides), which the market-stream decoders use.

What it must never do: I/O, read a clock, or accept a level that is not a pair of finite
decimal strings with price > 0 and quantity >= 0 (it raises :class:`CodecError`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from mmbot.venue.binance.codec.primitives import fail
from mmbot.venue.events import Level

# Memo of wire strings already parsed (and checked) as level prices / quantities: prices
# near the top of the book repeat constantly, and a dict hit is ~6x cheaper than
# Decimal(str). Bounded: cleared when full. Only checked str keys ever enter.
_PRICES: dict[str, Decimal] = {}
_QUANTITIES: dict[str, Decimal] = {}
_MEMO_MAX = 1 << 16


def _level_number(text: object, positive: bool) -> Decimal:
    if type(text) is not str:
        fail("a price level must hold decimal strings")
    value = Decimal(text)
    if not value.is_finite() or value < 0 or (positive and value == 0):
        fail(f"invalid price level number: {text!r}")
    return value


def _new_level_number(text: object, memo: dict[str, Decimal], positive: bool) -> Decimal:
    value = _level_number(text, positive)
    if type(text) is not str:  # pragma: no cover - _level_number refused it
        fail("a price level must hold decimal strings")
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[text] = value
    return value


def read_levels(raw: object) -> tuple[Level, ...]:
    """``[[price, qty], ...]``: finite, price > 0, qty >= 0 (the hot path)."""
    if type(raw) is not list:
        fail("price levels must be a list")
    prices, quantities = _PRICES, _QUANTITIES
    out: list[Level] = []
    append = out.append
    for level in raw:
        if type(level) is not list or len(level) != 2:
            fail("a price level must be a [price, quantity] pair")
        p, q = level
        price = prices.get(p)  # an unhashable p raises TypeError: a CodecError
        if price is None:
            price = _new_level_number(p, prices, True)
        qty = quantities.get(q)
        if qty is None:
            qty = _new_level_number(q, quantities, False)
        append((price, qty))
    return tuple(out)


_PAIR = "a price level must be a [price, quantity] pair"
_LISTS = {list}
#: Quantity texts joined by "|", each plain: digits, optionally a point and more digits. A
#: match proves every text is a finite decimal >= 0 that Decimal reads (the separator count
#: is checked too: a "|" inside a text would otherwise pass).
#: Possessive quantifiers: the grammar never needs to backtrack, and they halve the time.
_PLAIN_QUANTITIES = re.compile(r"[0-9]++(?:\.[0-9]++)?+(?:\|[0-9]++(?:\.[0-9]++)?+)*+").fullmatch


def _price(text: Any) -> Decimal:
    price = _PRICES.get(text)  # an unhashable text raises TypeError: a CodecError
    return _new_level_number(text, _PRICES, True) if price is None else price


def _quantity_text(text: object) -> str:
    """Any accepted spelling of a quantity as a text :class:`WireDiff` allows."""
    value = _level_number(text, False)
    return str(value) if value else "0"


def read_wire_levels(
    bids: object, asks: object
) -> tuple[list[Decimal], tuple[str, ...], list[Decimal], tuple[str, ...]]:
    """Both sides' ``[[price, qty], ...]`` as (prices, quantity texts) each: the checks of
    :func:`read_levels`, made in bulk over both sides at once (the hot path)."""
    if type(bids) is not list or type(asks) is not list:
        fail("price levels must be a list")
    levels = bids + asks
    if not levels:
        return [], (), [], ()
    if set(map(type, levels)) != _LISTS:
        fail(_PAIR)
    try:  # every level a list of exactly two items
        price_texts, texts = zip(*levels, strict=True)
    except ValueError:
        fail(_PAIR)
    try:
        prices = list(map(_PRICES.__getitem__, price_texts))
    except KeyError:
        prices = list(map(_price, price_texts))
    joined = "|".join(texts)  # a text that is not a str: TypeError
    if _PLAIN_QUANTITIES(joined) is None or joined.count("|") != len(texts) - 1:
        texts = tuple(map(_quantity_text, texts))
    n = len(bids)
    return prices[:n], texts[:n], prices[n:], texts[n:]
