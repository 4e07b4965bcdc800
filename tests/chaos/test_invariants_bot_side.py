"""The checkers that read the bot's side of a run (what crossed its boundary), and the two
that read the exchange's fills and the graceful stop, on hand-made histories."""

from __future__ import annotations

from decimal import Decimal

import attrs
from history_kit import START_MS, record, report

from mmbot.chaos.bot_side import (
    SEND_GRACE_MS,
    THROTTLE_GRACE_MS,
    no_quotes_on_stale_book,
    no_request_during_retry_after,
)
from mmbot.chaos.history import BookData, BotHistory, Completion, Ending, StreamEvent
from mmbot.chaos.invariants import cancel_all_complete, position_within_limit, symbol_isolation
from mmbot.chaos.record import FaultWindow, RunRecord, SymbolLimits
from mmbot.model import ExecutionType, Side
from mmbot.sim.engine import Execution

LIMITS = {"BTCUSDT": SymbolLimits(2.0, Decimal("0.01"), Decimal("0.001"))}


def ms(seconds: float) -> int:
    return START_MS + round(seconds * 1000)


def with_bot(trace: BotHistory, **end: object) -> RunRecord:
    base = record()
    return RunRecord(base.history, attrs.evolve(base.end, limits=LIMITS, **end), trace)


def diff(trace: BotHistory, at: float, first: int, last: int, connection: int = 1) -> None:
    trace.book_data(BookData(ms(at), 0, "BTCUSDT", False, first, last, connection))


def snapshot(trace: BotHistory, at: float, last: int) -> None:
    trace.book_data(BookData(ms(at), 0, "BTCUSDT", True, last, last))


def place(trace: BotHistory, at: float, cid: str = "mm-r-1-b0", incarnation: int = 0) -> int:
    return trace.invoke(ms(at), incarnation, "ws_api", "order.place", "BTCUSDT", cid)


def synced(trace: BotHistory) -> None:
    trace.stream(StreamEvent(ms(0.0), 0, 1, True))
    diff(trace, 0.1, 1, 10)
    snapshot(trace, 0.2, 10)
    diff(trace, 0.3, 11, 12)


def test_an_order_on_a_fresh_synced_book_is_fine_and_one_before_any_snapshot_is_not() -> None:
    fine = BotHistory()
    synced(fine)
    place(fine, 0.4)
    assert no_quotes_on_stale_book(with_bot(fine)) == []
    early = BotHistory()
    early.stream(StreamEvent(ms(0.0), 0, 1, True))
    diff(early, 0.1, 1, 10)
    place(early, 0.5)
    [violation] = no_quotes_on_stale_book(with_bot(early))
    assert "out of sync (no snapshot yet)" in violation.detail
    assert violation.orders == ("mm-r-1-b0",) and violation.symbol == "BTCUSDT"


def test_an_order_on_a_book_older_than_stale_after_is_caught_within_the_grace_it_is_not() -> None:
    trace = BotHistory()
    synced(trace)  # last data at 0.3 s; stale after 2 s
    place(trace, 0.3 + 2.0 + SEND_GRACE_MS / 1000, "mm-r-1-b0")  # at the edge: allowed
    place(trace, 0.3 + 2.0 + SEND_GRACE_MS / 1000 + 0.05, "mm-r-2-b0")
    [violation] = no_quotes_on_stale_book(with_bot(trace))
    assert violation.orders == ("mm-r-2-b0",) and "2.150 s old" in violation.detail


def test_a_gap_in_the_diffs_makes_the_book_bad_until_a_snapshot_after_it() -> None:
    trace = BotHistory()
    synced(trace)
    diff(trace, 1.0, 14, 15)  # 13 is missing
    place(trace, 1.05, "mm-r-1-b0")  # within the grace: the decision was made before
    place(trace, 1.5, "mm-r-2-b0")
    snapshot(trace, 1.6, 15)
    place(trace, 1.7, "mm-r-3-b0")
    [violation] = no_quotes_on_stale_book(with_bot(trace))
    assert violation.orders == ("mm-r-2-b0",)
    assert "a gap in its depth diffs (update 12 then 14)" in violation.detail


