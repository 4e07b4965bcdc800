"""Response bodies of the fake exchange's dialect, in Binance's shapes (sans-IO).

What it is for: rendering the engine's values (:class:`OrderView`, :class:`PlaceResult`,
:class:`TradeView`, balances, instruments) as the JSON bodies Binance Spot returns, numbers
as strings with eight decimals ("0.10000000") like Binance.

What it must never do: I/O, read a clock, or decide anything: it only formats.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from mmbot.model import Instrument
from mmbot.sim.dialect.limits import RateLimits
from mmbot.sim.engine import (
    MAX_NUM_ORDER_AMENDS,
    AssetBalance,
    Fees,
    OrderView,
    PlaceResult,
    TradeView,
)

_EIGHT = Decimal("0.00000001")
#: What exchangeInfo shows for a maximum the engine leaves unlimited (0).
_NO_MAXIMUM = Decimal("9000000000")

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]

#: The fixed values of the filters the fake exchange publishes beyond its instruments' own
#: (filters.md; the values Binance shows on its large symbols). ICEBERG_PARTS is 100 since
#: 2026-03-12 (the docs' CHANGELOG). Icebergs, trailing stops, algo orders and order lists
#: are not supported, so their filters can never be broken here; PERCENT_PRICE_BY_SIDE is
#: published but not enforced (docs/exchange.md).
ICEBERG_PARTS = 100
MAX_NUM_ALGO_ORDERS = 5
MAX_NUM_ORDER_LISTS = 20


def num(value: Decimal) -> str:
    """Binance's number text: eight decimals, or every decimal when there are more."""
    if value == value.quantize(_EIGHT):
        return f"{value.quantize(_EIGHT):f}"
    return f"{value.normalize():f}"


def _maximum(value: Decimal) -> str:
    return num(value if value else _NO_MAXIMUM)


def symbol_filters(instrument: Instrument, max_num_orders: int | None) -> list[dict[str, object]]:
    """A symbol's ``filters``, in the order Binance lists them (filters.md's formats).

    PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE (the same rules as LOT_SIZE, enforced for
    MARKET orders through it), NOTIONAL, MAX_NUM_ORDERS (only when the engine limits open
    orders) and MAX_NUM_ORDER_AMENDS are enforced.
    """
    lot = {
        "minQty": num(instrument.min_qty),
        "maxQty": _maximum(instrument.max_qty),
        "stepSize": num(instrument.step_size),
    }
    filters: list[dict[str, object]] = [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": num(instrument.min_price),
            "maxPrice": num(instrument.max_price),
            "tickSize": num(instrument.tick_size),
        },
        {"filterType": "LOT_SIZE", **lot},
        {"filterType": "ICEBERG_PARTS", "limit": ICEBERG_PARTS},
        {"filterType": "MARKET_LOT_SIZE", **lot},
        {
            "filterType": "TRAILING_DELTA",
            "minTrailingAboveDelta": 10,
            "maxTrailingAboveDelta": 2000,
            "minTrailingBelowDelta": 10,
            "maxTrailingBelowDelta": 2000,
        },
        {
            "filterType": "PERCENT_PRICE_BY_SIDE",
            "bidMultiplierUp": "5",
            "bidMultiplierDown": "0.2",
            "askMultiplierUp": "5",
            "askMultiplierDown": "0.2",
            "avgPriceMins": 5,
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": num(instrument.min_notional),
            "applyMinToMarket": True,
            "maxNotional": _maximum(instrument.max_notional),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
    ]
    if max_num_orders is not None:
        filters.append({"filterType": "MAX_NUM_ORDERS", "maxNumOrders": max_num_orders})
    filters += [
        {"filterType": "MAX_NUM_ORDER_LISTS", "maxNumOrderLists": MAX_NUM_ORDER_LISTS},
        {"filterType": "MAX_NUM_ALGO_ORDERS", "maxNumAlgoOrders": MAX_NUM_ALGO_ORDERS},
        {"filterType": "MAX_NUM_ORDER_AMENDS", "maxNumOrderAmends": MAX_NUM_ORDER_AMENDS},
    ]
    return filters


def symbol_info(instrument: Instrument, max_num_orders: int | None = None) -> dict[str, object]:
    """One entry of ``exchangeInfo.symbols``, with every field of the docs' example."""
    return {
        "symbol": instrument.symbol,
        "status": instrument.status.value,
        "baseAsset": instrument.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": instrument.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": symbol_filters(instrument, max_num_orders),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def exchange_info(
    instruments: Sequence[Instrument],
    limits: RateLimits,
    now_ms: int,
    max_num_orders: int | None = None,
) -> dict[str, object]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": limits.exchange_info(),
        "exchangeFilters": [],
        "symbols": [symbol_info(i, max_num_orders) for i in instruments],
    }


