"""User-data events of the Binance dialect: the account's frames in, typed events out (sans-IO).

What it is for: decoding ``executionReport`` (into an :class:`ExecutionReport` and the order
event it stands for, :func:`event_from_report`), ``outboundAccountPosition``,
``balanceUpdate`` and ``eventStreamTerminated`` into the :data:`UserEvent` values of
``mmbot.venue.events``.

What it must never do: I/O, read a clock, or let anything but :class:`CodecError` escape a
decoder. Quantities and prices are exact Decimals; a TRADE report without a trade id is
refused, not turned into a fill.
"""

from __future__ import annotations

from typing import Any

from mmbot.model import ExecutionType, Fill, OrderStatus, OrderType, Side, TimeInForce
from mmbot.venue.binance.codec.primitives import (
    as_bool,
    as_decimal,
    as_dict,
    as_int,
    as_list,
    as_str,
    decoder,
    fail,
    json_value,
    opt_decimal,
    opt_int,
    read_balance,
)
from mmbot.venue.events import (
    BalanceChanged,
    BalanceDelta,
    ExecutionReport,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    StreamGap,
    UserEvent,
)


def _execution_report(d: dict[str, Any]) -> ExecutionReport:
    commission_asset, orig = d.get("N"), d.get("C")
    return ExecutionReport(
        event_time_ms=as_int(d["E"]),
        symbol=as_str(d["s"]),
        client_order_id=as_str(d["c"]),
        side=Side(d["S"]),
        order_type=OrderType(d["o"]),
        time_in_force=TimeInForce(d["f"]),
        quantity=as_decimal(d["q"]),
        price=as_decimal(d["p"]),
        execution_type=ExecutionType(d["x"]),
        status=OrderStatus(d["X"]),
        reject_reason=as_str(d["r"]),
        order_id=as_int(d["i"]),
        last_qty=as_decimal(d["l"]),
        cumulative_qty=as_decimal(d["z"]),
        last_price=as_decimal(d["L"]),
        commission=as_decimal(d["n"]),
        commission_asset=None if commission_asset is None else as_str(commission_asset),
        transaction_time_ms=as_int(d["T"]),
        trade_id=as_int(d["t"]),
        is_maker=as_bool(d["m"]),
        orig_client_order_id="" if orig is None else as_str(orig),
        cumulative_quote_qty=as_decimal(d["Z"]),
        is_working=as_bool(d.get("w", False)),
        order_creation_time_ms=opt_int(d.get("O")),
        working_time_ms=opt_int(d.get("W")),
        last_quote_qty=opt_decimal(d.get("Y")),
        quote_order_qty=opt_decimal(d.get("Q")),
    )


def event_from_report(report: ExecutionReport) -> OrderEvent:
    """The typed order event an execution report stands for."""
    kind = report.execution_type
    if kind is ExecutionType.TRADE:
        if report.trade_id < 0:
            fail("a TRADE execution report without a trade id")
        fill = Fill(
            symbol=report.symbol,
            order_id=report.order_id,
            client_order_id=report.client_order_id,
            trade_id=report.trade_id,
            side=report.side,
            price=report.last_price,
            quantity=report.last_qty,
            fee=report.commission,
            fee_asset=report.commission_asset or "",
            is_maker=report.is_maker,
            time_ms=report.transaction_time_ms,
        )
        return OrderFilled(report, fill)
    if kind is ExecutionType.CANCELED:
        return OrderCancelled(report)
    if kind is ExecutionType.REJECTED:
        return OrderRejected(report, report.reject_reason)
    if kind in (ExecutionType.EXPIRED, ExecutionType.TRADE_PREVENTION):
        return OrderExpired(report)
    return OrderAccepted(report)  # NEW, REPLACED


def read_user_event(d: dict[str, Any]) -> UserEvent:
    """A user event from its parsed JSON object (``e`` names its type)."""
    event = d.get("e")
    if event == "executionReport":
        return event_from_report(_execution_report(d))
    if event == "outboundAccountPosition":
        balances = tuple(read_balance(as_dict(b), "a", "f", "l") for b in as_list(d["B"]))
        return BalanceChanged(as_int(d["E"]), balances, opt_int(d.get("u")))
    if event == "balanceUpdate":
        return BalanceDelta(as_int(d["E"]), as_str(d["a"]), as_decimal(d["d"]), opt_int(d.get("T")))
    if event == "eventStreamTerminated":
        return StreamGap("eventStreamTerminated", as_int(d["E"]))
    fail(f"unknown user event type {event!r}")


@decoder("user event")
def decode_user_event(raw: object) -> UserEvent:
    """A bare user event object (the ``event`` of a WebSocket API user-data message)."""
    return read_user_event(as_dict(json_value(raw)))
