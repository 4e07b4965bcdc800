"""Frozen views and execution reports of the engine's orders (sans-IO).

What it is for: turning the engine's integer records (``book.RestingOrder``) into
the contract's values (``OrderView``, ``TradeView``, ``Execution``) with Decimal
prices and quantities quantized to the instrument's tick and step.

What it must never do: I/O, read a clock, draw randomness, or change an order.
"""

from __future__ import annotations

import base64
import hashlib
from decimal import Decimal

from mmbot.model import ZERO, ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.engine.book import RestingOrder
from mmbot.sim.engine.contract import Execution, OrderView, TradeView
from mmbot.sim.engine.units import Units
from mmbot.venue.binance.errors import DialectError

#: ``r`` of a REJECTED execution report (sent only for the new order of a cancel-replace
#: whose cancel succeeded), by the rejection's message.
_REJECT_REASONS = {
    "Duplicate order sent.": "DUPLICATE_ORDER",
    "Order would immediately match and take.": "ORDER_WOULD_IMMEDIATELY_MATCH",
    "Account has insufficient balance for requested action.": "INSUFFICIENT_BALANCES",
    "Market is closed.": "MARKET_CLOSED",
}


# Closed orders and trades are kept as plain tuples of ints, strs and Decimals: CPython's
# collector stops tracking such tuples, so a long history costs the collector nothing.

#: One side of one trade: (trade_id, order_id, client_order_id, is_buy, price units, lots,
#: notional in price units x lots, commission, commission asset, time_ms, is_maker).
TradeRecord = tuple[int, int, str, bool, int, int, int, Decimal, str, int, bool]

#: A closed order: (account, client_order_id, is_buy, type, time_in_force, price units,
#: orig lots, executed lots, notional in price units x lots, status, time_ms, update_ms,
#: working_ms, orig_client_order_id), enums by value.
ClosedOrder = tuple[str, str, bool, str, str, int, int, int, int, str, int, int, int, str | None]

_TYPES = {m.value: m for m in OrderType}
_TIFS = {m.value: m for m in TimeInForce}
_STATUSES = {m.value: m for m in OrderStatus}


def trade_view(record: TradeRecord, account: str, symbol: str, units: Units) -> TradeView:
    trade_id, order_id, cid, is_buy, price, qty, notional, fee, fee_asset, time_ms, maker = record
    return TradeView(
        account,
        symbol,
        trade_id,
        order_id,
        cid,
        Side.BUY if is_buy else Side.SELL,
        units.prices[price],
        units.qtys[qty],
        units.notionals[notional],
        fee,
        fee_asset,
        time_ms,
        is_buy,
        maker,
    )


def freeze(order: RestingOrder) -> ClosedOrder:
    """The compact record of an order that left the engine's live state."""
    return (
        order.account,
        order.client_order_id,
        order.is_buy,
        order.type.value,
        order.time_in_force.value,
        order.price,
        order.orig_qty,
        order.executed,
        order.cum_notional,
        order.status.value,
        order.time_ms,
        order.update_ms,
        order.working_ms,
        order.orig_client_order_id,
    )


def closed_view(symbol: str, order_id: int, closed: ClosedOrder, units: Units) -> OrderView:
    (account, cid, is_buy, kind, tif, price, orig, executed, quote, status, t, u, w, orig_cid) = (
        closed
    )
    qtys = units.qtys
    return OrderView(
        account,
        symbol,
        order_id,
        cid,
        Side.BUY if is_buy else Side.SELL,
        _TYPES[kind],
        _TIFS[tif],
        units.prices[price],
        qtys[orig],
        qtys[executed],
        units.notionals[quote],
        _STATUSES[status],
        t,
        u,
        w,
        orig_cid,
    )


def order_view(order: RestingOrder, units: Units) -> OrderView:
    qtys = units.qtys
    return OrderView(
        order.account,
        order.symbol,
        order.order_id,
        order.client_order_id,
        order.side,
        order.type,
        order.time_in_force,
        units.prices[order.price],
        qtys[order.orig_qty],
        qtys[order.executed],
        units.notionals[order.cum_notional],
        order.status,
        order.time_ms,
        order.update_ms,
        order.working_ms,
        order.orig_client_order_id,
    )


