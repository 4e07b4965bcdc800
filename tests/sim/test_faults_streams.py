"""The stream faults (``ws_drop``, ``ws_stall``, ``seq_gap``, ``ws_dup_reorder``,
``packet_loss``, ``stale_snapshot``): the plan's decisions (sans-IO), and the exchange
striking its connections and messages with them, in process and over real sockets, and
ending every one of them at a heal."""

from __future__ import annotations

import contextlib
import itertools
import json
import random
from decimal import Decimal
from typing import Any

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import (
    Fault,
    FaultPlan,
    PacketLoss,
    SeqGap,
    StaleSnapshot,
    Target,
    WsDrop,
    WsDupReorder,
    WsStall,
)
from mmbot.sim.history import EntryKind, FaultRecord
from mmbot.sim.inprocess import InProcessExchange
from mmbot.testing import running_exchange

DEPTH = "/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms"

# -- the plan ---------------------------------------------------------------------------------


def test_a_drop_strikes_at_its_start_and_every_period_while_active() -> None:
    once = WsDrop(start=2.0, duration=10.0)
    assert once.instants(0.0) == 2.0 and once.instants(2.0) is None
    periodic = WsDrop(start=2.0, duration=10.0, period=3.0)
    times, at = [], 0.0
    while (nxt := periodic.instants(at)) is not None:
        times.append(nxt)
        at = nxt
    assert times == [2.0, 5.0, 8.0, 11.0]  # 14 is past its end
    assert all(periodic.strikes_at(t) for t in times)
    assert not periodic.strikes_at(6.0) and not periodic.strikes_at(14.0)
    stall = WsStall(start=1.0, duration=4.0)
    plan = FaultPlan((periodic, stall, WsDupReorder(duplicate=0.5, start=3.0, duration=1.0)))
    instants, at = [], -1.0
    while (nxt := plan.next_stream_instant(at)) is not None:
        instants.append(nxt)
        at = nxt
    assert instants == [1.0, 2.0, 4.0, 5.0, 8.0, 11.0]  # stall 1..5, reorder ends at 4
    assert plan.drops_at(5.0) == (periodic,) and plan.stalls_from(1.0) == (stall,)
    assert plan.dup_reorder_ends(4.0) and not plan.dup_reorder_ends(3.0)


@given(
    st.integers(0, 600).map(lambda t: t / 10),
    st.sampled_from((0.1, 0.3, 0.7, 1.0, 3.0, 8.0)),
    st.integers(1, 600).map(lambda t: t / 10),
)
def test_drop_instants_always_move_forward(start: float, period: float, duration: float) -> None:
    """Each instant is after the one asked from, and a drop instant (float rounding once
    gave the same instant back: the fault clock spun on it)."""
    drop = WsDrop(start=start, duration=duration, period=period)
    plan = FaultPlan((drop,))
    at, count = -1.0, 0
    while (nxt := plan.next_stream_instant(at)) is not None:
        assert nxt > at and drop.strikes_at(nxt) and plan.drops_at(nxt) == (drop,)
        at, count = nxt, count + 1
        assert count <= duration / period + 2
    assert count >= 1


def test_stream_targets_choose_connections_and_messages_by_class_and_symbol() -> None:
    market = Target.stream_class("market_streams", symbols=["BTCUSDT"])
    assert market.matches_stream("market_streams", "BTCUSDT")
    assert not market.matches_stream("market_streams", "ETHUSDT")
    assert not market.matches_stream("user_data", "BTCUSDT")
    assert market.matches_connection(frozenset({"market_streams"}), frozenset({"BTCUSDT", "X"}))
    assert not market.matches_connection(frozenset({"market_streams"}), frozenset({"ETHUSDT"}))
    user = Target.stream_class("user_data")
    assert user.matches_connection(frozenset({"ws_api", "user_data"}), frozenset())
    assert not user.matches_connection(frozenset({"ws_api"}), frozenset())
    assert user.matches_stream("user_data", None)  # a balance event has no symbol
    assert Target.all().matches_connection(frozenset({"ws_api"}), frozenset())
    assert market.name == "market_streams [BTCUSDT]"
    with pytest.raises(ValueError, match="unknown stream class"):
        Target.stream_class("orders")


