"""The public book as the streams see it: depth windows and a book mirror (sans-IO).

What it is for: :class:`DepthWindow` gathers one symbol's book changes within one update
window into one ``depthUpdate`` diff (``U`` the first update id it saw, ``u`` the last,
the final quantity per level); :class:`TopOfBook` mirrors the public book from the same
deltas and knows its best levels (for ``bookTicker``). ``feed.py`` decides when a window
closes.

What it must never do: I/O, read a clock (a window's end time is given), or put a float into
a price or quantity.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from mmbot.model import Side
from mmbot.sim.engine import BookDelta
from mmbot.sim.streams.payloads import fmt


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
