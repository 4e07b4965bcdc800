"""Per-symbol state and the admission rules of a new order (sans-IO).

What it is for: :class:`SymbolState` (one symbol's book, counters, order stores and its
filters in integers) and :func:`admit`, which checks a new order exactly as the venue
does before it reaches the book (parameters, symbol status, PRICE_FILTER, LOT_SIZE,
NOTIONAL, duplicate client order id, LIMIT_MAKER crossing, balance) and returns either a
:class:`Plan` in integers or the dialect's :class:`Rejection`.

What it must never do: I/O, read a clock, draw randomness, or change any state: admission
is a pure question asked of the book and the ledger.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal

from mmbot.model import Instrument, OrderType, Side, SymbolStatus, TimeInForce
from mmbot.sim.events import OrderRequest, Rejection
from mmbot.sim.matching_book import Book, RestingOrder
from mmbot.sim.matching_money import Ledger, Units
from mmbot.sim.matching_reports import ClosedOrder, TradeRecord
from mmbot.venue.binance.errors import (
    MSG_DUPLICATE_ORDER,
    MSG_INSUFFICIENT_BALANCE,
    MSG_MARKET_CLOSED,
    MSG_WOULD_TAKE,
    Code,
    DialectError,
    filter_failure,
    new_order_rejected,
)

MSG_NO_LIQUIDITY = "Order book liquidity is less than symbol minimum quantity."

MARKET_CLOSED = DialectError(Code.INVALID_MESSAGE, MSG_MARKET_CLOSED)
PRICE_FILTER = filter_failure("PRICE_FILTER")
LOT_SIZE = filter_failure("LOT_SIZE")
NOTIONAL = filter_failure("NOTIONAL")
DUPLICATE = new_order_rejected(MSG_DUPLICATE_ORDER)
WOULD_TAKE = new_order_rejected(MSG_WOULD_TAKE)
INSUFFICIENT = new_order_rejected(MSG_INSUFFICIENT_BALANCE)
NO_LIQUIDITY = new_order_rejected(MSG_NO_LIQUIDITY)
MARKET_QTY_MISSING = DialectError(
    Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
    "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!",
)
QUOTE_QTY_NOT_REQUIRED = DialectError(
    Code.PARAM_NOT_REQUIRED, "Parameter 'quoteOrderQty' sent when not required."
)
QUOTE_QTY_PRECISION = DialectError(
    Code.BAD_PRECISION, "Parameter 'quoteOrderQty' has too much precision."
)


def _missing(name: str) -> Rejection:
    return DialectError(
        Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


class SymbolState:
    """Everything the engine keeps for one symbol."""

    __slots__ = (
        "book",
        "by_client",
        "closed",
        "closed_orders",
        "instrument",
        "max_notional",
        "max_price",
        "max_qty",
        "min_notional",
        "min_price",
        "min_qty",
        "next_order_id",
        "next_trade_id",
        "open_by_account",
        "orders",
        "status",
        "step",
        "tick",
        "touched",
        "trades",
        "units",
        "update_id",
    )

    def __init__(self, instrument: Instrument, units: Units, ledger: Ledger) -> None:
        self.instrument = instrument
        self.units = units
        self.status = instrument.status
        self.book = Book()
        self.next_order_id = 1
        self.next_trade_id = 1
        self.update_id = 0  # Invariant: the id of the last BookDelta emitted
        self.orders: dict[int, RestingOrder] = {}  # Invariant: exactly the open orders
        self.closed_orders: dict[int, ClosedOrder] = {}  # the most recent closed ones
        self.closed: deque[int] = deque()  # their ids, oldest first
        # (account, client order id) -> id of the most recent order with it
        self.by_client: dict[tuple[str, str], int] = {}
        self.open_by_account: dict[str, dict[int, RestingOrder]] = {}
        self.trades: dict[str, list[TradeRecord]] = {}  # per account, trade id order
        self.touched: dict[tuple[bool, int], None] = {}  # levels changed by this action

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
        self.min_notional = ints(i.min_notional, ledger.to_atoms(i.min_notional))
        self.max_notional = ints(i.max_notional, ledger.to_atoms(i.max_notional))

    def price_ok(self, price: int) -> bool:
        if price <= 0 or price < self.min_price or (self.max_price and price > self.max_price):
            return False
        return not self.tick or (price - self.min_price) % self.tick == 0

    def qty_ok(self, qty: int) -> bool:
        if qty <= 0 or qty < self.min_qty or (self.max_qty and qty > self.max_qty):
            return False
        return not self.step or (qty - self.min_qty) % self.step == 0


class Plan:
    """An admitted new order in integers: what to lock and how to match it."""

    __slots__ = ("lock_asset", "lock_atoms", "price", "qty", "time_in_force", "type")

    def __init__(
        self,
        type: OrderType,
        time_in_force: TimeInForce,
        price: int,
        qty: int,
        lock_asset: str,
        lock_atoms: int,
    ) -> None:
        self.type = type
        self.time_in_force = time_in_force
        self.price = price  # price units; 0 for MARKET
        self.qty = qty  # lots (for a quoteOrderQty MARKET: what the book gives for it)
        self.lock_asset = lock_asset
        self.lock_atoms = lock_atoms  # LIMIT: locked now; MARKET: free funds required


def walk(
    book: Book, is_buy: bool, notional_scale: int, *, qty: int | None, budget: int | None
) -> tuple[int, int, int]:
    """What a market order would take: (lots, quote atoms, last price units)."""
    lots = cost = last = 0
    for price, level_qty in book.opposite_levels(is_buy):
        last = price
        unit = price * notional_scale
        if qty is not None:
            take = min(level_qty, qty - lots)
        else:
            assert budget is not None
            take = min(level_qty, (budget - cost) // unit)
        if take <= 0:
            break
        lots += take
        cost += take * unit
        if qty is not None and lots == qty:
            break
    return lots, cost, last


def fillable(book: Book, is_buy: bool, limit: int, qty: int) -> bool:
    """Can ``qty`` lots be bought (sold) at ``limit`` or better right now? (FOK)"""
    total = 0
    for price, level_qty in book.opposite_levels(is_buy):
        if (price > limit) if is_buy else (price < limit):
            return False
        total += level_qty
        if total >= qty:
            return True
    return False


def admit(st: SymbolState, req: OrderRequest, ledger: Ledger) -> Plan | Rejection:
    """Check a new order as the venue does, in the venue's order of checks."""
    units = st.units
    is_buy = req.side is Side.BUY
    inst = st.instrument
    if req.type is OrderType.MARKET:
        return _admit_market(st, req, ledger, is_buy)
    if req.time_in_force is None and req.type is OrderType.LIMIT:
        return _missing("timeInForce")
    if req.price is None:
        return _missing("price")
    if req.quantity is None:
        return _missing("quantity")
    if req.quote_order_qty is not None:
        return QUOTE_QTY_NOT_REQUIRED
    if st.status is not SymbolStatus.TRADING:
        return MARKET_CLOSED
    price = units.price_int(req.price)
    if price is None or not st.price_ok(price):
        return PRICE_FILTER
    qty = units.qty_int(req.quantity)
    if qty is None or not st.qty_ok(qty):
        return LOT_SIZE
    notional = price * qty * units.notional_scale
    if notional < st.min_notional or (st.max_notional and notional > st.max_notional):
        return NOTIONAL
    if st.by_client.get((req.account, req.client_order_id)) in st.orders:
        return DUPLICATE
    if req.type is OrderType.LIMIT_MAKER and st.book.would_cross(is_buy, price):
        return WOULD_TAKE
    if is_buy:
        asset, need = inst.quote_asset, notional
    else:
        asset, need = inst.base_asset, qty * units.qty_scale
    if ledger.free(req.account, asset) < need:
        return INSUFFICIENT
    tif = req.time_in_force or TimeInForce.GTC
    return Plan(req.type, tif, price, qty, asset, need)


