"""The fake exchange's stream feed: engine events in, stream messages out (sans-IO).

What it is for: :class:`MarketFeed` turns the matching engine's events into the dialect's
stream messages: ``depthUpdate`` diffs aggregated per 100 ms / 1000 ms window
(``depth.py``), ``bookTicker`` on every change of the top of book, ``trade``, ``aggTrade``
(from the tape's statistics, :class:`~mmbot.sim.market.MarketStats`, which the feed folds
every trade into), the periodic streams (partial depth every 100 ms or 1000 ms, ``kline``
every 2000 ms (``1s``: 1000 ms), the tickers and ``avgPrice`` every 1000 ms), and the
user-data events ``executionReport``, ``outboundAccountPosition``, ``balanceUpdate``. What
each payload looks like is ``payloads.py``; stream names are ``names.py``; the live
``SUBSCRIBE`` control messages are ``control.py``; ``sim/exchange.py`` (the trio shell)
does the waiting and the fan-out.

What it must never do: I/O, read a clock or draw randomness (time enters as ``now_ms``);
put floats into prices or quantities (payload numbers are exact decimal strings).

Theory of operation: :class:`MarketFeed` keeps, per symbol, one :class:`DepthWindow` per
update speed and a :class:`TopOfBook` mirror of the public book. ``on_events`` folds a
batch of engine events in and returns the messages due at once (trades, book tickers, user
events); ``flush_due(now_ms)`` closes every window whose boundary has passed and returns its
``depthUpdate``. A window's ``U`` is the first book update id it saw and ``u`` the last, so a
client applying the diffs to a ``/depth`` snapshot ends with the exchange's exact book.
The periodic streams are due at every multiple of their period (exchange time) that passed
since the last flush, and only for the names someone listens to (``next_flush_ms(streams)``
looks at the subscribed names, so an exchange without such subscribers never wakes for them).
A kline stream that moves on to the next kline first sends the one it leaves, closed.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Container, Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from mmbot.sim.engine import (
    AccountPosition,
    BalanceUpdate,
    BookDelta,
    EngineEvent,
    Execution,
    TradePrint,
)
from mmbot.sim.market import MarketStats, kline_open
from mmbot.sim.market.stats import DAY_MS, HOUR_MS
from mmbot.sim.streams.depth import DepthWindow, TopOfBook
from mmbot.sim.streams.names import (
    DEPTH_SPEEDS_MS,
    StreamKind,
    StreamSpec,
    parse_stream,
    stream_name,
)
from mmbot.sim.streams.payloads import (
    account_position_payload,
    agg_trade_payload,
    avg_price_payload,
    balance_update_payload,
    dumps,
    execution_report_payload,
    fmt,
    kline_payload,
    mini_ticker_payload,
    partial_depth_payload,
    rolling_ticker_payload,
    ticker_payload,
    trade_text,
)

#: Period (ms) of each periodic stream kind (``kline``: 2000, its ``1s``: 1000).
_PERIODS = {
    StreamKind.TICKER: 1000,
    StreamKind.MINI_TICKER: 1000,
    StreamKind.AVG_PRICE: 1000,
    StreamKind.ROLLING_TICKER: 1000,
    StreamKind.ALL_MINI_TICKERS: 1000,
    StreamKind.ALL_ROLLING_TICKERS: 1000,
    StreamKind.KLINE: 2000,
}
_WINDOWS_MS = {"1h": HOUR_MS, "4h": 4 * HOUR_MS, "1d": DAY_MS}


def _period(spec: StreamSpec) -> int:
    if spec.kind is StreamKind.PARTIAL_DEPTH:
        return spec.speed_ms
    if spec.kind is StreamKind.KLINE and spec.interval == "1s":
        return 1000
    return _PERIODS[spec.kind]


class _Everything:
    """A container holding every name (the default: build every payload)."""

    def __contains__(self, item: object) -> bool:
        return True


EVERYTHING: Container[str] = _Everything()


@attrs.frozen
class StreamMessage:
    """A market stream message: the stream it belongs to and its JSON text.

    ``text`` is the compact JSON the exchange sends (built directly, byte-identical to
    :func:`dumps` of :attr:`payload`); ``payload`` parses it back (for tests and tools).
    """

    stream: str
    event_type: str
    text: str

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.text)
        return payload


@attrs.frozen
class UserMessage:
    """A user-data event for the sessions subscribed to ``account``."""

    account: str
    event_type: str
    payload: dict[str, Any]


@attrs.define(eq=False)
class _SymbolFeed:
    symbol: str
    windows: dict[StreamKind, DepthWindow]
    book: TopOfBook
    depth_names: dict[StreamKind, str]
    ticker_name: str
    trade_name: str
    agg_trade_name: str
    last_top: tuple[Decimal, Decimal, Decimal, Decimal] | None = None


@attrs.define(eq=False)
class MarketFeed:
    """Turns engine events into stream messages (see the module docstring)."""

    _feeds: dict[str, _SymbolFeed]
    #: The statistics of the public tape (klines, tickers, aggregate trades), fed here.
    stats: MarketStats
    # Invariant: every window in _pending has at least one delta; the value is its flush time.
    _pending: dict[tuple[str, StreamKind], int] = attrs.field(factory=dict)
    #: Periodic stream names seen, parsed (None: not periodic); bounded by the valid names.
    _specs: dict[str, StreamSpec | None] = attrs.field(factory=dict)
    #: When the periodic streams were last flushed (exchange ms).
    _periodic_at: int = 0
    #: Kline stream -> open time of the kline it last sent.
    _kline_open: dict[str, int] = attrs.field(factory=dict)
    #: All-market stream -> symbol -> the statistics version it last sent.
    _sent_versions: dict[str, dict[str, int]] = attrs.field(factory=dict)

    @classmethod
    def for_symbols(cls, symbols: Sequence[str], stats: MarketStats | None = None) -> MarketFeed:
        for s in symbols:  # payload texts embed the symbol without JSON escaping
            if not (s.isascii() and s.isalnum()):
                raise ValueError(f"symbol {s!r} must be ASCII letters and digits")
        feeds = {
            s: _SymbolFeed(
                symbol=s,
                windows={kind: DepthWindow() for kind in DEPTH_SPEEDS_MS},
                book=TopOfBook(),
                depth_names={kind: stream_name(s, kind) for kind in DEPTH_SPEEDS_MS},
                ticker_name=stream_name(s, StreamKind.BOOK_TICKER),
                trade_name=stream_name(s, StreamKind.TRADE),
                agg_trade_name=stream_name(s, StreamKind.AGG_TRADE),
            )
            for s in symbols
        }
        return cls(feeds, stats if stats is not None else MarketStats(symbols))

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self._feeds)

    def book(self, symbol: str) -> TopOfBook:
        """The mirror of ``symbol``'s public book (for tests and the admin API)."""
        return self._feeds[symbol].book

    def on_events(
        self,
        events: Iterable[EngineEvent],
        now_ms: int,
        streams: Container[str] = EVERYTHING,
        accounts: Container[str] = EVERYTHING,
    ) -> list[StreamMessage | UserMessage]:
        """Fold a batch of engine events in; return the messages due at once, in order.

        Payloads are built only for the ``streams`` and ``accounts`` someone listens to;
        the windows and the book mirror follow every event regardless.
        """
        out: list[StreamMessage | UserMessage] = []
        touched: dict[str, _SymbolFeed] = {}
        feeds = self._feeds
        events = events if isinstance(events, list) else list(events)
        if not self._periodic_at:  # the periodic streams' clock starts with the first events
            self._periodic_at = now_ms
        aggs = self.stats.record(events)
        for event in events:
            kind = type(event)
            if kind is BookDelta:
                assert isinstance(event, BookDelta)
                feed = feeds.get(event.symbol)
                if feed is None:
                    continue
                feed.book.apply(event)
                for depth_kind, window in feed.windows.items():
                    if window.first_id == 0:
                        speed = DEPTH_SPEEDS_MS[depth_kind]
                        self._pending[(event.symbol, depth_kind)] = (now_ms // speed + 1) * speed
                    window.add(event)
                touched[event.symbol] = feed
            elif kind is TradePrint:
                assert isinstance(event, TradePrint)
                feed = feeds.get(event.symbol)
                if feed is not None and feed.trade_name in streams:
                    out.append(StreamMessage(feed.trade_name, "trade", trade_text(event, now_ms)))
            elif event.account is None or event.account not in accounts:
                continue
            elif isinstance(event, Execution):
                out.append(
                    UserMessage(event.account, "executionReport", execution_report_payload(event))
                )
            elif isinstance(event, AccountPosition):
                out.append(
                    UserMessage(
                        event.account, "outboundAccountPosition", account_position_payload(event)
                    )
                )
            elif isinstance(event, BalanceUpdate):
                out.append(
                    UserMessage(event.account, "balanceUpdate", balance_update_payload(event))
                )
        for agg in aggs:
            name = feeds[agg.symbol].agg_trade_name
            if name in streams:
                out.append(StreamMessage(name, "aggTrade", dumps(agg_trade_payload(agg, now_ms))))
        for feed in touched.values():
            self._flush_ticker(feed, out, streams)
        return out

    def _flush_ticker(
        self, feed: _SymbolFeed, out: list[StreamMessage | UserMessage], streams: Container[str]
    ) -> None:
        top = feed.book.top()
        if top == feed.last_top:
            return
        feed.last_top = top
        if feed.ticker_name not in streams:
            return
        bid, bid_qty, ask, ask_qty = top
        text = (
            f'{{"u":{feed.book.last_update_id},"s":"{feed.symbol}","b":"{fmt(bid)}",'
            f'"B":"{fmt(bid_qty)}","a":"{fmt(ask)}","A":"{fmt(ask_qty)}"}}'
        )
        out.append(StreamMessage(feed.ticker_name, "bookTicker", text))

    def _spec(self, name: str) -> StreamSpec | None:
        """The parsed periodic stream ``name`` (None: not a periodic stream)."""
        if name in self._specs:
            return self._specs[name]
        spec = parse_stream(name, self._feeds)
        if (
            spec is not None
            and spec.kind not in _PERIODS
            and spec.kind is not StreamKind.PARTIAL_DEPTH
        ):
            spec = None
        if spec is not None or len(self._specs) < 100_000:
            self._specs[name] = spec
        return spec

    def next_flush_ms(self, streams: Iterable[str] = ()) -> int | None:
        """When the earliest open depth window closes or the next periodic stream among
        ``streams`` (the subscribed names) is due (``None``: nothing is due)."""
        due = min(self._pending.values()) if self._pending else None
        last = self._periodic_at
        for name in streams:
            spec = self._spec(name)
            if spec is None:
                continue
            period = _period(spec)
            at = (last // period + 1) * period
            if due is None or at < due:
                due = at
        return due

    def flush_due(self, now_ms: int, streams: Container[str] = EVERYTHING) -> list[StreamMessage]:
        """The ``depthUpdate`` of every window whose boundary is at or before ``now_ms``, then
        the periodic streams among ``streams`` that came due since the last flush.

        Windows of streams nobody listens to (not in ``streams``) are closed silently.
        """
        due = [key for key, at in self._pending.items() if at <= now_ms]
        out: list[StreamMessage] = []
        for key in sorted(due, key=lambda k: (self._pending[k], k[0], k[1].value)):
            at = self._pending.pop(key)
            symbol, kind = key
            feed = self._feeds[symbol]
            name = feed.depth_names[kind]
            window = feed.windows[kind]
            if name in streams:
                out.append(StreamMessage(name, "depthUpdate", window.flush(symbol, at)))
            else:
                window.clear()
        if isinstance(streams, Iterable):
            self._flush_periodic(now_ms, list(streams), out)
        return out

    # ---- periodic streams ---------------------------------------------------------------

    def _flush_periodic(self, now_ms: int, names: list[str], out: list[StreamMessage]) -> None:
        last = self._periodic_at
        if now_ms <= last:
            return
        self._periodic_at = now_ms
        for name in names:
            spec = self._spec(name)
            if spec is None:
                continue
            period = _period(spec)
            if now_ms // period == last // period:
                continue
            for payload in self._periodic_payloads(name, spec, now_ms):
                event_type = payload["e"] if isinstance(payload, dict) and "e" in payload else ""
                if spec.kind is StreamKind.PARTIAL_DEPTH:
                    event_type = "depth"
                elif isinstance(payload, list):
                    event_type = "tickerArray"
                out.append(StreamMessage(name, str(event_type), dumps(payload)))

    def _last_price(self, symbol: str) -> Decimal:
        last = self.stats.last_trade(symbol)
        return last.price if last is not None else Decimal(0)

    def _periodic_payloads(self, name: str, spec: StreamSpec, now_ms: int) -> list[Any]:
        stats = self.stats
        kind, symbol = spec.kind, spec.symbol
        if symbol is None:
            return self._all_market(name, spec, now_ms)
        if kind is StreamKind.PARTIAL_DEPTH:
            book = self._feeds[symbol].book
            bids = heapq.nlargest(spec.levels, book.bids.items())
            asks = heapq.nsmallest(spec.levels, book.asks.items())
            return [partial_depth_payload(book.last_update_id, bids, asks)]
        if stats.last_trade(symbol) is None:
            return []  # nothing traded yet: no statistics to send
        if kind is StreamKind.KLINE:
            return self._klines(name, symbol, spec.interval, now_ms)
        if kind is StreamKind.TICKER:
            top = self._feeds[symbol].book.top()
            day = stats.day_24h(symbol, now_ms)
            return [ticker_payload(symbol, day, self._last_price(symbol), top, now_ms)]
        if kind is StreamKind.MINI_TICKER:
            day = stats.day_24h(symbol, now_ms)
            return [mini_ticker_payload(symbol, day, self._last_price(symbol), now_ms)]
        if kind is StreamKind.ROLLING_TICKER:
            window = stats.rolling(symbol, _WINDOWS_MS[spec.window], now_ms)
            last = self._last_price(symbol)
            return [rolling_ticker_payload(symbol, spec.window, window, last, now_ms)]
        if kind is StreamKind.AVG_PRICE:
            price, last_ms = stats.avg_price(symbol, now_ms)
            return [avg_price_payload(symbol, price, last_ms, now_ms)]
        return []

    def _klines(self, name: str, symbol: str, interval: str, now_ms: int) -> list[Any]:
        stats = self.stats
        out: list[Any] = []
        current = kline_open(now_ms, interval)
        previous = self._kline_open.get(name)
        if previous is not None and previous != current:
            closed = stats.klines(symbol, interval, now_ms, start_ms=previous, limit=1)
            if closed and closed[0].open_time_ms == previous:
                out.append(kline_payload(symbol, closed[0], now_ms, closed=True))
        self._kline_open[name] = current
        latest = stats.klines(symbol, interval, now_ms, limit=1)
        if latest and latest[0].open_time_ms == current:
            out.append(kline_payload(symbol, latest[0], now_ms, closed=False))
        return out

    def _all_market(self, name: str, spec: StreamSpec, now_ms: int) -> list[Any]:
        """One array of the symbols whose statistics changed since this stream's last one."""
        sent = self._sent_versions.setdefault(name, {})
        stats = self.stats
        items: list[dict[str, Any]] = []
        for symbol in self._feeds:
            version = stats.version(symbol)
            if version == 0 or sent.get(symbol) == version:
                continue
            sent[symbol] = version
            last = self._last_price(symbol)
            if spec.kind is StreamKind.ALL_MINI_TICKERS:
                items.append(
                    mini_ticker_payload(symbol, stats.day_24h(symbol, now_ms), last, now_ms)
                )
            else:
                window = stats.rolling(symbol, _WINDOWS_MS[spec.window], now_ms)
                items.append(rolling_ticker_payload(symbol, spec.window, window, last, now_ms))
        return [items] if items else []