def test_message_faults_draw_only_for_a_message_they_could_hit() -> None:
    plan = FaultPlan(
        (
            SeqGap(Target.stream_class("market_streams", symbols=["BTCUSDT"]), 5.0, 5.0, 0.5),
            StaleSnapshot(lag=3, start=5.0, probability=0.5),
        )
    )
    rng, untouched = random.Random(3), random.Random(3)
    assert plan.drops_diff("BTCUSDT", 4.0, rng) is None  # before its window
    assert plan.drops_diff("ETHUSDT", 6.0, rng) is None  # not its symbol
    assert plan.stale_snapshot("BTCUSDT", 1.0, rng) is None
    assert plan.loss("market_streams", "BTCUSDT", 6.0) is None  # no loss planned
    assert rng.random() == untouched.random()
    hits = sum(plan.drops_diff("BTCUSDT", 6.0, rng) is not None for _ in range(2000))
    assert 850 < hits < 1150


def test_a_loss_burst_lasts_its_mean_length_and_starts_with_its_probability() -> None:
    loss = PacketLoss(probability=0.02, burst=5.0)
    rng = random.Random(11)
    state, lost, bursts = False, 0, 0
    for _ in range(200_000):
        new = loss.step(state, rng)
        lost += new
        bursts += new and not state
        state = new
    assert 4.5 < lost / bursts < 5.5  # the mean burst length
    # a good message starts a burst with 2%: bursts / good messages
    assert 0.018 < bursts / (200_000 - lost) < 0.022


def test_dup_reorder_decides_a_delay_or_a_duplicate() -> None:
    rng = random.Random(5)
    mix = WsDupReorder(duplicate=0.3, reorder=0.2, window=4)
    decisions = [mix.decide(rng) for _ in range(10_000)]
    reordered = [d for d, _ in decisions if d]
    assert 1800 < len(reordered) < 2200 and set(reordered) == {1, 2, 3, 4}
    doubled = sum(twice for d, twice in decisions if not d)
    assert 0.27 < doubled / (10_000 - len(reordered)) < 0.33


@pytest.mark.parametrize(
    "build",
    [
        lambda: WsDrop(period=0.0),
        lambda: WsDupReorder(duplicate=1.5),
        lambda: WsDupReorder(window=0),
        lambda: PacketLoss(burst=0.5),
        lambda: StaleSnapshot(),  # neither lag nor age
        lambda: StaleSnapshot(lag=2, age=1.0),
        lambda: StaleSnapshot(lag=0),
        lambda: StaleSnapshot(lag=2, target=Target.orders()),  # never a depth request
        lambda: SeqGap(probability=2.0),
    ],
)
def test_bad_stream_faults_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_stream_faults_describe_themselves() -> None:
    plan = FaultPlan(
        (
            WsDrop(period=8.0, start=10.0, duration=40.0),
            WsStall(Target.stream_class("ws_api"), probability=0.5),
            SeqGap(probability=0.1),
            WsDupReorder(Target.all(), duplicate=0.2, reorder=0.1, window=3),
            PacketLoss(probability=0.03, burst=6),
            StaleSnapshot(lag=40),
        )
    )
    assert plan.describe().split("; ") == [
        "ws_drop of market_streams every 8 s, from 10 s to 50 s",
        "ws_stall of ws_api (50% of connections)",
        "seq_gap on market_streams, 10% of depth diffs",
        "ws_dup_reorder on all: 20% duplicated, 10% reordered within 3",
        "packet_loss on market_streams: bursts of 6 messages on average, 3.00% of messages "
        "start one",
        "stale_snapshot 40 updates behind on market_data",
    ]


# -- the exchange shell -----------------------------------------------------------------------


def _exchange(*faults: Fault, seed: int = 3) -> Exchange:
    config = ExchangeConfig(symbols=("BTCUSDT", "ETHUSDT"), seed=seed, faults=FaultPlan(faults))
    return Exchange.simulated(config)


