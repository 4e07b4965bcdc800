"""REST answers of the Binance dialect: bodies in, values out (sans-IO).

What it is for: decoding REST answers (orders in ACK/RESULT/FULL, open orders, cancel-replace
200/409, ``/account``, ``/myTrades``, ``/time``, ``/exchangeInfo`` → Instruments) into the
values of ``mmbot.venue.base``. WebSocket API ``result`` blocks have the same shapes, so the
same decoders read them.

What it must never do: I/O, read a clock, or let anything but :class:`CodecError` escape a
decoder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from mmbot.model import (
    Fill,
    Instrument,
    OrderStatus,
    OrderType,
    Side,
    SymbolStatus,
    TimeInForce,
)
from mmbot.venue.base import CancelReplaceResult, OrderInfo, PlaceAck, ok
from mmbot.venue.binance.codec.failures import decode_error, failure_result
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
    opt_int,
    read_balance,
)
from mmbot.venue.events import Balance

R = TypeVar("R")


# ---- REST bodies ----------------------------------------------------------------------


@decoder("server time")
def decode_server_time(raw: object) -> int:
    return as_int(as_dict(json_value(raw))["serverTime"])


def _order(d: dict[str, Any]) -> OrderInfo:
    orig = d.get("origClientOrderId")  # present on a cancel answer: the order's own id
    tif = d.get("timeInForce")
    return OrderInfo(
        symbol=as_str(d["symbol"]),
        order_id=as_int(d["orderId"]),
        client_order_id=as_str(orig if orig is not None else d["clientOrderId"]),
        side=Side(d["side"]),
        type=OrderType(d["type"]),
        time_in_force=None if tif is None else TimeInForce(tif),
        price=as_decimal(d["price"]),
        orig_qty=as_decimal(d["origQty"]),
        executed_qty=as_decimal(d["executedQty"]),
        cumulative_quote_qty=as_decimal(d["cummulativeQuoteQty"]),
        status=OrderStatus(d["status"]),
        time_ms=opt_int(d.get("time", d.get("transactTime"))),
        update_time_ms=opt_int(d.get("updateTime")),
        cancel_client_order_id=None if orig is None else as_str(d["clientOrderId"]),
    )


@decoder("order")
def decode_order(raw: object) -> OrderInfo:
    """An order as GET /order, DELETE /order or an open-orders entry shows it."""
    return _order(as_dict(json_value(raw)))


@decoder("order list")
def decode_orders(raw: object) -> tuple[OrderInfo, ...]:
    """GET/DELETE /openOrders; order-list (OCO) entries are skipped."""
    return tuple(
        _order(o) for o in map(as_dict, as_list(json_value(raw))) if "contingencyType" not in o
    )


def _place_ack(d: dict[str, Any]) -> PlaceAck:
    symbol, order_id = as_str(d["symbol"]), as_int(d["orderId"])
    coid, when = as_str(d["clientOrderId"]), as_int(d["transactTime"])
    if "status" not in d:  # newOrderRespType=ACK
        return PlaceAck(symbol, order_id, coid, when)
    order = _order(d)
    fills = tuple(
        Fill(
            symbol=symbol,
            order_id=order_id,
            client_order_id=coid,
            trade_id=as_int(f["tradeId"]),
            side=order.side,
            price=as_decimal(f["price"]),
            quantity=as_decimal(f["qty"]),
            fee=as_decimal(f["commission"]),
            fee_asset=as_str(f["commissionAsset"]),
            is_maker=False,  # fills in the placement answer are the taker side
            time_ms=when,
        )
        for f in map(as_dict, as_list(d.get("fills", [])))
    )
    return PlaceAck(symbol, order_id, coid, when, order, fills)


@decoder("order response")
def decode_order_response(raw: object) -> PlaceAck:
    """POST /order answer in any ``newOrderRespType`` (ACK, RESULT, FULL)."""
    return _place_ack(as_dict(json_value(raw)))


def _part(d: dict[str, Any], result_key: str, body_key: str, decode: Callable[[Any], R]) -> Any:
    state = as_str(d[result_key])
    if state == "SUCCESS":
        return ok(decode(as_dict(d[body_key])))
    if state == "NOT_ATTEMPTED":
        return None
    if state != "FAILURE":
        fail(f"unknown {result_key} {state!r}")
    code, msg = decode_error(d[body_key])
    return failure_result(None, code, msg)


@decoder("cancel-replace response")
def decode_cancel_replace(raw: object) -> CancelReplaceResult:
    """A cancel-replace answered 200 (both parts) or 409 (parts inside ``data``)."""
    d = as_dict(json_value(raw))
    if "data" in d and "code" in d:
        d = as_dict(d["data"])
    cancel = _part(d, "cancelResult", "cancelResponse", _order)
    if cancel is None:
        fail("the cancel part of a cancel-replace is always attempted")
    return CancelReplaceResult(cancel, _part(d, "newOrderResult", "newOrderResponse", _place_ack))


@decoder("account")
def decode_account(raw: object) -> tuple[Balance, ...]:
    balances = as_list(as_dict(json_value(raw))["balances"])
    return tuple(read_balance(as_dict(b), "asset", "free", "locked") for b in balances)


@decoder("trade list")
def decode_my_trades(raw: object) -> tuple[Fill, ...]:
    """GET /myTrades; ``client_order_id`` is "" (the venue does not say)."""
    return tuple(
        Fill(
            symbol=as_str(t["symbol"]),
            order_id=as_int(t["orderId"]),
            client_order_id="",
            trade_id=as_int(t["id"]),
            side=Side.BUY if as_bool(t["isBuyer"]) else Side.SELL,
            price=as_decimal(t["price"]),
            quantity=as_decimal(t["qty"]),
            fee=as_decimal(t["commission"]),
            fee_asset=as_str(t["commissionAsset"]),
            is_maker=as_bool(t["isMaker"]),
            time_ms=as_int(t["time"]),
        )
        for t in map(as_dict, as_list(json_value(raw)))
    )


def _symbol_status(v: object) -> SymbolStatus:
    """Statuses mmbot does not model (PRE_TRADING, AUCTION_MATCH, ...) count as HALT."""
    try:
        return SymbolStatus(as_str(v))
    except ValueError:
        return SymbolStatus.HALT


def _instrument(s: dict[str, Any]) -> Instrument:
    filters = {as_str(f["filterType"]): f for f in map(as_dict, as_list(s["filters"]))}
    price, lot = filters["PRICE_FILTER"], filters["LOT_SIZE"]
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    max_notional = notional.get("maxNotional")
    return Instrument(
        symbol=as_str(s["symbol"]),
        base_asset=as_str(s["baseAsset"]),
        quote_asset=as_str(s["quoteAsset"]),
        tick_size=as_decimal(price["tickSize"]),
        step_size=as_decimal(lot["stepSize"]),
        min_price=as_decimal(price["minPrice"]),
        max_price=as_decimal(price["maxPrice"]),
        min_qty=as_decimal(lot["minQty"]),
        max_qty=as_decimal(lot["maxQty"]),
        min_notional=as_decimal(notional.get("minNotional", "0")),
        max_notional=Decimal(0) if max_notional is None else as_decimal(max_notional),
        status=_symbol_status(s["status"]),
    )


@decoder("exchangeInfo")
def decode_exchange_info(
    raw: object, symbols: Sequence[str] | None = None
) -> tuple[Instrument, ...]:
    """Instruments with their filters; only ``symbols`` (if given) are decoded."""
    wanted = None if symbols is None else set(symbols)
    return tuple(
        _instrument(s)
        for s in map(as_dict, as_list(as_dict(json_value(raw))["symbols"]))
        if wanted is None or s.get("symbol") in wanted
    )
