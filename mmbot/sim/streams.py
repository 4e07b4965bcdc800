"""The fake exchange's stream logic, sans-IO: stream names, depth windows, payloads.

What it is for: turning the matching engine's events into the dialect's stream messages
(``depthUpdate`` diffs aggregated per 100 ms / 1000 ms window, ``bookTicker`` on every
change of the top of book, ``trade``, and the user-data events ``executionReport``,
``outboundAccountPosition``, ``balanceUpdate``) and parsing stream names. What each
payload looks like is ``sim/stream_payloads.py`` (re-exported here). The live
``SUBSCRIBE`` control messages are answered by ``sim/stream_control.py``; ``sim/exchange.py`` (the
trio shell) does the waiting and the fan-out.

What it must never do: I/O, read a clock or draw randomness (time enters as ``now_ms``);
put floats into prices or quantities (payload numbers are exact decimal strings).

Theory of operation: :class:`MarketFeed` keeps, per symbol, one :class:`DepthWindow` per
update speed and a :class:`TopOfBook` mirror of the public book. ``on_events`` folds a
batch of engine events in and returns the messages due at once (trades, book tickers, user
events); ``flush_due(now_ms)`` closes every window whose boundary has passed and returns its
``depthUpdate``. A window's ``U`` is the first book update id it saw and ``u`` the last, so a
client applying the diffs to a ``/depth`` snapshot ends with the exchange's exact book.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Container, Iterable, Sequence
from decimal import Decimal
from typing import Any

import attrs

from mmbot.model import Side
from mmbot.sim.engine import (
    AccountPosition,
    BalanceUpdate,
    BookDelta,
    EngineEvent,
    ExecutionReport,
    PublicTrade,
)
from mmbot.sim.stream_payloads import account_position_payload as account_position_payload
from mmbot.sim.stream_payloads import balance_update_payload as balance_update_payload
from mmbot.sim.stream_payloads import dumps as dumps
from mmbot.sim.stream_payloads import execution_report_payload as execution_report_payload
from mmbot.sim.stream_payloads import fmt as fmt
from mmbot.sim.stream_payloads import server_shutdown_payload as server_shutdown_payload
from mmbot.sim.stream_payloads import trade_payload as trade_payload
from mmbot.sim.stream_payloads import trade_text as trade_text


class StreamKind(enum.Enum):
    """The market streams the fake exchange serves; the value is the name's suffix."""

    DEPTH_100MS = "depth@100ms"
    DEPTH_1000MS = "depth"
    BOOK_TICKER = "bookTicker"
    TRADE = "trade"


#: Depth window length (ms) of each diff-depth stream kind.
DEPTH_SPEEDS_MS = {StreamKind.DEPTH_100MS: 100, StreamKind.DEPTH_1000MS: 1000}

_SUFFIXES = {kind.value: kind for kind in StreamKind}


class _Everything:
    """A container holding every name (the default: build every payload)."""

    def __contains__(self, item: object) -> bool:
        return True


EVERYTHING: Container[str] = _Everything()


def stream_name(symbol: str, kind: StreamKind) -> str:
    """The wire name of a stream: lowercase symbol, ``@``, suffix (``btcusdt@trade``)."""
    return f"{symbol.lower()}@{kind.value}"


def parse_stream_name(name: object, symbols: Iterable[str]) -> tuple[str, StreamKind] | None:
    """``(SYMBOL, kind)`` for a valid stream name of a listed symbol, else ``None``.

    Symbols must be lowercase in the name, as on Binance.
    """
    if not isinstance(name, str) or "@" not in name:
        return None
    symbol, _, suffix = name.partition("@")
    kind = _SUFFIXES.get(suffix)
    if kind is None or symbol != symbol.lower():
        return None
    upper = symbol.upper()
    return (upper, kind) if upper in symbols else None


# ---- market data -----------------------------------------------------------------------


