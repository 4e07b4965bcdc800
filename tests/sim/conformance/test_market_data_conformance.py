"""Conformance of the fake exchange's market data with Binance's docs: keys and JSON types.

Every market-data endpoint (REST and its WebSocket API twin) and every market stream the
fake exchange serves is compared with the example the docs give for it (copied into
``examples/``; ``shape.py`` compares). The exchange runs sans-IO here: its seeded market
is advanced by hand for two simulated minutes, so there are trades, klines and tickers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from shape import assert_same_shape, example, shape_differences

from mmbot.clock import SIM_EPOCH_MS
from mmbot.sim.dialect import RestRequest, WsApiSession
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.streams import StreamMessage

SYMBOLS = ("BTCUSDT", "ETHUSDT")
STREAMS = (
    "btcusdt@trade",
    "btcusdt@aggTrade",
    "btcusdt@bookTicker",
    "btcusdt@depth@100ms",
    "btcusdt@depth",
    "btcusdt@depth5",
    "btcusdt@depth10@100ms",
    "btcusdt@depth20",
    "btcusdt@kline_1s",
    "btcusdt@kline_1m",
    "btcusdt@kline_1M",
    "btcusdt@ticker",
    "btcusdt@miniTicker",
    "btcusdt@ticker_1h",
    "btcusdt@avgPrice",
    "!miniTicker@arr",
    "!ticker_4h@arr",
)
RUN_MS = 130_000


class Market:
    """A seeded exchange advanced by hand, with every stream message it produced."""

    def __init__(self) -> None:
        self.exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=3))
        self.now = SIM_EPOCH_MS
        self.messages: dict[str, list[dict[str, Any] | list[Any]]] = {}
        ex = self.exchange
        ex.market.start(self.now)
        self._collect(ex.feed.on_events(ex.engine.drain_events(), self.now))
        for _ in range(100_000):
            market_at = ex.market.next_event_ms()
            flush_at = ex.feed.next_flush_ms(STREAMS)
            at = market_at if flush_at is None else min(market_at, flush_at)
            if at > SIM_EPOCH_MS + RUN_MS:
                break
            self.now = at
            if market_at <= at:
                ex.market.advance(at)
            self._collect(ex.feed.on_events(ex.engine.drain_events(), at))
            self._collect(ex.feed.flush_due(at, list(STREAMS)))

    def _collect(self, messages: list[Any]) -> None:
        for message in messages:
            if isinstance(message, StreamMessage):
                self.messages.setdefault(message.stream, []).append(json.loads(message.text))

    def rest(self, path: str, query: str = "") -> object:
        request = RestRequest("GET", f"/api/v3{path}", query.encode(), b"", {}, "127.0.0.1")
        response = self.exchange.dialect.handle_rest(request, self.now)
        assert response.status == 200, response.body
        return response.body

    def ws_api(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        request = {"id": "conformance-1", "method": method, "params": params}
        answer = self.exchange.dialect.handle_ws_api(request, WsApiSession(), self.now)
        assert answer["status"] == 200, answer
        return answer


@pytest.fixture(scope="module")
def market() -> Iterator[Market]:
    yield Market()


SYMBOLS_JSON = json.dumps(list(SYMBOLS), separators=(",", ":"))
REST_CASES = [
    ("rest_depth", "/depth", "symbol=BTCUSDT&limit=5"),
    ("rest_trades", "/trades", "symbol=BTCUSDT&limit=3"),
    ("rest_historical_trades", "/historicalTrades", "symbol=BTCUSDT&fromId=2&limit=3"),
    ("rest_agg_trades", "/aggTrades", "symbol=BTCUSDT&limit=3"),
    ("rest_klines", "/klines", "symbol=BTCUSDT&interval=1m"),
    ("rest_ui_klines", "/uiKlines", "symbol=BTCUSDT&interval=1h&timeZone=8"),
    ("rest_avg_price", "/avgPrice", "symbol=BTCUSDT"),
    ("rest_ticker_24hr_full", "/ticker/24hr", "symbol=BTCUSDT"),
    ("rest_ticker_24hr_full_list", "/ticker/24hr", ""),
    ("rest_ticker_24hr_mini", "/ticker/24hr", "symbol=BTCUSDT&type=MINI"),
    ("rest_ticker_24hr_mini_list", "/ticker/24hr", f"symbols={SYMBOLS_JSON}&type=MINI"),
    ("rest_ticker_trading_day_full", "/ticker/tradingDay", "symbol=BTCUSDT"),
    ("rest_ticker_trading_day_full_list", "/ticker/tradingDay", f"symbols={SYMBOLS_JSON}"),
    ("rest_ticker_trading_day_mini", "/ticker/tradingDay", "symbol=ETHUSDT&type=MINI"),
    (
        "rest_ticker_trading_day_mini_list",
        "/ticker/tradingDay",
        f"symbols={SYMBOLS_JSON}&type=MINI&timeZone=-1:00",
    ),
    ("rest_ticker_price", "/ticker/price", "symbol=BTCUSDT"),
    ("rest_ticker_price_list", "/ticker/price", ""),
    ("rest_ticker_book", "/ticker/bookTicker", "symbol=BTCUSDT"),
    ("rest_ticker_book_list", "/ticker/bookTicker", f"symbols={SYMBOLS_JSON}"),
    ("rest_ticker_rolling_full", "/ticker", "symbol=BTCUSDT&windowSize=1m"),
    ("rest_ticker_rolling_full_list", "/ticker", f"symbols={SYMBOLS_JSON}&windowSize=2h"),
    ("rest_ticker_rolling_mini", "/ticker", "symbol=BTCUSDT&type=MINI"),
    ("rest_ticker_rolling_mini_list", "/ticker", f"symbols={SYMBOLS_JSON}&type=MINI"),
]


@pytest.mark.parametrize(("name", "path", "query"), REST_CASES, ids=[c[0] for c in REST_CASES])
def test_rest_answer_has_the_docs_shape(market: Market, name: str, path: str, query: str) -> None:
    body = market.rest(path, query)
    assert body, "an empty answer shows no shape"
    assert_same_shape(body, example(name))


WS_API_CASES = [
    ("ws_api_depth", "depth", {"symbol": "BTCUSDT", "limit": 5}),
    ("ws_api_trades_recent", "trades.recent", {"symbol": "BTCUSDT", "limit": 2}),
    ("ws_api_trades_historical", "trades.historical", {"symbol": "BTCUSDT", "fromId": 1}),
    ("ws_api_trades_aggregate", "trades.aggregate", {"symbol": "BTCUSDT", "fromId": 0}),
    ("ws_api_klines", "klines", {"symbol": "BTCUSDT", "interval": "1s", "limit": 10}),
    ("ws_api_ui_klines", "uiKlines", {"symbol": "BTCUSDT", "interval": "1d"}),
    ("ws_api_avg_price", "avgPrice", {"symbol": "ETHUSDT"}),
    ("ws_api_ticker_24hr", "ticker.24hr", {"symbol": "BTCUSDT"}),
    ("ws_api_ticker_trading_day", "ticker.tradingDay", {"symbol": "BTCUSDT"}),
    ("ws_api_ticker", "ticker", {"symbol": "BTCUSDT", "windowSize": "7d"}),
    ("ws_api_ticker_price", "ticker.price", {"symbol": "BTCUSDT"}),
    ("ws_api_ticker_book", "ticker.book", {"symbol": "BTCUSDT"}),
]


@pytest.mark.parametrize(
    ("name", "method", "params"), WS_API_CASES, ids=[c[0] for c in WS_API_CASES]
)
def test_ws_api_answer_has_the_docs_shape(
    market: Market, name: str, method: str, params: dict[str, Any]
) -> None:
    answer = market.ws_api(method, params)
    assert answer["result"], "an empty answer shows no shape"
    assert_same_shape(answer, example(name))


STREAM_CASES = [
    ("stream_trade", "btcusdt@trade"),
    ("stream_agg_trade", "btcusdt@aggTrade"),
    ("stream_book_ticker", "btcusdt@bookTicker"),
    ("stream_diff_depth", "btcusdt@depth@100ms"),
    ("stream_diff_depth", "btcusdt@depth"),
    ("stream_partial_depth", "btcusdt@depth5"),
    ("stream_partial_depth", "btcusdt@depth10@100ms"),
    ("stream_partial_depth", "btcusdt@depth20"),
    ("stream_kline", "btcusdt@kline_1s"),
    ("stream_kline", "btcusdt@kline_1m"),
    ("stream_kline", "btcusdt@kline_1M"),
    ("stream_ticker", "btcusdt@ticker"),
    ("stream_mini_ticker", "btcusdt@miniTicker"),
    ("stream_rolling_ticker", "btcusdt@ticker_1h"),
    ("stream_avg_price", "btcusdt@avgPrice"),
]


@pytest.mark.parametrize(("name", "stream"), STREAM_CASES, ids=[c[1] for c in STREAM_CASES])
def test_stream_payload_has_the_docs_shape(market: Market, name: str, stream: str) -> None:
    payloads = market.messages.get(stream, [])
    assert payloads, f"no {stream} message in {RUN_MS} ms"
    for payload in payloads:
        assert_same_shape(payload, example(name))


@pytest.mark.parametrize(
    ("stream", "name"),
    [("!miniTicker@arr", "stream_mini_ticker"), ("!ticker_4h@arr", "stream_rolling_ticker")],
)
def test_all_market_streams_are_arrays_of_the_single_symbol_payload(
    market: Market, stream: str, name: str
) -> None:
    arrays = market.messages.get(stream, [])
    assert arrays
    for array in arrays:
        assert isinstance(array, list) and array
        for item in array:
            assert_same_shape(item, example(name))


def test_a_kline_stream_sends_the_kline_it_leaves_closed(market: Market) -> None:
    klines = [m for m in market.messages["btcusdt@kline_1m"] if isinstance(m, dict)]
    closed = [k["k"] for k in klines if k["k"]["x"]]
    assert closed and all(k["T"] == k["t"] + 59_999 for k in closed)
    first_open = klines[0]["k"]["t"]
    assert closed[0]["t"] == first_open


def test_the_rolling_window_stream_names_its_window_in_the_event_type(market: Market) -> None:
    events = {m["e"] for m in market.messages["btcusdt@ticker_1h"] if isinstance(m, dict)}
    assert events == {"1hTicker"}


def test_the_shape_compare_sees_missing_and_extra_keys_and_wrong_types() -> None:
    want = {"a": 1, "b": "x", "c": [[1, "p"]], "d": [{"k": True}]}
    assert shape_differences(want, want) == []
    assert shape_differences({**want, "e": 1}, want) == ["$: keys the example lacks ['e']"]
    assert shape_differences({"a": 1, "b": "x", "c": []}, want) == ["$: missing keys ['d']"]
    assert shape_differences({**want, "a": "1"}, want) == ["$.a: string, the example has int"]
    assert shape_differences({**want, "c": [[1, 2]]}, want) == [
        "$.c[0][1]: int, the example has string"
    ]
    assert shape_differences({**want, "d": [{"k": 1}]}, want) == [
        "$.d[0].k: int, the example has bool"
    ]
    with pytest.raises(AssertionError):
        assert_same_shape({**want, "a": True}, want)
