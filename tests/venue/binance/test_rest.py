"""BinanceRest against the in-process fake exchange: signing, server time, every method."""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
import trio.testing
from test_rest_support import (
    API_KEY,
    API_SECRET,
    exchange_config,
    maker_bid,
    new_rest,
    request_codes,
    rest_on_exchange,
    running_exchange,
    taker_buy,
)

from mmbot.clock import SIM_EPOCH_MS, EpochClock
from mmbot.model import OrderStatus, Outcome, Side, SymbolStatus
from mmbot.sim.exchange import Exchange
from mmbot.venue.base import CancelReplaceMode, CancelReplaceRequest, OrderRef
from mmbot.venue.binance.errors import Code

# ---- signing and server time ----------------------------------------------------------


async def test_signed_requests_are_accepted_by_the_fake_exchange(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, exchange):
        result = await rest.balances()
    assert result.is_ok
    assert {b.asset for b in result.value or ()} >= {"BTC", "USDT"}
    assert request_codes(exchange, "/account") == [None]


async def test_a_wrong_secret_is_rejected_with_1022_and_not_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.create(exchange_config(), clock=EpochClock(SIM_EPOCH_MS))
    async with (
        running_exchange(exchange) as inproc,
        new_rest(inproc.transport(), secret="not-the-secret") as rest,
    ):
        result = await rest.balances()
    assert result.outcome is Outcome.FAILED
    assert result.code == Code.INVALID_SIGNATURE
    assert request_codes(exchange, "/account") == [Code.INVALID_SIGNATURE]


@pytest.mark.parametrize("skew_ms", [-8000, 4000, 30_000])
async def test_time_offset_sync_avoids_1021_when_the_exchange_clock_is_skewed(
    autojump_clock: trio.testing.MockClock, skew_ms: int
) -> None:
    async with rest_on_exchange(skew_ms=skew_ms) as (rest, exchange):
        assert rest.server_clock.offset_ms == skew_ms
        placed = await rest.place(maker_bid("skew-1"))
        queried = await rest.query_order(OrderRef("BTCUSDT", client_order_id="skew-1"))
    assert placed.is_ok and queried.is_ok
    assert Code.INVALID_TIMESTAMP not in request_codes(exchange, "")


