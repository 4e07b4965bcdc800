"""Wire codec of the Binance Spot dialect, REST half (sans-IO): bodies in, parameters out.

What it is for: decoding REST answers (orders in ACK/RESULT/FULL, open orders, cancel-replace
200/409, ``/account``, ``/myTrades``, ``/time``, ``/exchangeInfo`` → Instruments) into the
values of ``mmbot.venue.base``, and encoding order parameters with Decimals as plain strings
(``format_decimal``: no exponent). WebSocket API ``result`` blocks have the same shapes, so
the same decoders read them. Streams, user events and error bodies live in ``codec.py``,
whose primitives this module shares.

What it must never do: I/O, read a clock, or let anything but :class:`CodecError` escape a
decoder (encoders raise ``ValueError`` for a request that cannot be valid).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    format_decimal,
)
from mmbot.venue.base import (
    Balance,
    CancelReplaceRequest,
    CancelReplaceResult,
    OrderInfo,
    OrderRef,
    PlaceAck,
    PlaceRequest,
    ok,
)
from mmbot.venue.binance.codec import (
    _balance,
    _bool,
    _dec,
    _decoder,
    _dict,
    _fail,
    _int,
    _list,
    _obj,
    _opt_int,
    _str,
    decode_error,
    failure_result,
)

R = TypeVar("R")


# ---- REST bodies ----------------------------------------------------------------------


@_decoder("server time")
def decode_server_time(raw: object) -> int:
    return _int(_dict(_obj(raw))["serverTime"])


def _order(d: dict[str, Any]) -> OrderInfo:
    orig = d.get("origClientOrderId")  # present on a cancel answer: the order's own id
    tif = d.get("timeInForce")
    return OrderInfo(
        symbol=_str(d["symbol"]),
        order_id=_int(d["orderId"]),
        client_order_id=_str(orig if orig is not None else d["clientOrderId"]),
        side=Side(d["side"]),
        type=OrderType(d["type"]),
        time_in_force=None if tif is None else TimeInForce(tif),
        price=_dec(d["price"]),
        orig_qty=_dec(d["origQty"]),
        executed_qty=_dec(d["executedQty"]),
        cumulative_quote_qty=_dec(d["cummulativeQuoteQty"]),
        status=OrderStatus(d["status"]),
        time_ms=_opt_int(d.get("time", d.get("transactTime"))),
        update_time_ms=_opt_int(d.get("updateTime")),
        cancel_client_order_id=None if orig is None else _str(d["clientOrderId"]),
    )


@_decoder("order")
def decode_order(raw: object) -> OrderInfo:
    """An order as GET /order, DELETE /order or an open-orders entry shows it."""
    return _order(_dict(_obj(raw)))


@_decoder("order list")
def decode_orders(raw: object) -> tuple[OrderInfo, ...]:
    """GET/DELETE /openOrders; order-list (OCO) entries are skipped."""
    return tuple(_order(o) for o in map(_dict, _list(_obj(raw))) if "contingencyType" not in o)


def _place_ack(d: dict[str, Any]) -> PlaceAck:
    symbol, order_id = _str(d["symbol"]), _int(d["orderId"])
    coid, when = _str(d["clientOrderId"]), _int(d["transactTime"])
    if "status" not in d:  # newOrderRespType=ACK
        return PlaceAck(symbol, order_id, coid, when)
    order = _order(d)
    fills = tuple(
        Fill(
            symbol=symbol,
            order_id=order_id,
            client_order_id=coid,
            trade_id=_int(f["tradeId"]),
            side=order.side,
            price=_dec(f["price"]),
            quantity=_dec(f["qty"]),
            fee=_dec(f["commission"]),
            fee_asset=_str(f["commissionAsset"]),
            is_maker=False,  # fills in the placement answer are the taker side
            time_ms=when,
        )
        for f in map(_dict, _list(d.get("fills", [])))
    )
    return PlaceAck(symbol, order_id, coid, when, order, fills)


@_decoder("order response")
def decode_order_response(raw: object) -> PlaceAck:
    """POST /order answer in any ``newOrderRespType`` (ACK, RESULT, FULL)."""
    return _place_ack(_dict(_obj(raw)))


def _part(d: dict[str, Any], result_key: str, body_key: str, decode: Callable[[Any], R]) -> Any:
    state = _str(d[result_key])
    if state == "SUCCESS":
        return ok(decode(_dict(d[body_key])))
    if state == "NOT_ATTEMPTED":
        return None
    if state != "FAILURE":
        _fail(f"unknown {result_key} {state!r}")
    code, msg = decode_error(d[body_key])
    return failure_result(None, code, msg)


@_decoder("cancel-replace response")
def decode_cancel_replace(raw: object) -> CancelReplaceResult:
    """A cancel-replace answered 200 (both parts) or 409 (parts inside ``data``)."""
    d = _dict(_obj(raw))
    if "data" in d and "code" in d:
        d = _dict(d["data"])
    cancel = _part(d, "cancelResult", "cancelResponse", _order)
    if cancel is None:
        _fail("the cancel part of a cancel-replace is always attempted")
    return CancelReplaceResult(cancel, _part(d, "newOrderResult", "newOrderResponse", _place_ack))


@_decoder("account")
def decode_account(raw: object) -> tuple[Balance, ...]:
    balances = _list(_dict(_obj(raw))["balances"])
    return tuple(_balance(_dict(b), "asset", "free", "locked") for b in balances)


@_decoder("trade list")
def decode_my_trades(raw: object) -> tuple[Fill, ...]:
    """GET /myTrades; ``client_order_id`` is "" (the venue does not say)."""
    return tuple(
        Fill(
            symbol=_str(t["symbol"]),
            order_id=_int(t["orderId"]),
            client_order_id="",
            trade_id=_int(t["id"]),
            side=Side.BUY if _bool(t["isBuyer"]) else Side.SELL,
            price=_dec(t["price"]),
            quantity=_dec(t["qty"]),
            fee=_dec(t["commission"]),
            fee_asset=_str(t["commissionAsset"]),
            is_maker=_bool(t["isMaker"]),
            time_ms=_int(t["time"]),
        )
        for t in map(_dict, _list(_obj(raw)))
    )


def _symbol_status(v: object) -> SymbolStatus:
    """Statuses mmbot does not model (PRE_TRADING, AUCTION_MATCH, ...) count as HALT."""
    try:
        return SymbolStatus(_str(v))
    except ValueError:
        return SymbolStatus.HALT


def _instrument(s: dict[str, Any]) -> Instrument:
    filters = {_str(f["filterType"]): f for f in map(_dict, _list(s["filters"]))}
    price, lot = filters["PRICE_FILTER"], filters["LOT_SIZE"]
    notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
    max_notional = notional.get("maxNotional")
    return Instrument(
        symbol=_str(s["symbol"]),
        base_asset=_str(s["baseAsset"]),
        quote_asset=_str(s["quoteAsset"]),
        tick_size=_dec(price["tickSize"]),
        step_size=_dec(lot["stepSize"]),
        min_price=_dec(price["minPrice"]),
        max_price=_dec(price["maxPrice"]),
        min_qty=_dec(lot["minQty"]),
        max_qty=_dec(lot["maxQty"]),
        min_notional=_dec(notional.get("minNotional", "0")),
        max_notional=Decimal(0) if max_notional is None else _dec(max_notional),
        status=_symbol_status(s["status"]),
    )


@_decoder("exchangeInfo")
def decode_exchange_info(
    raw: object, symbols: Sequence[str] | None = None
) -> tuple[Instrument, ...]:
    """Instruments with their filters; only ``symbols`` (if given) are decoded."""
    wanted = None if symbols is None else set(symbols)
    return tuple(
        _instrument(s)
        for s in map(_dict, _list(_dict(_obj(raw))["symbols"]))
        if wanted is None or s.get("symbol") in wanted
    )


# ---- encoders -------------------------------------------------------------------------


def _ref_params(ref: OrderRef, id_key: str, coid_key: str) -> dict[str, str]:
    if ref.order_id is None and not ref.client_order_id:
        raise ValueError("an order reference needs an order id or a client order id")
    params: dict[str, str] = {}
    if ref.order_id is not None:
        params[id_key] = str(ref.order_id)
    if ref.client_order_id:
        params[coid_key] = ref.client_order_id
    return params


def _new_order_params(req: PlaceRequest) -> dict[str, str]:
    if req.quantity <= 0:
        raise ValueError(f"order quantity must be positive, got {req.quantity}")
    needs_price = req.type in (OrderType.LIMIT, OrderType.LIMIT_MAKER)
    if needs_price != (req.price is not None):
        raise ValueError(f"{req.type.value} order {'needs' if needs_price else 'takes no'} price")
    if (req.type is OrderType.LIMIT) != (req.time_in_force is not None):
        raise ValueError("timeInForce is required for LIMIT orders and only for them")
    params = {"side": req.side.value, "type": req.type.value}
    if req.time_in_force is not None:
        params["timeInForce"] = req.time_in_force.value
    params["quantity"] = format_decimal(req.quantity)
    if req.price is not None:
        params["price"] = format_decimal(req.price)
    params["newClientOrderId"] = req.client_order_id
    return params


def encode_place(req: PlaceRequest, *, response_type: str = "FULL") -> dict[str, str]:
    """POST /order (or ``order.place``) parameters, before timestamp and signature."""
    return {"symbol": req.symbol, **_new_order_params(req), "newOrderRespType": response_type}


def encode_order_ref(ref: OrderRef) -> dict[str, str]:
    """DELETE /order and GET /order parameters."""
    return {"symbol": ref.symbol, **_ref_params(ref, "orderId", "origClientOrderId")}


def encode_cancel_replace(
    req: CancelReplaceRequest, *, response_type: str = "FULL"
) -> dict[str, str]:
    if req.cancel.symbol != req.new.symbol:
        raise ValueError("cancel-replace must cancel and place on the same symbol")
    return {
        "symbol": req.new.symbol,
        "cancelReplaceMode": req.mode.value,
        **_ref_params(req.cancel, "cancelOrderId", "cancelOrigClientOrderId"),
        **_new_order_params(req.new),
        "newOrderRespType": response_type,
    }


@_decoder("order parameters")
def decode_place_params(params: Mapping[str, str]) -> PlaceRequest:
    """The inverse of :func:`encode_place` (for fakes and round-trip tests)."""
    tif, price = params.get("timeInForce"), params.get("price")
    return PlaceRequest(
        symbol=_str(params["symbol"]),
        side=Side(params["side"]),
        type=OrderType(params["type"]),
        quantity=_dec(params["quantity"]),
        client_order_id=_str(params["newClientOrderId"]),
        price=None if price is None else _dec(price),
        time_in_force=None if tif is None else TimeInForce(tif),
    )