def _faults(exchange: Exchange, name: str) -> list[FaultRecord]:
    return [
        e.payload
        for e in exchange.history.entries(EntryKind.FAULT)
        if isinstance(e.payload, FaultRecord) and e.payload.name == name
    ]


async def _read_for(ws: WebSocketConnection, seconds: float) -> list[dict[str, Any]]:
    """Every message ``ws`` gets within ``seconds`` (simulated), parsed."""
    got: list[dict[str, Any]] = []
    with trio.move_on_after(seconds):
        while True:
            got.append(json.loads(await ws.get_message()))
    return got


def _gaps(messages: list[dict[str, Any]], symbol: str) -> int:
    """How many times ``symbol``'s depth diffs do not continue the one before."""
    diffs = [m["data"] for m in messages if m["data"].get("s") == symbol]
    return sum(b["U"] != a["u"] + 1 for a, b in itertools.pairwise(diffs))


async def test_a_drop_closes_the_matching_connections_at_its_instants_until_healed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    drop = WsDrop(Target.stream_class("market_streams", symbols=["BTCUSDT"]), 2.0, 10.0, 1.0, 3.0)
    async with running_exchange(_exchange(drop)) as (exchange, nursery):
        venue = InProcessExchange(exchange)
        btc = await venue.connect_ws(nursery, "/ws/btcusdt@depth@100ms")
        eth = await venue.connect_ws(nursery, "/ws/ethusdt@depth@100ms")
        api = await venue.connect_ws(nursery, "/ws-api/v3")
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await btc.get_message()
        assert trio.current_time() == pytest.approx(2.0, abs=0.01)
        assert closed.value.reason is not None and closed.value.reason.code == 1011
        again = await venue.connect_ws(nursery, "/ws/btcusdt@depth@100ms")
        with pytest.raises(ConnectionClosed):
            while True:
                await again.get_message()
        assert trio.current_time() == pytest.approx(5.0, abs=0.01)  # the next period
        third = await venue.connect_ws(nursery, "/ws/btcusdt@depth@100ms")
        exchange.set_faults(FaultPlan())  # healed: no more drops
        assert len(await _read_for(third, 5.0)) > 10
        assert len(await _read_for(eth, 0.5)) > 0  # another symbol's: never dropped
        await api.send_message(json.dumps({"id": 1, "method": "ping", "params": {}}))
        assert json.loads(await api.get_message())["status"] == 200  # not a market stream
        for ws in (eth, api, third):
            await ws.aclose()
    assert [f.detail for f in _faults(exchange, "ws_drop")] == ["market_streams"] * 2


async def test_a_drop_of_user_data_closes_the_subscribed_api_connection_only(
    autojump_clock: trio.testing.MockClock,
) -> None:
    drop = WsDrop(Target.stream_class("user_data"), start=1.0)
    config = ExchangeConfig(
        symbols=("BTCUSDT",), seed=2, api_key="k", api_secret="s", faults=FaultPlan((drop,))
    )
    from mmbot.venue.binance.signing import sign, ws_signing_payload

    async with running_exchange(Exchange.simulated(config)) as (exchange, nursery):
        venue = InProcessExchange(exchange)
        subscribed = await venue.connect_ws(nursery, "/ws-api/v3")
        plain = await venue.connect_ws(nursery, "/ws-api/v3")
        params: dict[str, object] = {"apiKey": "k", "timestamp": exchange.now_ms()}
        params["signature"] = sign("s", ws_signing_payload(params))
        request = {"id": 1, "method": "userDataStream.subscribe.signature", "params": params}
        await subscribed.send_message(json.dumps(request))
        assert json.loads(await subscribed.get_message())["status"] == 200
        with pytest.raises(ConnectionClosed):
            while True:
                await subscribed.get_message()
        await plain.send_message(json.dumps({"id": 2, "method": "time", "params": {}}))
        assert json.loads(await plain.get_message())["status"] == 200
        await plain.aclose()
    assert [f.detail for f in _faults(exchange, "ws_drop")] == ["user_data,ws_api"]


