"""Order parameters of the Binance dialect, both ways: requests to parameters and back (sans-IO).

What it is for: encoding a :class:`PlaceRequest`, an :class:`OrderRef` or a
:class:`CancelReplaceRequest` into the parameters of ``POST /order``, ``DELETE``/``GET
/order`` and ``POST /order/cancelReplace`` (and their WebSocket API twins), with Decimals as
plain strings (``format_decimal``: no exponent); and reading placement parameters back
(:func:`decode_place_params`, for fakes and round-trip tests).

What it must never do: I/O, or write a request that cannot be valid (encoders raise
``ValueError`` before anything is sent; the decoder raises only :class:`CodecError`).
"""

from __future__ import annotations

from collections.abc import Mapping

from mmbot.model import OrderType, Side, TimeInForce, format_decimal
from mmbot.venue.base import CancelReplaceRequest, OrderRef, PlaceRequest
from mmbot.venue.binance.codec.primitives import as_decimal, as_str, decoder


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


@decoder("order parameters")
def decode_place_params(params: Mapping[str, str]) -> PlaceRequest:
    """The inverse of :func:`encode_place` (for fakes and round-trip tests)."""
    tif, price = params.get("timeInForce"), params.get("price")
    return PlaceRequest(
        symbol=as_str(params["symbol"]),
        side=Side(params["side"]),
        type=OrderType(params["type"]),
        quantity=as_decimal(params["quantity"]),
        client_order_id=as_str(params["newClientOrderId"]),
        price=None if price is None else as_decimal(price),
        time_in_force=None if tif is None else TimeInForce(tif),
    )
