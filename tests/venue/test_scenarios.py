"""Fault scenarios through the venue, checked against the fake exchange's history.

Everything runs in-process under ``MockClock(autojump_threshold=0)``: minutes of exchange
time take milliseconds. Faults are injected at the seams (the WebSocket connector and the
HTTP transport, see ``test_scenarios_support``) or by the exchange itself (its rate limits);
the truth (book deltas, requests, fills) comes from the exchange's history.
"""

from __future__ import annotations

import json

import trio
import trio.testing
from test_scenarios_support import (
    assert_matches_exchange,
    maker_bid,
    requests_to,
    taker_buy,
)

from mmbot.model import BookSnapshot, OrderStatus, Outcome
from mmbot.sim.dialect import RateLimits
from mmbot.testing import open_rig, rig_exchange_config
from mmbot.venue.base import OrderRef
from mmbot.venue.events import OrderAccepted, OrderFilled, Resynced, StreamGap, UserEvent


async def _collect_until(
    events: trio.abc.ReceiveChannel[UserEvent], done: type, seconds: float
) -> list[UserEvent]:
    """Events until (and including) one of type ``done``, or until ``seconds`` pass."""
    out: list[UserEvent] = []
    with trio.move_on_after(seconds):
        async for event in events:
            out.append(event)
            if isinstance(event, done):
                break
    return out


async def _drain(events: trio.abc.ReceiveChannel[UserEvent], seconds: float) -> list[UserEvent]:
    out: list[UserEvent] = []
    with trio.move_on_after(seconds):
        async for event in events:
            out.append(event)
    return out


