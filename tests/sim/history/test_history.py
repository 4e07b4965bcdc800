"""The exchange's truth log: ordering, queries, fills, JSON form, digest and the bulk ring."""

from __future__ import annotations

import enum
import hashlib
import json
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import ExecutionType, OrderStatus, OrderType, Side, SymbolStatus, TimeInForce
from mmbot.sim.engine import (
    AccountPosition,
    AssetBalance,
    BalanceUpdate,
    BookDelta,
    Execution,
    SymbolStatusChanged,
    TradePrint,
)
from mmbot.sim.history import (
    BULK_KINDS,
    Entry,
    EntryKind,
    FaultRecord,
    History,
    MessageRecord,
    RequestRecord,
    to_jsonable,
)


def report(
    order_id: int,
    status: OrderStatus,
    *,
    account: str = "bot",
    symbol: str = "BTCUSDT",
    execution_type: ExecutionType = ExecutionType.NEW,
    trade_id: int = -1,
    last_qty: str = "0",
    client_order_id: str | None = None,
    time_ms: int = 1000,
) -> Execution:
    return Execution(
        account=account,
        event_time_ms=time_ms,
        symbol=symbol,
        client_order_id=client_order_id or f"c{order_id}",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        quantity=Decimal("1.000"),
        price=Decimal("100.00"),
        execution_type=execution_type,
        status=status,
        reject_reason="NONE",
        order_id=order_id,
        last_qty=Decimal(last_qty),
        cumulative_qty=Decimal(last_qty),
        last_price=Decimal("100.00") if trade_id > 0 else Decimal(0),
        commission=Decimal("0.001") if trade_id > 0 else Decimal(0),
        commission_asset="BTC" if trade_id > 0 else None,
        transaction_time_ms=time_ms,
        trade_id=trade_id,
        is_maker=True,
        orig_client_order_id="",
        cumulative_quote_qty=Decimal(0),
    )


def trade(order_id: int, trade_id: int, **kw: object) -> Execution:
    return report(
        order_id,
        OrderStatus.PARTIALLY_FILLED,
        execution_type=ExecutionType.TRADE,
        trade_id=trade_id,
        last_qty="0.5",
        **kw,  # type: ignore[arg-type]
    )


def delta(update_id: int) -> BookDelta:
    return BookDelta("BTCUSDT", update_id, Side.BUY, Decimal("100.00"), Decimal(1), 1000)


def request(history: History, time_ms: int = 1000, status: int = 200) -> None:
    history.append_request(
        time_ms,
        transport="rest",
        method="POST",
        path="/api/v3/order",
        account="bot",
        status=status,
        error_code=None if status == 200 else -2010,
        weight=1,
        client_order_id="c1",
        symbol="BTCUSDT",
    )


def mixed_history(max_bulk: int | None = None) -> History:
    history = History(max_bulk=max_bulk)
    request(history)
    history.append_events(
        1001,
        [
            report(1, OrderStatus.NEW),
            delta(1),
            AccountPosition("bot", 1001, (AssetBalance("USDT", Decimal("900"), Decimal("100")),)),
            TradePrint("BTCUSDT", 1, Decimal("100.00"), Decimal("0.5"), 1001, True),
            BalanceUpdate("bot", 1001, "USDT", Decimal("1000")),
            SymbolStatusChanged("BTCUSDT", SymbolStatus.HALT, 1001),
        ],
    )
    history.append_message("btcusdt@trade", "trade", 120, 1002)
    history.append_fault(1003, "latency", "rest", "200ms")
    return history


def test_entries_are_numbered_in_append_order_with_their_kinds() -> None:
    history = mixed_history()
    entries = history.entries()
    assert [e.seq for e in entries] == list(range(1, 10))
    assert [e.kind for e in entries] == [
        EntryKind.REQUEST,
        EntryKind.EXECUTION,
        EntryKind.BOOK_DELTA,
        EntryKind.ACCOUNT_POSITION,
        EntryKind.PUBLIC_TRADE,
        EntryKind.BALANCE_UPDATE,
        EntryKind.SYMBOL_STATUS,
        EntryKind.MESSAGE,
        EntryKind.FAULT,
    ]
    assert len(history) == 9 and history.last_seq == 9
    assert isinstance(entries[0].payload, RequestRecord)
    assert entries[7].payload == MessageRecord("btcusdt@trade", "trade", 120)
    assert entries[8].payload == FaultRecord("latency", "rest", "200ms")
    assert entries[7].time_ms == 1002


