"""The stream cores (sim/streams/: names, feed, depth windows, control) driven directly, no trio."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import ExecutionType, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.engine import BookDelta, Execution, TradePrint
from mmbot.sim.streams import (
    MarketFeed,
    StreamKind,
    StreamMessage,
    StreamSession,
    UserMessage,
    parse_stream_name,
)

SYMBOLS = frozenset({"BTCUSDT", "ETHUSDT"})


def delta(uid: int, side: Side, price: str, qty: str, t: int = 0) -> BookDelta:
    return BookDelta("BTCUSDT", uid, side, Decimal(price), Decimal(qty), t)


def test_stream_names_need_lowercase_listed_symbols_and_known_suffixes() -> None:
    assert parse_stream_name("btcusdt@depth@100ms", SYMBOLS) == ("BTCUSDT", StreamKind.DEPTH_100MS)
    assert parse_stream_name("ethusdt@depth", SYMBOLS) == ("ETHUSDT", StreamKind.DEPTH_1000MS)
    assert parse_stream_name("btcusdt@bookTicker", SYMBOLS) == ("BTCUSDT", StreamKind.BOOK_TICKER)
    for bad in ("BTCUSDT@trade", "xrpusdt@trade", "btcusdt@kline_2m", "btcusdt", 7, None):
        assert parse_stream_name(bad, SYMBOLS) is None


def test_depth_window_reports_first_and_last_update_id_and_final_quantities() -> None:
    feed = MarketFeed.for_symbols(["BTCUSDT"])
    feed.on_events([delta(5, Side.BUY, "100", "1"), delta(6, Side.BUY, "100", "3")], 1_020)
    feed.on_events([delta(7, Side.SELL, "101", "0")], 1_050)
    assert feed.next_flush_ms() == 1_100
    assert feed.flush_due(1_099) == []
    (msg,) = [m for m in feed.flush_due(1_100) if m.stream == "btcusdt@depth@100ms"]
    assert msg.payload == {
        "e": "depthUpdate",
        "E": 1_100,
        "s": "BTCUSDT",
        "U": 5,
        "u": 7,
        "b": [["100", "3"]],
        "a": [["101", "0"]],
    }


def test_slow_depth_stream_closes_on_the_second_boundary() -> None:
    feed = MarketFeed.for_symbols(["BTCUSDT"])
    feed.on_events([delta(1, Side.BUY, "100", "1")], 1_020)
    assert [m.stream for m in feed.flush_due(1_100)] == ["btcusdt@depth@100ms"]
    feed.on_events([delta(2, Side.BUY, "99", "1")], 1_500)
    assert [m.stream for m in feed.flush_due(1_600)] == ["btcusdt@depth@100ms"]
    (slow,) = feed.flush_due(2_000)
    assert slow.stream == "btcusdt@depth"
    assert (slow.payload["U"], slow.payload["u"]) == (1, 2)
    assert feed.next_flush_ms() is None


def test_book_ticker_is_sent_only_when_the_top_of_book_changes() -> None:
    feed = MarketFeed.for_symbols(["BTCUSDT"])
    first = feed.on_events([delta(1, Side.BUY, "100", "1"), delta(2, Side.SELL, "101", "2")], 0)
    assert [m.payload for m in first] == [
        {"u": 2, "s": "BTCUSDT", "b": "100", "B": "1", "a": "101", "A": "2"}
    ]
    assert feed.on_events([delta(3, Side.BUY, "99", "5")], 0) == []  # below the best bid
    removed = feed.on_events([delta(4, Side.BUY, "100", "0")], 0)
    assert removed[0].payload["b"] == "99" and removed[0].payload["B"] == "5"


def test_trades_and_user_events_are_passed_on_in_order() -> None:
    feed = MarketFeed.for_symbols(["BTCUSDT"])
    report = Execution(
        account="user",
        event_time_ms=5,
        symbol="BTCUSDT",
        client_order_id="abc",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        quantity=Decimal("0.5"),
        price=Decimal("100"),
        execution_type=ExecutionType.NEW,
        status=OrderStatus.NEW,
        reject_reason="NONE",
        order_id=1,
        last_qty=Decimal(0),
        cumulative_qty=Decimal(0),
        last_price=Decimal(0),
        commission=Decimal(0),
        commission_asset=None,
        transaction_time_ms=5,
        trade_id=-1,
        is_maker=False,
        orig_client_order_id="",
        cumulative_quote_qty=Decimal(0),
    )
    trade = TradePrint("BTCUSDT", 9, Decimal("100.5"), Decimal("0.25"), 5, True)
    out = feed.on_events([report, trade], 5)
    assert isinstance(out[0], UserMessage) and out[0].account == "user"
    er = out[0].payload
    assert (er["e"], er["c"], er["S"], er["q"], er["x"], er["X"], er["t"]) == (
        "executionReport",
        "abc",
        "BUY",
        "0.5",
        "NEW",
        "NEW",
        -1,
    )
    assert isinstance(out[1], StreamMessage) and out[1].stream == "btcusdt@trade"
    assert out[1].payload["p"] == "100.5" and out[1].payload["m"] is True


@st.composite
def delta_runs(draw: st.DrawFn) -> tuple[list[tuple[int, BookDelta]], int]:
    """Book deltas with growing ids and times, and how many happen before a snapshot."""
    n = draw(st.integers(1, 60))
    t = 0
    out: list[tuple[int, BookDelta]] = []
    for uid in range(1, n + 1):
        t += draw(st.integers(0, 250))
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        price = draw(st.integers(95, 105))
        qty = draw(st.sampled_from(["0", "0.5", "1", "2"]))
        out.append((t, delta(uid, side, str(price), qty, t)))
    return out, draw(st.integers(0, n))


@given(delta_runs())
def test_snapshot_and_diffs_rebuild_the_exact_book(
    data: tuple[list[tuple[int, BookDelta]], int],
) -> None:
    deltas, at_snapshot = data
    feed = MarketFeed.for_symbols(["BTCUSDT"])
    truth: dict[tuple[Side, Decimal], Decimal] = {}
    snapshot: dict[tuple[Side, Decimal], Decimal] = {}
    snapshot_id = 0
    diffs: list[dict[str, object]] = []
    for i, (t, d) in enumerate(deltas):
        if i == at_snapshot:
            snapshot, snapshot_id = dict(truth), deltas[i - 1][1].update_id if i else 0
        diffs += [m.payload for m in feed.flush_due(t) if m.stream.endswith("@100ms")]
        feed.on_events([d], t)
        truth = {k: v for k, v in {**truth, (d.side, d.price): d.quantity}.items() if v}
    if at_snapshot == len(deltas):
        snapshot, snapshot_id = dict(truth), deltas[-1][1].update_id
    diffs += [m.payload for m in feed.flush_due(10**9) if m.stream.endswith("@100ms")]

    book, local_id = dict(snapshot), snapshot_id
    for diff in diffs:
        first, last = diff["U"], diff["u"]
        assert isinstance(first, int) and isinstance(last, int)
        if last <= local_id:
            continue
        assert first <= local_id + 1, "gap between the snapshot and the diffs"
        for side, key in ((Side.BUY, "b"), (Side.SELL, "a")):
            for price, qty in diff[key]:  # type: ignore[attr-defined]
                book[(side, Decimal(price))] = Decimal(qty)
        book = {k: v for k, v in book.items() if v}
        local_id = last
    assert book == truth
    mirror = feed.book("BTCUSDT")
    assert {(Side.BUY, p): q for p, q in mirror.bids.items()} | {
        (Side.SELL, p): q for p, q in mirror.asks.items()
    } == truth


def session(*streams: str, combined: bool = False) -> StreamSession:
    return StreamSession(symbols=SYMBOLS, combined=combined, subscriptions=list(streams))


def test_subscribe_unsubscribe_and_list_answer_with_result_and_id() -> None:
    s = session("btcusdt@trade")
    sub = s.handle(json.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@depth@100ms"], "id": 1}))
    assert sub.reply == {"result": None, "id": 1}
    assert sub.subscribed == ("ethusdt@depth@100ms",)
    listed = s.handle('{"method": "LIST_SUBSCRIPTIONS", "id": "a1"}')
    assert listed.reply == {"result": ["btcusdt@trade", "ethusdt@depth@100ms"], "id": "a1"}
    unsub = s.handle('{"method": "UNSUBSCRIBE", "params": ["btcusdt@trade"], "id": 3}')
    assert unsub.unsubscribed == ("btcusdt@trade",)
    assert s.subscriptions == ["ethusdt@depth@100ms"]


def test_combined_property_can_be_read_and_set() -> None:
    s = session()
    assert s.handle('{"method": "GET_PROPERTY", "params": ["combined"], "id": 1}').reply == {
        "result": False,
        "id": 1,
    }
    s.handle('{"method": "SET_PROPERTY", "params": ["combined", true], "id": 2}')
    assert s.combined is True


def test_bad_control_frames_get_error_answers_and_change_nothing() -> None:
    s = session("btcusdt@trade")
    cases: dict[str | bytes, int] = {
        "not json": 3,
        b"\xff\xfe": 3,
        "[1, 2]": 2,
        '{"method": "SUBSCRIBE", "params": ["xrpusdt@trade"], "id": 1}': 2,
        '{"method": "SUBSCRIBE", "params": "btcusdt@trade", "id": 1}': 2,
        '{"method": "FLY", "id": 1}': 2,
        '{"params": [], "id": 1}': 2,
        '{"method": "SUBSCRIBE", "params": [], "id": true}': 2,
        '{"method": "SUBSCRIBE", "params": [], "id": 1, "extra": 0}': 2,
        '{"method": "GET_PROPERTY", "params": ["colour"], "id": 1}': 0,
        '{"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 1}': 1,
    }
    for frame, code in cases.items():
        outcome = s.handle(frame)
        assert outcome.reply["error"]["code"] == code, frame
        assert "id" in outcome.reply
    assert s.subscriptions == ["btcusdt@trade"] and s.combined is False


def test_a_string_request_id_must_be_letters_and_digits_only_to_its_end() -> None:
    s = session()
    for bad in ("abc\n", "abc\r\n", "\nabc", "ab c", "a" * 37, ""):
        outcome = s.handle(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": bad}))
        assert outcome.reply["error"]["code"] == 2, repr(bad)
    good = s.handle(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": "A" * 36}))
    assert good.reply == {"result": [], "id": "A" * 36}