async def test_a_dropped_diff_rebuilds_the_book_and_no_wrong_book_is_ever_valid(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[BookSnapshot] = []
    dropped_first_ids: list[int] = []

    def drop_one_btc_diff(resource: str, frame: str | bytes) -> bool:
        if dropped_first_ids or len(seen) < 20 or not resource.startswith("/stream"):
            return False
        data = json.loads(frame).get("data", {})
        if data.get("e") == "depthUpdate" and data.get("s") == "BTCUSDT":
            dropped_first_ids.append(data["U"])
            return True
        return False

    async with open_rig() as rig:
        rig.tap.drop = drop_one_btc_diff
        # Hold the rebuilding snapshot a while, so the gapped book is seen before it.
        rig.http.delay = lambda r: 0.5 if dropped_first_ids and "depth" in r.url.path else 0.0
        async with rig.venue.book_stream("BTCUSDT") as books:
            with trio.move_on_after(20.0):
                async for book in books:
                    seen.append(book)
                    if book.is_valid:  # a checkpoint: every valid book is the true book
                        assert_matches_exchange(rig.exchange, book)
        streams = await rig.venue.market_streams("BTCUSDT")
        stats = streams.book_statistics("BTCUSDT")
    assert dropped_first_ids, "no diff was dropped"
    after_drop = [b for b in seen if b.last_update_id >= dropped_first_ids[0] - 1]
    assert any(not b.is_valid for b in seen[20:]), "the gapped book was never published invalid"
    assert after_drop and after_drop[-1].is_valid
    assert after_drop[-1].last_update_id > dropped_first_ids[0]
    assert (stats.gaps, stats.snapshots_accepted) == (1, 2)
    assert rig.tap.opened("/stream") == 1  # rebuilt from a new snapshot, no reconnect


async def test_a_killed_websocket_reconnects_and_books_and_user_stream_resume(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig() as rig:
        venue = rig.venue
        async with venue.user_stream() as events:
            await rig.tap.kill("/")  # the market stream and the WebSocket API
            with trio.fail_after(30):
                around = await _collect_until(events, Resynced, 30.0)
                await venue.wait_ready()
                (await venue.place(maker_bid("scn-after-kill"))).unwrap()
                later = await _collect_until(events, OrderAccepted, 10.0)
            async with venue.book_stream("ETHUSDT") as books:
                book = await books.receive()
        opened = (rig.tap.opened("/stream"), rig.tap.opened("/ws-api"))
    assert [type(e) for e in around] == [StreamGap, Resynced]
    assert isinstance(later[-1], OrderAccepted)
    assert later[-1].client_order_id == "scn-after-kill"
    assert_matches_exchange(rig.exchange, book)
    assert opened == (2, 2)


async def test_a_fill_while_the_user_stream_is_down_is_reported_exactly_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig() as rig:
        venue = rig.venue
        async with venue.user_stream() as events:
            rig.tap.refuse = lambda resource: resource.startswith("/ws-api")
            await rig.tap.kill("/ws-api")
            await trio.sleep(1.0)
            assert rig.venue.user is not None and not rig.venue.user.is_live
            ack = (await venue.place(taker_buy("scn-down-fill"))).unwrap()
            await trio.sleep(5.0)
            refused = rig.tap.refused
            rig.tap.refuse = None
            with trio.fail_after(60):
                events_seen = await _collect_until(events, Resynced, 60.0)
                events_seen += await _drain(events, 10.0)
            truth = (await venue.trades("BTCUSDT", order_id=ack.order_id)).unwrap()
    fills = [e for e in events_seen if isinstance(e, OrderFilled)]
    assert refused >= 1, "the user stream never tried to reconnect while refused"
    assert truth, "the taker order did not trade"
    assert sorted(f.fill.trade_id for f in fills) == sorted(t.trade_id for t in truth)
    assert all(f.order_id == ack.order_id for f in fills)
    kinds = [type(e) for e in events_seen]
    assert kinds[0] is StreamGap and Resynced in kinds
    assert kinds.index(Resynced) > max(i for i, k in enumerate(kinds) if k is OrderFilled)


async def test_a_429_with_retry_after_pauses_every_request_until_then(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limits = RateLimits(request_weight_per_minute=600)
    async with open_rig(exchange=rig_exchange_config(rate_limits=limits)) as rig:
        venue = rig.venue
        limited = None
        for _ in range(20):  # 80 weight each: the exchange answers 429 within a few
            result = await venue.open_orders()
            if result.http_status == 429:
                limited = result
                break
        assert limited is not None and limited.retry_after is not None
        (t429,) = [t for t, code, status in requests_to(rig.exchange, "") if status == 429]
        paused = await venue.open_orders("BTCUSDT")  # within the pause: not sent
        place = await venue.place(maker_bid("scn-paused"))
        await trio.sleep(limited.retry_after)
        resumed = await venue.open_orders("BTCUSDT")
        history = requests_to(rig.exchange, "")
    assert limited.outcome is Outcome.FAILED and limited.code == -1003
    assert (paused.outcome, paused.code) == (Outcome.FAILED, -1003)
    assert paused.retry_after is not None and paused.retry_after > 0
    assert (place.outcome, place.code) == (Outcome.FAILED, -1003)  # not sent, not unknown
    assert not requests_to(rig.exchange, "/api/v3/order")
    assert resumed.is_ok
    resume_at = t429 + limited.retry_after * 1000
    during = [(t, status) for t, _, status in history if t429 < t < resume_at]
    assert during == [], "a request was sent while the venue had said to wait"
    assert all(status != 418 for _, _, status in history), "the client got itself banned"


async def test_a_lost_answer_to_an_accepted_order_is_unknown_and_resolved_by_query(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig() as rig:
        venue = rig.venue
        async with venue.user_stream() as events:
            rig.http.lose = lambda r: r.method == "POST" and r.url.path == "/api/v3/order"
            placed = await venue.place(maker_bid("scn-lost"))
            rig.http.lose = lambda r: False
            resolved = await venue.query_order(OrderRef("BTCUSDT", client_order_id="scn-lost"))
            seen = await _drain(events, 3.0)
        sent = [s for _, _, s in requests_to(rig.exchange, "/api/v3/order") if s == 200]
    assert placed.outcome is Outcome.UNKNOWN and rig.http.lost == 1
    assert len(sent) == 2  # the one placement (never re-sent) and the query
    info = resolved.unwrap()
    assert (info.client_order_id, info.status) == ("scn-lost", OrderStatus.NEW)
    accepted = [e for e in seen if isinstance(e, OrderAccepted)]
    assert [e.client_order_id for e in accepted] == ["scn-lost"]
