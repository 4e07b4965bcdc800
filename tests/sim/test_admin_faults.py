"""The admin API's fault control and statistics (``/_sim/faults``, ``/_sim/stats``), over a
real loopback socket: a plan set there strikes the dialect's requests, a heal ends it, and
bad input is a 400 that says why (never a 500)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlencode

import httpx
import trio
from order_kit import resting_bid

from mmbot.clock import EpochClock
from mmbot.sim.dialect import RestRequest
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.history import EntryKind, FaultRecord
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.venue.binance.signing import sign

API_KEY = "admin-key"
API_SECRET = "admin-secret-do-not-log"


def _exchange() -> Exchange:
    config = ExchangeConfig(symbols=("BTCUSDT",), seed=3, api_key=API_KEY, api_secret=API_SECRET)
    return Exchange.create(config, clock=EpochClock.from_wall_clock())


def _signed(params: Mapping[str, object], timestamp: int) -> str:
    query = urlencode({**params, "timestamp": timestamp})
    return f"{query}&signature={sign(API_SECRET, query)}"


async def _place(http: httpx.AsyncClient, exchange: Exchange, cid: str) -> httpx.Response:
    order = resting_bid(exchange, cid, below=500)
    return await http.post(f"/api/v3/order?{_signed(order, exchange.now_ms())}")


async def test_a_plan_set_over_the_admin_api_strikes_and_a_heal_ends_it() -> None:
    exchange = _exchange()
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        async with httpx.AsyncClient(
            base_url=info.rest_url, headers={"X-MBX-APIKEY": API_KEY}
        ) as http:
            body = {
                "faults": [
                    {"kind": "error", "target": ["order.place"], "status": 503, "code": -1008},
                    {"kind": "latency", "target": "market_data", "delay": "1ms", "start": "60m"},
                ]
            }
            set_plan = await http.put("/_sim/faults", content=json.dumps(body))
            assert set_plan.status_code == 200, set_plan.text
            answer = set_plan.json()
            assert answer["faults"] == 2
            assert "error 503 -1008 on order.place" in answer["plan"]
            assert answer["clock_s"] >= 0 and answer["seq"] == exchange.history.last_seq

            refused = await _place(http, exchange, "admin-1")
            assert refused.status_code == 503 and refused.json()["code"] == -1008
            assert exchange.engine.open_orders("user") == []

            now = (await http.get("/_sim/faults")).json()
            assert now["faults"] == 2

            healed = await http.delete("/_sim/faults")
            assert healed.status_code == 200 and healed.json() == {**healed.json(), "faults": 0}
            assert healed.json()["plan"] == "none"
            placed = await _place(http, exchange, "admin-2")
            assert placed.status_code == 200, placed.text

            plans = [
                e.payload
                for e in exchange.history.entries(EntryKind.FAULT)
                if getattr(e.payload, "name", "") == "plan"
            ]
            assert [getattr(p, "detail", "") for p in plans][-1] == "none"
            # the injected refusal is in the truth log, read through the admin API as JSON
            entries = (await http.get("/_sim/history", params={"kind": "request"})).json()
            injected = [e for e in entries["entries"] if e["payload"]["injected"]]
            assert [e["payload"]["status"] for e in injected] == [503]
        nursery.cancel_scope.cancel()


async def test_stats_give_the_history_extent_and_the_digest() -> None:
    exchange = _exchange()
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        async with httpx.AsyncClient(base_url=info.rest_url) as http:
            stats = (await http.get("/_sim/stats")).json()
        assert stats["digest"] == exchange.history.digest()
        assert 0 < stats["last_seq"] <= exchange.history.last_seq
        assert stats["held"] <= stats["last_seq"] and stats["dropped"] == 0
        assert stats["started_ms"] <= stats["time_ms"] and stats["plan"] == "none"
        nursery.cancel_scope.cancel()


BAD = [
    (b"not json", "body: expected JSON"),
    (b"\xff\xfe", "malformed parameters"),
    (b"[1, 2]", 'body: expected a JSON object {"faults"'),
    (b'{"fault": []}', 'body: expected a JSON object {"faults"'),
    (b'{"faults": {"kind": "latency"}}', "faults: expected a list of fault tables"),
    (b'{"faults": [{"kind": "nope"}]}', "faults[0]: kind: expected one of"),
    (b'{"faults": [3]}', "faults[0]: expected a table"),
    (b'{"faults": [{"kind": "kill_bot", "start": 1}]}', "kill_bot is the chaos runner's"),
    (b'{"faults": [{"kind": "latency", "delay": NaN}]}', "faults[0]: delay"),
    (b'{"faults": [{"kind": "latency", "probability": 2}]}', "faults[0]: probability"),
    (b'{"faults": [{"kind": "latency", "colour": 1}]}', "unknown key(s) ['colour']"),
    (b'{"faults": [{"kind": "error", "status": 429, "code": -1003}]}', "Retry-After"),
    (b'{"faults": [{"kind": "latency", "target": "the moon"}]}', "faults[0]: target"),
    (b"[" * 100_000, "body: expected JSON"),
]


async def test_bad_admin_input_is_a_400_naming_the_field_never_a_500() -> None:
    exchange = _exchange()
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        async with httpx.AsyncClient(base_url=info.rest_url) as http:
            for body, message in BAD:
                answer = await http.put("/_sim/faults", content=body)
                status = 413 if len(body) > 60_000 else 400
                assert answer.status_code in (status, 400), (body[:40], answer.text)
                if answer.status_code == 400:
                    assert message in answer.json()["error"], (body[:40], answer.text)
            wrong = await http.post("/_sim/faults", content=b'{"faults": []}')
            assert wrong.status_code == 405 and "PUT" in wrong.json()["error"]
            stats = await http.delete("/_sim/stats")
            assert stats.status_code == 405
        assert not exchange.faults  # nothing bad was ever set
        nursery.cancel_scope.cancel()


async def test_without_a_served_exchange_the_fault_routes_answer_404() -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",)))
    for method, path in (("PUT", "/_sim/faults"), ("GET", "/_sim/stats")):
        request = RestRequest(method, path, b"", b'{"faults": []}', {}, "127.0.0.1")
        answer = exchange.handle_rest(request)
        assert answer.status == 404 and "mmbot exchange serve" in str(answer.body)


async def test_the_fault_routes_serve_loopback_clients_only() -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",)))
    request = RestRequest("DELETE", "/_sim/faults", b"", b"", {}, "192.0.2.7")
    assert exchange.handle_rest(request).status == 403


async def test_a_fault_the_caller_struck_is_recorded_in_the_history() -> None:
    exchange = _exchange()
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        async with httpx.AsyncClient(base_url=info.rest_url) as http:
            note = {"name": "kill_bot", "target": "bot", "detail": "run abc123 killed"}
            answer = await http.post("/_sim/faults/record", content=json.dumps(note))
            assert answer.status_code == 200, answer.text
            [entry] = exchange.history.entries(EntryKind.FAULT, answer.json()["seq"] - 1)
            assert entry.payload == FaultRecord("kill_bot", "bot", "run abc123 killed")
            for bad, message in (
                ({"name": "Kill Bot"}, "name: expected"),
                ({"name": "kill_bot", "detail": "x" * 201}, "detail: expected"),
                ({"name": "kill_bot", "target": 7}, "target: expected"),
                ({"target": "bot"}, 'body: expected a JSON object {"name"'),
            ):
                refused = await http.post("/_sim/faults/record", content=json.dumps(bad))
                assert refused.status_code == 400 and message in refused.json()["error"]
            assert exchange.history.last_seq >= answer.json()["seq"]
        nursery.cancel_scope.cancel()