@attrs.define(eq=False)
class DepthWindow:
    """The book changes of one symbol within one update window (one ``depthUpdate``)."""

    # Invariant: first_id == 0 iff no delta was added since the last flush.
    first_id: int = 0
    last_id: int = 0
    bids: dict[Decimal, Decimal] = attrs.field(factory=dict)
    asks: dict[Decimal, Decimal] = attrs.field(factory=dict)

    def add(self, delta: BookDelta) -> None:
        if self.first_id == 0:
            self.first_id = delta.update_id
        self.last_id = delta.update_id
        levels = self.bids if delta.side is Side.BUY else self.asks
        levels[delta.price] = delta.quantity

    @property
    def is_empty(self) -> bool:
        return self.first_id == 0

    def flush(self, symbol: str, event_time_ms: int) -> str:
        """The ``depthUpdate`` JSON text (final quantity per level; "0" removes); resets."""
        bids = ",".join([f'["{fmt(p)}","{fmt(q)}"]' for p, q in self.bids.items()])
        asks = ",".join([f'["{fmt(p)}","{fmt(q)}"]' for p, q in self.asks.items()])
        text = (
            f'{{"e":"depthUpdate","E":{event_time_ms},"s":"{symbol}",'
            f'"U":{self.first_id},"u":{self.last_id},"b":[{bids}],"a":[{asks}]}}'
        )
        self.clear()
        return text

    def clear(self) -> None:
        self.first_id = 0
        self.last_id = 0
        self.bids = {}
        self.asks = {}


@attrs.define(eq=False)
class TopOfBook:
    """A mirror of one symbol's public book built from deltas; knows its best levels."""

    bids: dict[Decimal, Decimal] = attrs.field(factory=dict)
    asks: dict[Decimal, Decimal] = attrs.field(factory=dict)
    last_update_id: int = 0
    # Invariant: when not dirty, _best_bid is max(bids) (None if empty); same for asks/min.
    _best_bid: Decimal | None = None
    _best_ask: Decimal | None = None
    _bid_dirty: bool = False
    _ask_dirty: bool = False

    def apply(self, delta: BookDelta) -> None:
        self.last_update_id = delta.update_id
        price, qty = delta.price, delta.quantity
        if delta.side is Side.BUY:
            if qty == 0:
                self.bids.pop(price, None)
                if price == self._best_bid:
                    self._bid_dirty = True
            else:
                self.bids[price] = qty
                if not self._bid_dirty and (self._best_bid is None or price > self._best_bid):
                    self._best_bid = price
        else:
            if qty == 0:
                self.asks.pop(price, None)
                if price == self._best_ask:
                    self._ask_dirty = True
            else:
                self.asks[price] = qty
                if not self._ask_dirty and (self._best_ask is None or price < self._best_ask):
                    self._best_ask = price

    def best(self) -> tuple[Decimal | None, Decimal | None]:
        """Best bid and best ask prices (``None`` for an empty side)."""
        if self._bid_dirty:
            self._best_bid = max(self.bids) if self.bids else None
            self._bid_dirty = False
        if self._ask_dirty:
            self._best_ask = min(self.asks) if self.asks else None
            self._ask_dirty = False
        return self._best_bid, self._best_ask

    def top(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(bid, bid qty, ask, ask qty); zeros for an empty side."""
        bid, ask = self.best()
        zero = Decimal(0)
        return (
            bid if bid is not None else zero,
            self.bids[bid] if bid is not None else zero,
            ask if ask is not None else zero,
            self.asks[ask] if ask is not None else zero,
        )


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
    last_top: tuple[Decimal, Decimal, Decimal, Decimal] | None = None


@attrs.define(eq=False)
class MarketFeed:
    """Turns engine events into stream messages (see the module docstring)."""

    _feeds: dict[str, _SymbolFeed]
    # Invariant: every window in _pending has at least one delta; the value is its flush time.
    _pending: dict[tuple[str, StreamKind], int] = attrs.field(factory=dict)

    @classmethod
    def for_symbols(cls, symbols: Sequence[str]) -> MarketFeed:
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
            )
            for s in symbols
        }
        return cls(feeds)

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
            elif kind is PublicTrade:
                assert isinstance(event, PublicTrade)
                feed = feeds.get(event.symbol)
                if feed is not None and feed.trade_name in streams:
                    out.append(StreamMessage(feed.trade_name, "trade", trade_text(event, now_ms)))
            elif event.account is None or event.account not in accounts:
                continue
            elif isinstance(event, ExecutionReport):
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

    def next_flush_ms(self) -> int | None:
        """When the earliest open depth window closes (``None``: no window is open)."""
        return min(self._pending.values()) if self._pending else None

    def flush_due(self, now_ms: int, streams: Container[str] = EVERYTHING) -> list[StreamMessage]:
        """The ``depthUpdate`` of every window whose boundary is at or before ``now_ms``.

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
        return out