async def test_a_stall_silences_a_connection_and_its_pongs_until_its_end(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_exchange(_exchange(WsStall(start=1.0, duration=5.0))) as (ex, nursery):
        venue = InProcessExchange(ex)
        ws = await venue.connect_ws(nursery, DEPTH)
        before = await _read_for(ws, 1.0)
        with trio.move_on_after(1.0) as pong:
            await ws.ping(b"stalled?")
        assert pong.cancelled_caught  # no pong while stalled
        during = await _read_for(ws, 3.9)  # up to 5.9 s
        fresh = await venue.connect_ws(nursery, DEPTH)  # opened during it: not stalled
        assert await _read_for(fresh, 0.05) != [] or await _read_for(fresh, 1.0) != []
        late = await _read_for(ws, 0.2)  # the stall ended at 6 s: what queued comes now
        await ws.ping(b"back")
        await ws.aclose()
        await fresh.aclose()
    assert before and not during and len(late) > 10
    assert _gaps(before + late, "BTCUSDT") == 0  # delayed, not lost
    assert [f.detail for f in _faults(ex, "ws_stall")] == ["stalled", "released"]


async def test_a_heal_releases_a_stall_and_a_client_closing_it_releases_it_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with running_exchange(_exchange(WsStall(start=1.0))) as (exchange, nursery):
        venue = InProcessExchange(exchange)
        healed = await venue.connect_ws(nursery, DEPTH)
        left = await venue.connect_ws(nursery, DEPTH)
        await trio.sleep(2.0)
        assert all(o.held for o in exchange.connections())
        await left.aclose()  # the client gives up on a stalled connection
        await trio.sleep(0.1)
        assert len(exchange.connections()) == 1
        exchange.set_faults(FaultPlan())
        assert not exchange.connections()[0].held
        assert len(await _read_for(healed, 0.5)) > 10
        await healed.ping(b"answered again")
        await healed.aclose()
    assert sorted(f.detail for f in _faults(exchange, "ws_stall")) == [
        "closed",
        "released",
        "stalled",
        "stalled",
    ]


async def test_a_sequence_gap_drops_depth_diffs_so_U_skips(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gap = SeqGap(Target.stream_class("market_streams", symbols=["BTCUSDT"]), probability=0.3)
    async with running_exchange(_exchange(gap)) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, DEPTH)
        faulty = await _read_for(ws, 10.0)
        exchange.set_faults(FaultPlan())
        healed = await _read_for(ws, 10.0)
        await ws.aclose()
    dropped = len(_faults(exchange, "seq_gap"))
    assert dropped > 5 and _gaps(faulty, "BTCUSDT") > 3
    assert _gaps(faulty, "ETHUSDT") == 0  # not its symbol
    assert _gaps(healed[1:], "BTCUSDT") == 0  # none after the heal


async def test_duplicates_and_reorders_reach_market_streams_and_a_heal_flushes_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    mix = WsDupReorder(duplicate=0.5, reorder=0.3, window=2)
    async with running_exchange(_exchange(mix)) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, DEPTH)
        got = await _read_for(ws, 10.0)
        exchange.set_faults(FaultPlan())
        flushed = await _read_for(ws, 0.01)
        await ws.aclose()
    texts = [json.dumps(m, sort_keys=True) for m in got]
    assert len(texts) - len(set(texts)) > 10  # duplicates
    ids = [m["data"]["u"] for m in got if m["data"]["s"] == "BTCUSDT"]
    assert any(b < a for a, b in itertools.pairwise(ids))  # out of order
    records = _faults(exchange, "ws_dup_reorder")
    held = sum("held" in r.detail for r in records)
    assert held and sum("duplicated" in r.detail for r in records)
    # every message held back was sent: none lost
    every = {json.dumps(m, sort_keys=True) for m in got + flushed}
    diffs = sorted(
        (m["data"]["U"], m["data"]["u"])
        for m in map(json.loads, every)
        if m["data"]["s"] == "BTCUSDT"
    )
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(diffs))


