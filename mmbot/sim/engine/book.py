"""The price-time priority order book of one symbol, in integers (sans-IO).

What it is for: resting orders of one symbol kept by price level, best level first and
first come first served within a level, with O(1) cancel by order id. Prices are integer
price units and quantities integer lots (``units.Units`` converts); the engine
(``matching.py``) does the matching, the money and the events.

What it must never do: I/O, read a clock, draw randomness, or hold a Decimal or a float.

Theory of operation: each side is a ``dict`` price -> :class:`PriceLevel` plus a sorted
list of keys whose *last* element is the best level (bids: the prices ascending; asks: the
negated prices ascending), so reading and dropping the best level are O(1) and adding a
level is a bisect. A :class:`PriceLevel` is an insertion-ordered mapping order id -> order
(time priority) and the level's total resting quantity.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import OrderedDict
from collections.abc import Iterator

from mmbot.model import OrderStatus, OrderType, Side, TimeInForce


class RestingOrder:
    """The engine's mutable record of one order (resting or not); integers only."""

    __slots__ = (
        "account",
        "amends",
        "client_order_id",
        "cum_notional",
        "executed",
        "is_buy",
        "order_id",
        "orig_client_order_id",
        "orig_qty",
        "price",
        "reported",
        "side",
        "status",
        "symbol",
        "time_in_force",
        "time_ms",
        "type",
        "update_ms",
        "working_ms",
    )

    def __init__(
        self,
        symbol: str,
        order_id: int,
        account: str,
        client_order_id: str,
        side: Side,
        type: OrderType,
        time_in_force: TimeInForce,
        price: int,
        orig_qty: int,
        time_ms: int,
        reported: bool = True,
    ) -> None:
        self.symbol = symbol
        self.order_id = order_id
        self.account = account
        self.client_order_id = client_order_id
        self.side = side
        self.is_buy = side is Side.BUY
        self.type = type
        self.time_in_force = time_in_force
        self.price = price  # price units; 0 for MARKET
        self.orig_qty = orig_qty  # lots
        self.executed = 0  # lots; Invariant: 0 <= executed <= orig_qty
        self.cum_notional = 0  # sum of price * qty of its fills, in price units x lots
        self.status = OrderStatus.NEW
        self.time_ms = time_ms
        self.update_ms = time_ms
        self.working_ms = -1  # set when it starts resting on the book
        self.orig_client_order_id: str | None = None
        self.reported = reported  # False: its account's private events are never built
        self.amends = 0  # order.amend.keepPriority requests it took

    @property
    def remaining(self) -> int:
        return self.orig_qty - self.executed


class PriceLevel:
    """One price level: orders in time priority and their total remaining quantity."""

    __slots__ = ("orders", "qty")

    def __init__(self) -> None:
        self.orders: OrderedDict[int, RestingOrder] = OrderedDict()
        self.qty = 0  # Invariant: sum of remaining of self.orders


class OrderBook:
    """Both sides of one symbol's book."""

    __slots__ = ("ask_keys", "asks", "bid_keys", "bids")

    def __init__(self) -> None:
        self.bids: dict[int, PriceLevel] = {}
        self.asks: dict[int, PriceLevel] = {}
        self.bid_keys: list[int] = []  # prices ascending: best bid last
        self.ask_keys: list[int] = []  # -prices ascending: best ask last

    def best_bid(self) -> int | None:
        return self.bid_keys[-1] if self.bid_keys else None

    def best_ask(self) -> int | None:
        return -self.ask_keys[-1] if self.ask_keys else None

    def would_cross(self, is_buy: bool, price: int) -> bool:
        """Would a limit order at ``price`` trade against the other side at once?"""
        if is_buy:
            return bool(self.ask_keys) and -self.ask_keys[-1] <= price
        return bool(self.bid_keys) and self.bid_keys[-1] >= price

    def add(self, order: RestingOrder) -> None:
        """Append ``order`` (its remaining quantity) at the back of its price level."""
        price = order.price
        if order.is_buy:
            levels, keys, key = self.bids, self.bid_keys, price
        else:
            levels, keys, key = self.asks, self.ask_keys, -price
        level = levels.get(price)
        if level is None:
            level = levels[price] = PriceLevel()
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        level.orders[order.order_id] = order
        level.qty += order.remaining

    def remove(self, order: RestingOrder) -> None:
        """Take ``order`` out of the book in O(1) (plus a bisect if its level empties)."""
        price = order.price
        levels = self.bids if order.is_buy else self.asks
        level = levels[price]
        del level.orders[order.order_id]
        level.qty -= order.remaining
        if not level.orders:
            self.drop_level(order.is_buy, price)

    def reduce(self, order: RestingOrder, orig_qty: int) -> None:
        """Lower a resting order's quantity to ``orig_qty`` (above what it executed) in
        place: it keeps its place in its level's queue."""
        level = (self.bids if order.is_buy else self.asks)[order.price]
        level.qty -= order.orig_qty - orig_qty
        order.orig_qty = orig_qty

    def drop_level(self, is_buy: bool, price: int) -> None:
        if is_buy:
            levels, keys, key = self.bids, self.bid_keys, price
        else:
            levels, keys, key = self.asks, self.ask_keys, -price
        del levels[price]
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def level_qty(self, is_buy: bool, price: int) -> int:
        level = (self.bids if is_buy else self.asks).get(price)
        return 0 if level is None else level.qty

    def opposite_levels(self, taker_is_buy: bool) -> Iterator[tuple[int, int]]:
        """(price, qty) of the side a taker on ``taker_is_buy`` trades against, best first."""
        if taker_is_buy:
            for key in reversed(self.ask_keys):
                yield -key, self.asks[-key].qty
        else:
            for key in reversed(self.bid_keys):
                yield key, self.bids[key].qty

    def side_levels(self, is_buy: bool, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` (price, qty) levels of one side, best first."""
        if is_buy:
            keys = self.bid_keys[-limit:] if limit > 0 else []
            return [(k, self.bids[k].qty) for k in reversed(keys)]
        keys = self.ask_keys[-limit:] if limit > 0 else []
        return [(-k, self.asks[-k].qty) for k in reversed(keys)]

    def orders(self) -> Iterator[RestingOrder]:
        for level in self.bids.values():
            yield from level.orders.values()
        for level in self.asks.values():
            yield from level.orders.values()
