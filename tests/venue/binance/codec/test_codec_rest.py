"""The REST half of the codec: order answers, account, trades, exchangeInfo, encoders."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import OrderStatus, OrderType, Outcome, Side, SymbolStatus, TimeInForce
from mmbot.venue.base import CancelReplaceMode, CancelReplaceRequest, OrderRef, PlaceRequest
from mmbot.venue.binance import codec as rest
from mmbot.venue.binance.codec import CodecError

D = Decimal

ACK = {"symbol": "BTCUSDT", "orderId": 28, "orderListId": -1,
       "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP", "transactTime": 1507725176595}  # fmt: skip
RESULT = {**ACK, "price": "0.00000000", "origQty": "10.00000000", "executedQty": "10.00000000",
          "origQuoteOrderQty": "0.000000", "cummulativeQuoteQty": "10.00000000",
          "status": "FILLED", "timeInForce": "GTC", "type": "MARKET", "side": "SELL",
          "workingTime": 1507725176595, "selfTradePreventionMode": "NONE"}  # fmt: skip
FULL = {**RESULT, "fills": [
    {"price": "4000.00000000", "qty": "1.00000000", "commission": "4.00000000",
     "commissionAsset": "USDT", "tradeId": 56},
    {"price": "3999.00000000", "qty": "5.00000000", "commission": "19.99500000",
     "commissionAsset": "USDT", "tradeId": 57},
]}  # fmt: skip
QUERY = {"symbol": "LTCBTC", "orderId": 1, "orderListId": -1, "clientOrderId": "myOrder1",
         "price": "0.1", "origQty": "1.0", "executedQty": "0.0", "cummulativeQuoteQty": "0.0",
         "status": "NEW", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
         "stopPrice": "0.0", "icebergQty": "0.0", "time": 1499827319559,
         "updateTime": 1499827319559, "isWorking": True, "workingTime": 1499827319559,
         "origQuoteOrderQty": "0.000000", "selfTradePreventionMode": "NONE"}  # fmt: skip
CANCELLED = {"symbol": "LTCBTC", "origClientOrderId": "myOrder1", "orderId": 4,
             "orderListId": -1, "clientOrderId": "cancelMyOrder1", "transactTime": 1684804350068,
             "price": "2.00000000", "origQty": "1.00000000", "executedQty": "0.00000000",
             "cummulativeQuoteQty": "0.00000000", "status": "CANCELED", "timeInForce": "GTC",
             "type": "LIMIT", "side": "BUY", "selfTradePreventionMode": "NONE"}  # fmt: skip
UNKNOWN_ORDER = {"code": -2011, "msg": "Unknown order sent."}


def exchange_info(**symbol_changes: Any) -> dict[str, Any]:
    symbol = {
        "symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000",
             "tickSize": "0.00000100"},
            {"filterType": "LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000",
             "stepSize": "0.00100000"},
            {"filterType": "NOTIONAL", "minNotional": "0.00010000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
    }  # fmt: skip
    return {"timezone": "UTC", "serverTime": 1, "rateLimits": [],
            "symbols": [{**symbol, **symbol_changes}, {**symbol, "symbol": "LTCBTC"}]}  # fmt: skip


def test_ack_answer_has_no_order_view() -> None:
    ack = rest.decode_order_response(ACK)
    assert (ack.symbol, ack.order_id, ack.client_order_id) == ("BTCUSDT", 28, ACK["clientOrderId"])
    assert ack.transact_time_ms == 1507725176595
    assert ack.order is None and ack.fills == ()


def test_result_answer_carries_the_order_state() -> None:
    ack = rest.decode_order_response(RESULT)
    assert ack.order is not None
    assert (ack.order.status, ack.order.type, ack.order.side) == (
        OrderStatus.FILLED, OrderType.MARKET, Side.SELL,
    )  # fmt: skip
    assert (ack.order.executed_qty, ack.order.remaining) == (D(10), D(0))


def test_full_answer_carries_taker_fills_with_trade_ids() -> None:
    ack = rest.decode_order_response(FULL)
    assert [f.trade_id for f in ack.fills] == [56, 57]
    assert ack.fills[1].price == D("3999") and ack.fills[1].fee == D("19.995")
    assert all(not f.is_maker and f.side is Side.SELL for f in ack.fills)


def test_query_and_cancel_answers_name_the_orders_own_client_id() -> None:
    queried = rest.decode_order(QUERY)
    assert (queried.client_order_id, queried.time_ms, queried.price) == (
        "myOrder1",
        1499827319559,
        D("0.1"),
    )
    cancelled = rest.decode_order(CANCELLED)
    assert cancelled.client_order_id == "myOrder1"
    assert cancelled.cancel_client_order_id == "cancelMyOrder1"
    assert cancelled.status is OrderStatus.CANCELED


def test_open_orders_skip_order_lists() -> None:
    oco = {"orderListId": 1929, "contingencyType": "OCO", "orders": []}
    assert [o.order_id for o in rest.decode_orders([QUERY, oco, CANCELLED])] == [1, 4]


def test_cancel_replace_success_has_both_parts() -> None:
    body = {"cancelResult": "SUCCESS", "newOrderResult": "SUCCESS",
            "cancelResponse": CANCELLED, "newOrderResponse": FULL}  # fmt: skip
    result = rest.decode_cancel_replace(body)
    assert result.fully_ok
    assert result.new is not None and result.new.unwrap().order_id == 28


def test_cancel_replace_409_reports_each_part() -> None:
    body = {"code": -2022, "msg": "Order cancel-replace failed.",
            "data": {"cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                     "cancelResponse": UNKNOWN_ORDER, "newOrderResponse": None}}  # fmt: skip
    result = rest.decode_cancel_replace(body)
    assert result.cancel.outcome is Outcome.FAILED and result.cancel.code == -2011
    assert result.new is None and not result.fully_ok
    partial = {"code": -2021, "msg": "Order cancel-replace partially failed.",
               "data": {"cancelResult": "SUCCESS", "newOrderResult": "FAILURE",
                        "cancelResponse": CANCELLED,
                        "newOrderResponse": {"code": -1007, "msg": "Timeout."}}}  # fmt: skip
    result = rest.decode_cancel_replace(partial)
    assert result.cancel.is_ok
    assert result.new is not None and result.new.outcome is Outcome.UNKNOWN


def test_account_trades_and_time_decode() -> None:
    account = {"balances": [{"asset": "BTC", "free": "4723846.89208129", "locked": "0.00000000"}]}
    (btc,) = rest.decode_account(account)
    assert (btc.asset, btc.free, btc.locked) == ("BTC", D("4723846.89208129"), D(0))
    trade = {"symbol": "BNBBTC", "id": 28457, "orderId": 100234, "orderListId": -1,
             "price": "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012",
             "commission": "10.10000000", "commissionAsset": "BNB", "time": 1499865549590,
             "isBuyer": True, "isMaker": False, "isBestMatch": True}  # fmt: skip
    (fill,) = rest.decode_my_trades([trade])
    assert fill.key == ("BNBBTC", 100234, 28457)
    assert (fill.side, fill.is_maker, fill.client_order_id) == (Side.BUY, False, "")
    assert rest.decode_server_time(b'{"serverTime": 1499827319559}') == 1499827319559


def test_exchange_info_becomes_instruments_with_filters() -> None:
    eth, ltc = rest.decode_exchange_info(exchange_info())
    assert (eth.symbol, eth.base_asset, eth.quote_asset) == ("ETHBTC", "ETH", "BTC")
    assert (eth.tick_size, eth.min_price, eth.max_price) == (
        D("0.000001"),
        D("0.000001"),
        D(100000),
    )
    assert (eth.step_size, eth.min_qty, eth.max_qty) == (D("0.001"), D("0.001"), D(100000))
    assert (eth.min_notional, eth.max_notional) == (D("0.0001"), D(9000000))
    assert eth.status is SymbolStatus.TRADING and ltc.symbol == "LTCBTC"


def test_exchange_info_decodes_only_the_symbols_asked_for() -> None:
    broken = exchange_info(filters=[])  # ETHBTC lacks its filters
    assert [i.symbol for i in rest.decode_exchange_info(broken, ["LTCBTC"])] == ["LTCBTC"]
    with pytest.raises(CodecError, match="PRICE_FILTER"):
        rest.decode_exchange_info(broken)


def test_unmodelled_symbol_status_counts_as_halted() -> None:
    (eth, _) = rest.decode_exchange_info(exchange_info(status="AUCTION_MATCH"))
    assert eth.status is SymbolStatus.HALT


def test_legacy_min_notional_filter_is_read() -> None:
    info = exchange_info()
    filters = info["symbols"][0]["filters"]
    filters[2] = {"filterType": "MIN_NOTIONAL", "minNotional": "0.001", "applyToMarket": True}
    (eth, _) = rest.decode_exchange_info(info)
    assert (eth.min_notional, eth.max_notional) == (D("0.001"), D(0))


LIMIT = PlaceRequest("BTCUSDT", Side.BUY, OrderType.LIMIT, D("1E-8"), "mm-1", D("25000.50000"),
                     TimeInForce.GTC)  # fmt: skip


def test_place_parameters_are_plain_strings_without_exponent() -> None:
    assert rest.encode_place(LIMIT) == {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.00000001", "price": "25000.5", "newClientOrderId": "mm-1",
        "newOrderRespType": "FULL",
    }  # fmt: skip
    maker = PlaceRequest("BTCUSDT", Side.SELL, OrderType.LIMIT_MAKER, D("2E+3"), "mm-2", D("1"))
    params = rest.encode_place(maker, response_type="RESULT")
    assert "timeInForce" not in params
    assert (params["quantity"], params["newOrderRespType"]) == ("2000", "RESULT")


@pytest.mark.parametrize(
    "request_",
    [
        PlaceRequest("X", Side.BUY, OrderType.LIMIT, D(1), "c", D(1)),  # no time in force
        PlaceRequest("X", Side.BUY, OrderType.LIMIT_MAKER, D(1), "c"),  # no price
        PlaceRequest("X", Side.BUY, OrderType.MARKET, D(1), "c", D(1)),  # market with price
        PlaceRequest("X", Side.BUY, OrderType.LIMIT, D(0), "c", D(1), TimeInForce.GTC),
    ],
)
def test_impossible_orders_are_refused_before_sending(request_: PlaceRequest) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        rest.encode_place(request_)


def test_order_references_and_cancel_replace_encode() -> None:
    assert rest.encode_order_ref(OrderRef("BTCUSDT", client_order_id="mm-1")) == {
        "symbol": "BTCUSDT", "origClientOrderId": "mm-1",
    }  # fmt: skip
    with pytest.raises(ValueError, match="order id"):
        rest.encode_order_ref(OrderRef("BTCUSDT"))
    params = rest.encode_cancel_replace(
        CancelReplaceRequest(
            OrderRef("BTCUSDT", order_id=12), LIMIT, CancelReplaceMode.ALLOW_FAILURE
        )
    )
    assert params["cancelReplaceMode"] == "ALLOW_FAILURE"
    assert params["cancelOrderId"] == "12" and params["price"] == "25000.5"


place_st = st.builds(
    PlaceRequest,
    symbol=st.sampled_from(["BTCUSDT", "ETHBTC"]),
    side=st.sampled_from(Side),
    type=st.just(OrderType.LIMIT),
    quantity=st.decimals(min_value=D("0.00000001"), max_value=D("1e9"), places=8),
    client_order_id=st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=36),
    price=st.decimals(min_value=D("0.00000001"), max_value=D("1e9"), places=8),
    time_in_force=st.sampled_from(TimeInForce),
)


@given(request_=place_st)
def test_place_parameters_round_trip_exactly(request_: PlaceRequest) -> None:
    params = rest.encode_place(request_)
    assert all("E" not in params[k] for k in ("quantity", "price"))
    assert rest.decode_place_params(params) == request_


json_st = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=20,
)
mutated_st = st.builds(
    lambda base, key, value: {**base, key: value},
    st.sampled_from([FULL, QUERY, CANCELLED, exchange_info()]),
    st.sampled_from(["symbol", "orderId", "status", "fills", "side", "price", "symbols", "time"]),
    json_st,
)


@given(garbage=json_st | mutated_st | st.binary(max_size=30))
def test_rest_garbage_only_ever_raises_codec_error(garbage: object) -> None:
    decoders = [rest.decode_order_response, rest.decode_order, rest.decode_orders,
                rest.decode_cancel_replace, rest.decode_account, rest.decode_my_trades,
                rest.decode_exchange_info, rest.decode_server_time]  # fmt: skip
    for decode in decoders:
        with contextlib.suppress(CodecError):  # anything else fails the test
            decode(garbage)