async def test_the_first_signed_call_syncs_the_time_when_never_synced(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.create(exchange_config(), clock=EpochClock(SIM_EPOCH_MS, 9000))
    async with running_exchange(exchange) as inproc:
        rest = new_rest(inproc.transport())  # not entered: no sync yet
        result = await rest.balances()
        await rest.aclose()
    assert result.is_ok
    assert rest.server_clock.syncs == 1
    assert request_codes(exchange, "/account") == [None]


async def test_a_1021_resyncs_the_time_and_resends_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange(skew_ms=0) as (rest, exchange):
        exchange.clock.skew_ms = 9000  # the exchange's clock jumps; our offset is now stale
        result = await rest.place(maker_bid("jump-1"))
        assert rest.server_clock.syncs == 2
        assert rest.server_clock.offset_ms == 9000
    assert result.is_ok
    assert request_codes(exchange, "/order") == [Code.INVALID_TIMESTAMP, None]


async def test_the_offset_is_refreshed_after_the_resync_interval_before_sending(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange(time_resync_interval=60.0) as (rest, exchange):
        exchange.clock.skew_ms = 7000  # drifts while we are idle
        await trio.sleep(61)
        result = await rest.balances()
    assert result.is_ok
    assert rest.server_clock.syncs == 2
    assert request_codes(exchange, "/account") == [None]  # never a -1021


# ---- every method's happy path --------------------------------------------------------


async def test_server_time_and_instruments(autojump_clock: trio.testing.MockClock) -> None:
    async with rest_on_exchange(skew_ms=1234) as (rest, exchange):
        now = await rest.server_time()
        instruments = await rest.instruments()
    assert now.value == exchange.now_ms()
    (btc,) = instruments.value or ()
    assert (btc.symbol, btc.base_asset, btc.quote_asset) == ("BTCUSDT", "BTC", "USDT")
    assert btc.status is SymbolStatus.TRADING and btc.tick_size > 0


async def test_depth_snapshot_has_sorted_levels(autojump_clock: trio.testing.MockClock) -> None:
    async with rest_on_exchange() as (rest, _):
        snapshot = (await rest.depth("BTCUSDT", limit=5)).unwrap()
    assert len(snapshot.bids) == 5 and len(snapshot.asks) == 5
    assert snapshot.bids[0][0] > snapshot.bids[-1][0]
    assert snapshot.bids[0][0] < snapshot.asks[0][0]


async def test_place_query_open_orders_and_cancel(autojump_clock: trio.testing.MockClock) -> None:
    async with rest_on_exchange() as (rest, _):
        ack = (await rest.place(maker_bid("life-1"))).unwrap()
        ref = OrderRef("BTCUSDT", client_order_id="life-1")
        queried = (await rest.query_order(ref)).unwrap()
        listed = (await rest.open_orders("BTCUSDT")).unwrap()
        everywhere = (await rest.open_orders()).unwrap()
        cancelled = (await rest.cancel(OrderRef("BTCUSDT", order_id=ack.order_id))).unwrap()
        after = (await rest.open_orders("BTCUSDT")).unwrap()
    assert ack.client_order_id == "life-1" and ack.order is not None
    assert ack.order.status is OrderStatus.NEW
    assert queried.order_id == ack.order_id and queried.price == Decimal("50000")
    assert (
        [o.client_order_id for o in listed] == ["life-1"] == [o.client_order_id for o in everywhere]
    )
    assert cancelled.status is OrderStatus.CANCELED and cancelled.client_order_id == "life-1"
    assert after == ()


async def test_cancel_replace_swaps_the_order(autojump_clock: trio.testing.MockClock) -> None:
    async with rest_on_exchange() as (rest, _):
        await rest.place(maker_bid("old-1"))
        request = CancelReplaceRequest(
            OrderRef("BTCUSDT", client_order_id="old-1"), maker_bid("new-1", price="51000")
        )
        swapped = (await rest.cancel_replace(request)).unwrap()
        listed = (await rest.open_orders("BTCUSDT")).unwrap()
    assert swapped.fully_ok
    assert [o.client_order_id for o in listed] == ["new-1"]


async def test_cancel_replace_partial_failure_is_an_answer_with_parts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, _):
        request = CancelReplaceRequest(
            OrderRef("BTCUSDT", client_order_id="missing"),
            maker_bid("new-2"),
            CancelReplaceMode.STOP_ON_FAILURE,
        )
        result = await rest.cancel_replace(request)
    assert result.is_ok
    parts = result.unwrap()
    assert parts.cancel.is_failed and parts.cancel.code == Code.CANCEL_REJECTED
    assert parts.new is None


async def test_cancel_all_cancels_every_open_order_and_nothing_open_is_ok(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, _):
        await rest.place(maker_bid("all-1"))
        await rest.place(maker_bid("all-2", price="49000"))
        first = (await rest.cancel_all("BTCUSDT")).unwrap()
        second = await rest.cancel_all("BTCUSDT")
    assert sorted(o.client_order_id for o in first) == ["all-1", "all-2"]
    assert second.is_ok and second.value == ()


async def test_a_taker_fill_shows_in_the_ack_balances_and_trades(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, _):
        before = {b.asset: b for b in (await rest.balances()).unwrap()}
        ack = (await rest.place(taker_buy("take-1"))).unwrap()
        after = {b.asset: b for b in (await rest.balances()).unwrap()}
        trades = (await rest.trades("BTCUSDT", order_id=ack.order_id)).unwrap()
    assert ack.fills and sum(f.quantity for f in ack.fills) == Decimal("0.001")
    assert [t.trade_id for t in trades] == [f.trade_id for f in ack.fills]
    assert all(t.side is Side.BUY and t.order_id == ack.order_id for t in trades)
    assert after["BTC"].total > before["BTC"].total
    assert after["USDT"].total < before["USDT"].total


# ---- secrets --------------------------------------------------------------------------


async def test_no_repr_shows_the_key_or_the_secret(autojump_clock: trio.testing.MockClock) -> None:
    async with rest_on_exchange() as (rest, _):
        texts = [repr(rest), repr(rest.http), repr(rest.http._credentials)]
    for text in texts:
        assert API_KEY not in text and API_SECRET not in text
