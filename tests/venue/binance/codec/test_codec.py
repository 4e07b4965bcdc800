"""The stream half of the codec: market data, user events, WS API answers, error bodies."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import (
    ExecutionType,
    OrderStatus,
    OrderType,
    Outcome,
    Side,
    TimeInForce,
    format_decimal,
)
from mmbot.venue.binance import codec
from mmbot.venue.binance.codec import CodecError
from mmbot.venue.events import (
    BalanceChanged,
    BalanceDelta,
    BookTicker,
    DepthUpdate,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    PublicTrade,
    StreamGap,
)

D = Decimal

DEPTH = {
    "e": "depthUpdate",
    "E": 1672515782136,
    "s": "BNBBTC",
    "U": 157,
    "u": 160,
    "b": [["0.0024", "10"]],
    "a": [["0.0026", "100"], ["0.0027", "0"]],
}

# The official example (user-data-stream.md), a NEW execution report.
EXECUTION_REPORT: dict[str, Any] = {
    "e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": "mUvoqJxFIILMdfAW5iGSOW",
    "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264410",
    "P": "0.00000000", "F": "0.00000000", "g": -1, "C": "", "x": "NEW", "X": "NEW",
    "r": "NONE", "i": 4293153, "l": "0.00000000", "z": "0.00000000", "L": "0.00000000",
    "n": "0", "N": None, "T": 1499405658657, "t": -1, "I": 8641984, "w": True, "m": False,
    "M": False, "O": 1499405658657, "Z": "0.00000000", "Y": "0.00000000",
    "Q": "0.00000000", "W": 1499405658657, "V": "NONE",
}  # fmt: skip


def report(**changes: Any) -> dict[str, Any]:
    return {**EXECUTION_REPORT, **changes}


def test_depth_update_decodes_exactly() -> None:
    msg = codec.decode_market_message(json.dumps(DEPTH))
    assert msg == DepthUpdate(
        "BNBBTC",
        157,
        160,
        1672515782136,
        ((D("0.0024"), D("10")),),
        ((D("0.0026"), D("100")), (D("0.0027"), D("0"))),
    )


def test_combined_stream_wrapper_is_unwrapped() -> None:
    wrapped = json.dumps({"stream": "bnbbtc@depth@100ms", "data": DEPTH}).encode()
    assert codec.decode_market_message(wrapped) == codec.decode_market_message(DEPTH)


def test_book_ticker_and_trade_decode() -> None:
    ticker = {"u": 400900217, "s": "BNBUSDT", "b": "25.35190000", "B": "31.21000000",
              "a": "25.36520000", "A": "40.66000000"}  # fmt: skip
    assert codec.decode_market_message(ticker) == BookTicker(
        "BNBUSDT", 400900217, D("25.3519"), D("31.21"), D("25.3652"), D("40.66")
    )
    trade = {"e": "trade", "E": 1672515782136, "s": "BNBBTC", "t": 12345, "p": "0.001",
             "q": "100", "T": 1672515782136, "m": True, "M": True}  # fmt: skip
    assert codec.decode_market_message(trade) == PublicTrade(
        "BNBBTC", 12345, D("0.001"), D("100"), 1672515782136, 1672515782136, True
    )


def test_subscribe_answers_and_server_shutdown_decode() -> None:
    assert codec.decode_market_message('{"result": null, "id": 7}') == codec.StreamAck(7)
    error = {"error": {"code": 2, "msg": "Invalid request"}, "id": 8}
    assert codec.decode_market_message(error) == codec.StreamAck(8, (2, "Invalid request"))
    shutdown = {"e": "serverShutdown", "E": 5}
    assert codec.decode_market_message(shutdown) == codec.ServerShutdown(5)


levels_st = st.lists(
    st.tuples(
        st.decimals(min_value=D("0.00000001"), max_value=D("1e7"), places=8),
        st.decimals(min_value=D(0), max_value=D("1e9"), places=8),
    ),
    max_size=25,
)


@given(bids=levels_st, asks=levels_st, first=st.integers(0, 2**53), span=st.integers(0, 100))
def test_depth_update_round_trips_through_wire_strings(
    bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], first: int, span: int
) -> None:
    def wire(levels: list[tuple[Decimal, Decimal]]) -> list[list[str]]:
        return [[format_decimal(p), format_decimal(q)] for p, q in levels]

    raw = json.dumps({**DEPTH, "U": first, "u": first + span, "b": wire(bids), "a": wire(asks)})
    msg = codec.decode_market_message(raw)
    assert isinstance(msg, DepthUpdate)
    assert (msg.first_update_id, msg.final_update_id) == (first, first + span)
    assert msg.bids == tuple(bids) and msg.asks == tuple(asks)


@pytest.mark.parametrize(
    "levels",
    [
        [[0.0024, "10"]],  # a float: not exact, refused
        [["0.0024", 10]],
        [["NaN", "1"]],
        [["1", "Infinity"]],
        [["1", "-1"]],
        [["0", "1"]],
        [["abc", "1"]],
        [["1", "1", "1"]],
        "0.0024",
    ],
)
def test_bad_price_levels_are_codec_errors(levels: object) -> None:
    with pytest.raises(CodecError):
        codec.decode_market_message({**DEPTH, "b": levels})


def test_depth_update_with_u_before_first_id_is_refused() -> None:
    with pytest.raises(CodecError, match="U 160 > u 157"):
        codec.decode_market_message({**DEPTH, "U": 160, "u": 157})


def test_new_execution_report_decodes_every_field() -> None:
    event = codec.decode_user_event(json.dumps(EXECUTION_REPORT))
    assert isinstance(event, OrderAccepted)
    r = event.report
    assert (r.event_time_ms, r.symbol, r.client_order_id) == (
        1499405658658, "ETHBTC", "mUvoqJxFIILMdfAW5iGSOW",
    )  # fmt: skip
    assert (r.side, r.order_type, r.time_in_force) == (Side.BUY, OrderType.LIMIT, TimeInForce.GTC)
    assert (r.quantity, r.price) == (D("1"), D("0.1026441"))
    assert (r.execution_type, r.status, r.reject_reason) == (
        ExecutionType.NEW, OrderStatus.NEW, "NONE",
    )  # fmt: skip
    assert (r.order_id, r.last_qty, r.cumulative_qty, r.last_price) == (4293153, 0, 0, 0)
    assert (r.commission, r.commission_asset, r.transaction_time_ms) == (0, None, 1499405658657)
    assert (r.trade_id, r.is_maker, r.orig_client_order_id) == (-1, False, "")
    assert (r.cumulative_quote_qty, r.is_working) == (0, True)
    assert (r.order_creation_time_ms, r.working_time_ms) == (1499405658657, 1499405658657)
    assert (r.last_quote_qty, r.quote_order_qty) == (0, 0)
    assert (event.symbol, event.order_id, event.status) == ("ETHBTC", 4293153, OrderStatus.NEW)


def test_trade_execution_report_becomes_a_fill_with_trade_id() -> None:
    raw = report(x="TRADE", X="PARTIALLY_FILLED", l="0.4", z="0.6", L="0.1026", n="0.0004",
                 N="BNB", t=777, m=True, T=1499405658700)  # fmt: skip
    event = codec.decode_user_event(raw)
    assert isinstance(event, OrderFilled)
    fill = event.fill
    assert fill.key == ("ETHBTC", 4293153, 777)
    assert (fill.price, fill.quantity, fill.fee, fill.fee_asset) == (
        D("0.1026"), D("0.4"), D("0.0004"), "BNB",
    )  # fmt: skip
    assert (fill.side, fill.is_maker, fill.time_ms) == (Side.BUY, True, 1499405658700)
    assert fill.client_order_id == "mUvoqJxFIILMdfAW5iGSOW"
    assert event.cumulative_qty == D("0.6")


def test_cancelled_report_names_the_original_client_order_id() -> None:
    event = codec.decode_user_event(report(x="CANCELED", X="CANCELED", c="cancel1", C="mine7"))
    assert isinstance(event, OrderCancelled)
    assert event.client_order_id == "mine7"
    assert event.report.client_order_id == "cancel1"


@pytest.mark.parametrize(
    ("x", "kind"),
    [("REJECTED", OrderRejected), ("EXPIRED", OrderExpired), ("TRADE_PREVENTION", OrderExpired),
     ("REPLACED", OrderAccepted)],
)  # fmt: skip
def test_execution_types_map_to_events(x: str, kind: type) -> None:
    event = codec.decode_user_event(report(x=x, X="EXPIRED", r="INSUFFICIENT_BALANCES"))
    assert isinstance(event, kind)
    if isinstance(event, OrderRejected):
        assert event.reason == "INSUFFICIENT_BALANCES"


def test_trade_report_without_trade_id_is_refused() -> None:
    with pytest.raises(CodecError, match="trade id"):
        codec.decode_user_event(report(x="TRADE", X="FILLED"))


def test_balance_events_and_stream_termination_decode() -> None:
    position = {"e": "outboundAccountPosition", "E": 1564034571105, "u": 1564034571073,
                "B": [{"a": "ETH", "f": "10000.000000", "l": "0.000000"}]}  # fmt: skip
    changed = codec.decode_user_event(position)
    assert isinstance(changed, BalanceChanged)
    assert changed.balances[0].asset == "ETH" and changed.balances[0].total == D(10000)
    delta = {"e": "balanceUpdate", "E": 1573200697110, "a": "BTC", "d": "100.00000000",
             "T": 1573200697068}  # fmt: skip
    assert codec.decode_user_event(delta) == BalanceDelta(
        1573200697110, "BTC", D(100), 1573200697068
    )
    ended = codec.decode_user_event({"e": "eventStreamTerminated", "E": 1728973001334})
    assert ended == StreamGap("eventStreamTerminated", 1728973001334)


def test_ws_api_messages_decode_responses_errors_and_events() -> None:
    ok = codec.decode_ws_api_message({"id": "a1", "status": 200, "result": {"serverTime": 5}})
    assert ok == codec.WsApiResponse("a1", 200, {"serverTime": 5})
    err = codec.decode_ws_api_message(
        {"id": 3, "status": 400, "error": {"code": -2010, "msg": "Duplicate order sent."}}
    )
    assert isinstance(err, codec.WsApiResponse)
    assert err.error == (-2010, "Duplicate order sent.")
    assert err.failure().outcome is Outcome.FAILED
    event = codec.decode_ws_api_message({"subscriptionId": 0, "event": EXECUTION_REPORT})
    assert isinstance(event, codec.UserEventMessage)
    assert isinstance(event.event, OrderAccepted) and event.subscription_id == 0


@pytest.mark.parametrize(
    ("status", "code", "server_ms", "retry_ms", "expected"),
    [
        (429, -1003, 1_700_000_000_000, 1_700_000_002_500, 2.5),
        (418, -1003, 1_700_000_000_000, 1_700_000_120_000, 120.0),
        (429, -1003, 1_700_000_000_500, 1_700_000_000_000, 0.0),  # already past: no wait
    ],
)
def test_ws_api_rate_limit_answer_is_failed_with_retry_after_from_error_data(
    status: int, code: int, server_ms: int, retry_ms: int, expected: float
) -> None:
    # Binance puts {"serverTime", "retryAfter" (epoch ms)} in the error object's "data".
    error = {"code": code, "msg": "Too much request weight used.",
             "data": {"serverTime": server_ms, "retryAfter": retry_ms}}  # fmt: skip
    answer = codec.decode_ws_api_message({"id": 9, "status": status, "error": error})
    assert isinstance(answer, codec.WsApiResponse)
    assert answer.retry_after == expected
    result = answer.failure()
    assert result.outcome is Outcome.FAILED and result.code == code
    assert result.retry_after == expected and result.http_status == status


@pytest.mark.parametrize(
    "data",
    [None, "soon", {"serverTime": 1}, {"retryAfter": 5}, {"serverTime": "1", "retryAfter": 2}],
)
def test_ws_api_error_without_usable_retry_data_has_no_retry_after(data: object) -> None:
    error: dict[str, object] = {"code": -1003, "msg": "Too many requests."}
    if data is not None:
        error["data"] = data
    answer = codec.decode_ws_api_message({"id": 9, "status": 429, "error": error})
    assert isinstance(answer, codec.WsApiResponse) and answer.retry_after is None
    assert answer.failure().is_failed and answer.failure().retry_after is None


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (400, -2010, Outcome.FAILED),
        (400, -1013, Outcome.FAILED),
        (429, -1003, Outcome.FAILED),
        (503, None, Outcome.UNKNOWN),
        (500, -1000, Outcome.UNKNOWN),
        (400, -1007, Outcome.UNKNOWN),
        (None, -1006, Outcome.UNKNOWN),
    ],
)
def test_error_answers_are_classified_once(
    status: int | None, code: int | None, outcome: Outcome
) -> None:
    assert codec.classify_failure(status, code) is outcome
    assert codec.failure_result(status, code, "x").outcome is outcome


def test_error_body_decodes_to_code_and_message() -> None:
    assert codec.decode_error(b'{"code": -1021, "msg": "Timestamp..."}') == (-1021, "Timestamp...")
    with pytest.raises(CodecError):
        codec.decode_error("<html>502 Bad Gateway</html>")


def test_encoders_write_subscribe_and_ws_requests() -> None:
    streams = [codec.depth_stream("BTCUSDT"), codec.depth_stream("ETHUSDT", speed_ms=1000)]
    assert streams == ["btcusdt@depth@100ms", "ethusdt@depth"]
    assert json.loads(codec.encode_subscribe(streams, 1)) == {
        "method": "SUBSCRIBE", "params": streams, "id": 1,
    }  # fmt: skip
    assert (
        codec.combined_stream_path(streams) == "/stream?streams=btcusdt@depth@100ms/ethusdt@depth"
    )
    frame = json.loads(codec.encode_ws_request(9, "order.status", {"symbol": "BTCUSDT"}))
    assert frame == {"id": 9, "method": "order.status", "params": {"symbol": "BTCUSDT"}}


json_st = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4)
    ),
    max_leaves=20,
)
# Garbage that looks like the real thing: a known message with fields replaced or removed.
mutated_st = st.builds(
    lambda base, key, value, drop: {k: v for k, v in {**base, key: value}.items() if k != drop},
    st.sampled_from([DEPTH, EXECUTION_REPORT, {"e": "balanceUpdate", "E": 1, "a": "X", "d": "1"}]),
    st.sampled_from(["e", "E", "s", "U", "u", "b", "a", "x", "X", "S", "z", "t", "N", "d"]),
    json_st,
    st.sampled_from(["", "E", "b", "i", "a"]),
)
garbage_st = json_st | mutated_st | st.binary(max_size=40) | st.text(max_size=40)


@given(garbage=garbage_st)
def test_garbage_only_ever_raises_codec_error(garbage: object) -> None:
    decoders = [codec.decode_market_message, codec.decode_user_event, codec.decode_ws_api_message,
                codec.decode_error]  # fmt: skip
    for decode in decoders:
        with contextlib.suppress(CodecError):  # anything else fails the test
            decode(garbage)