def test_entries_filter_by_kind_and_since_seq() -> None:
    history = mixed_history()
    assert [e.seq for e in history.entries(since_seq=7)] == [8, 9]
    assert [e.seq for e in history.entries(EntryKind.EXECUTION)] == [2]
    assert history.entries(EntryKind.EXECUTION, since_seq=2) == []
    both = history.entries({EntryKind.REQUEST, EntryKind.FAULT})
    assert [e.seq for e in both] == [1, 9]
    assert [e.seq for e in history.entries({EntryKind.FAULT}, since_seq=3)] == [9]
    assert [e.seq for e in history.entries(since_seq=2, limit=3)] == [3, 4, 5]


def test_executions_filter_by_account_and_symbol() -> None:
    history = History()
    history.append_events(
        1,
        [
            report(1, OrderStatus.NEW),
            report(2, OrderStatus.NEW, account="other"),
            report(3, OrderStatus.NEW, symbol="ETHUSDT"),
        ],
    )
    assert [r.order_id for r in history.executions()] == [1, 2, 3]
    assert [r.order_id for r in history.executions(account="bot")] == [1, 3]
    assert [r.order_id for r in history.executions("bot", "ETHUSDT")] == [3]


def test_fills_are_deduplicated_by_symbol_order_and_trade_id() -> None:
    history = History()
    history.append_events(1, [report(1, OrderStatus.NEW), trade(1, 7)])
    history.append_events(2, [trade(1, 7)])  # the same trade recorded twice
    history.append_events(3, [trade(1, 8), trade(1, 7, symbol="ETHUSDT")])
    history.append_events(4, [trade(1, 9, account="other")])
    fills = history.fills("bot")
    assert [f.key for f in fills] == [("BTCUSDT", 1, 7), ("BTCUSDT", 1, 8), ("ETHUSDT", 1, 7)]
    first = fills[0]
    assert (first.price, first.quantity, first.fee, first.fee_asset) == (
        Decimal("100.00"),
        Decimal("0.5"),
        Decimal("0.001"),
        "BTC",
    )
    assert [f.key for f in history.fills("bot", "ETHUSDT")] == [("ETHUSDT", 1, 7)]


def test_open_orders_follow_the_execution_reports() -> None:
    history = History()
    history.append_events(1, [report(1, OrderStatus.NEW), report(2, OrderStatus.NEW)])
    checkpoint = history.last_seq
    history.append_events(
        2,
        [
            trade(1, 5),
            report(2, OrderStatus.CANCELED, execution_type=ExecutionType.CANCELED),
            report(3, OrderStatus.NEW, account="other"),
        ],
    )
    now = history.open_orders("bot")
    assert [(r.order_id, r.status) for r in now] == [(1, OrderStatus.PARTIALLY_FILLED)]
    before = history.open_orders("bot", at_seq=checkpoint)
    assert [r.order_id for r in before] == [1, 2]
    assert [(r.account, r.order_id) for r in history.open_orders()] == [("bot", 1), ("other", 3)]


def test_jsonable_entries_use_strings_for_decimals_and_values_for_enums() -> None:
    history = mixed_history()
    rows = [to_jsonable(e) for e in history.entries()]
    json.dumps(rows)  # plain JSON data all the way down
    execution = rows[1]
    assert execution["kind"] == "execution" and execution["type"] == "Execution"
    assert execution["payload"]["price"] == "100.00"
    assert execution["payload"]["status"] == "NEW"
    assert execution["payload"]["side"] == "BUY"
    position = rows[3]["payload"]
    assert position["balances"] == [{"asset": "USDT", "free": "900", "locked": "100"}]
    assert rows[0]["payload"]["account"] == "bot" and rows[0]["payload"]["status"] == 200


def test_digest_is_the_same_for_the_same_entries() -> None:
    assert mixed_history().digest() == mixed_history().digest()


def test_digest_can_be_read_during_a_run_and_keeps_growing() -> None:
    history = mixed_history()
    early = history.digest()
    request(history, 2000)
    later = history.digest()
    replay = mixed_history()
    request(replay, 2000)
    assert early != later
    assert replay.digest() == later  # reading the digest mid-run does not change it


