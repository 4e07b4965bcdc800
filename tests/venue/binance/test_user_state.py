"""The user stream's delivery filter and reconcile planner, driven directly (no trio)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import ExecutionType, Fill, OrderStatus, OrderType, Side, TimeInForce
from mmbot.venue.base import (
    ExecutionReport,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderInfo,
    UserEvent,
)
from mmbot.venue.binance.codec import event_from_report
from mmbot.venue.binance.user_state import UserStreamState

Q = Decimal("1")


def report(
    order_id: int, kind: ExecutionType, cum: str, trade_id: int = -1, last: str = "0"
) -> ExecutionReport:
    status = {
        ExecutionType.NEW: OrderStatus.NEW,
        ExecutionType.CANCELED: OrderStatus.CANCELED,
        ExecutionType.TRADE: OrderStatus.FILLED
        if Decimal(cum) >= Q
        else OrderStatus.PARTIALLY_FILLED,
    }[kind]
    return ExecutionReport(
        event_time_ms=1, symbol="BTCUSDT", client_order_id=f"c{order_id}", side=Side.BUY,
        order_type=OrderType.LIMIT, time_in_force=TimeInForce.GTC, quantity=Q,
        price=Decimal("100"), execution_type=kind, status=status, reject_reason="NONE",
        order_id=order_id, last_qty=Decimal(last), cumulative_qty=Decimal(cum),
        last_price=Decimal("100"), commission=Decimal(0), commission_asset="BTC",
        transaction_time_ms=1, trade_id=trade_id, is_maker=True, orig_client_order_id="",
        cumulative_quote_qty=Decimal(cum) * 100,
    )  # fmt: skip


def fill(order_id: int, trade_id: int, qty: str) -> Fill:
    return Fill("BTCUSDT", order_id, "", trade_id, Side.BUY, Decimal("100"), Decimal(qty),
                Decimal(0), "BTC", True, 5)  # fmt: skip


def info(order_id: int, status: OrderStatus, executed: str) -> OrderInfo:
    return OrderInfo("BTCUSDT", order_id, f"c{order_id}", Side.BUY, OrderType.LIMIT,
                     TimeInForce.GTC, Decimal("100"), Q, Decimal(executed),
                     Decimal(executed) * 100, status)  # fmt: skip


def test_a_fill_before_its_ack_is_delivered_and_the_late_ack_keeps_the_quantity() -> None:
    state = UserStreamState()
    filled = state.on_event(event_from_report(report(1, ExecutionType.TRADE, "0.4", 7, "0.4")))
    assert isinstance(filled, OrderFilled)
    late = state.on_event(event_from_report(report(1, ExecutionType.NEW, "0")))
    assert isinstance(late, OrderAccepted) and late.cumulative_qty == Decimal("0.4")


def test_duplicate_fills_and_repeated_terminal_states_are_dropped() -> None:
    state = UserStreamState()
    trade = event_from_report(report(1, ExecutionType.TRADE, "0.5", 7, "0.5"))
    cancel = event_from_report(report(1, ExecutionType.CANCELED, "0.5"))
    assert state.on_event(trade) is not None and state.on_event(trade) is None
    assert state.on_event(cancel) is not None and state.on_event(cancel) is None
    assert state.statistics().duplicate_fills == 1 and state.statistics().duplicate_states == 1


def test_reconcile_reports_missed_fills_then_the_cancel_once() -> None:
    state = UserStreamState()
    state.on_event(event_from_report(report(1, ExecutionType.NEW, "0")))
    state.on_event(event_from_report(report(1, ExecutionType.TRADE, "0.2", 10, "0.2")))
    fills = [fill(1, 10, "0.2"), fill(1, 12, "0.3"), fill(2, 11, "1")]
    assert state.orders_to_query("BTCUSDT", [], fills) == [1, 2]
    finals = {1: info(1, OrderStatus.CANCELED, "0.5"), 2: info(2, OrderStatus.FILLED, "1")}
    out = state.reconcile("BTCUSDT", [], fills, finals, now_ms=99)
    assert [(type(e).__name__, getattr(e, "order_id", None)) for e in out] == [
        ("OrderFilled", 2), ("OrderFilled", 1), ("OrderCancelled", 1),
    ]  # fmt: skip
    f2, f1, cancelled = out
    assert isinstance(f1, OrderFilled) and f1.cumulative_qty == Decimal("0.5")
    assert isinstance(f2, OrderFilled) and f2.status is OrderStatus.FILLED
    assert f2.fill.client_order_id == "c2"
    assert isinstance(cancelled, OrderCancelled)
    assert state.reconcile("BTCUSDT", [], fills, finals, now_ms=100) == []
    assert state.last_trade_id("BTCUSDT") == 12


def test_reconcile_acknowledges_open_orders_never_seen() -> None:
    state = UserStreamState()
    out = state.reconcile("BTCUSDT", [info(3, OrderStatus.NEW, "0")], [], {}, now_ms=1)
    assert len(out) == 1 and isinstance(out[0], OrderAccepted) and out[0].client_order_id == "c3"
    assert state.on_event(event_from_report(report(3, ExecutionType.NEW, "0"))) is None


@st.composite
def event_sequences(draw: st.DrawFn) -> list[UserEvent]:
    events: list[UserEvent] = []
    for order_id in range(1, draw(st.integers(1, 4)) + 1):
        steps = draw(st.lists(st.sampled_from(["1", "2", "3", "4"]), min_size=0, max_size=4))
        cum = Decimal(0)
        own: list[UserEvent] = [event_from_report(report(order_id, ExecutionType.NEW, "0"))]
        for i, tenths in enumerate(steps):
            qty = Decimal(tenths) / 10
            if cum + qty > Q:
                break
            cum += qty
            trade = report(order_id, ExecutionType.TRADE, str(cum), order_id * 100 + i, str(qty))
            own.append(event_from_report(trade))
        events.extend(own)
    repeats = draw(st.lists(st.integers(0, max(len(events) - 1, 0)), max_size=6))
    for index in repeats:  # duplicates, delivered late (after a reconnect, say)
        events.append(events[index])
    return draw(st.permutations(events)) if draw(st.booleans()) else events


@given(event_sequences())
def test_each_fill_is_delivered_once_and_cumulative_never_goes_back(
    events: list[UserEvent],
) -> None:
    state = UserStreamState()
    delivered = [e for e in (state.on_event(ev) for ev in events) if e is not None]
    fills = [e.fill.key for e in delivered if isinstance(e, OrderFilled)]
    assert len(fills) == len(set(fills))
    assert set(fills) == {e.fill.key for e in events if isinstance(e, OrderFilled)}
    cumulative: dict[int, Decimal] = {}
    for e in delivered:
        if isinstance(e, OrderAccepted | OrderFilled):
            assert e.cumulative_qty >= cumulative.get(e.order_id, Decimal(0))
            cumulative[e.order_id] = e.cumulative_qty
