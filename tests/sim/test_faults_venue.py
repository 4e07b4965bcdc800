"""The exchange-behaviour faults (``rate_limit``, ``clock_skew``, ``maintenance``,
``flash_move``, ``fill_before_ack``, ``cancel_fill_race``): the plan's decisions (sans-IO),
and the exchange really misbehaving that way, each test failing without the fault logic."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from urllib.parse import urlencode

import pytest
import trio
import trio.testing

from mmbot.model import OrderStatus
from mmbot.sim.dialect import RateLimits
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.faults import (
    CancelFillRace,
    ClockSkew,
    Fault,
    FaultPlan,
    FillBeforeAck,
    FlashMove,
    Maintenance,
    RateLimit,
    Target,
)
from mmbot.sim.history import EntryKind
from mmbot.sim.inprocess import InProcessExchange
from mmbot.testing import running_exchange
from mmbot.venue.binance.signing import sign, ws_signing_payload

API_KEY = "venue-fault-key"
API_SECRET = "venue-fault-secret"
SYMBOL = "BTCUSDT"

# -- the plan ---------------------------------------------------------------------------------


def test_a_rate_limit_lowers_only_the_limits_it_names_and_only_while_active() -> None:
    base = RateLimits()
    plan = FaultPlan((RateLimit(request_weight_per_minute=100, start=10, duration=5),))
    assert plan.rate_limits(base, 9.9) == base
    lowered = plan.rate_limits(base, 12)
    assert lowered.request_weight_per_minute == 100
    assert lowered.orders_per_10s == base.orders_per_10s
    assert plan.rate_limits(base, 15) == base
    # never raises a limit above the exchange's own
    assert RateLimit(orders_per_10s=10_000).lower(base).orders_per_10s == base.orders_per_10s


def test_a_clock_skew_steps_and_drifts_while_active_and_several_add_up() -> None:
    plan = FaultPlan(
        (
            ClockSkew(step=-2.0, start=10, duration=10),
            ClockSkew(drift=50.0, start=12, duration=4),
        )
    )
    assert plan.clock_offset_ms(9.9) == 0
    assert plan.clock_offset_ms(10) == -2000
    assert plan.clock_offset_ms(14) == -2000 + 100  # 2 s of 50 ms/s
    assert plan.clock_offset_ms(17) == -2000  # the drift's window is over
    assert plan.clock_offset_ms(20) == 0


def test_maintenance_and_flash_moves_are_scheduled_and_the_plan_knows_when_they_change() -> None:
    maintenance = Maintenance("HALT", [SYMBOL], start=5, duration=10)
    plan = FaultPlan((maintenance, FlashMove(-5, start=8)))
    assert plan.scheduled and not FaultPlan((CancelFillRace(),)).scheduled
    assert plan.maintenance(SYMBOL, 4) is None
    assert plan.maintenance(SYMBOL, 5) is maintenance
    assert plan.maintenance("ETHUSDT", 6) is None  # not its symbol
    assert [plan.next_change(t) for t in (0, 5, 8, 15)] == [5, 8, 15, None]


def test_races_draw_only_for_the_operations_they_can_strike() -> None:
    plan = FaultPlan((FillBeforeAck(probability=0.5, target=Target.all()), CancelFillRace()))
    rng, untouched = random.Random(3), random.Random(3)
    assert plan.races and not plan.strikes
    assert plan.fill_before_ack("order.cancel", 0, rng) is None  # cannot rest an order
    assert plan.fill_before_ack("depth", 0, rng) is None
    assert plan.cancel_fill_race("order.place", 0, rng) is None
    assert rng.random() == untouched.random()  # none of those drew
    assert plan.cancel_fill_race("order.cancelReplace", 0, rng) == CancelFillRace()
    hits = sum(plan.fill_before_ack("order.place", 0, rng) is not None for _ in range(2000))
    assert 850 < hits < 1150


@pytest.mark.parametrize(
    "build",
    [
        lambda: RateLimit(),  # no limit named
        lambda: RateLimit(orders_per_10s=0),
        lambda: ClockSkew(),  # neither step nor drift
        lambda: ClockSkew(step=float("nan")),
        lambda: Maintenance("END_OF_DAY"),
        lambda: FlashMove(0),
        lambda: FlashMove(-100),
        lambda: FillBeforeAck(delay=-1),
    ],
)
def test_bad_venue_faults_are_refused(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_venue_faults_describe_themselves() -> None:
    plan = FaultPlan(
        (
            RateLimit(request_weight_per_minute=60, orders_per_10s=5, start=10, duration=20),
            ClockSkew(step=-1.5, drift=20, start=5, duration=10),
            Maintenance(symbols=[SYMBOL], start=20, duration=10),
            FlashMove(-7.5, start=30),
            FillBeforeAck(delay=0.25, probability=0.2),
            CancelFillRace(start=1, duration=2),
        )
    )
    assert plan.describe().split("; ") == [
        "rate limit 60 weight/min, 5 orders/10 s, from 10 s to 30 s",
        "clock skew step -1500 ms drift +20 ms/s, from 5 s to 15 s",
        "maintenance (BREAK) on BTCUSDT, from 20 s to 30 s",
        "flash move -7.5% on every symbol at 30 s",
        "fill before ack (+250 ms) on order.place, 20% of requests",
        "cancel/fill race on order.cancel,order.cancelReplace, from 1 s to 3 s",
    ]


# -- the exchange shell -----------------------------------------------------------------------


def _exchange(*faults: Fault, symbols: tuple[str, ...] = (SYMBOL,)) -> Exchange:
    config = ExchangeConfig(
        symbols=symbols, seed=3, api_key=API_KEY, api_secret=API_SECRET,
        faults=FaultPlan(faults),
    )  # fmt: skip
    return Exchange.simulated(config)


def _order(exchange: Exchange, cid: str, *, side: str = "BUY", off: int = 1000) -> dict[str, str]:
    bid, ask = exchange.engine.best_bid_ask(SYMBOL)
    assert bid is not None and ask is not None
    price = bid - off if side == "BUY" else ask + off
    return {
        "symbol": SYMBOL, "side": side, "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.01", "price": str(price), "newClientOrderId": cid,
    }  # fmt: skip


def _signed(params: dict[str, str], timestamp: int) -> str:
    query = urlencode({**params, "timestamp": timestamp})
    return f"{query}&signature={sign(API_SECRET, query)}"


def _ws_frame(request_id: int, method: str, params: dict[str, object], timestamp: int) -> str:
    signed: dict[str, object] = {**params, "apiKey": API_KEY, "timestamp": timestamp}
    signed["signature"] = sign(API_SECRET, ws_signing_payload(signed))
    return json.dumps({"id": request_id, "method": method, "params": signed})


def _status(exchange: Exchange, cid: str) -> OrderStatus:
    view = exchange.engine.query(exchange.config.account, SYMBOL, client_order_id=cid)
    assert not isinstance(view, Exception) and hasattr(view, "status"), view
    return view.status  # type: ignore[union-attr]


async def test_a_rate_limit_answers_real_429s_then_bans_a_client_that_keeps_sending(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(RateLimit(request_weight_per_minute=20, start=1, duration=300))
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        before = [(await client.get("/api/v3/ping")).status_code for _ in range(30)]
        # into the fault, at the start of a fresh weight window (a minute of server time)
        await trio.sleep((60_000 - exchange.now_ms() % 60_000) / 1000 + 0.5)
        during = [await client.get("/api/v3/ping") for _ in range(35)]
        exchange.set_faults(FaultPlan())  # the heal lifts the low limit, not the ban
        banned = await client.get("/api/v3/ping")
    assert before == [200] * 30  # the exchange's own limits: 30 pings are nothing
    codes = [r.status_code for r in during]
    assert codes[:20] == [200] * 20
    assert codes[20:31] == [429] * 11  # the first, then what a concurrent client had in flight
    assert codes[31:] == [418] * 4
    assert during[20].json()["code"] == -1003
    assert int(during[20].headers["Retry-After"]) >= 1
    assert during[20].headers["X-MBX-USED-WEIGHT-1M"] == "20"
    assert int(during[31].headers["Retry-After"]) >= 110  # the first ban: 2 minutes
    assert banned.status_code == 418
    faults = [(e.payload.name, e.payload.detail) for e in exchange.history.entries(EntryKind.FAULT)]
    assert ("rate_limit", "start") in faults and ("rate_limit", "end") in faults


async def test_a_rate_limit_on_orders_refuses_the_order_over_it_with_1015(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(RateLimit(orders_per_10s=2))
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        headers = {"X-MBX-APIKEY": API_KEY}
        answers = [
            await client.post(
                f"/api/v3/order?{_signed(_order(exchange, f'o{i}'), exchange.now_ms())}",
                headers=headers,
            )
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == -1015 and "Retry-After" in answers[2].headers


async def test_a_clock_skew_moves_the_venues_clock_so_an_unsynced_timestamp_gets_1021(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(ClockSkew(step=10.0, drift=100.0, start=1, duration=20))
    headers = {"X-MBX-APIKEY": API_KEY}
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        order = _order(exchange, "skewed")
        path = "/api/v3/openOrders"
        assert (
            await client.get(f"{path}?{_signed({}, exchange.now_ms())}", headers=headers)
        ).is_success
        await trio.sleep(6)  # 5 s into the fault: 10 s step + 5 s of 100 ms/s
        server = (await client.get("/api/v3/time")).json()["serverTime"]
        local = exchange.now_ms()
        unsynced = await client.get(f"{path}?{_signed({}, exchange.now_ms())}", headers=headers)
        synced = await client.post(f"/api/v3/order?{_signed(order, server)}", headers=headers)
        exchange.set_faults(FaultPlan())  # healed: the venue's clock is back in step
        healed = (await client.get("/api/v3/time")).json()["serverTime"]
        back = await client.get(f"{path}?{_signed({}, exchange.now_ms())}", headers=headers)
        ahead = await client.get(f"{path}?{_signed({}, server)}", headers=headers)
        now = exchange.now_ms()
    assert abs(server - local - 10_500) <= 5  # 10 s step + 5 s of 100 ms/s drift
    assert unsynced.status_code == 400 and unsynced.json()["code"] == -1021
    assert synced.status_code == 200  # a client that read the venue's time is fine
    assert healed == now
    assert back.is_success
    assert ahead.json()["code"] == -1021  # still on the skewed time: now 10 s ahead


async def test_maintenance_breaks_the_market_then_trades_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(Maintenance(start=2, duration=5))
    headers = {"X-MBX-APIKEY": API_KEY}
    async with running_exchange(exchange) as (exchange, nursery):
        client = InProcessExchange(exchange).client()
        async with client:
            placed = await client.post(
                f"/api/v3/order?{_signed(_order(exchange, 'resting'), exchange.now_ms())}",
                headers=headers,
            )
            assert placed.is_success
            ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
            late = _order(exchange, "refused")  # priced while the book is there
            await trio.sleep(3)  # into the maintenance
            info = (await client.get("/api/v3/exchangeInfo", params={"symbol": SYMBOL})).json()
            refused = await client.post(
                f"/api/v3/order?{_signed(late, exchange.now_ms())}",
                headers=headers,
            )
            goodbye = json.loads(await ws.get_message())
            expired = _status(exchange, "resting")
            await trio.sleep(5)  # over
            info_after = (
                await client.get("/api/v3/exchangeInfo", params={"symbol": SYMBOL})
            ).json()
            again = await client.post(
                f"/api/v3/order?{_signed(_order(exchange, 'again'), exchange.now_ms())}",
                headers=headers,
            )
    assert info["symbols"][0]["status"] == "BREAK"
    assert refused.status_code == 400 and refused.json() == {
        "code": -1013, "msg": "Market is closed."
    }  # fmt: skip
    assert goodbye["event"]["e"] == "serverShutdown"
    assert expired is OrderStatus.EXPIRED
    assert info_after["symbols"][0]["status"] == "TRADING"
    assert again.is_success
    bid, ask = exchange.engine.best_bid_ask(SYMBOL)
    assert bid is not None and ask is not None  # the background market is back too


async def test_healing_ends_a_maintenance_at_once(autojump_clock: trio.testing.MockClock) -> None:
    exchange = _exchange(Maintenance("HALT", start=1, duration=50))
    async with running_exchange(exchange):
        await trio.sleep(2)
        halted = exchange.engine.instrument(SYMBOL)
        exchange.set_faults(FaultPlan())
        healed = exchange.engine.instrument(SYMBOL)
    assert halted is not None and halted.status.value == "HALT"
    assert healed is not None and healed.status.value == "TRADING"


async def test_a_flash_move_jumps_the_reference_and_runs_over_resting_quotes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(FlashMove(5, start=2))
    headers = {"X-MBX-APIKEY": API_KEY}
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        ask = _order(exchange, "ask", side="SELL", off=50)
        assert (
            await client.post(f"/api/v3/order?{_signed(ask, exchange.now_ms())}", headers=headers)
        ).is_success
        before = exchange.market.reference_price(SYMBOL)
        await trio.sleep(1.9)
        assert _status(exchange, "ask") is OrderStatus.NEW  # still resting before the move
        await trio.sleep(0.2)
        after = exchange.market.reference_price(SYMBOL)
        run_over = _status(exchange, "ask")
    assert after / before > Decimal("1.04")
    assert run_over is OrderStatus.FILLED
    faults = [e.payload for e in exchange.history.entries(EntryKind.FAULT)]
    assert [f.name for f in faults] == ["flash_move"]


async def test_fill_before_ack_sends_the_fill_before_the_placements_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(FillBeforeAck(delay=0.4))
    async with running_exchange(exchange) as (exchange, nursery):
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(
            _ws_frame(1, "userDataStream.subscribe.signature", {}, exchange.now_ms())
        )
        assert json.loads(await ws.get_message())["status"] == 200
        sent = trio.current_time()
        await ws.send_message(
            _ws_frame(2, "order.place", _order(exchange, "raced"), exchange.now_ms())
        )
        frames: list[tuple[float, dict[str, object]]] = []
        while not any(f.get("id") == 2 for _, f in frames):
            frame = json.loads(await ws.get_message())
            frames.append((trio.current_time() - sent, frame))
    events = [f["event"] for _, f in frames if "event" in f]
    reports = [e for e in events if e["e"] == "executionReport"]  # type: ignore[index]
    assert [(r["X"], r["x"]) for r in reports][:1] == [("NEW", "NEW")]  # type: ignore[index]
    assert any(r["X"] == "FILLED" for r in reports)  # type: ignore[index]
    answered_at, answer = frames[-1]
    assert answer["status"] == 200 and answer["result"]["status"] == "NEW"  # type: ignore[index]
    assert answered_at >= 0.4  # held after the fill went out
    assert _status(exchange, "raced") is OrderStatus.FILLED


async def test_cancel_fill_race_fills_the_order_then_answers_the_cancel_2011(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(CancelFillRace(start=1))
    headers = {"X-MBX-APIKEY": API_KEY}
    async with running_exchange(exchange), InProcessExchange(exchange).client() as client:
        for cid in ("early", "late"):
            order = _order(exchange, cid, side="SELL", off=200)
            placed = await client.post(
                f"/api/v3/order?{_signed(order, exchange.now_ms())}", headers=headers
            )
            assert placed.is_success
        cancel = {"symbol": SYMBOL, "origClientOrderId": "early"}
        before = await client.delete(
            f"/api/v3/order?{_signed(cancel, exchange.now_ms())}", headers=headers
        )
        await trio.sleep(1)
        cancel = {"symbol": SYMBOL, "origClientOrderId": "late"}
        raced = await client.delete(
            f"/api/v3/order?{_signed(cancel, exchange.now_ms())}", headers=headers
        )
    assert before.json()["status"] == "CANCELED"  # before the fault's window
    assert raced.status_code == 400 and raced.json()["code"] == -2011
    assert _status(exchange, "late") is OrderStatus.FILLED
    fills = exchange.history.fills(exchange.config.account, SYMBOL)
    assert sum(f.quantity for f in fills) == Decimal("0.01")


async def test_a_cancel_replace_that_loses_the_race_is_answered_2022_and_places_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = _exchange(CancelFillRace())
    async with running_exchange(exchange) as (exchange, nursery):
        order = _order(exchange, "old", side="SELL", off=200)
        ws = await InProcessExchange(exchange).connect_ws(nursery, "/ws-api/v3")
        await ws.send_message(_ws_frame(1, "order.place", dict(order), exchange.now_ms()))
        assert json.loads(await ws.get_message())["status"] == 200
        replace = {
            **order, "newClientOrderId": "new", "cancelOrigClientOrderId": "old",
            "cancelReplaceMode": "STOP_ON_FAILURE",
        }  # fmt: skip
        await ws.send_message(_ws_frame(2, "order.cancelReplace", replace, exchange.now_ms()))
        answer = json.loads(await ws.get_message())
    assert answer["status"] == 400 and answer["error"]["code"] == -2022
    assert answer["error"]["data"]["cancelResponse"]["code"] == -2011
    assert _status(exchange, "old") is OrderStatus.FILLED
    assert exchange.engine.open_orders(exchange.config.account) == []  # nothing new rests
