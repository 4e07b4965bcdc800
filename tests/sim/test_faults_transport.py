"""The transport faults (``reset``, ``blackhole``, ``bandwidth``, ``slicer``): the plan's
decisions (sans-IO), and the exchange dropping, holding, pacing and slicing what it sends, in
process (simulated mode) and over real 127.0.0.1 sockets (loopback mode), where they differ."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import httpx
import pytest
import trio
import trio.testing
from order_kit import open_ids, resting_bid, ws_place_frame
from trio_websocket import ConnectionClosed, open_websocket_url
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from mmbot.clock import EpochClock
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import (
    MARKET_STREAM,
    USER_STREAM,
    Bandwidth,
    Blackhole,
    Delivery,
    Fault,
    FaultPlan,
    Latency,
    LostAck,
    Reset,
    Slicer,
    Target,
)
from mmbot.sim.history import EntryKind, FaultRecord
from mmbot.sim.inprocess import InProcessExchange
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.testing import running_exchange
from mmbot.venue.binance.signing import sign

API_KEY = "transport-fault-key"
API_SECRET = "transport-fault-secret"


def _placing(exchange: Exchange, request_id: int, cid: str) -> str:
    return ws_place_frame(exchange, request_id, API_KEY, API_SECRET, cid)


# -- the plan ---------------------------------------------------------------------------------


def test_resets_and_blackholes_strike_in_plan_order_and_draw_only_when_they_could() -> None:
    plan = FaultPlan(
        (
            Latency(0.1),
            Reset(target=Target.named("order.cancel"), when="after"),
            Blackhole(probability=0.5, start=10.0, duration=5.0),
            LostAck(),
        )
    )
    rng, untouched = random.Random(3), random.Random(3)
    assert plan.strikes
    assert plan.strike("order.cancel", 0.0, rng) == Reset(
        Target.named("order.cancel"), when="after"
    )
    assert plan.strike("order.place", 0.0, rng) == LostAck()  # the black hole is not open yet
    assert plan.strike("depth", 12.0, rng) is None  # nothing targets market data
    assert rng.random() == untouched.random()  # none of those drew
    hits = [plan.strike("order.place", 12.0, rng) for _ in range(2000)]
    holes = sum(isinstance(h, Blackhole) for h in hits)
    assert 850 < holes < 1150 and all(isinstance(h, Blackhole | LostAck) for h in hits)
    assert FaultPlan((Reset(),)).strikes and FaultPlan((Blackhole(),)).strikes
    assert not FaultPlan((Bandwidth(100), Slicer(10))).strikes  # they shape, never strike


def test_a_bandwidth_fault_makes_a_message_late_by_its_size_over_the_narrowest_rate() -> None:
    plan = FaultPlan((Bandwidth(1000), Bandwidth(250, Target.orders())))
    rng = random.Random(1)
    assert plan.shapes
    assert plan.delivery("order.place", 500, 0.0, rng) == Delivery((500,), (2.0,), ("bandwidth",))
    assert plan.delivery("depth", 500, 0.0, rng) == Delivery((500,), (0.5,), ("bandwidth",))
    assert plan.delivery(MARKET_STREAM, 100, 0.0, rng) == Delivery((100,), (0.1,), ("bandwidth",))


def test_a_slicer_cuts_a_message_into_pieces_that_add_up_each_after_its_delay() -> None:
    slicer = Slicer(size=10, jitter=4, delay=0.005)
    rng = random.Random(5)
    for length in (1, 9, 10, 11, 137, 1000):
        delivery = FaultPlan((slicer,)).delivery("order.place", length, 0.0, rng)
        assert delivery is not None and delivery.kinds == ("slicer",)
        assert sum(delivery.sizes) == length
        assert all(1 <= s <= 14 for s in delivery.sizes)
        assert delivery.waits == (0.0,) + (0.005,) * (len(delivery.sizes) - 1)
    assert FaultPlan((Slicer(size=10),)).delivery("x", 25, 0.0, rng) == Delivery(
        (10, 10, 5), (0.0, 0.0, 0.0), ("slicer",)
    )
    # with a bandwidth too: each piece also takes its size over the rate
    both = FaultPlan((Slicer(size=10, delay=0.5), Bandwidth(10))).delivery("x", 25, 0.0, rng)
    assert both == Delivery((10, 10, 5), (1.0, 1.5, 1.0), ("bandwidth", "slicer"))


@pytest.mark.parametrize(
    ("target", "answers", "market", "user"),
    [
        (Target.all(), True, True, True),
        (Target.endpoint_class("market_data"), False, True, False),
        (Target.endpoint_class("account"), False, False, True),
        (Target.orders(), True, False, False),
        (Target.named("order.place", "depth"), True, False, False),
    ],
)
def test_pushed_messages_belong_to_all_or_their_endpoint_class(
    target: Target, answers: bool, market: bool, user: bool
) -> None:
    plan = FaultPlan((Bandwidth(100, target),))
    rng = random.Random(0)
    assert (plan.delivery("order.place", 10, 0.0, rng) is not None) is answers
    assert (plan.delivery(MARKET_STREAM, 10, 0.0, rng) is not None) is market
    assert (plan.delivery(USER_STREAM, 10, 0.0, rng) is not None) is user


def test_shaping_faults_keep_their_window_and_draw_only_when_they_could() -> None:
    plan = FaultPlan(
        (
            Bandwidth(100, Target.orders(), start=10, duration=5, probability=0.5),
            Slicer(8, jitter=2, target=Target.orders(), start=10, duration=5),
        )
    )
    rng, untouched = random.Random(9), random.Random(9)
    assert plan.delivery("order.place", 100, 9.9, rng) is None
    assert plan.delivery("order.place", 100, 15.0, rng) is None
    assert plan.delivery("depth", 100, 12.0, rng) is None
    assert plan.delivery(MARKET_STREAM, 100, 12.0, rng) is None
    assert rng.random() == untouched.random()
    assert not FaultPlan((Latency(1.0), Reset())).shapes
    assert FaultPlan((Reset(),)).delivery("order.place", 10, 0.0, rng) is None


@pytest.mark.parametrize(
    "build",
    [
        lambda: Reset(when="during"),
        lambda: Bandwidth(0),
        lambda: Bandwidth(1.5),
        lambda: Slicer(0),
        lambda: Slicer(8, jitter=-1),
        lambda: Slicer(8, delay=-0.1),
        lambda: Blackhole(probability=2.0),
        lambda: Reset(duration=0),
    ],
)
def test_bad_transport_faults_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_transport_faults_describe_themselves() -> None:
    plan = FaultPlan(
        (
            Reset(when="after", start=5, duration=10),
            Blackhole(target=Target.endpoint_class("account"), probability=0.25),
            Bandwidth(4000),
            Slicer(64, jitter=16, delay=0.002, target=Target.orders()),
        )
    )
    assert plan.describe() == (
        "reset (after) on orders, from 5 s to 15 s; blackhole on account, 25% of requests; "
        "bandwidth 4000 B/s on all; slicer 64 B +- 16 B every 2 ms on orders"
    )
    assert Delivery((3, 4), (0.0, 0.25)).describe() == "7 B in 2 pieces over 0.250 s"


# -- the exchange shell, in process -----------------------------------------------------------


def _config(*faults: Fault) -> ExchangeConfig:
    return ExchangeConfig(
        symbols=("BTCUSDT",), seed=4, api_key=API_KEY, api_secret=API_SECRET,
        faults=FaultPlan(faults),
    )  # fmt: skip


def _ws_time(request_id: int) -> str:
    return json.dumps({"id": request_id, "method": "time"})


async def _post_order(client: httpx.AsyncClient, exchange: Exchange, cid: str) -> httpx.Response:
    query = urlencode({**resting_bid(exchange, cid), "timestamp": exchange.now_ms()})
    return await client.post(
        f"/api/v3/order?{query}&signature={sign(API_SECRET, query)}",
        headers={"X-MBX-APIKEY": API_KEY},
    )


def _faults(exchange: Exchange) -> list[FaultRecord]:
    return [e.payload for e in exchange.history.entries(EntryKind.FAULT)]


def _requests(exchange: Exchange) -> list[tuple[str, int]]:
    return [
        (e.payload.method, e.payload.status) for e in exchange.history.entries(EntryKind.REQUEST)
    ]


@pytest.mark.parametrize(("when", "placed"), [("before", []), ("after", ["reset-rest"])])
async def test_a_rest_reset_drops_the_connection_before_or_after_working_on_the_order(
    autojump_clock: trio.testing.MockClock, when: str, placed: list[str]
) -> None:
    exchange = Exchange.simulated(_config(Reset(when=when)))
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
            await _post_order(client, exchange, "reset-rest")
        # the reset hit order requests only: the next request on the client is answered
        assert (await client.get("/api/v3/time")).status_code == 200
    assert open_ids(exchange) == placed
    assert _faults(exchange) == [FaultRecord("reset", "order.place", when)]
    worked_on = [("POST", 200)] if when == "after" else []
    assert [r for r in _requests(exchange) if r[0] == "POST"] == worked_on


@pytest.mark.parametrize(("when", "placed"), [("before", []), ("after", ["reset-ws-1"])])
async def test_a_ws_api_reset_ends_the_connection_unanswered_without_a_close_handshake(
    autojump_clock: trio.testing.MockClock, when: str, placed: list[str]
) -> None:
    exchange = Exchange.simulated(_config(Reset(when=when, target=Target.named("order.place"))))
    async with running_exchange(exchange) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(_ws_time(1))  # answered before the reset: still delivered
        await ws.send_message(_placing(exchange, 2, "reset-ws-1"))
        await ws.send_message(_placing(exchange, 3, "reset-ws-2"))  # behind it: never read
        assert json.loads(await ws.get_message())["id"] == 1
        with pytest.raises(ConnectionClosed) as closed:
            await ws.get_message()
    assert closed.value.reason.code == 1006  # abnormal: no close frame came
    assert open_ids(exchange) == placed
    assert _faults(exchange) == [FaultRecord("reset", "order.place", when)]
    assert exchange.connections() == []


async def test_a_blackhole_never_answers_nor_works_on_a_request_and_keeps_the_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(_config(Blackhole(target=Target.named("order.place"))))
    async with running_exchange(exchange) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(_placing(exchange, 1, "hole-ws"))
        with trio.move_on_after(10.0) as waited:
            await ws.get_message()
        assert waited.cancelled_caught  # no answer
        await ws.send_message(_ws_time(2))  # the connection is still open and answers
        assert json.loads(await ws.get_message())["id"] == 2
        await ws.aclose()
        async with InProcessExchange(exchange).client() as client:
            with trio.move_on_after(5.0) as gave_up:  # the bot's request timeout
                await _post_order(client, exchange, "hole-rest")
            assert gave_up.cancelled_caught
    assert open_ids(exchange) == []  # unlike a lost ack: nothing applied
    assert _faults(exchange) == [FaultRecord("blackhole", "order.place", "")] * 2
    assert [r for r in _requests(exchange) if r[0] in ("POST", "order.place")] == []


async def test_a_rest_blackhole_drops_the_connection_once_past_any_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(_config(Blackhole()))
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        start = trio.current_time()
        with pytest.raises(httpx.RemoteProtocolError):
            await _post_order(client, exchange, "hole-patient")  # no deadline of its own
        assert trio.current_time() - start == pytest.approx(120.0, abs=0.01)
    assert open_ids(exchange) == []


async def test_a_bandwidth_fault_makes_answers_late_by_their_size(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(_config(Bandwidth(200, Target.orders())))
    async with running_exchange(exchange) as (exchange, nursery):
        async with InProcessExchange(exchange).client() as client:
            start = trio.current_time()
            answer = await _post_order(client, exchange, "slow-rest")
            rest_took = trio.current_time() - start
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        start = trio.current_time()
        await ws.send_message(_placing(exchange, 1, "slow-ws"))
        text = await ws.get_message()
        ws_took = trio.current_time() - start
        await ws.send_message(_ws_time(2))  # not an order: at once
        start = trio.current_time()
        assert json.loads(await ws.get_message())["id"] == 2
        assert trio.current_time() - start < 0.01
        await ws.aclose()
    assert answer.status_code == 200 and answer.json()["clientOrderId"] == "slow-rest"
    assert rest_took == pytest.approx(len(answer.content) / 200, abs=0.01)
    assert ws_took == pytest.approx(len(text) / 200, abs=0.01)
    assert open_ids(exchange) == ["slow-rest", "slow-ws"]
    details = [(f.name, f.target, f.detail) for f in _faults(exchange)]
    assert details == [
        ("bandwidth", "order.place", f"{len(answer.content)} B in 1 piece over "
         f"{len(answer.content) / 200:.3f} s"),
        ("bandwidth", "order.place", f"{len(text)} B in 1 piece over {len(text) / 200:.3f} s"),
    ]  # fmt: skip


async def test_a_bandwidth_fault_queues_stream_messages_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(_config(Bandwidth(300, Target.endpoint_class("market_data"))))
    async with running_exchange(exchange) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws/btcusdt@depth@100ms")
        got: list[tuple[float, dict[str, object]]] = []
        for _ in range(20):
            message = json.loads(await ws.get_message())
            got.append((trio.current_time(), message))
        lag_ms = exchange.now_ms() - int(str(got[-1][1]["E"]))
        assert lag_ms > 1000  # the pipe is narrower than the stream: a backlog builds up
        exchange.set_faults(FaultPlan())  # healed: the backlog goes through at once
        healed_at, healed_ms = trio.current_time(), exchange.now_ms()
        for _ in range(1000):
            if int(str(json.loads(await ws.get_message())["E"])) >= healed_ms:
                break
        # the message going through the pipe at the heal finishes, the rest follow at once
        in_flight = max(len(json.dumps(m, separators=(",", ":"))) for _, m in got) / 300
        assert trio.current_time() - healed_at <= in_flight + 0.11
        await ws.aclose()
    ids = [int(str(m["u"])) for _, m in got]
    assert ids == sorted(ids)  # in order
    # each message arrives no sooner than its size over the rate after the one before
    sizes = [len(json.dumps(m, separators=(",", ":"))) for _, m in got]
    for (before, _), (after, _), size in zip(got, got[1:], sizes[1:], strict=False):
        assert after - before >= size / 300 - 0.001
    assert got[-1][0] > 20 * 0.1  # behind the 100 ms windows: the pipe is the bottleneck


async def test_a_sliced_ws_message_arrives_whole_and_late_by_its_pieces_delays(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slicer = Slicer(size=16, jitter=8, delay=0.01, target=Target.named("order.place"))
    exchange = Exchange.simulated(_config(slicer))
    async with running_exchange(exchange) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        start = trio.current_time()
        await ws.send_message(_placing(exchange, 1, "sliced"))
        answer = json.loads(await ws.get_message())
        took = trio.current_time() - start
        await ws.aclose()
    assert answer["status"] == 200 and answer["result"]["clientOrderId"] == "sliced"
    (fault,) = _faults(exchange)
    pieces = int(fault.detail.split(" in ")[1].split()[0])
    assert fault.name == "slicer" and pieces > 5
    assert took == pytest.approx((pieces - 1) * 0.01, abs=0.005)


async def test_a_sliced_rest_answer_arrives_whole(autojump_clock: trio.testing.MockClock) -> None:
    exchange = Exchange.simulated(_config(Slicer(size=7, delay=0.02, target=Target.all())))
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        start = trio.current_time()
        answer = await client.get("/api/v3/depth", params={"symbol": "BTCUSDT", "limit": 5})
        took = trio.current_time() - start
    body = answer.content
    assert answer.status_code == 200 and answer.json()["bids"]
    assert took == pytest.approx((-(-len(body) // 7) - 1) * 0.02, abs=0.005)


async def test_healing_ends_the_transport_faults_for_new_requests(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(_config(Reset(), Blackhole(Target.named("time"))))
    async with running_exchange(exchange) as (exchange, nursery):
        exchange.set_faults(FaultPlan())
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(_placing(exchange, 1, "healed"))
        await ws.send_message(_ws_time(2))
        assert [json.loads(await ws.get_message())["status"] for _ in "ab"] == [200, 200]
        await ws.aclose()
    assert open_ids(exchange) == ["healed"]


# -- over real sockets ------------------------------------------------------------------------


@asynccontextmanager
async def _served(*faults: Fault) -> AsyncIterator[tuple[Exchange, ServeInfo]]:
    exchange = Exchange.create(_config(*faults), clock=EpochClock.from_wall_clock())
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        yield exchange, info
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize(("when", "placed"), [("before", []), ("after", ["reset-tcp"])])
async def test_over_loopback_a_rest_reset_closes_the_http_connection_without_an_answer(
    when: str, placed: list[str]
) -> None:
    async with _served(Reset(when=when)) as (exchange, info):
        with trio.fail_after(10):
            async with httpx.AsyncClient(base_url=info.rest_url) as client:
                with pytest.raises(httpx.RemoteProtocolError, match="disconnected"):
                    await _post_order(client, exchange, "reset-tcp")
                assert (await client.get("/api/v3/time")).status_code == 200  # a new connection
    assert open_ids(exchange) == placed


async def test_over_loopback_a_ws_api_reset_drops_the_tcp_connection() -> None:
    async with _served(Reset(when="after")) as (exchange, info):
        with trio.fail_after(10):
            async with open_websocket_url(info.ws_api_url) as ws:
                await ws.send_message(_placing(exchange, 1, "reset-ws-tcp"))
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.get_message()
    assert closed.value.reason.code == 1006
    assert open_ids(exchange) == ["reset-ws-tcp"]


async def test_over_loopback_a_sliced_message_comes_as_continuation_frames() -> None:
    slicer = Slicer(size=20, delay=0.001, target=Target.named("order.place"))
    async with _served(slicer) as (exchange, info):
        with trio.fail_after(10):
            stream = await trio.open_tcp_stream("127.0.0.1", info.ws_port)
            async with stream:
                frames = await _raw_ws_exchange(stream, _placing(exchange, 1, "frames"))
    assert len(frames) > 5 and not any(f.message_finished for f in frames[:-1])
    assert frames[-1].message_finished
    answer = json.loads("".join(f.data for f in frames))
    assert answer["result"]["clientOrderId"] == "frames"


async def test_over_loopback_a_paced_and_sliced_rest_answer_arrives_whole() -> None:
    faults = (Slicer(size=9, delay=0.001, target=Target.all()), Bandwidth(50_000))
    async with _served(*faults) as (exchange, info):
        with trio.fail_after(10):
            async with httpx.AsyncClient(base_url=info.rest_url) as client:
                answer = await _post_order(client, exchange, "sliced-tcp")
    assert answer.status_code == 200 and answer.json()["clientOrderId"] == "sliced-tcp"
    kinds = {f.name for f in _faults(exchange)}
    assert kinds == {"bandwidth", "slicer"}


async def _raw_ws_exchange(stream: trio.SocketStream, frame: str) -> list[TextMessage]:
    """Open the WebSocket API with wsproto, send ``frame``, and return the frames of the
    first message that comes back (each as wsproto reads it)."""
    ws = WSConnection(ConnectionType.CLIENT)
    await stream.send_all(ws.send(Request(host="127.0.0.1", target="/ws-api/v3")))
    frames: list[TextMessage] = []
    opened = False
    for _ in range(10_000):  # bounded: each turn reads what came
        data = await stream.receive_some(65536)
        assert data, "the server closed the connection"
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                opened = True
                await stream.send_all(ws.send(TextMessage(data=frame)))
            elif isinstance(event, TextMessage):
                frames.append(event)
                if event.message_finished:
                    return frames
        assert opened
    raise AssertionError("no whole message came")
