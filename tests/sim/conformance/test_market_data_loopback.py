"""The market data over real 127.0.0.1 sockets (REST by httpx, the WebSocket API and the
market streams by trio-websocket) and in simulated mode (the same clients over the
exchange's in-process transports), each answer compared with the docs' example."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx
import trio
import trio.testing
from shape import assert_same_shape, example
from trio_websocket import WebSocketConnection, open_websocket_url

from mmbot.clock import EpochClock
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.inprocess import InProcessExchange
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.testing import running_exchange
from mmbot.venue.binance.signing import sign

API_KEY = "market-data-key"
API_SECRET = "market-data-secret"


async def _frames_until(ws: WebSocketConnection, wanted: set[str]) -> dict[str, Any]:
    """The first frame of each stream in ``wanted`` (combined-stream frames), within 10 s."""
    first: dict[str, Any] = {}
    with trio.fail_after(10):
        while not wanted <= set(first):
            frame = json.loads(await ws.get_message())
            first.setdefault(frame["stream"], frame["data"])
    return first


async def test_market_data_over_rest_ws_api_and_streams_on_real_sockets() -> None:
    config = ExchangeConfig(symbols=("BTCUSDT",), seed=7, api_key=API_KEY, api_secret=API_SECRET)
    exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        streams = "btcusdt@aggTrade/btcusdt@kline_1s/btcusdt@depth5@100ms"
        async with (
            httpx.AsyncClient(base_url=info.rest_url, headers={"X-MBX-APIKEY": API_KEY}) as http,
            open_websocket_url(f"{info.stream_url}/stream?streams={streams}") as market_ws,
            open_websocket_url(f"{info.stream_url}/ws") as live_ws,
            open_websocket_url(info.ws_api_url) as api_ws,
        ):
            # a taker order of ours makes a trade at once (no waiting for the market's own)
            order = urlencode(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01",
                 "timestamp": exchange.now_ms()}
            )  # fmt: skip
            placed = await http.post(f"/api/v3/order?{order}&signature={sign(API_SECRET, order)}")
            assert placed.status_code == 200, placed.text

            # the streams: aggTrade, kline and the partial book, as Binance shapes them
            first = await _frames_until(
                market_ws, {"btcusdt@aggTrade", "btcusdt@kline_1s", "btcusdt@depth5@100ms"}
            )
            assert_same_shape(first["btcusdt@aggTrade"], example("stream_agg_trade"))
            assert_same_shape(first["btcusdt@kline_1s"], example("stream_kline"))
            assert_same_shape(first["btcusdt@depth5@100ms"], example("stream_partial_depth"))

            # a live SUBSCRIBE takes the new names; an unknown one keeps its error
            await live_ws.send_message(
                '{"method":"SUBSCRIBE","params":["btcusdt@miniTicker"],"id":1}'
            )
            assert json.loads(await live_ws.get_message()) == {"result": None, "id": 1}
            await live_ws.send_message(
                '{"method":"SUBSCRIBE","params":["btcusdt@kline_2m"],"id":2}'
            )
            refused = json.loads(await live_ws.get_message())
            assert refused["id"] == 2 and refused["error"]["code"] == 2
            await live_ws.send_message('{"method":"LIST_SUBSCRIPTIONS","id":3}')
            assert json.loads(await live_ws.get_message()) == {
                "result": ["btcusdt@miniTicker"],
                "id": 3,
            }
            with trio.fail_after(10):
                mini = json.loads(await live_ws.get_message())
            assert_same_shape(mini, example("stream_mini_ticker"))

            # REST
            trades = await http.get("/api/v3/trades", params={"symbol": "BTCUSDT", "limit": 5})
            assert trades.headers["x-mbx-used-weight-1m"] and trades.status_code == 200
            assert_same_shape(trades.json(), example("rest_trades"))
            klines = await http.get(
                "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"}
            )
            assert_same_shape(klines.json(), example("rest_klines"))
            ticker = await http.get("/api/v3/ticker/24hr", params={"symbol": "BTCUSDT"})
            assert_same_shape(ticker.json(), example("rest_ticker_24hr_full"))

            # the WebSocket API twin
            params = {"symbol": "BTCUSDT", "interval": "1h", "timeZone": "8"}
            request = {"id": "k1", "method": "uiKlines", "params": params}
            await api_ws.send_message(json.dumps(request))
            with trio.fail_after(10):
                answer = json.loads(await api_ws.get_message())
            assert_same_shape(answer, example("ws_api_ui_klines"))
        nursery.cancel_scope.cancel()


async def test_market_data_in_simulated_mode_through_the_exchange_s_transports(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT", "ETHUSDT"), seed=11))
    venue = InProcessExchange(exchange)
    async with running_exchange(exchange) as (_, nursery):
        streams = await venue.connect_ws(
            nursery, "/stream?streams=btcusdt@ticker/btcusdt@kline_1m/!miniTicker@arr"
        )
        api = await venue.connect_ws(nursery, "/ws-api/v3")
        first = await _frames_until(
            streams, {"btcusdt@ticker", "btcusdt@kline_1m", "!miniTicker@arr"}
        )
        assert_same_shape(first["btcusdt@ticker"], example("stream_ticker"))
        assert_same_shape(first["btcusdt@kline_1m"], example("stream_kline"))
        for item in first["!miniTicker@arr"]:
            assert_same_shape(item, example("stream_mini_ticker"))
        await streams.aclose()
        await trio.sleep(90)  # a minute and a half of simulated trading
        async with venue.client() as http:
            answer = await http.get(
                "/api/v3/klines", params={"symbol": "BTCUSDT", "interval": "1m"}
            )
            klines = answer.json()
            assert answer.status_code == 200 and len(klines) >= 2
            assert_same_shape(klines, example("rest_klines"))
            avg = await http.get("/api/v3/avgPrice", params={"symbol": "ETHUSDT"})
            assert_same_shape(avg.json(), example("rest_avg_price"))
        await api.send_message(
            json.dumps({"id": "t1", "method": "ticker", "params": {"symbols": ["BTCUSDT"]}})
        )
        answer = json.loads(await api.get_message())
        assert_same_shape(answer["result"][0], example("ws_api_ticker")["result"])  # type: ignore[index]