def order_ack(order: OrderView) -> dict[str, object]:
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "transactTime": order.update_time_ms,
    }


def working_time(order: OrderView) -> int:
    """When the order started working: its placement, also when it filled on arrival.

    Binance reports -1 only for a conditional order not yet triggered, which this dialect
    does not support; clients such as ccxt take ``workingTime`` as the order's timestamp.
    """
    return order.working_time_ms if order.working_time_ms >= 0 else order.time_ms


def order_result(order: OrderView) -> dict[str, object]:
    return {
        **order_ack(order),
        "price": num(order.price),
        "origQty": num(order.orig_qty),
        "executedQty": num(order.executed_qty),
        "origQuoteOrderQty": num(Decimal(0)),
        "cummulativeQuoteQty": num(order.cumulative_quote_qty),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
        "workingTime": working_time(order),
        "selfTradePreventionMode": "NONE",
    }


def new_order(result: PlaceResult, resp_type: str) -> dict[str, object]:
    """POST /order's body for ``newOrderRespType`` ACK, RESULT or FULL."""
    if resp_type == "ACK":
        return order_ack(result.order)
    body = order_result(result.order)
    if resp_type == "FULL":
        body["fills"] = [
            {
                "price": num(fill.price),
                "qty": num(fill.qty),
                "commission": num(fill.commission),
                "commissionAsset": fill.commission_asset,
                "tradeId": fill.trade_id,
            }
            for fill in result.fills
        ]
    return body


def canceled_order(order: OrderView, cancel_client_id: str, now_ms: int) -> dict[str, object]:
    """DELETE /order's body: ``clientOrderId`` names the cancel, ``origClientOrderId`` the order."""
    return {
        "symbol": order.symbol,
        "origClientOrderId": order.orig_client_order_id or order.client_order_id,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": cancel_client_id,
        "transactTime": now_ms,
        "price": num(order.price),
        "origQty": num(order.orig_qty),
        "executedQty": num(order.executed_qty),
        "origQuoteOrderQty": num(Decimal(0)),
        "cummulativeQuoteQty": num(order.cumulative_quote_qty),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
        "selfTradePreventionMode": "NONE",
    }


def queried_order(order: OrderView) -> dict[str, object]:
    """GET /order's and GET /openOrders' shape of one order."""
    return {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": num(order.price),
        "origQty": num(order.orig_qty),
        "executedQty": num(order.executed_qty),
        "cummulativeQuoteQty": num(order.cumulative_quote_qty),
        "status": order.status.value,
        "timeInForce": order.time_in_force.value,
        "type": order.type.value,
        "side": order.side.value,
        "stopPrice": num(Decimal(0)),
        "icebergQty": num(Decimal(0)),
        "time": order.time_ms,
        "updateTime": order.update_time_ms,
        "isWorking": True,
        "workingTime": working_time(order),
        "origQuoteOrderQty": num(Decimal(0)),
        "selfTradePreventionMode": "NONE",
    }


def trade(view: TradeView) -> dict[str, object]:
    """One entry of GET /myTrades."""
    return {
        "symbol": view.symbol,
        "id": view.trade_id,
        "orderId": view.order_id,
        "orderListId": -1,
        "price": num(view.price),
        "qty": num(view.qty),
        "quoteQty": num(view.quote_qty),
        "commission": num(view.commission),
        "commissionAsset": view.commission_asset,
        "time": view.time_ms,
        "isBuyer": view.is_buyer,
        "isMaker": view.is_maker,
        "isBestMatch": True,
    }


def account(
    account_id: str, balances: Sequence[AssetBalance], fees: Fees, now_ms: int, *, omit_zero: bool
) -> dict[str, object]:
    """GET /account's body (spot account, commission in basis points and as rates)."""
    shown = [b for b in balances if not (omit_zero and b.free == 0 and b.locked == 0)]
    return {
        "makerCommission": int(fees.maker_rate * 10_000),
        "takerCommission": int(fees.taker_rate * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": num(fees.maker_rate),
            "taker": num(fees.taker_rate),
            "buyer": num(Decimal(0)),
            "seller": num(Decimal(0)),
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": [
            {"asset": b.asset, "free": num(b.free), "locked": num(b.locked)} for b in shown
        ],
        "permissions": ["SPOT"],
        "uid": _uid(account_id),
    }


def _uid(account_id: str) -> int:
    """A stable numeric id for an account name (Binance shows a number)."""
    value = 0
    for char in account_id.encode():
        value = (value * 131 + char) % 1_000_000_007
    return value
