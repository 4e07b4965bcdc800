"""The user stream's delivery filter and reconcile planner, driven directly (no trio)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import ExecutionType, Fill, OrderStatus, OrderType, Side, TimeInForce
from mmbot.venue.base import OrderInfo
from mmbot.venue.binance.codec import event_from_report
from mmbot.venue.binance.user_core import UserStreamState
from mmbot.venue.events import (
    ExecutionReport,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    UserEvent,
)

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


def test_an_incomplete_reconcile_reports_fills_but_holds_back_terminal_states() -> None:
    state = UserStreamState()
    state.on_event(event_from_report(report(1, ExecutionType.NEW, "0")))
    finals = {1: info(1, OrderStatus.CANCELED, "0.5")}
    first = state.reconcile("BTCUSDT", [], [fill(1, 10, "0.2")], finals, 9, terminals=False)
    assert [type(e) for e in first] == [OrderFilled]  # more fills may follow: no cancel yet
    assert state.live_order_ids("BTCUSDT") == [1]
    rest = state.reconcile("BTCUSDT", [], [fill(1, 12, "0.3")], finals, 10)
    assert [type(e) for e in rest] == [OrderFilled, OrderCancelled]
    assert isinstance(rest[1], OrderCancelled) and rest[1].cumulative_qty == Decimal("0.5")


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


# ---- bounded state (review finding 13) ---------------------------------------------------


def order_life(order_id: int, trade_ids: list[int], cancel: bool) -> list[UserEvent]:
    """NEW, one fill per trade id (0.1 each), then CANCELED (or FILLED with the last fill)."""
    events: list[UserEvent] = [event_from_report(report(order_id, ExecutionType.NEW, "0"))]
    cum = Decimal(0)
    for i, trade_id in enumerate(trade_ids):
        qty = Q - cum if not cancel and i == len(trade_ids) - 1 else Decimal("0.1")
        cum += qty
        trade = report(order_id, ExecutionType.TRADE, str(cum), trade_id, str(qty))
        events.append(event_from_report(trade))
    if cancel:
        events.append(event_from_report(report(order_id, ExecutionType.CANCELED, str(cum))))
    return events


def test_state_stays_bounded_over_many_orders_and_no_fill_is_delivered_twice() -> None:
    state = UserStreamState(retained_terminal_orders=8)
    sent: list[UserEvent] = []
    trade_id = 0
    for order_id in range(1, 401):
        ids = list(range(trade_id + 1, trade_id + 1 + order_id % 3 + 1))
        trade_id = ids[-1]
        sent.extend(order_life(order_id, ids, cancel=order_id % 2 == 0))
    resting = event_from_report(report(999, ExecutionType.NEW, "0"))  # never ends
    delivered = [e for e in (state.on_event(ev) for ev in [resting, *sent]) if e is not None]
    replay = [e for e in (state.on_event(ev) for ev in sent) if e is not None]  # all again
    assert replay == []
    keys = [e.fill.key for e in delivered if isinstance(e, OrderFilled)]
    assert len(keys) == len(set(keys)) == trade_id
    assert state.tracked_orders() <= 8 + 1 and state.tracked_fills() <= 8 * 3
    assert state.live_order_ids("BTCUSDT") == [999]
    assert state.last_trade_id("BTCUSDT") == trade_id
    # A reconcile whose trades include old, pruned ones reports none of them again.
    old = [fill(1, 1, "0.1"), fill(400, trade_id, "0.1")]  # forgotten, and retained
    still_open = [info(999, OrderStatus.NEW, "0")]
    assert state.orders_to_query("BTCUSDT", still_open, old) == []
    assert state.reconcile("BTCUSDT", still_open, old, {}, now_ms=5) == []


def test_a_pruned_order_repeated_cancel_or_ack_is_not_delivered_again() -> None:
    state = UserStreamState(retained_terminal_orders=1)
    first = order_life(1, [], cancel=True)
    for ev in [*first, *order_life(2, [5], cancel=True), *order_life(3, [6], cancel=True)]:
        state.on_event(ev)
    assert state.tracked_orders() == 1  # order 3 retained; 1 and 2 pruned
    assert [state.on_event(ev) for ev in first] == [None, None]
    assert state.statistics().duplicate_states == 2


@st.composite
def ordered_lives(draw: st.DrawFn) -> list[UserEvent]:
    """Several orders in venue order (trade ids grow), each ending or not, then late
    duplicates of any earlier events (a replay after a reconnect)."""
    events: list[UserEvent] = []
    trade_id = 0
    for order_id in range(1, draw(st.integers(1, 12)) + 1):
        fills = draw(st.integers(0, 3))
        ids = list(range(trade_id + 1, trade_id + 1 + fills))
        trade_id += fills
        life = order_life(order_id, ids, cancel=draw(st.booleans()) or not ids)
        if draw(st.booleans()):  # still open: drop its terminal event
            life = [e for e in life if not isinstance(e, OrderCancelled)]
            life = [e for e in life if not (isinstance(e, OrderFilled) and e.cumulative_qty >= Q)]
        events.extend(life)
    repeats = draw(st.lists(st.integers(0, max(len(events) - 1, 0)), max_size=10))
    return events + [events[i] for i in repeats if events]


@given(ordered_lives(), st.integers(0, 4))
def test_pruning_keeps_every_fill_exactly_once(events: list[UserEvent], retained: int) -> None:
    state = UserStreamState(retained_terminal_orders=retained)
    delivered = [e for e in (state.on_event(ev) for ev in events) if e is not None]
    fills = [e.fill.key for e in delivered if isinstance(e, OrderFilled)]
    assert len(fills) == len(set(fills))
    assert set(fills) == {e.fill.key for e in events if isinstance(e, OrderFilled)}
    ends = [e.order_id for e in delivered if isinstance(e, OrderCancelled)]
    assert len(ends) == len(set(ends))
    assert state.tracked_orders() <= retained + len(state.live_order_ids("BTCUSDT"))
