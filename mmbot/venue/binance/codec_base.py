"""Base of the Binance dialect codec (sans-IO): the error, checked primitives, price levels.

What it is for: :class:`CodecError`, the ``_decoder`` wrapper and the small checked readers
(``_int``, ``_dec``, ...) that every decoder in ``codec.py`` and ``codec_rest.py`` builds
on, and the price-level readers of depth diffs and ``/depth`` snapshots — the hot path:
:func:`_levels` (levels as Decimal pairs) and :func:`_wire_levels` (prices as Decimals from
a memo, quantities left as validated wire texts, every check made in bulk). Import these
names from ``codec.py``, which re-exports them.

What it must never do: I/O, read a clock, or let anything but :class:`CodecError` escape a
decoder for malformed input. A number on the wire is a string and becomes an exact,
finite ``Decimal`` (or a text that ``Decimal`` reads exactly); a float is never money.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn, ParamSpec, TypeVar

from mmbot.venue.base import Level

P = ParamSpec("P")
R = TypeVar("R")


class CodecError(ValueError):
    """Malformed or unexpected wire input; the message says what was being decoded."""


_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError)


def _decoder(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn any failure while decoding ``what`` into a :class:`CodecError`."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def decode(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except CodecError:
                raise
            except (*_MALFORMED, RecursionError) as exc:
                raise CodecError(f"malformed {what}: {type(exc).__name__}: {exc}") from exc

        return decode

    return wrap


# ---- primitives -----------------------------------------------------------------------


def _fail(msg: str) -> NoReturn:
    raise CodecError(msg)


#: The C scanner under ``json.loads``, for the hot path (see :func:`_loads`).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set by __init__; not in typeshed


def _loads(text: str) -> Any:
    """``json.loads(text)``, minus its Python wrapper's cost when ``text`` is one JSON
    value with nothing around it (what the venue sends); anything else goes through
    ``json.loads`` itself, so the result or the error is always exactly its own."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _obj(raw: object) -> Any:
    return json.loads(raw) if isinstance(raw, str | bytes | bytearray) else raw


def _dict(v: object) -> dict[str, Any]:
    return v if type(v) is dict else _fail(f"expected an object, got {type(v).__name__}")


def _list(v: object) -> list[Any]:
    return v if type(v) is list else _fail(f"expected a list, got {type(v).__name__}")


def _dec(v: object) -> Decimal:
    """A decimal string to an exact, finite Decimal (numbers, floats and NaN refused)."""
    if type(v) is not str:
        _fail(f"expected a decimal string, got {type(v).__name__}")
    d = Decimal(v)
    return d if d.is_finite() else _fail(f"not a finite number: {v!r}")


def _opt_dec(v: object) -> Decimal | None:
    return None if v is None else _dec(v)


def _int(v: object) -> int:
    return v if type(v) is int else _fail(f"expected an integer, got {type(v).__name__}")


def _opt_int(v: object) -> int | None:
    return None if v is None else _int(v)


def _str(v: object) -> str:
    return v if type(v) is str else _fail(f"expected a string, got {type(v).__name__}")


def _bool(v: object) -> bool:
    return v if type(v) is bool else _fail(f"expected a boolean, got {type(v).__name__}")


# Memo of wire strings already parsed (and checked) as level prices / quantities: prices
# near the top of the book repeat constantly, and a dict hit is ~6x cheaper than
# Decimal(str). Bounded: cleared when full. Only checked str keys ever enter.
_PRICES: dict[str, Decimal] = {}
_QUANTITIES: dict[str, Decimal] = {}
_MEMO_MAX = 1 << 16


def _level_number(text: object, positive: bool) -> Decimal:
    if type(text) is not str:
        _fail("a price level must hold decimal strings")
    value = Decimal(text)
    if not value.is_finite() or value < 0 or (positive and value == 0):
        _fail(f"invalid price level number: {text!r}")
    return value


def _new_level_number(text: object, memo: dict[str, Decimal], positive: bool) -> Decimal:
    value = _level_number(text, positive)
    if type(text) is not str:  # pragma: no cover - _level_number refused it
        _fail("a price level must hold decimal strings")
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[text] = value
    return value


def _levels(raw: object) -> tuple[Level, ...]:
    """``[[price, qty], ...]``: finite, price > 0, qty >= 0 (the hot path)."""
    if type(raw) is not list:
        _fail("price levels must be a list")
    prices, quantities = _PRICES, _QUANTITIES
    out: list[Level] = []
    append = out.append
    for level in raw:
        if type(level) is not list or len(level) != 2:
            _fail("a price level must be a [price, quantity] pair")
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


def _wire_levels(
    bids: object, asks: object
) -> tuple[list[Decimal], tuple[str, ...], list[Decimal], tuple[str, ...]]:
    """Both sides' ``[[price, qty], ...]`` as (prices, quantity texts) each: the checks of
    :func:`_levels`, made in bulk over both sides at once (the hot path)."""
    if type(bids) is not list or type(asks) is not list:
        _fail("price levels must be a list")
    levels = bids + asks
    if not levels:
        return [], (), [], ()
    if set(map(type, levels)) != _LISTS:
        _fail(_PAIR)
    try:  # every level a list of exactly two items
        price_texts, texts = zip(*levels, strict=True)
    except ValueError:
        _fail(_PAIR)
    try:
        prices = list(map(_PRICES.__getitem__, price_texts))
    except KeyError:
        prices = list(map(_price, price_texts))
    joined = "|".join(texts)  # a text that is not a str: TypeError
    if _PLAIN_QUANTITIES(joined) is None or joined.count("|") != len(texts) - 1:
        texts = tuple(map(_quantity_text, texts))
    n = len(bids)
    return prices[:n], texts[:n], prices[n:], texts[n:]
