"""The fake exchange's stream payloads: what each message looks like on the wire (sans-IO).

What it is for: the dialect's JSON for the market events (``trade``, ``aggTrade``, partial
depth, ``kline``, ``24hrTicker``, ``24hrMiniTicker``, ``<window>Ticker``, ``avgPrice``) and
the user-data events
(``executionReport``, ``outboundAccountPosition``, ``balanceUpdate``) and
``serverShutdown``; :func:`dumps` (compact JSON as the exchange sends it) and :func:`fmt`
(exact decimal strings, memoised). ``feed.py`` decides *when* a message is due; this module
only says what it contains.

What it must never do: I/O, read a clock (times enter as arguments), or put a float into a
price or quantity (every number of money is an exact decimal string).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from mmbot.model import format_decimal
from mmbot.sim.engine import AccountPosition, BalanceUpdate, Execution, TradePrint
from mmbot.sim.market import (
    AVG_PRICE_MINUTES,
    AggTrade,
    Kline,
    WindowStats,
    price_change_percent,
    weighted_average,
)

_STREAM_PERCENT = Decimal("0.01")
_EIGHT = Decimal("0.00000001")

_FORMATTED: dict[Decimal, str] = {}
_FORMATTED_MAX = 20_000  # ~4 MB; beyond it values are formatted each time


def fmt(value: Decimal) -> str:
    """``format_decimal`` memoised: book prices and sizes repeat all the time (a pure cache)."""
    text = _FORMATTED.get(value)
    if text is None:
        text = format_decimal(value)
        if len(_FORMATTED) < _FORMATTED_MAX:
            _FORMATTED[value] = text
    return text


_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def dumps(payload: object) -> str:
    """Compact JSON, as the exchange sends it."""
    return _ENCODE(payload)


# ---- market data ---------------------------------------------------------------------


def trade_text(trade: TradePrint, now_ms: int) -> str:
    """The ``trade`` event as compact JSON text (equal to ``dumps(trade_payload(...))``)."""
    maker = "true" if trade.buyer_is_maker else "false"
    return (
        f'{{"e":"trade","E":{now_ms},"s":"{trade.symbol}","t":{trade.trade_id},'
        f'"p":"{fmt(trade.price)}","q":"{fmt(trade.qty)}","T":{trade.time_ms},'
        f'"m":{maker},"M":true}}'
    )


def trade_payload(trade: TradePrint, now_ms: int) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": now_ms,
        "s": trade.symbol,
        "t": trade.trade_id,
        "p": fmt(trade.price),
        "q": fmt(trade.qty),
        "T": trade.time_ms,
        "m": trade.buyer_is_maker,
        "M": True,
    }


def agg_trade_payload(agg: AggTrade, now_ms: int) -> dict[str, Any]:
    """The ``aggTrade`` event."""
    return {
        "e": "aggTrade",
        "E": now_ms,
        "s": agg.symbol,
        "a": agg.agg_id,
        "p": fmt(agg.price),
        "q": fmt(agg.qty),
        "f": agg.first_id,
        "l": agg.last_id,
        "T": agg.time_ms,
        "m": agg.buyer_is_maker,
        "M": True,
    }


Levels = list[tuple[Decimal, Decimal]]


def partial_depth_payload(last_update_id: int, bids: Levels, asks: Levels) -> dict[str, Any]:
    """A partial book (``<symbol>@depth<levels>``): the best levels, no event envelope."""
    return {
        "lastUpdateId": last_update_id,
        "bids": [[fmt(p), fmt(q)] for p, q in bids],
        "asks": [[fmt(p), fmt(q)] for p, q in asks],
    }


def kline_payload(symbol: str, kline: Kline, now_ms: int, *, closed: bool) -> dict[str, Any]:
    """The ``kline`` event of the kline being built (``x`` false) or just closed."""
    k = kline.summary
    return {
        "e": "kline",
        "E": now_ms,
        "s": symbol,
        "k": {
            "t": kline.open_time_ms,
            "T": kline.close_time_ms,
            "s": symbol,
            "i": kline.interval,
            "f": k.first_id,
            "L": k.last_id,
            "o": fmt(k.open),
            "c": fmt(k.close),
            "h": fmt(k.high),
            "l": fmt(k.low),
            "v": fmt(k.volume),
            "n": k.count,
            "x": closed,
            "q": fmt(k.quote_volume),
            "V": fmt(k.taker_buy_volume),
            "Q": fmt(k.taker_buy_quote_volume),
            "B": "0",
        },
    }


def _prices(stats: WindowStats, last_price: Decimal) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(open, high, low, last) of a window; without trades, the last price for all four."""
    s = stats.summary
    if s.count:
        return s.open, s.high, s.low, s.close
    return last_price, last_price, last_price, last_price