async def test_user_data_events_come_twice_under_duplicate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.venue.binance.signing import sign, ws_signing_payload

    mix = WsDupReorder(Target.stream_class("user_data"), duplicate=1.0)
    config = ExchangeConfig(
        symbols=("BTCUSDT",), seed=2, api_key="k", api_secret="s", faults=FaultPlan((mix,))
    )
    async with running_exchange(Exchange.simulated(config)) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")

        async def call(request_id: int, method: str, extra: dict[str, object]) -> None:
            params: dict[str, object] = {"apiKey": "k", "timestamp": exchange.now_ms(), **extra}
            params["signature"] = sign("s", ws_signing_payload(params))
            await ws.send_message(
                json.dumps({"id": request_id, "method": method, "params": params})
            )

        await call(1, "userDataStream.subscribe.signature", {})
        bid, _ = exchange.engine.best_bid_ask("BTCUSDT")
        assert bid is not None
        order = {
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.01", "price": str(bid - 1000), "newClientOrderId": "twice",
        }  # fmt: skip
        await call(2, "order.place", order)
        got = await _read_for(ws, 1.0)
        await ws.aclose()
    answers = [m for m in got if "id" in m]
    reports = [m for m in got if m.get("event", {}).get("e") == "executionReport"]
    assert [a["id"] for a in answers] == [1, 2]  # API answers are never doubled
    assert len(reports) == 2 and reports[0] == reports[1]


async def test_packet_loss_comes_in_bursts_the_same_for_the_same_seed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def run(seed: int) -> tuple[list[dict[str, Any]], list[FaultRecord]]:
        loss = PacketLoss(probability=0.1, burst=4.0, duration=10.0)
        async with running_exchange(_exchange(loss, seed=seed)) as (exchange, nursery):
            ws = await InProcessExchange(exchange).connect_ws(nursery, DEPTH)
            got = await _read_for(ws, 15.0)
            await ws.aclose()
        return got, _faults(exchange, "packet_loss")

    first, bursts = await run(4)
    again, _ = await run(4)

    def ids(got: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
        return [(m["data"]["s"], m["data"]["U"], m["data"]["u"]) for m in got]

    assert ids(first) == ids(again)  # deterministic from the exchange's seed
    during = [m for m in first if m["data"]["E"] < first[0]["data"]["E"] + 9_000]
    after = [m for m in first if m["data"]["E"] > first[0]["data"]["E"] + 10_500]
    assert len(bursts) > 3 and _gaps(during, "BTCUSDT") + _gaps(during, "ETHUSDT") > 3
    assert _gaps(after, "BTCUSDT") == 0 and _gaps(after, "ETHUSDT") == 0  # over at its end


def _book(snapshot: dict[str, Any]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    return (
        {Decimal(p): Decimal(q) for p, q in snapshot["bids"]},
        {Decimal(p): Decimal(q) for p, q in snapshot["asks"]},
    )


def _apply(
    book: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]], diff: dict[str, Any]
) -> None:
    for side, levels in zip(book, (diff["b"], diff["a"]), strict=True):
        for price, qty in levels:
            if Decimal(qty) == 0:
                side.pop(Decimal(price), None)
            else:
                side[Decimal(price)] = Decimal(qty)