def _admit_market(
    st: SymbolState, req: OrderRequest, ledger: Ledger, is_buy: bool
) -> Plan | Rejection:
    units = st.units
    inst = st.instrument
    if req.quantity is None and req.quote_order_qty is None:
        return MARKET_QTY_MISSING
    if req.quantity is not None and req.quote_order_qty is not None:
        return QUOTE_QTY_NOT_REQUIRED
    if st.status is not SymbolStatus.TRADING:
        return MARKET_CLOSED
    book = st.book
    ns = units.notional_scale
    budget: int | None = None
    if req.quantity is not None:
        qty = units.qty_int(req.quantity)
        if qty is None or not st.qty_ok(qty):
            return LOT_SIZE
        lots, cost, last = walk(book, is_buy, ns, qty=qty, budget=None)
        # NOTIONAL's minimum applies to MARKET (applyMinToMarket): estimated on the book,
        # the part the book cannot fill valued at the last level reached.
        if last and cost + (qty - lots) * last * ns < st.min_notional:
            return NOTIONAL
    else:
        assert req.quote_order_qty is not None
        if req.quote_order_qty <= 0:
            return NOTIONAL
        budget = ledger.to_atoms(req.quote_order_qty)
        if budget is None:
            return QUOTE_QTY_PRECISION
        if budget < st.min_notional:
            return NOTIONAL
        if not (st.book.ask_keys if is_buy else st.book.bid_keys):
            return NO_LIQUIDITY
        lots, cost, last = walk(book, is_buy, ns, qty=None, budget=budget)
        if st.max_qty and lots > st.max_qty:
            lots = st.max_qty
            lots, cost, last = walk(book, is_buy, ns, qty=lots, budget=None)
        if lots <= 0 or lots < st.min_qty:
            return LOT_SIZE
        qty = lots
    if st.by_client.get((req.account, req.client_order_id)) in st.orders:
        return DUPLICATE
    if is_buy:
        # by quantity: what the book will charge; by quoteOrderQty: the whole amount
        asset = inst.quote_asset
        need = cost if budget is None else budget
    else:
        asset, need = inst.base_asset, qty * units.qty_scale
    if ledger.free(req.account, asset) < need:
        return INSUFFICIENT
    return Plan(OrderType.MARKET, TimeInForce.GTC, 0, qty, asset, need)
