"""The market streams added for the tape's statistics: names, subscriptions, schedule."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from mmbot.model import Side
from mmbot.sim.engine import BookDelta, TradePrint
from mmbot.sim.streams import MarketFeed, StreamKind, StreamSession
from mmbot.sim.streams.names import StreamSpec, parse_stream

SYMBOLS = frozenset({"BTCUSDT", "ETHUSDT"})
T0 = 1_767_225_600_000


@pytest.mark.parametrize(
    ("name", "spec"),
    [
        ("btcusdt@aggTrade", StreamSpec("BTCUSDT", StreamKind.AGG_TRADE)),
        ("btcusdt@depth5", StreamSpec("BTCUSDT", StreamKind.PARTIAL_DEPTH, levels=5)),
        (
            "ethusdt@depth20@100ms",
            StreamSpec("ETHUSDT", StreamKind.PARTIAL_DEPTH, levels=20, speed_ms=100),
        ),
        ("btcusdt@kline_1M", StreamSpec("BTCUSDT", StreamKind.KLINE, interval="1M")),
        ("btcusdt@ticker", StreamSpec("BTCUSDT", StreamKind.TICKER)),
        ("btcusdt@miniTicker", StreamSpec("BTCUSDT", StreamKind.MINI_TICKER)),
        ("btcusdt@avgPrice", StreamSpec("BTCUSDT", StreamKind.AVG_PRICE)),
        ("btcusdt@ticker_4h", StreamSpec("BTCUSDT", StreamKind.ROLLING_TICKER, window="4h")),
        ("!miniTicker@arr", StreamSpec(None, StreamKind.ALL_MINI_TICKERS)),
        ("!ticker_1d@arr", StreamSpec(None, StreamKind.ALL_ROLLING_TICKERS, window="1d")),
    ],
)
def test_the_new_stream_names_parse(name: str, spec: StreamSpec) -> None:
    assert parse_stream(name, SYMBOLS) == spec


@pytest.mark.parametrize(
    "name",
    [
        "btcusdt@depth15",
        "btcusdt@depth5@250ms",
        "btcusdt@kline_2m",
        "btcusdt@kline_1m@+08:00",
        "btcusdt@ticker_2h",
        "BTCUSDT@aggTrade",
        "xrpusdt@aggTrade",
        "!ticker@arr",  # retired by Binance on 2026-03-26
        "!ticker_2h@arr",
        "!bookTicker",
    ],
)
def test_unknown_names_stay_unknown(name: str) -> None:
    assert parse_stream(name, SYMBOLS) is None
    reply = (
        StreamSession(symbols=SYMBOLS, combined=False)
        .handle(json.dumps({"method": "SUBSCRIBE", "params": [name], "id": 1}))
        .reply
    )
    assert reply["error"]["code"] == 2 and "unknown stream" in reply["error"]["msg"]


def test_subscribe_takes_the_new_names_and_lists_them() -> None:
    session = StreamSession(symbols=SYMBOLS, combined=False)
    names = ["btcusdt@kline_1s", "!miniTicker@arr", "ethusdt@depth10"]
    outcome = session.handle(json.dumps({"method": "SUBSCRIBE", "params": names, "id": 7}))
    assert outcome.reply == {"result": None, "id": 7} and outcome.subscribed == tuple(names)
    listed = session.handle('{"method": "LIST_SUBSCRIPTIONS", "id": 8}').reply
    assert listed == {"result": names, "id": 8}


def test_periodic_streams_wake_the_exchange_only_while_someone_listens() -> None:
    feed = MarketFeed.for_symbols(["BTCUSDT"])
    feed.on_events([], T0 + 50)
    assert feed.next_flush_ms([]) is None
    assert feed.next_flush_ms(["btcusdt@trade", "btcusdt@depth"]) is None
    assert feed.next_flush_ms(["btcusdt@kline_1m"]) == T0 + 2000
    assert feed.next_flush_ms(["btcusdt@kline_1m", "btcusdt@depth5@100ms"]) == T0 + 100


def test_a_partial_book_has_the_best_levels_and_the_last_update_id() -> None:
    feed = MarketFeed.for_symbols(["BTCUSDT"])
    deltas = [
        BookDelta("BTCUSDT", i + 1, side, Decimal(price), Decimal("1"), T0)
        for i, (side, price) in enumerate(
            [
                (Side.BUY, "99"),
                (Side.BUY, "98"),
                (Side.SELL, "101"),
                (Side.SELL, "102"),
                (Side.BUY, "97"),
                (Side.SELL, "103"),
            ]
        )
    ]
    feed.on_events(deltas, T0)
    messages = feed.flush_due(T0 + 1000, ["btcusdt@depth5"])
    (book,) = [m.payload for m in messages if m.stream == "btcusdt@depth5"]
    assert book == {
        "lastUpdateId": 6,
        "bids": [["99", "1"], ["98", "1"], ["97", "1"]],
        "asks": [["101", "1"], ["102", "1"], ["103", "1"]],
    }


def test_agg_trades_are_sent_as_they_close_and_all_market_arrays_only_on_change() -> None:
    feed = MarketFeed.for_symbols(["BTCUSDT", "ETHUSDT"])
    trades = [
        TradePrint("BTCUSDT", 1, Decimal("100"), Decimal("1"), T0, False),
        TradePrint("BTCUSDT", 2, Decimal("100"), Decimal("2"), T0, False),
    ]
    sent = feed.on_events(trades, T0)
    (agg,) = [m for m in sent if getattr(m, "stream", "") == "btcusdt@aggTrade"]
    assert agg.payload["q"] == "3" and (agg.payload["f"], agg.payload["l"]) == (1, 2)  # type: ignore[union-attr]
    first = feed.flush_due(T0 + 1000, ["!miniTicker@arr"])
    assert [[t["s"] for t in m.payload] for m in first] == [["BTCUSDT"]]  # type: ignore[attr-defined]
    assert feed.flush_due(T0 + 2000, ["!miniTicker@arr"]) == []  # nothing changed
