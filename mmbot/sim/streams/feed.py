"""The fake exchange's stream feed: engine events in, stream messages out (sans-IO).

What it is for: :class:`MarketFeed` turns the matching engine's events into the dialect's
stream messages: ``depthUpdate`` diffs aggregated per 100 ms / 1000 ms window
(``depth.py``), ``bookTicker`` on every change of the top of book, ``trade``, and the
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
"""

from __future__ import annotations

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
from mmbot.sim.streams.depth import DepthWindow, TopOfBook
from mmbot.sim.streams.names import DEPTH_SPEEDS_MS, StreamKind, stream_name
from mmbot.sim.streams.payloads import (
    account_position_payload,
    balance_update_payload,
    execution_report_payload,
    fmt,
    trade_text,
)


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