def test_digest_changes_with_any_difference() -> None:
    base = mixed_history().digest()
    other_time = mixed_history()
    request(other_time, 1001)
    same = mixed_history()
    request(same, 1000)
    assert other_time.digest() != same.digest()
    rejected = mixed_history()
    request(rejected, 1000, status=400)
    assert rejected.digest() not in (same.digest(), base)


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | Decimal):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, enum.Enum):
        members = list(type(value))
        return members[(members.index(value) + 1) % len(members)]
    assert value is None
    return "BNB"


@pytest.mark.parametrize("field", [f.name for f in attrs.fields(Execution)])
def test_digest_sees_a_change_in_any_field_of_an_execution_report(field: str) -> None:
    original = trade(1, 7)
    altered = attrs.evolve(original, **{field: _changed(getattr(original, field))})
    one, two = History(), History()
    one.append_events(5, [original])
    two.append_events(5, [altered])
    assert one.digest() != two.digest()


def test_digest_does_not_confuse_string_boundaries() -> None:
    one, two = History(), History()
    one.append_message("a\x1fb", "c", 1, 5)
    two.append_message("a", "b\x1fc", 1, 5)
    assert one.digest() != two.digest()


@given(st.lists(st.sampled_from(["request", "delta", "message", "fault", "trade"]), max_size=40))
def test_digest_equals_the_hash_of_the_canonical_lines(steps: list[str]) -> None:
    history = History()
    for i, step in enumerate(steps):
        if step == "request":
            request(history, i)
        elif step == "delta":
            history.append_events(i, [delta(i)])
        elif step == "message":
            history.append_message("btcusdt@depth", "depthUpdate", i, i)
        elif step == "fault":
            history.append_fault(i, "drop", "ws", "")
        else:
            history.append_events(i, [trade(1, i + 1)])
    expected = hashlib.sha256("".join(history.canonical_lines()).encode()).hexdigest()
    assert history.digest() == expected
    assert [e.seq for e in history.entries()] == list(range(1, len(steps) + 1))


@given(
    st.lists(st.sampled_from(["request", "delta", "message", "trade"]), max_size=120),
    st.integers(min_value=1, max_value=8),
)
def test_bounded_history_drops_only_bulk_entries_and_keeps_its_digest(
    steps: list[str], max_bulk: int
) -> None:
    bounded, full = History(max_bulk=max_bulk), History()
    for i, step in enumerate(steps):
        for history in (bounded, full):
            if step == "request":
                request(history, i)
            elif step == "delta":
                history.append_events(i, [delta(i)])
            elif step == "message":
                history.append_message("user:bot", "executionReport", i, i)
            else:
                history.append_events(i, [trade(1, i + 1)])
    important = [e for e in full.entries() if e.kind not in BULK_KINDS]
    assert [e for e in bounded.entries() if e.kind not in BULK_KINDS] == important
    held_bulk = [e for e in bounded.entries() if e.kind in BULK_KINDS]
    all_bulk = [e for e in full.entries() if e.kind in BULK_KINDS]
    assert len(held_bulk) <= 2 * max_bulk
    assert held_bulk == all_bulk[len(all_bulk) - len(held_bulk) :]  # the newest survive
    assert len(held_bulk) >= min(max_bulk, len(all_bulk))
    assert bounded.dropped == len(all_bulk) - len(held_bulk)
    assert bounded.digest() == full.digest()  # the digest still covers dropped entries
    assert bounded.fills("bot") == full.fills("bot")
    assert bounded.entries(EntryKind.BOOK_DELTA) == [
        e for e in held_bulk if e.kind is EntryKind.BOOK_DELTA
    ]


def test_bounded_history_rejects_a_zero_bound() -> None:
    with pytest.raises(ValueError, match="max_bulk"):
        History(max_bulk=0)


def public_trade(trade_id: int) -> TradePrint:
    return TradePrint("BTCUSDT", trade_id, Decimal("100.00"), Decimal("0.5"), trade_id, True)


def test_bounded_history_keeps_at_most_twice_the_bound_of_public_trades() -> None:
    history = History(max_bulk=10)
    for i in range(1, 101):
        history.append_events(i, [public_trade(i)])
    held = history.entries(EntryKind.PUBLIC_TRADE)
    assert 10 <= len(held) <= 20
    assert held[-1].payload == public_trade(100)  # the newest survive
    assert history.dropped == 100 - len(held)


