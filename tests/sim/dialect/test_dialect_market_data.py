"""The market-data requests' parameters, limits, error codes and weights."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from mmbot.model import SymbolStatus
from mmbot.sim.dialect import Credentials, Dialect, RestRequest, WsApiSession
from mmbot.sim.engine import Fees, MatchingEngine, TradePrint
from mmbot.sim.market import default_market
from mmbot.venue.binance.weights import request_weight

NOW = 1_767_225_600_000


@pytest.fixture
def dialect() -> Dialect:
    instruments, _ = default_market(("BTCUSDT", "ETHUSDT"))
    engine = MatchingEngine(instruments, Fees())
    d = Dialect(engine, Credentials())
    d.market_stats.record(
        [
            TradePrint("BTCUSDT", i, Decimal(100 + i), Decimal(1), NOW + i * 1000, False)
            for i in range(1, 6)
        ]
    )
    return d


def get(dialect: Dialect, path: str, query: str = "") -> tuple[int, object, dict[str, str]]:
    request = RestRequest("GET", f"/api/v3{path}", query.encode(), b"", {}, "127.0.0.1")
    response = dialect.handle_rest(request, NOW + 10_000)
    return response.status, response.body, dict(response.headers)


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/klines", "symbol=BTCUSDT", -1102),
        ("/klines", "symbol=BTCUSDT&interval=2m", -1120),
        ("/klines", "symbol=BTCUSDT&interval=1m&timeZone=15", -1130),
        ("/klines", "symbol=BTCUSDT&interval=1m&limit=1001", -1130),
        ("/klines", "symbol=BTCUSDT&interval=1m&startTime=5&endTime=4", -1130),
        ("/uiKlines", "symbol=XRPUSDT&interval=1m", -1121),
        ("/trades", "symbol=BTCUSDT&limit=0", -1130),
        ("/trades", "", -1102),
        ("/historicalTrades", "symbol=BTCUSDT&fromId=x", -1100),
        ("/aggTrades", "symbol=BTCUSDT&fromId=1&startTime=1", -1128),
        ("/ticker/24hr", 'symbol=BTCUSDT&symbols=["BTCUSDT"]', -1128),
        ("/ticker/24hr", "symbol=BTCUSDT&type=FAT", -1130),
        ("/ticker/24hr", "symbol=BTCUSDT&symbolStatus=HALT", -1220),
        ("/ticker/price", "symbols=BTCUSDT", -1100),
        ("/ticker/tradingDay", "", -1102),
        ("/ticker", "symbol=BTCUSDT&windowSize=8d", -1100),
        ("/ticker", "symbols=" + json.dumps(["A"] * 101), -1101),
        ("/avgPrice", "", -1102),
    ],
)
def test_a_bad_market_data_request_gets_the_dialect_s_code(
    dialect: Dialect, path: str, query: str, code: int
) -> None:
    status, body, _ = get(dialect, path, query)
    assert status == 400 and isinstance(body, dict) and body["code"] == code, body


def test_symbol_status_filters_lists_and_refuses_a_single_mismatch(dialect: Dialect) -> None:
    dialect.engine.set_symbol_status("ETHUSDT", SymbolStatus.HALT, NOW)
    _, body, _ = get(dialect, "/ticker/price", "symbolStatus=TRADING")
    assert [t["symbol"] for t in body] == ["BTCUSDT"]  # type: ignore[union-attr, index]
    status, body, _ = get(dialect, "/ticker/price", "symbol=ETHUSDT&symbolStatus=HALT")
    assert status == 200 and body == {"symbol": "ETHUSDT", "price": "0.00000000"}


def test_trades_and_klines_come_from_the_tape(dialect: Dialect) -> None:
    _, trades, _ = get(dialect, "/trades", "symbol=BTCUSDT&limit=2")
    assert [t["id"] for t in trades] == [4, 5]  # type: ignore[union-attr, index]
    _, older, _ = get(dialect, "/historicalTrades", "symbol=BTCUSDT&fromId=2&limit=2")
    assert [t["id"] for t in older] == [2, 3]  # type: ignore[union-attr, index]
    _, klines, _ = get(dialect, "/klines", "symbol=BTCUSDT&interval=1m")
    assert klines == [
        [NOW, "101.00000000", "105.00000000", "101.00000000", "105.00000000", "5.00000000",
         NOW + 59_999, "515.00000000", 5, "5.00000000", "515.00000000", "0"]
    ]  # fmt: skip
    _, avg, _ = get(dialect, "/avgPrice", "symbol=BTCUSDT")
    assert avg == {"mins": 5, "price": "103.00000000", "closeTime": NOW + 5000}


@pytest.mark.parametrize(
    ("path", "query", "weight"),
    [
        ("/trades", "symbol=BTCUSDT", 25),
        ("/historicalTrades", "symbol=BTCUSDT", 25),
        ("/aggTrades", "symbol=BTCUSDT", 4),
        ("/klines", "symbol=BTCUSDT&interval=1m", 2),
        ("/uiKlines", "symbol=BTCUSDT&interval=1m", 2),
        ("/avgPrice", "symbol=BTCUSDT", 2),
        ("/ticker/24hr", "symbol=BTCUSDT", 2),
        ("/ticker/24hr", "", 80),
        ("/ticker/price", "symbol=BTCUSDT", 2),
        ("/ticker/price", "", 4),
        ("/ticker/bookTicker", 'symbols=["BTCUSDT"]', 4),
        ("/ticker/tradingDay", 'symbols=["BTCUSDT","ETHUSDT"]', 8),
        ("/ticker", "symbol=BTCUSDT", 4),
    ],
)
def test_market_data_requests_are_charged_their_weight(
    dialect: Dialect, path: str, query: str, weight: int
) -> None:
    status, _, headers = get(dialect, path, query)
    assert status == 200 and headers["x-mbx-used-weight-1m"] == str(weight)


def test_ticker_weights_grow_with_the_symbols_named() -> None:
    def weight(operation: str, symbols: int) -> int:
        names = json.dumps([f"S{i}" for i in range(symbols)])
        return request_weight(operation, {"symbols": names}.get)

    assert [weight("ticker.24hr", n) for n in (1, 20, 21, 100, 101)] == [2, 2, 40, 40, 80]
    assert [weight("ticker", n) for n in (1, 50, 51, 100)] == [4, 200, 200, 200]
    assert weight("ticker.tradingDay", 3) == 12


def test_the_ws_api_twins_answer_like_rest(dialect: Dialect) -> None:
    session = WsApiSession()
    answer = dialect.handle_ws_api(
        {"id": 1, "method": "ticker.24hr", "params": {"symbols": ["BTCUSDT", "ETHUSDT"]}},
        session,
        NOW + 10_000,
    )
    assert answer["status"] == 200
    assert [t["symbol"] for t in answer["result"]] == ["BTCUSDT", "ETHUSDT"]  # type: ignore[attr-defined]
    assert answer["rateLimits"][0]["count"] == 2  # type: ignore[index]
    bad = dialect.handle_ws_api(
        {"id": 2, "method": "klines", "params": {"symbol": "BTCUSDT", "interval": "7m"}},
        session,
        NOW + 10_000,
    )
    assert bad["status"] == 400 and bad["error"] == {"code": -1120, "msg": "Invalid interval."}