def test_a_lost_stream_connection_needs_a_new_snapshot_and_another_incarnation_its_own() -> None:
    trace = BotHistory()
    synced(trace)
    trace.stream(StreamEvent(ms(1.0), 0, 1, False))
    trace.stream(StreamEvent(ms(1.1), 0, 2, True))
    diff(trace, 1.2, 20, 21, connection=2)  # a new chain: not a gap, but no snapshot since
    place(trace, 1.3, "mm-r-1-b0")
    place(trace, 1.3, "mm-s-1-b0", incarnation=1)  # a restarted bot has seen nothing yet
    found = no_quotes_on_stale_book(with_bot(trace))
    assert [v.orders for v in found] == [("mm-r-1-b0",), ("mm-s-1-b0",)]
    assert "its stream connection ended" in found[0].detail


def test_a_request_inside_a_retry_after_is_caught_once_per_window_and_per_incarnation() -> None:
    trace = BotHistory()
    throttled = place(trace, 1.0, "mm-r-1-b0")
    trace.complete(Completion(throttled, ms(1.0), Ending.FAIL, 429, -1003, 5.0))
    place(trace, 1.0 + THROTTLE_GRACE_MS / 1000, "mm-r-0-b0")  # already on its way out
    place(trace, 3.0, "mm-r-2-b0")  # 3 s early
    place(trace, 4.0, "mm-r-3-b0")  # the same window: not reported again
    place(trace, 3.0, "mm-s-1-b0", incarnation=1)  # another process did not hear the 429
    place(trace, 6.0, "mm-r-4-b0")  # after it
    [violation] = no_request_during_retry_after(with_bot(trace))
    assert violation.orders == ("mm-r-2-b0",) and violation.time_s == 3.0
    assert "3.000 s before the Retry-After of a 429 (5 s" in violation.detail
    assert no_request_during_retry_after(record()) == []  # no bot side recorded: nothing


def _fill(at: float, cid: str, order_id: int, qty: str, trade_id: int) -> tuple[float, Execution]:
    return at, report(cid, order_id, Side.BUY, "100", ExecutionType.TRADE, last_qty=qty,
                      trade_id=trade_id, time_ms=ms(at))  # fmt: skip


def test_the_accounts_position_may_pass_max_position_by_one_order_and_no_more() -> None:
    within = record(
        _fill(1.0, "mm-r-1-b0", 11, "0.006", 1),
        _fill(2.0, "mm-r-2-b0", 12, "0.005", 2),  # 0.011: max + one order
    )
    assert (
        position_within_limit(RunRecord(within.history, attrs.evolve(within.end, limits=LIMITS)))
        == []
    )
    past = record(
        _fill(1.0, "mm-r-1-b0", 11, "0.006", 1),
        _fill(2.0, "mm-s-1-b0", 21, "0.0051", 2),  # a restarted run's order
        _fill(3.0, "mm-s-2-b0", 22, "0.001", 3),
    )
    [violation] = position_within_limit(
        RunRecord(past.history, attrs.evolve(past.end, limits=LIMITS))
    )
    assert violation.time_s == 2.0 and "position 0.0111 past max_position 0.01" in violation.detail


def test_cancel_all_is_complete_only_if_nothing_of_ours_was_open_when_the_stop_returned() -> None:
    timeline = (
        (1.0, report("mm-r-1-b0", 11, Side.BUY, "100")),
        (2.0, report("xYz", 11, Side.BUY, "100", ExecutionType.CANCELED, orig="mm-r-1-b0")),
        (3.0, report("mm-r-2-s0", 12, Side.SELL, "101")),  # after the stop: not its business
    )
    clean = record(*timeline)
    assert (
        cancel_all_complete(attrs.evolve(clean, end=attrs.evolve(clean.end, stopped_seq=2))) == []
    )
    left = record(*timeline[:1], *timeline[2:])
    [violation] = cancel_all_complete(attrs.evolve(left, end=attrs.evolve(left.end, stopped_seq=1)))
    assert violation.orders == ("mm-r-1-b0",) and violation.seqs == (1,)
    never = cancel_all_complete(record())
    assert [v.detail for v in never] == ["the graceful stop never returned"]
    assert cancel_all_complete(record(error="boom")) == []  # clean_exit reports a failure


