"""The ``Venue`` conformance suite: the same tests against every way of reaching a venue.

``rig`` is parametrized: ``inprocess`` (the fake exchange in the same trio run, under
``MockClock(autojump_threshold=0)``) and ``loopback`` (``mmbot exchange serve``'s server
function on 127.0.0.1, real sockets, real clock). Each test takes ``sim_clock`` so that
pytest-trio runs the in-process case on the mock clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import trio
import trio.testing
from test_scenarios_support import (
    SYMBOLS,
    assert_matches_exchange,
    maker_bid,
    taker_buy,
)

from mmbot.model import BookSnapshot, OrderStatus, Outcome
from mmbot.testing import Rig, open_rig
from mmbot.venue.base import CancelReplaceRequest, OrderRef, Venue
from mmbot.venue.events import OrderAccepted, OrderCancelled, OrderFilled, UserEvent

MODES = ["inprocess", "loopback"]
LIMIT_S = 15.0  # every test, in the seconds of its clock


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sim_clock(mode: str) -> trio.testing.MockClock | None:
    return trio.testing.MockClock(autojump_threshold=0) if mode == "inprocess" else None


@pytest.fixture
async def rig(mode: str) -> AsyncIterator[Rig]:
    async with open_rig(mode) as r:
        yield r


def ref(coid: str) -> OrderRef:
    return OrderRef("BTCUSDT", client_order_id=coid)


async def test_the_venue_satisfies_the_protocol(rig: Rig, sim_clock: object) -> None:
    venue: Venue = rig.venue  # mypy checks the structure; this checks it is connected
    assert (await venue.server_time()).is_ok


async def test_instruments_carry_the_exchanges_filters(rig: Rig, sim_clock: object) -> None:
    with trio.fail_after(LIMIT_S):
        result = await rig.venue.instruments()
    by_symbol = {i.symbol: i for i in result.unwrap()}
    assert set(SYMBOLS) <= set(by_symbol)
    for symbol in SYMBOLS:
        got, truth = by_symbol[symbol], rig.exchange.engine.instrument(symbol)
        assert truth is not None
        assert (got.tick_size, got.step_size, got.min_qty, got.min_notional) == (
            truth.tick_size, truth.step_size, truth.min_qty, truth.min_notional,
        )  # fmt: skip
        assert got.tick_size > 0 and got.step_size > 0 and got.min_notional > 0
        assert (got.base_asset, got.quote_asset, got.status) == (
            truth.base_asset, truth.quote_asset, truth.status,
        )  # fmt: skip


async def test_server_time_follows_the_exchange_clock(rig: Rig, sim_clock: object) -> None:
    with trio.fail_after(LIMIT_S):
        result = await rig.venue.server_time()
    assert abs(result.unwrap() - rig.exchange.now_ms()) < 1000


async def test_a_resting_order_is_placed_queried_listed_and_cancelled(
    rig: Rig, sim_clock: object
) -> None:
    venue = rig.venue
    with trio.fail_after(LIMIT_S):
        placed = await venue.place(maker_bid("conf-rest-1"))
        queried = await venue.query_order(ref("conf-rest-1"))
        listed = await venue.open_orders("BTCUSDT")
        cancelled = await venue.cancel(ref("conf-rest-1"))
        after = await venue.query_order(OrderRef("BTCUSDT", order_id=placed.unwrap().order_id))
    ack = placed.unwrap()
    assert ack.client_order_id == "conf-rest-1" and ack.order is not None
    assert ack.order.status is OrderStatus.NEW
    assert queried.unwrap().order_id == ack.order_id
    assert [o.client_order_id for o in listed.unwrap()] == ["conf-rest-1"]
    assert cancelled.unwrap().status is OrderStatus.CANCELED
    assert after.unwrap().status is OrderStatus.CANCELED


async def test_refusals_are_failed_with_the_venues_code_and_reason(
    rig: Rig, sim_clock: object
) -> None:
    venue = rig.venue
    with trio.fail_after(LIMIT_S):
        crossing = await venue.place(maker_bid("conf-cross", price="70000"))
        await venue.place(maker_bid("conf-dup"))
        duplicate = await venue.place(maker_bid("conf-dup"))
        missing_cancel = await venue.cancel(ref("conf-never"))
        missing_query = await venue.query_order(ref("conf-never"))
    assert (crossing.outcome, crossing.code) == (Outcome.FAILED, -2010)
    assert "immediately match" in crossing.reason
    assert (duplicate.outcome, duplicate.code) == (Outcome.FAILED, -2010)
    assert "Duplicate" in duplicate.reason
    assert (missing_cancel.outcome, missing_cancel.code) == (Outcome.FAILED, -2011)
    assert (missing_query.outcome, missing_query.code) == (Outcome.FAILED, -2013)


async def test_cancel_replace_swaps_one_order_for_another(rig: Rig, sim_clock: object) -> None:
    venue = rig.venue
    with trio.fail_after(LIMIT_S):
        await venue.place(maker_bid("conf-old"))
        swapped = await venue.cancel_replace(
            CancelReplaceRequest(ref("conf-old"), maker_bid("conf-new", price="50001"))
        )
        listed = await venue.open_orders("BTCUSDT")
    parts = swapped.unwrap()
    assert parts.fully_ok and parts.cancel.unwrap().status is OrderStatus.CANCELED
    assert [(o.client_order_id, o.price) for o in listed.unwrap()] == [
        ("conf-new", Decimal("50001"))
    ]


async def test_cancel_all_cancels_every_open_order_and_then_finds_none(
    rig: Rig, sim_clock: object
) -> None:
    venue = rig.venue
    with trio.fail_after(LIMIT_S):
        for i in range(3):
            (await venue.place(maker_bid(f"conf-all-{i}", price=str(50000 + i)))).unwrap()
        first = await venue.cancel_all("BTCUSDT")
        second = await venue.cancel_all("BTCUSDT")
        listed = await venue.open_orders()
    assert sorted(o.client_order_id for o in first.unwrap()) == [f"conf-all-{i}" for i in range(3)]
    assert all(o.status is OrderStatus.CANCELED for o in first.unwrap())
    assert second.outcome is Outcome.OK and second.value == ()
    assert listed.unwrap() == ()


async def test_a_taker_fill_shows_in_trades_and_balances(rig: Rig, sim_clock: object) -> None:
    venue = rig.venue
    with trio.fail_after(LIMIT_S):
        before = {b.asset: b for b in (await venue.balances()).unwrap()}
        ack = (await venue.place(taker_buy("conf-take"))).unwrap()
        trades = (await venue.trades("BTCUSDT", order_id=ack.order_id)).unwrap()
        after = {b.asset: b for b in (await venue.balances()).unwrap()}
    assert trades and {t.order_id for t in trades} == {ack.order_id}
    bought = sum((t.quantity for t in trades), Decimal(0))
    assert bought == Decimal("0.001")
    fee_in_btc = sum((t.fee for t in trades if t.fee_asset == "BTC"), Decimal(0))
    assert after["BTC"].total - before["BTC"].total == bought - fee_in_btc
    assert after["USDT"].total < before["USDT"].total


async def test_book_stream_yields_valid_snapshots_equal_to_the_exchange_book(
    rig: Rig, sim_clock: object
) -> None:
    seen: list[BookSnapshot] = []
    window = 3.0 if rig.mode == "inprocess" else 1.5
    async with rig.venue.book_stream("BTCUSDT") as books:
        with trio.move_on_after(window):
            async for book in books:
                seen.append(book)
    valid = [b for b in seen if b.is_valid]
    assert len(valid) >= 3
    for book in valid:
        assert_matches_exchange(rig.exchange, book)
    ids = [b.last_update_id for b in valid]
    assert ids == sorted(ids)


async def test_configured_symbols_share_one_combined_connection(
    rig: Rig, sim_clock: object
) -> None:
    streams = await rig.venue.market_streams("ETHUSDT")
    assert streams is await rig.venue.market_streams("BTCUSDT")
    assert rig.tap.opened("/stream") == 1 and rig.tap.opened("/ws-api") == 1


async def _next_order_event(events: trio.abc.ReceiveChannel[UserEvent], coid: str) -> UserEvent:
    async for event in events:
        order_event = isinstance(event, OrderAccepted | OrderFilled | OrderCancelled)
        if order_event and event.client_order_id == coid:  # type: ignore[union-attr]
            return event
    raise AssertionError("the user stream ended")


async def test_user_stream_reports_accept_cancel_and_fill(rig: Rig, sim_clock: object) -> None:
    venue = rig.venue
    with trio.fail_after(LIMIT_S):
        async with venue.user_stream() as events:
            ack = (await venue.place(maker_bid("conf-user-m"))).unwrap()
            accepted = await _next_order_event(events, "conf-user-m")
            (await venue.cancel(ref("conf-user-m"))).unwrap()
            cancelled = await _next_order_event(events, "conf-user-m")
            taken = (await venue.place(taker_buy("conf-user-t"))).unwrap()
            taker_events = [await _next_order_event(events, "conf-user-t") for _ in range(2)]
            trades = (await venue.trades("BTCUSDT", order_id=taken.order_id)).unwrap()
    assert isinstance(accepted, OrderAccepted) and accepted.order_id == ack.order_id
    assert isinstance(cancelled, OrderCancelled) and cancelled.status is OrderStatus.CANCELED
    assert isinstance(taker_events[0], OrderAccepted)
    fill = taker_events[1]
    assert isinstance(fill, OrderFilled)
    assert fill.fill.trade_id == trades[0].trade_id and fill.fill.order_id == taken.order_id
