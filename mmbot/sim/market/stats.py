"""Market statistics of the public tape: klines, tickers, average price, aggregate trades (sans-IO).

What it is for: :class:`MarketStats` folds the engine's public trades (``TradePrint``) in,
as they happen, and answers what Binance's market-data endpoints and streams ask of them:
the recent trades, the aggregate trades, klines of every Binance interval (``1s`` to
``1M``, in any ``timeZone``), rolling-window summaries (the 24hr ticker, ``/ticker`` with
``windowSize``, the trading-day ticker) and the 5-minute average price. The dialect
(``sim/dialect/market_data.py``) and the streams (``sim/streams/feed.py``) both read it.

What it must never do: I/O, read a clock (``now_ms`` is an argument) or draw randomness;
keep unbounded memory (every store below is a ring of a configured size:
:class:`StatsRetention`); put a float into a price or a quantity.

Theory of operation: every trade updates, per symbol, a ring of the most recent trades, the
aggregate-trade ring, and one bucket in each of four *tiers* of time buckets, each a ring
of at most ``n`` non-empty buckets: seconds, minutes, quarter hours and UTC days. A kline or
a window is the merge of the buckets of one tier inside it: the coarsest tier whose bucket
boundaries fall on the kline boundaries (a ``1d`` kline in ``+08:00`` is made of quarter
hours, in UTC of days), and for a window the finest tier that still holds its start. The
history of the exchange (``sim/history/``) may drop public trades under its bound; these
rings are the statistics' own, bounded separately, so a kline never loses a trade to that.

An *aggregate trade* is a run of trades of one batch of engine events with the same time,
price and aggressor side and consecutive trade ids: the trades of one taker order at one
price (the engine's public trades do not name the taker order, so two takers at the same
millisecond, price and side would merge; the background market's takers never do).
"""

from __future__ import annotations

import bisect
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal

import attrs

from mmbot.sim.engine import EngineEvent, TradePrint

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
#: 1970-01-01 was a Thursday; weeks (``1w`` klines) start on Monday.
_MONDAY_OFFSET_MS = 4 * DAY_MS
_ZERO = Decimal(0)
_EIGHT = Decimal("0.00000001")

#: Every kline interval Binance serves, with its length in ms (``1M``: 0, calendar months).
KLINE_INTERVALS: dict[str, int] = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": WEEK_MS,
    "1M": 0,
}
#: The average price's window (``/avgPrice`` ``mins``, ``@avgPrice`` ``i``).
AVG_PRICE_MINUTES = 5

_TIME_ZONE_RE = re.compile(r"([+-]?)([0-9]{1,2})(?::([0-9]{2}))?")
_WINDOW_RE = re.compile(r"([1-9][0-9]?)([mhd])")
_WINDOW_UNITS = {"m": (MINUTE_MS, 59), "h": (HOUR_MS, 23), "d": (DAY_MS, 7)}


def parse_time_zone(text: str) -> int | None:
    """A ``timeZone`` parameter (``0``, ``8``, ``-1:00``, ``05:45``) as an offset in ms
    from UTC; ``None`` when malformed or outside [-12:00, +14:00]."""
    match = _TIME_ZONE_RE.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if minutes >= 60:
        return None
    offset = hours * HOUR_MS + minutes * MINUTE_MS
    if sign == "-":
        offset = -offset
    return offset if -12 * HOUR_MS <= offset <= 14 * HOUR_MS else None


def parse_window_size(text: str) -> int | None:
    """A rolling window (``1m``..``59m``, ``1h``..``23h``, ``1d``..``7d``) in ms, or None."""
    match = _WINDOW_RE.fullmatch(text)
    if match is None:
        return None
    count, unit = int(match.group(1)), match.group(2)
    unit_ms, most = _WINDOW_UNITS[unit]
    return count * unit_ms if count <= most else None


# ---- calendar arithmetic (days since the epoch <-> civil dates, proleptic Gregorian) ----