@given(
    st.lists(
        st.sampled_from(["request", "delta", "public", "sim-report", "sim-balance", "trade"]),
        max_size=120,
    ),
    st.integers(min_value=1, max_value=8),
)
def test_bounded_history_drops_simulator_accounts_events_but_never_the_bots(
    steps: list[str], max_bulk: int
) -> None:
    sim = frozenset({"maker"})
    bounded = History(max_bulk=max_bulk, bulk_accounts=sim)
    full = History(bulk_accounts=sim)
    for i, step in enumerate(steps):
        for history in (bounded, full):
            if step == "request":
                request(history, i)
            elif step == "delta":
                history.append_events(i, [delta(i)])
            elif step == "public":
                history.append_events(i, [public_trade(i + 1)])
            elif step == "sim-report":
                history.append_events(i, [trade(1, i + 1, account="maker")])
            elif step == "sim-balance":
                history.append_events(i, [BalanceUpdate("maker", i, "USDT", Decimal(1))])
            else:
                history.append_events(i, [trade(1, i + 1)])

    def droppable(entry: Entry) -> bool:
        return entry.kind in BULK_KINDS or getattr(entry.payload, "account", None) in sim

    kept = [e for e in full.entries() if not droppable(e)]
    assert [e for e in bounded.entries() if not droppable(e)] == kept
    held = [e for e in bounded.entries() if droppable(e)]
    every = [e for e in full.entries() if droppable(e)]
    assert min(max_bulk, len(every)) <= len(held) <= 2 * max_bulk
    assert held == every[len(every) - len(held) :]  # the newest survive
    assert bounded.dropped == len(every) - len(held)
    assert bounded.digest() == full.digest()  # the digest still covers dropped entries
    assert bounded.fills("bot") == full.fills("bot")
    assert bounded.requests() == full.requests()
    assert bounded.executions("maker") == [e.payload for e in held if e.kind is EntryKind.EXECUTION]


def test_requests_of_a_bulk_account_are_never_dropped() -> None:
    history = History(max_bulk=1, bulk_accounts=frozenset({"bot"}))
    for i in range(10):
        request(history, i)
        history.append_events(i, [delta(i)])
    assert len(history.requests("bot")) == 10


@given(
    st.lists(st.sampled_from(["request", "delta", "report", "fault", "message"]), max_size=150),
    st.one_of(st.none(), st.integers(min_value=1, max_value=6)),
    st.integers(min_value=1, max_value=6),
)
def test_a_history_bounded_on_records_too_hands_every_dropped_entry_over_once(
    steps: list[str], max_bulk: int | None, max_records: int
) -> None:
    spilled: list[Entry] = []
    bounded = History(max_bulk=max_bulk, max_records=max_records, on_drop=spilled.extend)
    full = History()
    for i, step in enumerate(steps):
        for history in (bounded, full):
            if step == "request":
                request(history, i)
            elif step == "delta":
                history.append_events(i, [delta(i)])
            elif step == "report":
                history.append_events(i, [trade(1, i + 1)])
            elif step == "fault":
                history.append_fault(i, "latency", "order.place", "1 ms")
            else:
                history.append_message("ws-api", "response", i, i)
    held = bounded.entries()
    # nothing lost: what was dropped plus what is held is everything, each entry once
    assert sorted(spilled + held, key=lambda e: e.seq) == full.entries()
    assert bounded.dropped == len(spilled)
    records = [e for e in held if e.kind not in BULK_KINDS]
    every_record = [e for e in full.entries() if e.kind not in BULK_KINDS]
    assert min(max_records, len(every_record)) <= len(records) <= 2 * max_records
    assert records == every_record[len(every_record) - len(records) :]  # the newest survive
    if max_bulk is None:
        assert [e for e in held if e.kind in BULK_KINDS] == [
            e for e in full.entries() if e.kind in BULK_KINDS
        ]
    assert bounded.digest() == full.digest()  # the digest still covers dropped entries


def test_a_flood_of_requests_is_held_within_twice_the_record_bound() -> None:
    spilled: list[Entry] = []
    history = History(max_bulk=10, max_records=100, on_drop=spilled.extend)
    for i in range(10_000):
        request(history, i, status=400)
    assert 100 <= len(history) <= 200
    assert len(spilled) + len(history) == 10_000
    assert [e.seq for e in spilled] == list(range(1, len(spilled) + 1))


def test_a_zero_record_bound_is_refused() -> None:
    with pytest.raises(ValueError, match="max_records"):
        History(max_records=0)
