"""The exchange shell in simulated mode: in-process REST and WebSockets under MockClock."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

import attrs
import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, ConnectionRejected, WebSocketConnection

from mmbot.clock import seed_trio_scheduler
from mmbot.sim.exchange import Exchange, ExchangeConfig, StreamSettings
from mmbot.sim.inprocess import InProcessExchange
from mmbot.testing import REAL_CLOCK, RealClockError, running_exchange
from mmbot.venue.binance.signing import sign, ws_signing_payload

API_KEY = "test-key"
API_SECRET = "test-secret-do-not-log"


def make_exchange(**overrides: Any) -> Exchange:
    config = ExchangeConfig(
        symbols=("BTCUSDT", "ETHUSDT"), seed=7, api_key=API_KEY, api_secret=API_SECRET
    )
    return Exchange.simulated(attrs.evolve(config, **overrides))


def signed_query(params: Mapping[str, object], timestamp: int) -> str:
    query = urlencode({**params, "timestamp": timestamp})
    return f"{query}&signature={sign(API_SECRET, query)}"


def ws_subscribe(request_id: int, timestamp: int) -> str:
    params: dict[str, object] = {"apiKey": API_KEY, "timestamp": timestamp}
    params["signature"] = sign(API_SECRET, ws_signing_payload(params))
    return json.dumps(
        {"id": request_id, "method": "userDataStream.subscribe.signature", "params": params}
    )


@pytest.fixture
async def running() -> AsyncIterator[tuple[Exchange, trio.Nursery]]:
    """The exchange running; a test using it must take ``autojump_clock`` (checked)."""
    async with running_exchange(make_exchange()) as running:
        yield running


def test_the_running_rig_fails_a_test_that_is_on_the_real_clock() -> None:
    async def main() -> None:
        async with running_exchange(make_exchange()):
            raise AssertionError("the rig ran on the real clock")  # pragma: no cover

    with pytest.raises(RealClockError) as failed:
        trio.run(main)  # the real clock, as a test that forgot autojump_clock gets
    assert str(failed.value) == REAL_CLOCK


async def next_json(ws: WebSocketConnection) -> dict[str, object]:
    message = json.loads(await ws.get_message())
    assert isinstance(message, dict)
    return message


async def test_rest_order_shows_up_in_user_data_and_history(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange, nursery = running
    venue = InProcessExchange(exchange)
    ws = await venue.connect_ws(nursery, "/ws-api/v3")
    await ws.send_message(ws_subscribe(1, exchange.now_ms()))
    answer = await next_json(ws)
    assert answer["status"] == 200 and answer["id"] == 1
    result = answer["result"]
    assert isinstance(result, dict)
    sub_id = result["subscriptionId"]

    bid, _ = exchange.engine.best_bid_ask("BTCUSDT")
    assert bid is not None
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.01",
        "price": str(bid - 1000),
        "newClientOrderId": "t-1",
    }
    async with venue.client() as client:
        placed = await client.post(
            f"/api/v3/order?{signed_query(order, exchange.now_ms())}",
            headers={"X-MBX-APIKEY": API_KEY},
        )
        assert placed.status_code == 200, placed.text
    with trio.fail_after(5):
        while True:
            event = await next_json(ws)
            if event.get("subscriptionId") == sub_id:
                body = event["event"]
                assert isinstance(body, dict)
                if body["e"] == "executionReport":
                    break
    assert (body["c"], body["x"], body["X"], body["S"]) == ("t-1", "NEW", "NEW", "BUY")
    kinds = {e.kind.value for e in exchange.history.entries()}
    assert {"request", "execution", "message"} <= kinds
    await ws.aclose()


async def test_combined_stream_wraps_messages_and_live_subscribe_adds_streams(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange, nursery = running
    ws = await InProcessExchange(exchange).connect_ws(nursery, "/stream?streams=btcusdt@trade")
    await ws.send_message('{"method": "SUBSCRIBE", "params": ["ethusdt@bookTicker"], "id": 9}')
    seen: set[str] = set()
    with trio.fail_after(120):
        while seen != {"btcusdt@trade", "ethusdt@bookTicker", "reply"}:
            message = await next_json(ws)
            if message.get("id") == 9:
                assert message == {"result": None, "id": 9}
                seen.add("reply")
                continue
            stream = message["stream"]
            data = message["data"]
            assert isinstance(stream, str) and isinstance(data, dict)
            assert data["s"] == stream.split("@")[0].upper()
            seen.add(stream)
    await ws.aclose()


async def test_unknown_stream_in_a_combined_url_is_refused(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange, nursery = running
    with pytest.raises(ConnectionRejected) as rejected:
        await InProcessExchange(exchange).connect_ws(
            nursery, "/stream?streams=btcusdt@trade/btcusdt@kline_2m"
        )
    assert rejected.value.status_code == 400


async def test_a_raw_url_ignores_what_is_no_stream_and_subscribes_later_as_binance_does(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange, nursery = running
    ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/0")  # ccxt.pro's URL
    await ws.send_message(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
    assert json.loads(await ws.get_message()) == {"result": [], "id": 1}
    await ws.send_message(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 2}))
    with trio.fail_after(60):
        while True:
            message = json.loads(await ws.get_message())
            if message.get("e") == "trade":
                break
    assert message["s"] == "BTCUSDT"
    await ws.aclose()


async def test_a_full_outbox_is_dropped_without_blocking_the_exchange(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = make_exchange(streams=StreamSettings(outbox_size=5))
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        stuck = exchange.open_outbox(combined=False)  # nobody drains it
        exchange.subscribe(stuck, ["btcusdt@depth@100ms"])
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/btcusdt@depth@100ms")
        await trio.sleep(30)
        assert stuck.reason == "slow"
        assert exchange.statistics().dropped_slow == 1
        before = exchange.statistics().messages_sent
        update = json.loads(await ws.get_message())
        assert update["e"] == "depthUpdate"  # the other subscriber keeps receiving
        await trio.sleep(5)
        assert exchange.statistics().messages_sent > before
        await ws.aclose()
        nursery.cancel_scope.cancel()


async def test_a_dropped_slow_connection_is_closed_with_policy_violation(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange, nursery = running
    ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/btcusdt@trade")
    (outbox,) = exchange.connections()
    exchange.close_outbox(outbox, "slow")
    with pytest.raises(ConnectionClosed):
        while True:
            await ws.get_message()
    assert ws.closed is not None and ws.closed.code == 1008


async def test_planned_shutdown_sends_server_shutdown_then_closes(
    running: tuple[Exchange, trio.Nursery],
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange, nursery = running
    ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/ethusdt@trade")
    exchange.announce_shutdown()
    messages = []
    with pytest.raises(ConnectionClosed):
        while True:
            messages.append(json.loads(await ws.get_message()))
    assert messages[-1]["e"] == "serverShutdown"
    assert ws.closed is not None and ws.closed.code == 1001
    with trio.fail_after(5):
        await exchange.wait_connections_closed()


async def test_connections_are_closed_at_their_lifetime_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = make_exchange(streams=StreamSettings(max_connection_s=90.0))
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/btcusdt@trade")
        start = trio.current_time()
        with pytest.raises(ConnectionClosed):
            while True:
                await ws.get_message()
        assert trio.current_time() - start == pytest.approx(90.0, abs=1.0)
        assert ws.closed is not None and ws.closed.code == 1001
        nursery.cancel_scope.cancel()


def _run_with_subscriber(seed: int, sim_seconds: float) -> tuple[str, int]:
    async def main() -> tuple[str, int]:
        exchange = make_exchange(seed=seed)
        received = 0
        async with trio.open_nursery() as nursery:
            await nursery.start(exchange.run)
            ws = await InProcessExchange(exchange).connect_ws(
                nursery, "/stream?streams=btcusdt@depth@100ms/ethusdt@bookTicker/btcusdt@trade"
            )
            with trio.move_on_after(sim_seconds):
                while True:
                    await ws.get_message()
                    received += 1
            await ws.aclose()
            nursery.cancel_scope.cancel()
        return exchange.history.digest(), received

    seed_trio_scheduler(seed)
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_same_seed_gives_the_same_trace_digest() -> None:
    first = _run_with_subscriber(3, 300.0)
    assert first[1] > 100
    assert _run_with_subscriber(3, 300.0) == first
    assert _run_with_subscriber(4, 300.0)[0] != first[0]


def _run_market(sim_seconds: float, **overrides: Any) -> Exchange:
    async def main() -> Exchange:
        exchange = make_exchange(**overrides)
        async with trio.open_nursery() as nursery:
            await nursery.start(exchange.run)
            await trio.sleep(sim_seconds)
            nursery.cancel_scope.cancel()
        return exchange

    seed_trio_scheduler(1)
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_a_bounded_history_stays_small_and_its_digest_covers_everything() -> None:
    full = _run_market(60.0, history_simulator_accounts=True)
    bounded = _run_market(60.0, history_simulator_accounts=True, history_max_bulk=100)
    assert len(full.history) > 1000  # the simulator's accounts, trades and deltas
    assert len(bounded.history) <= 2 * 100  # nothing but bulk happened: no requests
    assert bounded.history.digest() == full.history.digest()


async def test_a_connection_opened_during_shutdown_does_not_hold_shutdown_for_the_grace(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = make_exchange()
    first = exchange.open_outbox(combined=False)
    exchange.announce_shutdown()
    waited: list[float] = []

    async def wait_for_shutdown() -> None:
        start = trio.current_time()
        with trio.move_on_after(60.0):
            await exchange.wait_connections_closed()
        waited.append(trio.current_time() - start)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wait_for_shutdown)
        await trio.testing.wait_all_tasks_blocked()
        late = exchange.open_outbox(combined=False)  # arrives while shutting down
        assert late.reason == "shutdown"
        await trio.sleep(1.0)
        exchange.forget_outbox(late)
        exchange.forget_outbox(first)
    assert waited == [pytest.approx(1.0)]


async def test_waiting_for_connections_to_close_covers_connections_opened_later(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = make_exchange()
    first = exchange.open_outbox(combined=False)
    exchange.forget_outbox(first)
    second = exchange.open_outbox(combined=False)  # 0 -> 1 again: a fresh wait
    with trio.move_on_after(5.0) as waiting:
        await exchange.wait_connections_closed()
    assert waiting.cancelled_caught  # the second connection is still open
    exchange.forget_outbox(second)
    with trio.fail_after(1.0):
        await exchange.wait_connections_closed()
