"""The fault plan's decisions (a sans-IO core), and the exchange holding what it delays."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from urllib.parse import urlencode

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import (
    ENDPOINT_CLASSES,
    ORDER_OPERATIONS,
    FaultPlan,
    Latency,
    Target,
)
from mmbot.sim.history import EntryKind, FaultRecord
from mmbot.sim.inprocess import InProcessExchange
from mmbot.testing import running_exchange
from mmbot.venue.binance.signing import sign, ws_signing_payload

API_KEY = "fault-key"
API_SECRET = "fault-secret-do-not-log"

# -- the plan (no trio, no clock: a number and an RNG) ----------------------------------------


def test_a_latency_on_orders_hits_order_requests_only() -> None:
    plan = FaultPlan((Latency(0.2),))
    rng = random.Random(1)
    for operation in sorted(ORDER_OPERATIONS):
        assert plan.delay_for(operation, 0.0, rng) == 0.2
    for operation in ("depth", "order.status", "openOrders.status", "account.status"):
        assert plan.delay_for(operation, 0.0, rng) == 0.0


def test_a_fault_is_active_from_its_start_for_its_duration() -> None:
    fault = Latency(0.1, target=Target.all(), start=10.0, duration=5.0)
    rng = random.Random(1)
    assert [fault.delay_for("depth", t, rng) for t in (9.9, 10.0, 14.9, 15.0)] == [
        0.0,
        0.1,
        0.1,
        0.0,
    ]


def test_a_fault_without_duration_lasts_for_good() -> None:
    assert Latency(0.1, start=1.0).active(1e9)


def test_latencies_that_hit_the_same_request_add_up() -> None:
    plan = FaultPlan(
        (Latency(0.2), Latency(0.05, target=Target.named("order.place", "order.cancel")))
    )
    rng = random.Random(1)
    assert plan.delay_for("order.place", 0.0, rng) == pytest.approx(0.25)
    assert plan.delay_for("order.cancelReplace", 0.0, rng) == pytest.approx(0.2)


@given(
    delay=st.floats(0, 5, allow_nan=False),
    jitter=st.floats(0, 5, allow_nan=False),
    seed=st.integers(0, 2**32),
)
def test_the_jitter_stays_within_its_bounds(delay: float, jitter: float, seed: int) -> None:
    plan = FaultPlan.order_latency(delay, jitter)
    rng = random.Random(seed)
    for _ in range(20):
        held = plan.delay_for("order.place", 0.0, rng)
        assert delay <= held <= delay + jitter


@given(seed=st.integers(0, 2**32))
def test_the_same_seed_gives_the_same_delays(seed: int) -> None:
    plan = FaultPlan((Latency(0.1, jitter=0.05, probability=0.5),))
    first, second = random.Random(seed), random.Random(seed)
    assert [plan.delay_for("order.place", 0.0, first) for _ in range(50)] == [
        plan.delay_for("order.place", 0.0, second) for _ in range(50)
    ]


def test_probability_hits_about_that_share_of_requests() -> None:
    fault = Latency(0.1, probability=0.25)
    rng = random.Random(3)
    hits = sum(fault.delay_for("order.place", 0.0, rng) > 0 for _ in range(4000))
    assert 800 < hits < 1200


@given(seed=st.integers(0, 2**32))
def test_a_request_no_fault_matches_draws_nothing(seed: int) -> None:
    plan = FaultPlan((Latency(0.1, jitter=0.1, probability=0.5, start=5.0),))
    rng = random.Random(seed)
    state = rng.getstate()
    plan.delay_for("depth", 10.0, rng)  # another operation
    plan.delay_for("order.place", 1.0, rng)  # before the fault starts
    assert rng.getstate() == state


def test_an_empty_plan_is_false_and_delays_nothing() -> None:
    assert not FaultPlan() and not FaultPlan.order_latency(0, 0)
    assert FaultPlan().delay_for("order.place", 0.0, random.Random(1)) == 0.0
    assert FaultPlan().describe() == "none"


def test_the_plan_describes_itself() -> None:
    fault = Latency(0.2, jitter=0.05, start=30, duration=60, probability=0.5)
    assert fault.describe() == (
        "latency 200 ms + 0..50 ms on orders, from 30 s to 90 s, 50% of requests"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"delay": -0.1},
        {"delay": float("nan")},
        {"delay": 0.1, "jitter": float("inf")},
        {"delay": 0.1, "duration": 0.0},
        {"delay": 0.1, "probability": 1.5},
        {"delay": 0.1, "start": -1.0},
    ],
)
def test_a_latency_out_of_range_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Latency(**kwargs)


def test_targets_name_endpoint_classes_or_operations() -> None:
    assert Target.orders().operations == ORDER_OPERATIONS
    assert Target.named("depth").matches("depth") and not Target.named("depth").matches("time")
    assert Target.all().matches("anything")
    with pytest.raises(ValueError, match="endpoint class"):
        Target.endpoint_class("trading")


def test_every_operation_of_the_dialect_is_in_one_endpoint_class() -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=("BTCUSDT",)))
    operations = set(exchange.dialect.routes.by_method)
    classes = list(ENDPOINT_CLASSES.values())
    assert set().union(*classes) == operations
    assert sum(len(c) for c in classes) == len(operations)  # no operation in two


# -- the exchange shell: the delay on the trio clock ------------------------------------------


def _exchange(delay: float, jitter: float = 0.0) -> Exchange:
    config = ExchangeConfig(
        symbols=("BTCUSDT",),
        seed=3,
        api_key=API_KEY,
        api_secret=API_SECRET,
        faults=FaultPlan.order_latency(delay, jitter),
    )
    return Exchange.simulated(config)


def _signed(params: Mapping[str, object], timestamp: int) -> str:
    query = urlencode({**params, "timestamp": timestamp})
    return f"{query}&signature={sign(API_SECRET, query)}"


def _order(exchange: Exchange, cid: str) -> dict[str, object]:
    bid, _ = exchange.engine.best_bid_ask("BTCUSDT")
    assert bid is not None
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": str(bid - 1000),
        "newClientOrderId": cid,
    }


async def test_a_rest_order_request_takes_the_configured_delay_and_lands_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(0.2)
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        sent = trio.current_time()
        placed = await client.post(
            f"/api/v3/order?{_signed(_order(exchange, 'slow-1'), exchange.now_ms())}",
            headers={"X-MBX-APIKEY": API_KEY},
        )
        took = trio.current_time() - sent
        assert placed.status_code == 200, placed.text
        assert took == pytest.approx(0.2, abs=1e-6)
        sent = trio.current_time()
        assert (await client.get("/api/v3/time")).status_code == 200
        assert trio.current_time() == sent  # not an order request: at once
    (fault,) = exchange.history.entries(EntryKind.FAULT)
    assert fault.payload == FaultRecord("latency", "order.place", "200.000 ms")
    (request,) = [
        e for e in exchange.history.entries(EntryKind.REQUEST) if e.payload.method == "POST"
    ]
    assert request.time_ms - fault.time_ms == 200  # the work was done after the delay


async def test_ws_api_order_frames_are_delayed_and_keep_their_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_exchange(_exchange(0.2, jitter=0.1)) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        sent = trio.current_time()
        for n in range(5):
            params: dict[str, object] = {
                **_order(exchange, f"ws-{n}"),
                "apiKey": API_KEY,
                "timestamp": exchange.now_ms(),
            }
            params["signature"] = sign(API_SECRET, ws_signing_payload(params))
            await ws.send_message(json.dumps({"id": n, "method": "order.place", "params": params}))
        await ws.send_message(json.dumps({"id": "t", "method": "time"}))
        answers = []
        while len(answers) < 6:
            answer = json.loads(await ws.get_message())
            answers.append((answer["id"], trio.current_time() - sent))
        await ws.aclose()
    assert answers[0] == ("t", 0.0)  # not an order request: answered at once
    assert [a for a, _ in answers[1:]] == [0, 1, 2, 3, 4]  # delayed ones keep their order
    assert all(0.2 <= took <= 0.3 + 1e-9 for _, took in answers[1:])
    assert len(exchange.history.entries(EntryKind.FAULT)) == 5


async def test_set_faults_changes_the_plan_at_run_time_and_is_recorded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(0.2)
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        exchange.set_faults(FaultPlan())  # healed
        sent = trio.current_time()
        placed = await client.post(
            f"/api/v3/order?{_signed(_order(exchange, 'fast-1'), exchange.now_ms())}",
            headers={"X-MBX-APIKEY": API_KEY},
        )
        assert placed.status_code == 200 and trio.current_time() == sent
    (entry,) = exchange.history.entries(EntryKind.FAULT)
    assert entry.payload == FaultRecord("plan", "all", "none")
