"""The ``error`` and ``lost_ack`` faults: the plan's decisions (sans-IO), and the exchange
refusing a request without working on it, or working on it and losing the answer."""

from __future__ import annotations

import json
import random
from urllib.parse import urlencode

import pytest
import trio
import trio.testing
from order_kit import open_ids, resting_bid, ws_place_frame

from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import Error, FaultPlan, Latency, LostAck, Target
from mmbot.sim.history import EntryKind, FaultRecord
from mmbot.sim.inprocess import InProcessExchange
from mmbot.testing import running_exchange
from mmbot.venue.binance.signing import sign

API_KEY = "answer-fault-key"
API_SECRET = "answer-fault-secret"


def _placing(exchange: Exchange, request_id: int, cid: str) -> str:
    return ws_place_frame(exchange, request_id, API_KEY, API_SECRET, cid)


# -- the plan ---------------------------------------------------------------------------------


def test_the_first_striking_fault_in_plan_order_wins_and_latency_never_strikes() -> None:
    plan = FaultPlan(
        (Latency(0.1), Error(503, -1008, Target.named("order.cancel")), LostAck(mode="unknown"))
    )
    rng = random.Random(1)
    assert plan.strikes
    assert plan.strike("order.cancel", 0.0, rng) == Error(503, -1008, Target.named("order.cancel"))
    assert plan.strike("order.place", 0.0, rng) == LostAck(mode="unknown")
    assert plan.strike("depth", 0.0, rng) is None  # neither targets market data
    assert not FaultPlan((Latency(0.1),)).strikes
    assert plan.delay_for("order.place", 0.0, rng) == 0.1  # latency still adds its delay


def test_a_striking_fault_keeps_its_window_and_draws_only_for_a_matching_request() -> None:
    fault = LostAck(probability=0.5, start=10.0, duration=5.0)
    rng, untouched = random.Random(7), random.Random(7)
    plan = FaultPlan((fault,))
    assert plan.strike("order.place", 9.9, rng) is None  # before its window
    assert plan.strike("order.place", 15.0, rng) is None  # after it
    assert plan.strike("depth", 12.0, rng) is None  # not its target
    assert rng.random() == untouched.random()  # none of those drew
    hits = sum(plan.strike("order.place", 12.0, rng) is not None for _ in range(2000))
    assert 850 < hits < 1150


@pytest.mark.parametrize(
    "build",
    [
        lambda: Error(200, -1000),  # not an error status
        lambda: Error(503, -2010),  # not a code an error fault may answer
        lambda: LostAck(mode="maybe"),
        lambda: Error(503, -1008, probability=1.5),
    ],
)
def test_bad_answer_faults_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_answer_faults_describe_themselves() -> None:
    plan = FaultPlan((Error(429, -1003, retry_after=2), LostAck(start=5, duration=10)))
    assert plan.describe() == (
        "error 429 -1003 on orders; lost ack (drop) on orders, from 5 s to 15 s"
    )


# -- the exchange shell -----------------------------------------------------------------------


def _exchange(*faults: Error | LostAck) -> Exchange:
    config = ExchangeConfig(
        symbols=("BTCUSDT",), seed=3, api_key=API_KEY, api_secret=API_SECRET,
        faults=FaultPlan(faults),
    )  # fmt: skip
    return Exchange.simulated(config)


async def test_an_error_fault_refuses_without_working_on_the_request(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_exchange(_exchange(Error(429, -1003, retry_after=3))) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(_placing(exchange, 1, "refused-1"))
        answer = json.loads(await ws.get_message())
        await ws.aclose()
        async with InProcessExchange(exchange).client() as client:
            query = urlencode(
                {**resting_bid(exchange, "refused-2"), "timestamp": exchange.now_ms()}
            )
            rest = await client.post(
                f"/api/v3/order?{query}&signature={sign(API_SECRET, query)}",
                headers={"X-MBX-APIKEY": API_KEY},
            )
    assert answer["status"] == 429 and answer["error"]["code"] == -1003
    assert answer["error"]["data"]["retryAfter"] > answer["error"]["data"]["serverTime"]
    assert rest.status_code == 429 and rest.json()["code"] == -1003
    assert rest.headers["Retry-After"] == "3"
    assert open_ids(exchange) == []  # nothing was placed
    faults = [e.payload for e in exchange.history.entries(EntryKind.FAULT)]
    assert faults == [
        FaultRecord("error", "order.place", "429 -1003"),
        FaultRecord("error", "order.place", "429 -1003"),
    ]
    requests = [e.payload for e in exchange.history.entries(EntryKind.REQUEST)]
    assert [(r.status, r.injected) for r in requests] == [(429, True)] * 2  # once each


async def test_a_lost_ack_works_on_the_order_then_loses_or_replaces_its_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(
        LostAck(mode="drop", target=Target.named("order.place"), duration=1.0),
        LostAck(mode="unknown", target=Target.named("order.place"), start=1.0),
    )
    async with running_exchange(exchange) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(_placing(exchange, 1, "lost-1"))  # never answered
        with trio.move_on_after(0.9) as waited:
            await ws.get_message()
        assert waited.cancelled_caught
        await trio.sleep(0.2)  # the second fault's window
        await ws.send_message(_placing(exchange, 2, "lost-2"))
        answer = json.loads(await ws.get_message())
        await ws.aclose()
    assert answer["id"] == 2 and answer["status"] == 503 and answer["error"]["code"] == -1007
    assert sorted(open_ids(exchange)) == ["lost-1", "lost-2"]  # both were placed
    requests = [e.payload for e in exchange.history.entries(EntryKind.REQUEST)]
    assert [(r.method, r.status, r.injected) for r in requests] == [("order.place", 200, False)] * 2


async def test_a_rest_request_whose_answer_is_lost_outlives_the_clients_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(LostAck())
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        query = urlencode({**resting_bid(exchange, "lost-rest"), "timestamp": exchange.now_ms()})
        with trio.move_on_after(5.0) as waited:  # the bot's request timeout
            await client.post(
                f"/api/v3/order?{query}&signature={sign(API_SECRET, query)}",
                headers={"X-MBX-APIKEY": API_KEY},
            )
    assert waited.cancelled_caught  # no answer within the client's deadline
    assert open_ids(exchange) == ["lost-rest"]  # placed all the same