def _civil(days: int) -> tuple[int, int, int]:
    """(year, month, day) of ``days`` since 1970-01-01 (Howard Hinnant's algorithm)."""
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def _days(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a civil date."""
    y = year - 1 if month <= 2 else year
    era = y // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def kline_open(time_ms: int, interval: str, tz_ms: int = 0) -> int:
    """Open time (UTC ms) of the ``interval`` kline holding ``time_ms``, in time zone
    ``tz_ms`` (``1s`` to ``12h``: aligned to the epoch in local time; ``1w``: Monday)."""
    local = time_ms + tz_ms
    length = KLINE_INTERVALS[interval]
    if interval == "1M":
        year, month, _ = _civil(local // DAY_MS)
        return _days(year, month, 1) * DAY_MS - tz_ms
    if interval == "1w":
        return local - (local - _MONDAY_OFFSET_MS) % WEEK_MS - tz_ms
    return local - local % length - tz_ms


def kline_next(open_ms: int, interval: str, tz_ms: int = 0) -> int:
    """Open time of the kline after the one opening at ``open_ms``."""
    if interval == "1M":
        year, month, _ = _civil((open_ms + tz_ms) // DAY_MS)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return _days(year, month, 1) * DAY_MS - tz_ms
    return open_ms + KLINE_INTERVALS[interval]


# ---- values ------------------------------------------------------------------------------


@attrs.frozen
class AggTrade:
    """One aggregate trade: a taker's trades at one price (``a``, ``p``, ``q``, ``f``, ``l``)."""

    symbol: str
    agg_id: int
    price: Decimal
    qty: Decimal
    first_id: int
    last_id: int
    time_ms: int
    buyer_is_maker: bool


@attrs.frozen
class Summary:
    """What a kline or a window holds: prices, volumes, trade ids (``count`` 0: no trade;
    then prices are zero and the ids -1)."""

    open: Decimal = _ZERO
    high: Decimal = _ZERO
    low: Decimal = _ZERO
    close: Decimal = _ZERO
    last_qty: Decimal = _ZERO
    volume: Decimal = _ZERO
    quote_volume: Decimal = _ZERO
    taker_buy_volume: Decimal = _ZERO
    taker_buy_quote_volume: Decimal = _ZERO
    count: int = 0
    first_id: int = -1
    last_id: int = -1
    last_time_ms: int = 0


@attrs.frozen
class Kline:
    """One kline: its open and close times (UTC ms), interval and summary."""

    open_time_ms: int
    close_time_ms: int
    interval: str
    summary: Summary


@attrs.frozen
class WindowStats:
    """A rolling or trading-day window: its bounds, summary and the price before it."""

    open_time_ms: int
    close_time_ms: int
    summary: Summary
    prev_close: Decimal = _ZERO


@attrs.frozen
class StatsRetention:
    """How much each ring keeps per symbol (the memory bound of :class:`MarketStats`)."""

    #: Most recent trades (``/trades``, ``/historicalTrades``).
    trades: int = 1000
    #: Most recent aggregate trades (``/aggTrades``).
    agg_trades: int = 1000
    #: Non-empty buckets per tier: seconds, minutes, quarter hours, UTC days.
    seconds: int = 1000
    minutes: int = 1500
    quarters: int = 35 * 96
    days: int = 1000


# ---- buckets and tiers -----------------------------------------------------------------


class _Bucket:
    """The trades of one time bucket (mutable while it is the newest of its tier)."""

    __slots__ = (
        "close",
        "count",
        "first_id",
        "high",
        "last_id",
        "last_qty",
        "last_time",
        "low",
        "open",
        "open_time",
        "quote",
        "taker_base",
        "taker_quote",
        "volume",
    )

    def __init__(self, open_time: int, trade: TradePrint, quote: Decimal) -> None:
        self.open_time = open_time
        self.open = self.high = self.low = self.close = trade.price
        self.last_qty = self.volume = trade.qty
        self.quote = quote
        taker_buys = not trade.buyer_is_maker
        self.taker_base = trade.qty if taker_buys else _ZERO
        self.taker_quote = quote if taker_buys else _ZERO
        self.count = 1
        self.first_id = self.last_id = trade.trade_id
        self.last_time = trade.time_ms

    def add(self, trade: TradePrint, quote: Decimal) -> None:
        price = trade.price
        if price > self.high:
            self.high = price
        if price < self.low:
            self.low = price
        self.close = price
        self.last_qty = trade.qty
        self.volume += trade.qty
        self.quote += quote
        if not trade.buyer_is_maker:
            self.taker_base += trade.qty
            self.taker_quote += quote
        self.count += 1
        self.last_id = trade.trade_id
        self.last_time = trade.time_ms


def _merge(buckets: Iterable[_Bucket]) -> Summary:
    first: _Bucket | None = None
    last: _Bucket | None = None
    high = low = volume = quote = taker_base = taker_quote = _ZERO
    count = 0
    for b in buckets:
        if first is None:
            first, high, low = b, b.high, b.low
        else:
            high = max(high, b.high)
            low = min(low, b.low)
        last = b
        volume += b.volume
        quote += b.quote
        taker_base += b.taker_base
        taker_quote += b.taker_quote
        count += b.count
    if first is None or last is None:
        return Summary()
    return Summary(
        open=first.open,
        high=high,
        low=low,
        close=last.close,
        last_qty=last.last_qty,
        volume=volume,
        quote_volume=quote,
        taker_buy_volume=taker_base,
        taker_buy_quote_volume=taker_quote,
        count=count,
        first_id=first.first_id,
        last_id=last.last_id,
        last_time_ms=last.last_time,
    )


class _Tier:
    """A ring of at most ``size`` non-empty buckets of ``unit_ms``, oldest first."""

    def __init__(self, unit_ms: int, size: int) -> None:
        self.unit_ms = unit_ms
        self.size = size
        self._buckets: list[_Bucket] = []
        self._times: list[int] = []  # Invariant: _times[i] == _buckets[i].open_time, ascending
        self._head = 0  # buckets before _head are evicted (compacted away now and then)
        #: Everything from this time on is complete (None: nothing was ever evicted).
        self.complete_from: int | None = None

    def add(self, trade: TradePrint, quote: Decimal) -> None:
        open_time = trade.time_ms - trade.time_ms % self.unit_ms
        if len(self._times) > self._head and self._times[-1] >= open_time:
            # trades arrive in time order; an equal (or, defensively, older) time joins the newest
            self._buckets[-1].add(trade, quote)
            return
        self._buckets.append(_Bucket(open_time, trade, quote))
        self._times.append(open_time)
        if len(self._times) - self._head > self.size:
            evicted = self._buckets[self._head]
            self.complete_from = evicted.open_time + self.unit_ms
            self._head += 1
            if self._head > max(16, self.size // 8):  # compact: at most 1/8 more held
                del self._buckets[: self._head]
                del self._times[: self._head]
                self._head = 0

    def __len__(self) -> int:
        return len(self._times) - self._head

    def oldest(self) -> int | None:
        """Open time of the oldest bucket held."""
        return self._times[self._head] if len(self) else None

    def between(self, start_ms: int, end_ms: int) -> Iterator[_Bucket]:
        """Buckets opening in ``[start_ms, end_ms)``, oldest first."""
        lo = bisect.bisect_left(self._times, start_ms, lo=self._head)
        hi = bisect.bisect_left(self._times, end_ms, lo=lo)
        for i in range(lo, hi):
            yield self._buckets[i]

    def before(self, time_ms: int) -> _Bucket | None:
        """The newest bucket opening before ``time_ms``."""
        i = bisect.bisect_left(self._times, time_ms, lo=self._head)
        return self._buckets[i - 1] if i > self._head else None

    def covers(self, time_ms: int) -> bool:
        return self.complete_from is None or self.complete_from <= time_ms


class _SymbolStats:
    def __init__(self, symbol: str, retention: StatsRetention) -> None:
        self.symbol = symbol
        self.trades: deque[TradePrint] = deque(maxlen=retention.trades)
        self.aggs: deque[AggTrade] = deque(maxlen=retention.agg_trades)
        self.next_agg_id = 0
        self.seconds = _Tier(SECOND_MS, retention.seconds)
        self.minutes = _Tier(MINUTE_MS, retention.minutes)
        self.quarters = _Tier(15 * MINUTE_MS, retention.quarters)
        self.days = _Tier(DAY_MS, retention.days)
        self.tiers = (self.seconds, self.minutes, self.quarters, self.days)  # finest first
        self.last_trade: TradePrint | None = None
        #: Trades folded in so far (the streams' "changed since" mark).
        self.version = 0

    def add(self, trade: TradePrint) -> None:
        quote = trade.price * trade.qty
        self.trades.append(trade)
        for tier in self.tiers:
            tier.add(trade, quote)
        self.last_trade = trade
        self.version += 1


def _kline_tier(stats: _SymbolStats, interval: str, tz_ms: int) -> _Tier:
    """The coarsest tier whose buckets tile ``interval`` klines in time zone ``tz_ms``."""
    length = KLINE_INTERVALS[interval]
    if interval in ("1d", "3d", "1w", "1M") and tz_ms % DAY_MS == 0:
        return stats.days
    quarter = 15 * MINUTE_MS
    if (length == 0 or length % quarter == 0) and tz_ms % quarter == 0:
        return stats.quarters
    if length == 0 or length % MINUTE_MS == 0:
        return stats.minutes if tz_ms % MINUTE_MS == 0 else stats.seconds
    return stats.seconds


class MarketStats:
    """The market statistics of every symbol (see the module docstring)."""

    def __init__(
        self,
        symbols: Sequence[str],
        retention: StatsRetention = StatsRetention(),
    ) -> None:
        self.retention = retention
        self._stats = {s: _SymbolStats(s, retention) for s in symbols}

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._stats)

    # ---- folding trades in -------------------------------------------------------------

    def record(self, events: Iterable[EngineEvent]) -> list[AggTrade]:
        """Fold one batch of engine events in; the aggregate trades it made, in order."""
        made: list[AggTrade] = []
        run: list[TradePrint] = []
        for event in events:
            if type(event) is not TradePrint:
                continue
            assert isinstance(event, TradePrint)
            stats = self._stats.get(event.symbol)
            if stats is None:
                continue
            stats.add(event)
            if run and not _same_aggregate(run[-1], event):
                made.append(self._close_aggregate(run))
                run = []
            run.append(event)
        if run:
            made.append(self._close_aggregate(run))
        return made

    def _close_aggregate(self, run: list[TradePrint]) -> AggTrade:
        first, last = run[0], run[-1]
        stats = self._stats[first.symbol]
        qty = _ZERO
        for trade in run:
            qty += trade.qty
        agg = AggTrade(
            symbol=first.symbol,
            agg_id=stats.next_agg_id,
            price=first.price,
            qty=qty,
            first_id=first.trade_id,
            last_id=last.trade_id,
            time_ms=first.time_ms,
            buyer_is_maker=first.buyer_is_maker,
        )
        stats.next_agg_id += 1
        stats.aggs.append(agg)
        return agg

    # ---- trades ------------------------------------------------------------------------

    def recent_trades(self, symbol: str, limit: int) -> list[TradePrint]:
        """The ``limit`` most recent trades, oldest first."""
        trades = self._stats[symbol].trades
        return list(trades)[-limit:] if limit > 0 else []

    def trades_from(self, symbol: str, from_id: int, limit: int) -> list[TradePrint]:
        """Up to ``limit`` trades with id >= ``from_id`` (of those still held), oldest first."""
        trades = list(self._stats[symbol].trades)
        start = bisect.bisect_left(trades, from_id, key=lambda t: t.trade_id)
        return trades[start : start + limit]

    def agg_trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[AggTrade]:
        """Aggregate trades: from ``from_id`` on, or within ``[start_ms, end_ms]`` (both
        inclusive; the first ``limit``), or else the ``limit`` most recent; oldest first."""
        aggs = list(self._stats[symbol].aggs)
        if from_id is not None:
            start = bisect.bisect_left(aggs, from_id, key=lambda a: a.agg_id)
            return aggs[start : start + limit]
        if start_ms is None and end_ms is None:
            return aggs[-limit:] if limit > 0 else []
        lo = 0 if start_ms is None else bisect.bisect_left(aggs, start_ms, key=lambda a: a.time_ms)
        hi = (
            len(aggs)
            if end_ms is None
            else bisect.bisect_right(aggs, end_ms, key=lambda a: a.time_ms)
        )
        if start_ms is None:  # only an end: the most recent ones up to it
            return aggs[max(lo, hi - limit) : hi]
        return aggs[lo:hi][:limit]

    def last_trade(self, symbol: str) -> TradePrint | None:
        return self._stats[symbol].last_trade

    def version(self, symbol: str) -> int:
        """How many trades of ``symbol`` were folded in (grows when its statistics change)."""
        return self._stats[symbol].version

    # ---- klines ------------------------------------------------------------------------

    def klines(
        self,
        symbol: str,
        interval: str,
        now_ms: int,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
        tz_ms: int = 0,
    ) -> list[Kline]:
        """Klines with open time in ``[start_ms, end_ms]``: the first ``limit`` from
        ``start_ms``, else the last ``limit`` up to ``end_ms`` (default: now). Klines run
        from the first one holding a trade still kept to the one holding ``now_ms``; one
        without trades is flat at the close before it (volume 0, ids -1)."""
        stats = self._stats[symbol]
        tier = _kline_tier(stats, interval, tz_ms)
        oldest = tier.oldest()
        if oldest is None or limit <= 0:
            return []
        first_open = kline_open(oldest, interval, tz_ms)
        last_open = kline_open(now_ms, interval, tz_ms)
        if end_ms is not None:
            last_open = min(last_open, kline_open(end_ms, interval, tz_ms))
        opens: list[int] = []
        if start_ms is not None:
            at = max(first_open, kline_open(start_ms, interval, tz_ms))
            if at < start_ms:
                at = kline_next(at, interval, tz_ms)
            while at <= last_open and len(opens) < limit:
                opens.append(at)
                at = kline_next(at, interval, tz_ms)
        else:
            at = last_open
            while at >= first_open and len(opens) < limit:
                opens.append(at)
                at = kline_open(at - 1, interval, tz_ms)
            opens.reverse()
        out: list[Kline] = []
        if not opens:
            return out
        before = tier.before(opens[0])
        prev_close = before.close if before is not None else None
        for open_ms in opens:
            close_next = kline_next(open_ms, interval, tz_ms)
            summary = _merge(tier.between(open_ms, close_next))
            if summary.count == 0:
                if prev_close is None:
                    continue  # before the first trade: no kline
                summary = Summary(
                    open=prev_close, high=prev_close, low=prev_close, close=prev_close
                )
            prev_close = summary.close
            out.append(Kline(open_ms, close_next - 1, interval, summary))
        return out

    # ---- windows -----------------------------------------------------------------------

    def window(self, symbol: str, open_ms: int, close_ms: int) -> WindowStats:
        """The trades with times in ``[open_ms, close_ms]``, from the finest tier that still
        holds ``open_ms`` (a coarser tier counts from the start of the bucket holding it)."""
        stats = self._stats[symbol]
        tier = stats.days
        for candidate in stats.tiers:
            start = open_ms - open_ms % candidate.unit_ms
            if candidate.covers(start):
                tier = candidate
                break
        start = open_ms - open_ms % tier.unit_ms
        summary = _merge(tier.between(start, close_ms + 1))
        before = tier.before(start)
        return WindowStats(
            open_ms, close_ms, summary, before.close if before is not None else _ZERO
        )

    def rolling(self, symbol: str, window_ms: int, now_ms: int) -> WindowStats:
        """``/ticker`` with ``windowSize``: open on the minute, close now."""
        open_ms = now_ms - window_ms
        return self.window(symbol, open_ms - open_ms % MINUTE_MS, now_ms)

    def day_24h(self, symbol: str, now_ms: int) -> WindowStats:
        """The 24hr ticker's window: the last 24 hours up to now."""
        return self.window(symbol, now_ms - DAY_MS, now_ms)

    def trading_day(self, symbol: str, now_ms: int, tz_ms: int = 0) -> WindowStats:
        """The trading day (in ``tz_ms``) holding ``now_ms``: midnight to 23:59:59.999."""
        open_ms = kline_open(now_ms, "1d", tz_ms)
        stats = self.window(symbol, open_ms, now_ms)
        return attrs.evolve(stats, close_time_ms=open_ms + DAY_MS - 1)

    def avg_price(self, symbol: str, now_ms: int) -> tuple[Decimal, int]:
        """The volume-weighted price of the last 5 minutes and the last trade's time; with
        no trade in them, the last price; ``(0, 0)`` before any trade."""
        last = self._stats[symbol].last_trade
        if last is None:
            return _ZERO, 0
        summary = self.window(symbol, now_ms - AVG_PRICE_MINUTES * MINUTE_MS, now_ms).summary
        if summary.volume:
            return summary.quote_volume / summary.volume, last.time_ms
        return last.price, last.time_ms


def price_change_percent(open_price: Decimal, change: Decimal, places: Decimal) -> str:
    """``priceChangePercent``: the change in percent of the open, rounded to ``places``
    (``Decimal("0.001")`` in REST answers, ``Decimal("0.01")`` in streams)."""
    if not open_price:
        return f"{_ZERO.quantize(places)}"
    return f"{(change * 100 / open_price).quantize(places, rounding=ROUND_HALF_UP)}"


def weighted_average(quote_volume: Decimal, volume: Decimal) -> Decimal:
    """``weightedAvgPrice``: quote volume over volume, to eight decimals (0 without trades)."""
    if not volume:
        return _ZERO
    return (quote_volume / volume).quantize(_EIGHT, rounding=ROUND_HALF_UP)


def _same_aggregate(prev: TradePrint, trade: TradePrint) -> bool:
    return (
        trade.symbol == prev.symbol
        and trade.trade_id == prev.trade_id + 1
        and trade.time_ms == prev.time_ms
        and trade.price == prev.price
        and trade.buyer_is_maker == prev.buyer_is_maker
    )
