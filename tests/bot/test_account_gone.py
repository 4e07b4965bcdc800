"""The account service settles an order the venue no longer knows (``OrderGone``) and
starts fill de-duplication afresh for a symbol whose venue was reset (``VenueReset``)."""

from __future__ import annotations

from decimal import Decimal

import attrs

from mmbot.bot.account import AccountService
from mmbot.bot.state import BotState, Wakeup
from mmbot.config import BotConfig
from mmbot.model import ExecutionType, Fill, OrderStatus, OrderType, Outcome, Side, TimeInForce
from mmbot.quoting.budget import OrderBudget
from mmbot.quoting.orders import ClientIdFactory, OrderIntent, OrderState, OrderTracker
from mmbot.venue.events import ExecutionReport, OrderFilled, OrderGone, VenueReset


def state() -> BotState:
    return BotState(
        config=BotConfig(), run_id="run1", config_hash="h", mode="sim",
        tracker=OrderTracker(ClientIdFactory("mm", "run1")), budget=OrderBudget([]),
        started_at=0.0,
    )  # fmt: skip


def gone(cid: str, order_id: int, *, venue_reset: bool = False) -> OrderGone:
    report = ExecutionReport(
        event_time_ms=1, symbol="BTCUSDT", client_order_id=cid, side=Side.BUY,
        order_type=OrderType.LIMIT_MAKER, time_in_force=TimeInForce.GTC,
        quantity=Decimal("0.01"), price=Decimal("100"), execution_type=ExecutionType.EXPIRED,
        status=OrderStatus.EXPIRED, reject_reason="NONE", order_id=order_id,
        last_qty=Decimal(0), cumulative_qty=Decimal(0), last_price=Decimal(0),
        commission=Decimal(0), commission_asset=None, transaction_time_ms=1, trade_id=-1,
        is_maker=False, orig_client_order_id="", cumulative_quote_qty=Decimal(0),
    )  # fmt: skip
    return OrderGone(report, "order does not exist (-2013)", venue_reset)


def test_an_order_gone_from_the_venue_is_settled_in_the_tracker() -> None:
    s = state()
    cid = s.tracker.new_order(OrderIntent("BTCUSDT", Side.BUY, 0, Decimal("100"), Decimal("0.01")))
    s.tracker.on_place_outcome(cid, Outcome.UNKNOWN)  # its fate unknown to the bot
    AccountService(s, venue=None).on_event(gone(cid, 7), now=1.0)  # type: ignore[arg-type]
    order = s.tracker.get(cid)
    assert order is not None and order.state is OrderState.CANCELLED
    assert s.tracker.live() == [] and s.tracker.unresolved() == []


def test_a_gone_order_that_is_not_the_bots_changes_nothing() -> None:
    s = state()
    AccountService(s, venue=None).on_event(gone("someone-else", 9), now=1.0)  # type: ignore[arg-type]
    assert list(s.tracker) == [] and s.tracker.anomalies() == []


def filled(cid: str, order_id: int, trade_id: int) -> OrderFilled:
    fill = Fill(
        "BTCUSDT", order_id, cid, trade_id, Side.BUY, Decimal("100"), Decimal("0.01"),
        Decimal(0), "USDT", True, 1,
    )  # fmt: skip
    report = attrs.evolve(
        gone(cid, order_id).report, execution_type=ExecutionType.TRADE,
        status=OrderStatus.FILLED, last_qty=fill.quantity, cumulative_qty=fill.quantity,
        last_price=fill.price, trade_id=trade_id,
    )  # fmt: skip
    return OrderFilled(report, fill)


def test_after_a_venue_reset_a_fill_reusing_an_old_key_is_booked() -> None:
    s = state()
    service = AccountService(s, venue=None)  # type: ignore[arg-type]
    service.on_event(filled("old", 7, 3), now=1.0)
    service.on_event(filled("old", 7, 3), now=1.0)  # a duplicate: booked once
    assert s.ledger.statistics().duplicate_fills == 1
    service.on_event(VenueReset("BTCUSDT", "restarted"), now=2.0)
    service.on_event(filled("new", 7, 3), now=3.0)  # the restarted venue's own (7, 3)
    assert s.ledger.statistics().duplicate_fills == 1
    view = s.ledger.view("BTCUSDT")
    assert view.fill_count == 2 and view.position == Decimal("0.02")


def _event(kind: type, cid: str, order_id: int, status: OrderStatus) -> object:
    report = ExecutionReport(
        event_time_ms=1, symbol="BTCUSDT", client_order_id=cid, side=Side.BUY,
        order_type=OrderType.LIMIT_MAKER, time_in_force=TimeInForce.GTC,
        quantity=Decimal("0.01"), price=Decimal("100"), execution_type=ExecutionType.NEW,
        status=status, reject_reason="NONE", order_id=order_id,
        last_qty=Decimal(0), cumulative_qty=Decimal(0), last_price=Decimal(0),
        commission=Decimal(0), commission_asset=None, transaction_time_ms=1, trade_id=-1,
        is_maker=False, orig_client_order_id="", cumulative_quote_qty=Decimal(0),
    )  # fmt: skip
    return kind(report)


def test_the_quoter_is_woken_only_by_events_that_change_an_order_or_the_position() -> None:
    from mmbot.venue.events import OrderAccepted, OrderCancelled

    s = state()
    s.symbols.setdefault("BTCUSDT", s.runtime("BTCUSDT"))
    wakeup = s.runtime("BTCUSDT").wakeup
    service = AccountService(s, venue=None)  # type: ignore[arg-type]
    cid = s.tracker.new_order(OrderIntent("BTCUSDT", Side.BUY, 0, Decimal("100"), Decimal("0.02")))
    s.tracker.on_place_outcome(cid, Outcome.OK, 7)  # the placement's own answer: OPEN
    service.on_event(_event(OrderAccepted, cid, 7, OrderStatus.NEW), now=1.0)  # type: ignore[arg-type]
    assert not wakeup.raised  # the NEW echo of an answered placement changes nothing
    service.on_event(_event(OrderAccepted, "someone-else", 8, OrderStatus.NEW), now=1.0)  # type: ignore[arg-type]
    assert not wakeup.raised
    service.on_event(filled(cid, 7, 1), now=1.0)
    assert wakeup.raised  # a (partial) fill moves the position
    wakeup = s.runtime("BTCUSDT").wakeup = Wakeup()  # lowered again
    service.on_event(_event(OrderCancelled, cid, 7, OrderStatus.CANCELED), now=1.0)  # type: ignore[arg-type]
    assert wakeup.raised  # the order left the book
