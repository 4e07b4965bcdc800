"""The local order book follows the dialect's snapshot-and-diff procedure exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mmbot.model import BookLevel
from mmbot.venue.book import BookAction, BookState, LocalBook, transitions
from mmbot.venue.events import DepthSnapshot, DepthUpdate

D = Decimal
SYM = "BTCUSDT"


def diff(first: int, final: int, bids: dict[str, str] | None = None, asks=None) -> DepthUpdate:
    return DepthUpdate(
        SYM,
        first,
        final,
        0,
        tuple((D(p), D(q)) for p, q in (bids or {}).items()),
        tuple((D(p), D(q)) for p, q in (asks or {}).items()),
    )


def snap(last: int, bids: dict[str, str] | None = None, asks=None) -> DepthSnapshot:
    return DepthSnapshot(
        SYM,
        last,
        tuple((D(p), D(q)) for p, q in (bids or {}).items()),
        tuple((D(p), D(q)) for p, q in (asks or {}).items()),
    )


def levels(book: LocalBook) -> tuple[dict[str, str], dict[str, str]]:
    s = book.snapshot(1000)
    return ({str(lv.price): str(lv.quantity) for lv in s.bids},
            {str(lv.price): str(lv.quantity) for lv in s.asks})  # fmt: skip


def synced_book() -> LocalBook:
    book = LocalBook(SYM)
    book.on_diff(diff(10, 12, {"99": "1"}), now=1.0)
    assert book.on_snapshot(snap(10, {"99": "5", "98": "2"}, {"101": "3"}), now=2.0) is (
        BookAction.UPDATED
    )
    return book


def test_first_diff_asks_for_a_snapshot_and_later_ones_just_buffer() -> None:
    book = LocalBook(SYM)
    assert book.state is BookState.AWAITING_EVENTS
    assert book.on_diff(diff(5, 6), now=0.0) is BookAction.FETCH_SNAPSHOT
    assert book.on_diff(diff(7, 7), now=0.0) is BookAction.UNCHANGED
    assert book.state is BookState.AWAITING_SNAPSHOT
    assert book.needs_snapshot
    assert not book.snapshot(5).is_valid


def test_snapshot_before_any_diff_is_ignored() -> None:
    book = LocalBook(SYM)
    assert book.on_snapshot(snap(10, {"1": "1"}), now=0.0) is BookAction.UNCHANGED
    assert book.state is BookState.AWAITING_EVENTS
    assert book.snapshot(5).bids == ()


def test_snapshot_older_than_first_buffered_u_asks_for_another() -> None:
    book = LocalBook(SYM)
    book.on_diff(diff(20, 25), now=0.0)
    assert book.on_snapshot(snap(19), now=0.0) is BookAction.FETCH_SNAPSHOT
    assert book.state is BookState.AWAITING_SNAPSHOT
    assert book.on_snapshot(snap(20), now=0.0) is BookAction.UPDATED
    assert book.is_valid


def test_snapshot_drops_covered_diffs_and_applies_the_rest_in_order() -> None:
    book = LocalBook(SYM)
    book.on_diff(diff(1, 5, {"99": "7"}), now=0.0)  # covered by the snapshot: dropped
    book.on_diff(diff(6, 8, {"99": "4", "98": "1"}), now=0.0)  # straddles lastUpdateId 7
    book.on_diff(diff(9, 9, asks={"101": "2"}), now=0.0)
    assert book.on_snapshot(snap(7, {"99": "3"}, {"101": "1"}), now=3.0) is BookAction.UPDATED
    assert levels(book) == ({"99": "4", "98": "1"}, {"101": "2"})
    assert book.last_update_id == 9


def test_quantity_zero_removes_a_level() -> None:
    book = synced_book()
    assert book.on_diff(diff(13, 13, {"98": "0"}, {"101": "0"}), now=3.0) is BookAction.UPDATED
    assert levels(book) == ({"99": "1"}, {})


def test_removing_an_absent_level_is_harmless() -> None:
    book = synced_book()
    book.on_diff(diff(13, 13, {"50": "0"}), now=3.0)
    assert levels(book) == ({"99": "1", "98": "2"}, {"101": "3"})


def test_old_and_duplicate_diffs_are_ignored() -> None:
    book = synced_book()
    before = book.snapshot(10)
    assert book.on_diff(diff(11, 12, {"99": "42"}), now=9.0) is BookAction.UNCHANGED  # dup
    assert book.on_diff(diff(3, 4, {"99": "42"}), now=9.0) is BookAction.UNCHANGED  # old
    assert book.snapshot(10) == before
    assert book.statistics().ignored == 2


def test_gap_discards_the_book_and_needs_a_resync() -> None:
    book = synced_book()
    assert book.on_diff(diff(14, 15, {"97": "1"}), now=3.0) is BookAction.FETCH_SNAPSHOT
    assert book.state is BookState.GAPPED
    assert book.needs_snapshot
    view = book.snapshot(10)
    assert not view.is_valid
    assert view.bids == () and view.asks == ()


def test_resync_after_a_gap_gives_the_exact_book() -> None:
    book = synced_book()
    book.on_diff(diff(14, 15, {"97": "1"}), now=3.0)  # 13 was lost
    book.on_diff(diff(16, 16, {"99": "0"}), now=4.0)
    stale = snap(13, {"99": "2", "96": "1"})
    assert book.on_snapshot(stale, now=5.0) is BookAction.FETCH_SNAPSHOT
    assert book.on_snapshot(snap(15, {"99": "2", "97": "1"}, {"101": "3"}), now=5.0) is (
        BookAction.UPDATED
    )
    assert levels(book) == ({"97": "1"}, {"101": "3"})
    assert book.last_update_id == 16
    assert book.statistics().gaps == 1


def test_gap_inside_the_buffered_diffs_needs_another_snapshot() -> None:
    book = LocalBook(SYM)
    book.on_diff(diff(5, 6), now=0.0)
    book.on_diff(diff(9, 9), now=0.0)  # 7..8 lost
    assert book.on_snapshot(snap(6), now=0.0) is BookAction.FETCH_SNAPSHOT
    assert book.state is BookState.GAPPED
    assert book.on_snapshot(snap(9, {"1": "1"}), now=0.0) is BookAction.UPDATED
    assert levels(book) == ({"1": "1"}, {})


def test_reset_starts_the_procedure_again() -> None:
    book = synced_book()
    book.reset()
    assert book.state is BookState.AWAITING_EVENTS
    assert not book.snapshot(5).is_valid
    assert book.snapshot(5).bids == ()


def test_received_at_is_the_now_of_the_last_applied_update() -> None:
    book = synced_book()
    assert book.received_at == 2.0
    book.on_diff(diff(13, 13, {"99": "2"}), now=7.5)
    book.on_diff(diff(13, 13, {"99": "2"}), now=9.0)  # ignored: does not refresh
    assert book.snapshot(1).received_at == 7.5
    assert book.age(10.0) == pytest.approx(2.5)


def test_snapshot_lists_best_levels_first_and_honours_depth() -> None:
    book = synced_book()
    book.on_diff(diff(13, 13, {"100": "1"}, {"102": "1", "100.5": "2"}), now=3.0)
    view = book.snapshot(2)
    assert view.bids == (BookLevel(D("100"), D("1")), BookLevel(D("99"), D("1")))
    assert view.asks == (BookLevel(D("100.5"), D("2")), BookLevel(D("101"), D("3")))
    assert view.is_valid and view.symbol == SYM
    assert book.snapshot(0).bids == ()


def test_snapshot_deeper_than_a_side_returns_every_level_of_it() -> None:
    # Regression: a side with fewer levels than asked (but more than half) came back short.
    book = synced_book()
    book.on_diff(diff(13, 13, {"97": "1"}), now=3.0)  # bids 99, 98, 97
    view = book.snapshot(5)
    assert [lv.price for lv in view.bids] == [D("99"), D("98"), D("97")]
    assert [lv.price for lv in view.asks] == [D("101")]


def test_overflowing_buffer_drops_the_oldest_diff() -> None:
    book = LocalBook(SYM, max_buffer=2)
    for i in range(1, 4):
        book.on_diff(diff(i, i), now=0.0)
    assert book.statistics().buffered == 2
    # The first buffered U is now 2, so a snapshot at 1 is stale.
    assert book.on_snapshot(snap(1), now=0.0) is BookAction.FETCH_SNAPSHOT


def test_feeding_another_symbol_is_a_bug() -> None:
    book = LocalBook("ETHUSDT")
    with pytest.raises(ValueError, match="BTCUSDT"):
        book.on_diff(diff(1, 1), now=0.0)


def test_every_state_resets_to_awaiting_events_and_gaps_only_come_from_synced() -> None:
    table = transitions()
    for state in BookState:
        assert table[(state.value, "reset")] == "awaiting_events"
    assert [k for k, v in table.items() if v == "gapped" and k[0] != "gapped"] == [
        ("synced", "gap")
    ]