async def test_a_stale_snapshot_is_a_true_past_book_behind_the_stream(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Applied with the buffered diffs after its ``lastUpdateId`` it gives the exchange's
    book; applied with only the diffs that arrive after it, a wrong one."""
    stale = StaleSnapshot(Target.named("depth").for_symbols(["BTCUSDT"]), lag=30, start=5.0)
    async with running_exchange(_exchange(stale)) as (exchange, nursery):
        venue = InProcessExchange(exchange)
        ws = await venue.connect_ws(nursery, "/ws/btcusdt@depth@100ms")
        async with venue.client() as client:
            fresh = (await client.get("/api/v3/depth?symbol=BTCUSDT&limit=5000")).json()
            await trio.sleep(1.0)
            live = exchange.feed.book("BTCUSDT").last_update_id
            assert fresh["lastUpdateId"] <= live  # before its window: the current book
            buffered = await _read_for(ws, 5.0)
            current = exchange.feed.book("BTCUSDT").last_update_id
            answer = (await client.get("/api/v3/depth?symbol=BTCUSDT&limit=5000")).json()
            eth = (await client.get("/api/v3/depth?symbol=ETHUSDT&limit=10")).json()
        api = await venue.connect_ws(nursery, "/ws-api/v3")
        request = {"id": 1, "method": "depth", "params": {"symbol": "BTCUSDT", "limit": 3}}
        await api.send_message(json.dumps(request))
        over_api = json.loads(await api.get_message())
        after = await _read_for(ws, 2.0)
        await ws.aclose()
        await api.aclose()
    assert answer["lastUpdateId"] == current - 30
    assert over_api["result"]["lastUpdateId"] < exchange.feed.book("BTCUSDT").last_update_id
    assert len(over_api["result"]["bids"]) == 3
    true_book = _book(fresh)  # the exchange's book at the last diff, from a fresh snapshot
    for diff in buffered + after:
        if diff["u"] > fresh["lastUpdateId"]:
            _apply(true_book, diff)
    careful = _book(answer)
    for diff in buffered + after:
        if diff["u"] > answer["lastUpdateId"]:
            _apply(careful, diff)
    naive = _book(answer)
    for diff in after:
        _apply(naive, diff)
    assert careful == true_book
    assert naive != true_book
    assert eth["lastUpdateId"] > 0  # answered, not aimed at:
    assert [f.target for f in _faults(exchange, "stale_snapshot")] == ["BTCUSDT"] * 2


async def test_a_heal_ends_stale_snapshots_and_message_faults_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    plan = (StaleSnapshot(lag=5), PacketLoss(probability=1.0, burst=1000.0))
    async with running_exchange(_exchange(*plan)) as (exchange, nursery):
        venue = InProcessExchange(exchange)
        ws = await venue.connect_ws(nursery, DEPTH)
        assert await _read_for(ws, 2.0) == []  # one endless burst
        exchange.set_faults(FaultPlan())
        assert len(await _read_for(ws, 1.0)) > 2
        async with venue.client() as client:
            answer = (await client.get("/api/v3/depth?symbol=BTCUSDT")).json()
        await ws.aclose()
    assert answer["lastUpdateId"] == exchange.feed.book("BTCUSDT").last_update_id


# -- over real sockets (loopback mode) --------------------------------------------------------


async def test_drops_and_stalls_strike_over_real_sockets_and_heal() -> None:
    from mmbot.clock import EpochClock
    from mmbot.sim.serve import ServeInfo, serve_exchange

    config = ExchangeConfig(symbols=("BTCUSDT",), seed=5)
    exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
    async with trio.open_nursery() as nursery:
        info: ServeInfo = await nursery.start(serve_exchange, exchange)
        url = f"{info.stream_url}/ws/btcusdt@depth@100ms"
        async with open_websocket_url(url) as dropped:
            await dropped.get_message()
            exchange.set_faults(FaultPlan((WsDrop(),)))  # active now: drops at once
            with pytest.raises(ConnectionClosed):
                while True:
                    await dropped.get_message()
        exchange.set_faults(FaultPlan())
        arrived = [trio.Event()]

        async def drain(ws: WebSocketConnection) -> None:  # a client that keeps reading
            with contextlib.suppress(ConnectionClosed):
                while True:
                    await ws.get_message()
                    arrived[0].set()

        async with open_websocket_url(url) as stalled, trio.open_nursery() as reading:
            reading.start_soon(drain, stalled)
            exchange.set_faults(FaultPlan((WsStall(),)))  # stalls at once
            await trio.testing.wait_all_tasks_blocked(0.05)  # the fault clock's turn
            assert any(o.held for o in exchange.connections())
            with trio.move_on_after(0.5) as unanswered:
                await stalled.ping(b"anyone?")
            assert unanswered.cancelled_caught
            arrived[0] = trio.Event()
            exchange.set_faults(FaultPlan())  # healed: released
            await stalled.ping(b"back")
            with trio.fail_after(10):
                await arrived[0].wait()  # frames flow again
            reading.cancel_scope.cancel()
        nursery.cancel_scope.cancel()
    stream_faults = [(f.name, f.detail) for f in exchange.history.faults() if f.name != "plan"]
    assert stream_faults == [
        ("ws_drop", "market_streams"),
        ("ws_stall", "stalled"),
        ("ws_stall", "released"),
    ]
