"""Request weights of the Binance Spot dialect: what each request costs (sans-IO).

What it is for: the one table of request weights (VENUE_DIALECT.md; the docs' CHANGELOG is
the authority, and weights change over time), read by the REST client to charge its rate
limiter before it sends, and meant for the fake exchange to charge its clients with.
Operations are named as the WebSocket API names them (``order.place``,
``openOrders.status``); a REST endpoint costs what its WebSocket API twin costs. A weight
that depends on a parameter (``depth`` by ``limit``, ``openOrders.status`` with or without
``symbol``, ``myTrades`` with or without ``orderId``, the tickers by how many symbols) is
computed here from the request's raw parameters, by :func:`request_weight`.

Since 2026-04-02 (the docs' CHANGELOG of 2026-03-27 and 2026-04-02) the order operations in
:data:`FREE_WHEN_SUCCESSFUL` cost nothing when they succeed: the venue admits them against
their documented weight and charges it only when the request fails.
``order.amend.keepPriority`` is free only when the amendment expires the order.
:func:`weight_if_successful` is what such a request costs when it succeeds, what the client
charges its own limiter with (the venue's ``X-MBX-USED-WEIGHT-1M`` header brings in what
failures cost).

What it must never do: I/O, import the client or the fake exchange, or guess: an operation
that is not in the table is a ``KeyError``, not weight 1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from types import MappingProxyType

#: Weight of one request, by operation; for the parametrised ones, the weight when the
#: parameter that changes it is absent (``depth``: the default ``limit``, 100).
WEIGHTS: Mapping[str, int] = MappingProxyType(
    {
        "ping": 1,
        "time": 1,
        "exchangeInfo": 20,
        "depth": 5,
        "order.place": 1,
        "order.cancel": 1,
        "order.cancelReplace": 1,
        "openOrders.cancelAll": 1,
        "order.status": 4,
        "order.test": 1,
        "order.amend.keepPriority": 4,
        "allOrders": 20,
        "account.commission": 20,
        "account.rateLimits.orders": 40,
        # REST only, the Wallet API's GET /sapi/v1/asset/tradeFee (ccxt's fetchTradingFees)
        "asset.tradeFee": 1,
        "openOrders.status": 80,
        "account.status": 20,
        "myTrades": 20,
        "userDataStream.subscribe.signature": 2,
        "userDataStream.unsubscribe": 2,
        "userDataStream.subscribe": 2,
        "session.logon": 2,
        "session.status": 2,
        "session.logout": 2,
        # market data (rest-api.md "Market Data endpoints"; per-symbol ones below)
        "trades.recent": 25,
        "trades.historical": 25,
        "trades.aggregate": 4,
        "klines": 2,
        "uiKlines": 2,
        "avgPrice": 2,
        "ticker.24hr": 80,
        "ticker.price": 4,
        "ticker.book": 4,
        "ticker.tradingDay": 4,
        "ticker": 4,
    }
)

#: Operations that cost 0 when they succeed (a failure costs the documented weight).
FREE_WHEN_SUCCESSFUL: frozenset[str] = frozenset(
    {"order.place", "order.cancel", "order.cancelReplace", "openOrders.cancelAll"}
)

#: ``order.test`` with ``computeCommissionRates=true``.
ORDER_TEST_WITH_COMMISSION_WEIGHT = 20

#: ``limit`` of ``depth`` when it is absent or not 1-9 ASCII digits (the server refuses a
#: malformed one later, after charging this).
DEFAULT_DEPTH_LIMIT = 100


def depth_weight(limit: int) -> int:
    """``depth`` by ``limit``: up to 100 → 5, 500 → 25, 1000 → 50, more → 250."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def open_orders_weight(has_symbol: bool) -> int:
    """``openOrders.status``: 6 for one symbol, 80 for every symbol."""
    return 6 if has_symbol else WEIGHTS["openOrders.status"]


def my_trades_weight(has_order_id: bool) -> int:
    """``myTrades``: 5 for one order's trades, 20 otherwise."""
    return 5 if has_order_id else WEIGHTS["myTrades"]


def symbol_count(symbols: str | None) -> int:
    """How many symbols a raw ``symbols`` parameter (a JSON array) names; 1 when it is not
    a readable array (the server refuses it later, after charging this)."""
    if symbols is None:
        return 0
    try:
        value = json.loads(symbols)
    except (ValueError, RecursionError):
        return 1
    return len(value) if isinstance(value, list) and value else 1


def ticker_24hr_weight(has_symbol: bool, symbols: int) -> int:
    """``ticker.24hr``: 2 for one symbol or up to 20, 40 up to 100, 80 beyond or for all."""
    if has_symbol or 0 < symbols <= 20:
        return 2
    return 40 if 0 < symbols <= 100 else WEIGHTS["ticker.24hr"]


def per_symbol_weight(symbols: int) -> int:
    """``ticker`` and ``ticker.tradingDay``: 4 per symbol, capped at 200 beyond 50."""
    return 200 if symbols > 50 else 4 * max(symbols, 1)


def request_weight(operation: str, param: Callable[[str], str | None]) -> int:
    """The weight of one request of ``operation``; ``param(name)`` is the raw text of its
    parameter ``name`` (None when absent): ``params.get`` of a mapping, or the fake
    exchange's ``Params.raw``. An empty parameter counts as absent."""
    if operation == "depth":
        return depth_weight(_limit(param("limit")))
    if operation == "openOrders.status":
        return open_orders_weight(bool(param("symbol")))
    if operation == "myTrades":
        return my_trades_weight(bool(param("orderId")))
    if operation == "ticker.24hr":
        return ticker_24hr_weight(bool(param("symbol")), symbol_count(param("symbols")))
    if operation in ("ticker.price", "ticker.book"):
        return 2 if param("symbol") and not param("symbols") else WEIGHTS[operation]
    if operation in ("ticker", "ticker.tradingDay"):
        return per_symbol_weight(symbol_count(param("symbols")))
    if operation == "order.test" and param("computeCommissionRates") == "true":
        return ORDER_TEST_WITH_COMMISSION_WEIGHT
    return WEIGHTS[operation]


def weight_if_successful(operation: str, param: Callable[[str], str | None]) -> int:
    """What a request of ``operation`` costs when it succeeds: 0 for the operations of
    :data:`FREE_WHEN_SUCCESSFUL`, else :func:`request_weight` (``KeyError`` for an
    operation missing from the table)."""
    weight = request_weight(operation, param)
    return 0 if operation in FREE_WHEN_SUCCESSFUL else weight


def _limit(text: str | None) -> int:
    if text is None or not 0 < len(text) <= 9 or not (text.isascii() and text.isdigit()):
        return DEFAULT_DEPTH_LIMIT
    return int(text)
