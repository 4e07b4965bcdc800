"""The dialect's public market-data operations: trades, klines, tickers, average price (sans-IO).

What it is for: :class:`MarketDataOperations`, one operation per market-data request that
the REST API and the WebSocket API share (``/trades`` = ``trades.recent``,
``/historicalTrades`` = ``trades.historical``, ``/aggTrades`` = ``trades.aggregate``,
``/klines``, ``/uiKlines``, ``/avgPrice``, ``/ticker/24hr`` = ``ticker.24hr``,
``/ticker/price`` = ``ticker.price``, ``/ticker/bookTicker`` = ``ticker.book``,
``/ticker/tradingDay`` = ``ticker.tradingDay``, ``/ticker``): each reads its parameters
with the dialect's error codes and renders Binance's body from the statistics of the public
tape (:class:`~mmbot.sim.market.MarketStats`) and the engine's book. Routing and weights
are ``routes.py`` and ``mmbot.venue.binance.weights``.

What it must never do: I/O, read a clock (``now_ms`` is an argument) or draw randomness;
raise anything but :class:`DialectFailure` for a bad request; put a float into a price.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from mmbot.model import Instrument
from mmbot.sim.dialect.bodies import num
from mmbot.sim.dialect.operations import Answer
from mmbot.sim.dialect.params import (
    DialectFailure,
    Params,
    fail,
    lookup_symbol,
    one_of_required,
    parse_symbol_list,
)
from mmbot.sim.engine import EngineProtocol, TradePrint
from mmbot.sim.market import (
    AVG_PRICE_MINUTES,
    KLINE_INTERVALS,
    AggTrade,
    Kline,
    MarketStats,
    WindowStats,
    parse_time_zone,
    parse_window_size,
    price_change_percent,
    weighted_average,
)
from mmbot.venue.binance.errors import Code, illegal_param

#: ``limit`` of the trade and kline requests: default and most.
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
#: Most symbols of ``ticker`` and ``ticker.tradingDay``.
MAX_TICKER_SYMBOLS = 100
STATUSES = ("TRADING", "HALT", "BREAK")
TYPES = ("FULL", "MINI")
_PERCENT = Decimal("0.001")
_EIGHT = Decimal("0.00000001")
_ZERO = Decimal(0)


def trade_body(trade: TradePrint) -> dict[str, object]:
    """One entry of ``/trades`` and ``/historicalTrades``."""
    return {
        "id": trade.trade_id,
        "price": num(trade.price),
        "qty": num(trade.qty),
        "quoteQty": num(trade.price * trade.qty),
        "time": trade.time_ms,
        "isBuyerMaker": trade.buyer_is_maker,
        "isBestMatch": True,
    }


def agg_trade_body(agg: AggTrade) -> dict[str, object]:
    """One entry of ``/aggTrades``."""
    return {
        "a": agg.agg_id,
        "p": num(agg.price),
        "q": num(agg.qty),
        "f": agg.first_id,
        "l": agg.last_id,
        "T": agg.time_ms,
        "m": agg.buyer_is_maker,
        "M": True,
    }


def kline_body(kline: Kline) -> list[object]:
    """One kline as ``/klines`` shows it: a 12-element array."""
    s = kline.summary
    return [
        kline.open_time_ms,
        num(s.open),
        num(s.high),
        num(s.low),
        num(s.close),
        num(s.volume),
        kline.close_time_ms,
        num(s.quote_volume),
        s.count,
        num(s.taker_buy_volume),
        num(s.taker_buy_quote_volume),
        "0",
    ]


def window_body(
    symbol: str,
    stats: WindowStats,
    last_price: Decimal,
    *,
    mini: bool,
    book: tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]] | None = None,
) -> dict[str, object]:
    """A ticker, MINI or FULL; ``book`` (best bid and ask) makes a FULL one the 24hr
    ticker's, with ``prevClosePrice``, ``lastQty`` and the book. A window without trades
    shows the last price before it as every price, zero volumes and ids -1."""
    s = stats.summary
    if s.count:
        open_p, high, low, last, last_qty = s.open, s.high, s.low, s.close, s.last_qty
    else:
        open_p = high = low = last = last_price
        last_qty = _ZERO
    body: dict[str, object] = {"symbol": symbol}
    if not mini:
        change = last - open_p
        body["priceChange"] = num(change)
        body["priceChangePercent"] = price_change_percent(open_p, change, _PERCENT)
        body["weightedAvgPrice"] = num(weighted_average(s.quote_volume, s.volume))
        if book is not None:
            (bid, bid_qty), (ask, ask_qty) = book
            body["prevClosePrice"] = num(stats.prev_close)
            body["lastPrice"] = num(last)
            body["lastQty"] = num(last_qty)
            body["bidPrice"] = num(bid)
            body["bidQty"] = num(bid_qty)
            body["askPrice"] = num(ask)
            body["askQty"] = num(ask_qty)
    body["openPrice"] = num(open_p)
    body["highPrice"] = num(high)
    body["lowPrice"] = num(low)
    if "lastPrice" not in body:
        body["lastPrice"] = num(last)
    body["volume"] = num(s.volume)
    body["quoteVolume"] = num(s.quote_volume)
    body["openTime"] = stats.open_time_ms
    body["closeTime"] = stats.close_time_ms
    body["firstId"] = s.first_id
    body["lastId"] = s.last_id
    body["count"] = s.count
    return body


class MarketDataOperations:
    """The market-data operations over one engine and its tape's statistics."""

    def __init__(self, engine: EngineProtocol, stats: MarketStats) -> None:
        self._engine = engine
        self._stats = stats

    # ---- parameters ---------------------------------------------------------------------

    def _instrument(self, params: Params) -> Instrument:
        instruments = {i.symbol: i for i in self._engine.instruments}
        return lookup_symbol(instruments, params.require("symbol"))

    def _symbols(
        self, params: Params, *, required: bool, most: int | None = None
    ) -> tuple[list[Instrument], bool]:
        """The instruments a ticker request names, and whether it named one ``symbol``
        (a single object answers it, not an array); ``symbolStatus`` applied."""
        symbol, symbols = params.raw("symbol"), params.raw("symbols")
        status = params.choice("symbolStatus", STATUSES)
        if symbol is not None and symbols is not None:
            raise fail(-1128, "Combination of optional parameters invalid.")
        by_name = {i.symbol: i for i in self._engine.instruments}
        if symbol is not None:
            instrument = lookup_symbol(by_name, symbol)
            if status is not None and instrument.status.value != status:
                raise fail(-1220, "The symbol's status does not match the requested symbolStatus.")
            return [instrument], True
        if symbols is None:
            if required:
                raise one_of_required("symbol", "symbols")
            chosen = list(by_name.values())
        else:
            names = parse_symbol_list(symbols)
            if most is not None and len(names) > most:
                raise fail(
                    Code.TOO_MANY_PARAMETERS,
                    f"Too many values sent for parameter 'symbols', max allowed is {most}.",
                )
            chosen = [lookup_symbol(by_name, name) for name in dict.fromkeys(names)]
        if status is not None:
            chosen = [i for i in chosen if i.status.value == status]
        return chosen, False

    @staticmethod
    def _limit(params: Params) -> int:
        limit = params.integer("limit", low=-(2**31), high=2**31)
        if limit is None:
            return DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise DialectFailure(illegal_param("limit"))
        return limit

    @staticmethod
    def _time_zone(params: Params) -> int:
        text = params.raw("timeZone")
        if text is None:
            return 0
        offset = parse_time_zone(text)
        if offset is None:
            raise DialectFailure(illegal_param("timeZone"))
        return offset

    @staticmethod
    def _type(params: Params) -> bool:
        """Whether ``type`` asks for MINI tickers (default FULL)."""
        return params.choice("type", TYPES) == "MINI"

    def _last_price(self, symbol: str) -> Decimal:
        last = self._stats.last_trade(symbol)
        return _ZERO if last is None else last.price

    def _book_top(self, symbol: str) -> tuple[tuple[Decimal, Decimal], tuple[Decimal, Decimal]]:
        depth = self._engine.depth(symbol, 1)
        bid = depth.bids[0] if depth.bids else (_ZERO, _ZERO)
        ask = depth.asks[0] if depth.asks else (_ZERO, _ZERO)
        return bid, ask

    @staticmethod
    def _one_or_all(bodies: list[dict[str, object]], single: bool) -> Answer:
        return Answer(bodies[0] if single else bodies)

    # ---- trades -------------------------------------------------------------------------

    def recent_trades(self, params: Params, account: str | None, now_ms: int) -> Answer:
        instrument = self._instrument(params)
        limit = self._limit(params)
        trades = self._stats.recent_trades(instrument.symbol, limit)
        return Answer([trade_body(t) for t in trades])

    def historical_trades(self, params: Params, account: str | None, now_ms: int) -> Answer:
        instrument = self._instrument(params)
        limit = self._limit(params)
        from_id = params.integer("fromId")
        if from_id is None:
            trades = self._stats.recent_trades(instrument.symbol, limit)
        else:
            trades = self._stats.trades_from(instrument.symbol, from_id, limit)
        return Answer([trade_body(t) for t in trades])

    def agg_trades(self, params: Params, account: str | None, now_ms: int) -> Answer:
        instrument = self._instrument(params)
        limit = self._limit(params)
        from_id = params.integer("fromId")
        start = params.integer("startTime")
        end = params.integer("endTime")
        if from_id is not None and (start is not None or end is not None):
            raise fail(-1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None and start > end:
            raise fail(Code.INVALID_PARAMETER, "startTime must be less than endTime.")
        aggs = self._stats.agg_trades(
            instrument.symbol, from_id=from_id, start_ms=start, end_ms=end, limit=limit
        )
        return Answer([agg_trade_body(a) for a in aggs])

    # ---- klines and averages ------------------------------------------------------------

    def klines(self, params: Params, account: str | None, now_ms: int) -> Answer:
        instrument = self._instrument(params)
        interval = params.require("interval")
        if interval not in KLINE_INTERVALS:
            raise fail(Code.BAD_INTERVAL, "Invalid interval.")
        start = params.integer("startTime")
        end = params.integer("endTime")
        if start is not None and end is not None and start > end:
            raise fail(Code.INVALID_PARAMETER, "startTime must be less than endTime.")
        limit = self._limit(params)
        tz = self._time_zone(params)
        klines = self._stats.klines(
            instrument.symbol, interval, now_ms, start_ms=start, end_ms=end, limit=limit, tz_ms=tz
        )
        return Answer([kline_body(k) for k in klines])

    def avg_price(self, params: Params, account: str | None, now_ms: int) -> Answer:
        instrument = self._instrument(params)
        price, close_time = self._stats.avg_price(instrument.symbol, now_ms)
        return Answer(
            {
                "mins": AVG_PRICE_MINUTES,
                "price": num(price.quantize(_EIGHT, rounding=ROUND_HALF_UP)),
                "closeTime": close_time,
            }
        )

    # ---- tickers ------------------------------------------------------------------------

    def ticker_24hr(self, params: Params, account: str | None, now_ms: int) -> Answer:
        chosen, single = self._symbols(params, required=False)
        mini = self._type(params)
        bodies = [
            window_body(
                i.symbol,
                self._stats.day_24h(i.symbol, now_ms),
                self._last_price(i.symbol),
                mini=mini,
                book=None if mini else self._book_top(i.symbol),
            )
            for i in chosen
        ]
        return self._one_or_all(bodies, single)

    def ticker_trading_day(self, params: Params, account: str | None, now_ms: int) -> Answer:
        chosen, single = self._symbols(params, required=True, most=MAX_TICKER_SYMBOLS)
        tz = self._time_zone(params)
        mini = self._type(params)
        bodies = [
            window_body(
                i.symbol,
                self._stats.trading_day(i.symbol, now_ms, tz),
                self._last_price(i.symbol),
                mini=mini,
            )
            for i in chosen
        ]
        return self._one_or_all(bodies, single)

    def ticker_rolling(self, params: Params, account: str | None, now_ms: int) -> Answer:
        chosen, single = self._symbols(params, required=True, most=MAX_TICKER_SYMBOLS)
        text = params.raw("windowSize") or "1d"
        window = parse_window_size(text)
        if window is None:
            raise fail(Code.ILLEGAL_CHARS, "Invalid windowSize.")
        mini = self._type(params)
        bodies = [
            window_body(
                i.symbol,
                self._stats.rolling(i.symbol, window, now_ms),
                self._last_price(i.symbol),
                mini=mini,
            )
            for i in chosen
        ]
        return self._one_or_all(bodies, single)

    def ticker_price(self, params: Params, account: str | None, now_ms: int) -> Answer:
        chosen, single = self._symbols(params, required=False)
        bodies: list[dict[str, object]] = [
            {"symbol": i.symbol, "price": num(self._last_price(i.symbol))} for i in chosen
        ]
        return self._one_or_all(bodies, single)

    def ticker_book(self, params: Params, account: str | None, now_ms: int) -> Answer:
        chosen, single = self._symbols(params, required=False)
        bodies: list[dict[str, object]] = []
        for i in chosen:
            (bid, bid_qty), (ask, ask_qty) = self._book_top(i.symbol)
            bodies.append(
                {
                    "symbol": i.symbol,
                    "bidPrice": num(bid),
                    "bidQty": num(bid_qty),
                    "askPrice": num(ask),
                    "askQty": num(ask_qty),
                }
            )
        return self._one_or_all(bodies, single)