def test_old_or_duplicate_diffs_are_no_gap_and_a_stale_snapshot_does_not_resync() -> None:
    reordered = BotHistory()
    synced(reordered)  # applied up to 12
    diff(reordered, 0.5, 15, 16)  # 13-14 held back: a gap, the bot fetches a snapshot
    snapshot(reordered, 0.55, 16)
    diff(reordered, 0.6, 13, 14)  # the held diff arrives late: old, ignored
    diff(reordered, 0.7, 11, 12)  # a duplicate: ignored
    diff(reordered, 0.8, 17, 18)  # follows the snapshot: no gap
    place(reordered, 1.0)
    assert no_quotes_on_stale_book(with_bot(reordered)) == []
    stale = BotHistory()
    synced(stale)
    diff(stale, 0.5, 20, 21)  # 13-19 lost
    snapshot(stale, 0.6, 15)  # older than the first diff after the gap: fixes nothing
    place(stale, 1.0)
    [violation] = no_quotes_on_stale_book(with_bot(stale))
    assert "update 12 then 20" in violation.detail


def _two_symbols(*timeline: tuple[float, Execution], faults: tuple[FaultWindow, ...]) -> RunRecord:
    base = record(*timeline, heal_at=30.0)
    end = attrs.evolve(base.end, symbols=("BTCUSDT", "ETHUSDT"), faults=faults)
    return RunRecord(base.history, end)


def _eth(at: float, cid: str, order_id: int, gone: bool = False) -> tuple[float, Execution]:
    kind = ExecutionType.CANCELED if gone else ExecutionType.NEW
    return at, report(cid, order_id, Side.BUY, "100", kind, symbol="ETHUSDT", time_ms=ms(at))


def test_a_fault_aimed_at_one_symbol_must_not_stop_another_from_quoting() -> None:
    on_btc = FaultWindow(ms(5.0), ms(20.0), frozenset({"BTCUSDT"}), "maintenance of BTCUSDT")
    quiet = (_eth(2.0, "mm-r-1-b0", 1), _eth(8.0, "mm-r-1-b0", 1, gone=True))
    stopped = _two_symbols(*quiet, _eth(14.5, "mm-r-2-b0", 2), faults=(on_btc,))
    [violation] = symbol_isolation(stopped)
    assert violation.symbol == "ETHUSDT" and violation.time_s == 8.0
    assert "from 8.000 s to 14.500 s, during a fault aimed at BTCUSDT only" in violation.detail
    brief = _two_symbols(*quiet, _eth(12.5, "mm-r-2-b0", 2), faults=(on_btc,))
    assert symbol_isolation(brief) == []  # 4.5 s: within ISOLATION_GAP_S
    explained = (on_btc, FaultWindow(ms(7.0), ms(13.0)))  # a fault on every symbol meanwhile
    assert (
        symbol_isolation(_two_symbols(*quiet, _eth(14.5, "mm-r-2-b0", 2), faults=explained)) == []
    )
    late_start = _two_symbols(_eth(11.0, "mm-r-1-b0", 1), faults=(on_btc,))
    assert symbol_isolation(late_start) == []  # before its first order: starting, not stopped
    assert symbol_isolation(_two_symbols(*quiet, faults=())) == []  # no aimed fault: nothing


def test_a_snapshot_older_than_a_new_connections_first_diff_does_not_sync_it() -> None:
    trace = BotHistory()
    trace.stream(StreamEvent(ms(0.0), 0, 1, True))
    diff(trace, 0.1, 1000, 1010)
    diff(trace, 0.2, 1011, 1020)
    snapshot(trace, 0.3, 900)  # 100 updates behind the stream: what stale_snapshot serves
    place(trace, 1.0)
    [violation] = no_quotes_on_stale_book(with_bot(trace))
    assert "out of sync" in violation.detail


def test_a_throttle_without_retry_after_holds_for_the_dialects_default() -> None:
    trace = BotHistory()
    throttled = place(trace, 1.0, "mm-r-1-b0")
    trace.complete(Completion(throttled, ms(1.0), Ending.FAIL, 429, -1003, None))
    place(trace, 30.0, "mm-r-2-b0")  # 31 s before the default 60 s passed
    [violation] = no_request_during_retry_after(with_bot(trace))
    assert "before the Retry-After of a 429 (60 s" in violation.detail
