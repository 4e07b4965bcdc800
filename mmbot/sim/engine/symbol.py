"""One symbol's state inside the matching engine: book, order store, counters, filters (sans-IO).

What it is for: :class:`SymbolState` holds everything the engine keeps for one symbol: its
order book, its open orders (by id, by client order id, by account), the compact records of
its closed orders and of its accounts' trades (both bounded: the retention rules live here),
its id counters, and its filters converted to integers (``price_ok``, ``qty_ok``). The
engine (``matching.py``) decides; this module only keeps and finds.

What it must never do: I/O, read a clock, draw randomness, move money or emit an event.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from decimal import Decimal

from mmbot.model import Instrument
from mmbot.sim.engine.balances import Balances
from mmbot.sim.engine.book import OrderBook, RestingOrder
from mmbot.sim.engine.reports import ClosedOrder, TradeRecord, freeze
from mmbot.sim.engine.units import Units


class SymbolState:
    """Everything the engine keeps for one symbol (see the module docstring)."""

    __slots__ = (
        "book",
        "by_client",
        "closed",
        "closed_max_age_ms",
        "closed_orders",
        "closed_retention",
        "instrument",
        "max_notional",
        "max_num_orders",
        "max_price",
        "max_qty",
        "min_notional",
        "min_price",
        "min_qty",
        "next_execution_id",
        "next_order_id",
        "next_trade_id",
        "no_closed_history",
        "no_trade_history",
        "open_by_account",
        "order_limit_exempt",
        "orders",
        "status",
        "step",
        "tick",
        "touched",
        "trade_retention",
        "trades",
        "units",
        "update_id",
    )

    def __init__(
        self,
        instrument: Instrument,
        units: Units,
        balances: Balances,
        *,
        closed_retention: int,
        trade_retention: int,
        no_trade_history: Collection[str] = (),
        max_num_orders: int | None = None,
        order_limit_exempt: Collection[str] = (),
        closed_max_age_ms: int | None = None,
        no_closed_history: Collection[str] = (),
    ) -> None:
        self.instrument = instrument
        self.units = units
        self.status = instrument.status
        self.book = OrderBook()
        self.next_order_id = 1
        self.next_trade_id = 1
        self.next_execution_id = 1  # Invariant: above the id of every execution so far
        self.update_id = 0  # Invariant: the id of the last BookDelta emitted
        self.orders: dict[int, RestingOrder] = {}  # Invariant: exactly the open orders
        self.closed_orders: dict[int, ClosedOrder] = {}  # the most recent closed ones
        self.closed: deque[int] = deque()  # their ids, oldest first
        # (account, client order id) -> id of the most recent order with it
        self.by_client: dict[tuple[str, str], int] = {}
        self.open_by_account: dict[str, dict[int, RestingOrder]] = {}
        self.trades: dict[str, list[TradeRecord]] = {}  # per account, trade id order
        # Levels changed by the current action, in order: a bid's price units, or an ask's
        # negated (prices are > 0); an ordered set.
        self.touched: dict[int, None] = {}
        self.closed_retention = closed_retention
        self.closed_max_age_ms = closed_max_age_ms
        # accounts whose closed orders are never asked for (the market simulator's): keep none
        self.no_closed_history = frozenset(no_closed_history)
        self.trade_retention = trade_retention
        # accounts whose trades are never asked for (the market simulator's): keep none
        self.no_trade_history = frozenset(no_trade_history)
        # MAX_NUM_ORDERS (None: no limit), and the accounts it does not apply to (the
        # market simulator's)
        self.max_num_orders = max_num_orders
        self.order_limit_exempt = frozenset(order_limit_exempt)

        def ints(value: Decimal, to: int | None) -> int:
            assert to is not None, f"{instrument.symbol}: filter {value} is not exact"
            return to

        i = instrument
        self.tick = ints(i.tick_size, units.price_int(i.tick_size))
        self.min_price = ints(i.min_price, units.price_int(i.min_price))
        self.max_price = ints(i.max_price, units.price_int(i.max_price))
        self.step = ints(i.step_size, units.qty_int(i.step_size))
        self.min_qty = ints(i.min_qty, units.qty_int(i.min_qty))
        self.max_qty = ints(i.max_qty, units.qty_int(i.max_qty))
        self.min_notional = ints(i.min_notional, balances.to_atoms(i.min_notional))
        self.max_notional = ints(i.max_notional, balances.to_atoms(i.max_notional))

    # ---- filters ---------------------------------------------------------------------------

    def price_ok(self, price: int) -> bool:
        if price <= 0 or price < self.min_price or (self.max_price and price > self.max_price):
            return False
        return not self.tick or (price - self.min_price) % self.tick == 0

    def qty_ok(self, qty: int) -> bool:
        if qty <= 0 or qty < self.min_qty or (self.max_qty and qty > self.max_qty):
            return False
        return not self.step or (qty - self.min_qty) % self.step == 0

    def take_execution_id(self) -> int:
        """The id of a new execution (``executionReport`` ``I``): per symbol, growing."""
        execution_id = self.next_execution_id
        self.next_execution_id = execution_id + 1
        return execution_id

    def too_many_orders(self, account: str) -> bool:
        """Would one more order break MAX_NUM_ORDERS for ``account`` on this symbol?"""
        limit = self.max_num_orders
        if limit is None or account in self.order_limit_exempt:
            return False
        return len(self.open_by_account.get(account, ())) >= limit

    # ---- the order store ---------------------------------------------------------------------

    def rename(self, order: RestingOrder, client_order_id: str) -> None:
        """An open order takes a new client order id (``order.amend.keepPriority``)."""
        key = (order.account, order.client_order_id)
        if self.by_client.get(key) == order.order_id:
            del self.by_client[key]
        order.client_order_id = client_order_id
        self.by_client[(order.account, client_order_id)] = order.order_id

    def orders_of(
        self, account: str, from_id: int | None, start_ms: int | None, end_ms: int | None
    ) -> list[RestingOrder | tuple[int, ClosedOrder]]:
        """allOrders: ``account``'s open orders and kept closed ones, ascending ids; from
        ``from_id`` on, and (when given) last updated within ``start_ms``..``end_ms``. A
        scan of the kept records: allOrders is a weight-20 query, not a hot path."""
        found: list[tuple[int, RestingOrder | tuple[int, ClosedOrder]]] = []
        for order_id, order in self.open_by_account.get(account, {}).items():
            if _wanted(order_id, order.update_ms, from_id, start_ms, end_ms):
                found.append((order_id, order))
        for order_id, closed in self.closed_orders.items():
            if closed[0] == account and _wanted(order_id, closed[11], from_id, start_ms, end_ms):
                found.append((order_id, (order_id, closed)))
        found.sort(key=lambda pair: pair[0])
        return [item for _, item in found]

    def open_order(self, order: RestingOrder) -> None:
        """A new order (not yet resting): findable by id and by client order id."""
        self.orders[order.order_id] = order
        self.by_client[(order.account, order.client_order_id)] = order.order_id

    def rest(self, order: RestingOrder) -> None:
        """``order`` now rests on the book: one of its account's open orders."""
        mine = self.open_by_account.get(order.account)
        if mine is None:
            mine = self.open_by_account[order.account] = {}
        mine[order.order_id] = order

    def find(
        self, account: str, order_id: int | None, client_order_id: str | None
    ) -> tuple[RestingOrder | None, ClosedOrder | None, int]:
        """(open order, or closed record, and its id) of ``account`` by either id."""
        if order_id is None:
            assert client_order_id is not None
            found = self.by_client.get((account, client_order_id))
            if found is None:
                return None, None, 0
            order_id = found
        order = self.orders.get(order_id)
        if order is not None:
            if order.account != account or (
                client_order_id is not None and order.client_order_id != client_order_id
            ):
                return None, None, 0
            return order, None, order_id
        closed = self.closed_orders.get(order_id)
        if closed is None or closed[0] != account:
            return None, None, 0
        if client_order_id is not None and closed[1] != client_order_id:
            return None, None, 0
        return None, closed, order_id

    def close(self, order: RestingOrder) -> None:
        """The order is done: keep only its compact record, for queries (the newest
        ``closed_retention`` of them, closed within ``closed_max_age_ms`` of this one; none
        for the accounts in ``no_closed_history``)."""
        order_id = order.order_id
        del self.orders[order_id]
        open_orders = self.open_by_account.get(order.account)
        if open_orders is not None:
            open_orders.pop(order_id, None)
            if not open_orders:
                del self.open_by_account[order.account]
        closed, records = self.closed, self.closed_orders
        max_age = self.closed_max_age_ms
        if max_age is not None:  # closing times never decrease: the oldest are first
            oldest = order.update_ms - max_age
            while closed and records[closed[0]][11] < oldest:
                self._forget_closed(closed.popleft())
        if order.account in self.no_closed_history:
            key = (order.account, order.client_order_id)
            if self.by_client.get(key) == order_id:
                del self.by_client[key]
            return
        records[order_id] = freeze(order)
        closed.append(order_id)
        if len(closed) > self.closed_retention:
            self._forget_closed(closed.popleft())

    def _forget_closed(self, order_id: int) -> None:
        old = self.closed_orders.pop(order_id)
        key = (old[0], old[1])
        if self.by_client.get(key) == order_id:
            del self.by_client[key]

    def record_trade(self, account: str, record: TradeRecord) -> None:
        """Keep one side of a trade for ``account``'s myTrades (at least the newest
        ``trade_retention``; none for the accounts in ``no_trade_history``)."""
        if account in self.no_trade_history:
            return
        trades = self.trades.get(account)
        if trades is None:
            trades = self.trades[account] = []
        trades.append(record)
        if len(trades) > 2 * self.trade_retention:
            del trades[: -self.trade_retention]

    def trades_of(
        self, account: str, order_id: int | None, from_id: int | None, limit: int
    ) -> list[TradeRecord]:
        """myTrades: ascending trade ids; from ``from_id`` on, else the most recent."""
        found = self.trades.get(account, [])
        if order_id is not None:
            found = [t for t in found if t[1] == order_id]
        if from_id is not None:
            return [t for t in found if t[0] >= from_id][:limit]
        return found[-limit:]


def _wanted(
    order_id: int, update_ms: int, from_id: int | None, start_ms: int | None, end_ms: int | None
) -> bool:
    if from_id is not None and order_id < from_id:
        return False
    if start_ms is not None and update_ms < start_ms:
        return False
    return end_ms is None or update_ms <= end_ms