def order_report(
    order: RestingOrder,
    units: Units,
    now_ms: int,
    execution_id: int,
    kind: ExecutionType,
    *,
    client_order_id: str | None = None,
    last_qty: Decimal | None = None,
    last_price: Decimal | None = None,
    commission: Decimal = ZERO,
    commission_asset: str | None = None,
    trade_id: int = -1,
    is_maker: bool = False,
    orig_client_order_id: str = "",
    is_working: bool = False,
) -> Execution:
    """One execution report of ``order`` as it stands now (status, executed quantity and
    notional already applied): the order's own fields, and what this execution says of
    itself (the last fill, its fee, ``c``/``C``, ``w``)."""
    return Execution(
        order.account,
        now_ms,
        order.symbol,
        order.client_order_id if client_order_id is None else client_order_id,
        order.side,
        order.type,
        order.time_in_force,
        units.qtys[order.orig_qty],
        units.prices[order.price],
        kind,
        order.status,
        "NONE",
        order.order_id,
        units.zero_qty if last_qty is None else last_qty,
        units.qtys[order.executed],
        units.zero_price if last_price is None else last_price,
        commission,
        commission_asset,
        now_ms,
        trade_id,
        is_maker,
        orig_client_order_id,
        units.notionals[order.cum_notional],
        is_working,
        order.time_ms,
        execution_id,
    )


def new_report(order: RestingOrder, units: Units, now_ms: int, execution_id: int) -> Execution:
    """NEW: the order was accepted (``w`` true unless it is a MARKET order)."""
    return order_report(
        order, units, now_ms, execution_id, ExecutionType.NEW,
        is_working=order.type is not OrderType.MARKET,
    )  # fmt: skip


def trade_report(
    order: RestingOrder,
    units: Units,
    now_ms: int,
    last_qty: Decimal,
    last_price: Decimal,
    commission: Decimal,
    commission_asset: str,
    trade_id: int,
    is_maker: bool,
    done: bool,
    execution_id: int,
) -> Execution:
    """TRADE: one fill of ``order`` (already applied to it)."""
    return order_report(
        order, units, now_ms, execution_id, ExecutionType.TRADE,
        last_qty=last_qty, last_price=last_price, commission=commission,
        commission_asset=commission_asset, trade_id=trade_id, is_maker=is_maker,
        is_working=is_maker and not done,
    )  # fmt: skip


def amended_report(
    order: RestingOrder, units: Units, now_ms: int, previous_client_id: str, execution_id: int
) -> Execution:
    """REPLACED: ``order.amend.keepPriority`` reduced the order's quantity in place (its new
    quantity, client order id and status already set); ``C`` is the client order id it had
    before."""
    return order_report(
        order, units, now_ms, execution_id, ExecutionType.REPLACED,
        orig_client_order_id=previous_client_id, is_working=order.working_ms >= 0,
    )  # fmt: skip


def cancel_client_order_id(symbol: str, order_id: int) -> str:
    """The client id of the cancel of ``order_id`` when the canceller named none.

    Binance generates a random one; ours is derived from the order (22 characters of
    ``[A-Za-z0-9_-]``, deterministic), so the REST or WebSocket API answer to the cancel and
    the CANCELED execution report (``c``) carry the same id.
    """
    digest = hashlib.blake2b(f"{symbol}:{order_id}".encode(), digest_size=16).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def closing_report(
    order: RestingOrder, units: Units, now_ms: int, kind: ExecutionType, execution_id: int
) -> Execution:
    """CANCELED or EXPIRED: the order left the book (its status already set).

    Like Binance, a CANCELED report's ``c`` names the cancel and ``C`` the order; an EXPIRED
    one has the order's id in ``c`` and ``C`` empty.
    """
    if kind is not ExecutionType.CANCELED:
        return order_report(order, units, now_ms, execution_id, kind)
    return order_report(
        order, units, now_ms, execution_id, kind,
        client_order_id=cancel_client_order_id(order.symbol, order.order_id),
        orig_client_order_id=order.client_order_id,
    )  # fmt: skip


def rejected_report(
    account: str,
    symbol: str,
    client_order_id: str,
    side: Side,
    order_type: OrderType,
    quantity: Decimal,
    price: Decimal,
    rejection: DialectError,
    now_ms: int,
    execution_id: int,
) -> Execution:
    """REJECTED report for a cancel-replace's new order (order id -1: it never existed)."""
    return Execution(
        account,
        now_ms,
        symbol,
        client_order_id,
        side,
        order_type,
        TimeInForce.GTC,
        quantity,
        price,
        ExecutionType.REJECTED,
        OrderStatus.REJECTED,
        _REJECT_REASONS.get(rejection.msg, "OTHER"),
        -1,
        ZERO,
        ZERO,
        ZERO,
        ZERO,
        None,
        now_ms,
        -1,
        False,
        "",
        ZERO,
        False,
        now_ms,
        execution_id,
    )