def ticker_payload(
    symbol: str,
    stats: WindowStats,
    last_price: Decimal,
    top: tuple[Decimal, Decimal, Decimal, Decimal],
    now_ms: int,
) -> dict[str, Any]:
    """The ``24hrTicker`` event; ``top`` is (bid, bid qty, ask, ask qty)."""
    s = stats.summary
    open_p, high, low, last = _prices(stats, last_price)
    change = last - open_p
    bid, bid_qty, ask, ask_qty = top
    return {
        "e": "24hrTicker",
        "E": now_ms,
        "s": symbol,
        "p": fmt(change),
        "P": price_change_percent(open_p, change, _STREAM_PERCENT),
        "w": fmt(weighted_average(s.quote_volume, s.volume)),
        "x": fmt(stats.prev_close),
        "c": fmt(last),
        "Q": fmt(s.last_qty),
        "b": fmt(bid),
        "B": fmt(bid_qty),
        "a": fmt(ask),
        "A": fmt(ask_qty),
        "o": fmt(open_p),
        "h": fmt(high),
        "l": fmt(low),
        "v": fmt(s.volume),
        "q": fmt(s.quote_volume),
        "O": stats.open_time_ms,
        "C": stats.close_time_ms,
        "F": s.first_id,
        "L": s.last_id,
        "n": s.count,
    }


def mini_ticker_payload(
    symbol: str, stats: WindowStats, last_price: Decimal, now_ms: int
) -> dict[str, Any]:
    """The ``24hrMiniTicker`` event."""
    open_p, high, low, last = _prices(stats, last_price)
    return {
        "e": "24hrMiniTicker",
        "E": now_ms,
        "s": symbol,
        "c": fmt(last),
        "o": fmt(open_p),
        "h": fmt(high),
        "l": fmt(low),
        "v": fmt(stats.summary.volume),
        "q": fmt(stats.summary.quote_volume),
    }


def rolling_ticker_payload(
    symbol: str, window: str, stats: WindowStats, last_price: Decimal, now_ms: int
) -> dict[str, Any]:
    """The ``<window>Ticker`` event of ``<symbol>@ticker_<window>`` (``1hTicker``)."""
    s = stats.summary
    open_p, high, low, last = _prices(stats, last_price)
    change = last - open_p
    return {
        "e": f"{window}Ticker",
        "E": now_ms,
        "s": symbol,
        "p": fmt(change),
        "P": price_change_percent(open_p, change, _STREAM_PERCENT),
        "o": fmt(open_p),
        "h": fmt(high),
        "l": fmt(low),
        "c": fmt(last),
        "w": fmt(weighted_average(s.quote_volume, s.volume)),
        "v": fmt(s.volume),
        "q": fmt(s.quote_volume),
        "O": stats.open_time_ms,
        "C": stats.close_time_ms,
        "F": s.first_id,
        "L": s.last_id,
        "n": s.count,
    }


def avg_price_payload(
    symbol: str, price: Decimal, last_trade_ms: int, now_ms: int
) -> dict[str, Any]:
    """The ``avgPrice`` event."""
    return {
        "e": "avgPrice",
        "E": now_ms,
        "s": symbol,
        "i": f"{AVG_PRICE_MINUTES}m",
        "w": fmt(price.quantize(_EIGHT)),
        "T": last_trade_ms,
    }


# ---- user data -------------------------------------------------------------------------


def execution_report_payload(r: Execution) -> dict[str, Any]:
    """``executionReport`` as user-data-stream.md shows it: ``I`` the execution's id, ``W``
    (working time) only while the order is on the book, as the docs' conditional fields."""
    payload: dict[str, Any] = {
        "e": "executionReport",
        "E": r.event_time_ms,
        "s": r.symbol,
        "c": r.client_order_id,
        "S": r.side.value,
        "o": r.order_type.value,
        "f": r.time_in_force.value,
        "q": fmt(r.quantity),
        "p": fmt(r.price),
        "P": "0",
        "F": "0",
        "g": -1,
        "C": r.orig_client_order_id,
        "x": r.execution_type.value,
        "X": r.status.value,
        "r": r.reject_reason,
        "i": r.order_id,
        "l": fmt(r.last_qty),
        "z": fmt(r.cumulative_qty),
        "L": fmt(r.last_price),
        "n": fmt(r.commission),
        "N": r.commission_asset,
        "T": r.transaction_time_ms,
        "t": r.trade_id,
        "I": r.execution_id,
        "w": r.is_working,
        "m": r.is_maker,
        "M": False,
        "O": r.order_creation_time_ms,
        "Z": fmt(r.cumulative_quote_qty),
        "Y": fmt(r.last_qty * r.last_price),
        "Q": "0",
        "V": "NONE",
    }
    if r.is_working:
        payload["W"] = r.order_creation_time_ms
    return payload


def account_position_payload(p: AccountPosition) -> dict[str, Any]:
    return {
        "e": "outboundAccountPosition",
        "E": p.event_time_ms,
        "u": p.event_time_ms,
        "B": [{"a": b.asset, "f": fmt(b.free), "l": fmt(b.locked)} for b in p.balances],
    }


def balance_update_payload(u: BalanceUpdate) -> dict[str, Any]:
    return {
        "e": "balanceUpdate",
        "E": u.event_time_ms,
        "a": u.asset,
        "d": fmt(u.delta),
        "T": u.event_time_ms,
    }


def server_shutdown_payload(now_ms: int) -> dict[str, Any]:
    """The event sent to every stream client before a planned shutdown."""
    return {"e": "serverShutdown", "E": now_ms}
