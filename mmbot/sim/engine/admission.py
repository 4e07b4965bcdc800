"""The admission rules of a new order: what the venue checks before it reaches the book (sans-IO).

What it is for: :func:`admit` checks a new order exactly as the venue does (parameters,
symbol status, PRICE_FILTER, LOT_SIZE, NOTIONAL, MAX_NUM_ORDERS, duplicate client order id,
LIMIT_MAKER crossing, balance), in the venue's order of checks, and returns either a
:class:`Plan` in integers or the dialect's :class:`DialectError`; :func:`fillable` answers
FOK's question.

What it must never do: I/O, read a clock, draw randomness, or change any state: admission
is a pure question asked of the symbol's book and the balances.
"""

from __future__ import annotations

from mmbot.model import OrderType, Side, SymbolStatus, TimeInForce
from mmbot.sim.engine.balances import Balances
from mmbot.sim.engine.book import OrderBook
from mmbot.sim.engine.contract import OrderRequest
from mmbot.sim.engine.symbol import SymbolState
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
MAX_NUM_ORDERS = filter_failure("MAX_NUM_ORDERS")
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


def _missing(name: str) -> DialectError:
    return DialectError(
        Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


#: An admitted new order in integers, what to lock and how to match it: (type, time in
#: force, price units (0 for MARKET), lots (for a quoteOrderQty MARKET: what the book gives
#: for it), the asset to lock, its atoms (LIMIT: locked now; MARKET: free funds required)).
#: A plain tuple: it lives for one ``place`` and is unpacked at once.
Plan = tuple[OrderType, TimeInForce, int, int, str, int]


def walk(
    book: OrderBook, is_buy: bool, notional_scale: int, *, qty: int | None, budget: int | None
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


def fillable(book: OrderBook, is_buy: bool, limit: int, qty: int) -> bool:
    """Can ``qty`` lots be bought (sold) at ``limit`` or better right now? (FOK)"""
    total = 0
    for price, level_qty in book.opposite_levels(is_buy):
        if (price > limit) if is_buy else (price < limit):
            return False
        total += level_qty
        if total >= qty:
            return True
    return False


def admit(st: SymbolState, req: OrderRequest, balances: Balances) -> Plan | DialectError:
    """Check a new order as the venue does, in the venue's order of checks."""
    units = st.units
    is_buy = req.side is Side.BUY
    inst = st.instrument
    if req.type is OrderType.MARKET:
        return _admit_market(st, req, balances, is_buy)
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
    if st.too_many_orders(req.account):
        return MAX_NUM_ORDERS
    if st.by_client.get((req.account, req.client_order_id)) in st.orders:
        return DUPLICATE
    if req.type is OrderType.LIMIT_MAKER and st.book.would_cross(is_buy, price):
        return WOULD_TAKE
    if is_buy:
        asset, need = inst.quote_asset, notional
    else:
        asset, need = inst.base_asset, qty * units.qty_scale
    if balances.free(req.account, asset) < need:
        return INSUFFICIENT
    tif = req.time_in_force or TimeInForce.GTC
    return req.type, tif, price, qty, asset, need


def _admit_market(
    st: SymbolState, req: OrderRequest, balances: Balances, is_buy: bool
) -> Plan | DialectError:
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
        budget = balances.to_atoms(req.quote_order_qty)
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
    if st.too_many_orders(req.account):
        return MAX_NUM_ORDERS
    if st.by_client.get((req.account, req.client_order_id)) in st.orders:
        return DUPLICATE
    if is_buy:
        # by quantity: what the book will charge; by quoteOrderQty: the whole amount
        asset = inst.quote_asset
        need = cost if budget is None else budget
    else:
        asset, need = inst.base_asset, qty * units.qty_scale
    if balances.free(req.account, asset) < need:
        return INSUFFICIENT
    return OrderType.MARKET, TimeInForce.GTC, 0, qty, asset, need
