"""A diff fed as a ``WireDiff`` (quantity texts) moves the book exactly as the same diff fed
as a ``DepthUpdate``; removed levels (tombstones) and compaction never show."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.venue.book import BookAction, LocalBook, WireDiff
from mmbot.venue.events import DepthSnapshot, DepthUpdate

D = Decimal
SYM = "BTCUSDT"
ZEROS = ["0", "0.00000000", "0.0", "00"]
AMOUNTS = ["1", "2.50000000", "0.001", "10.0", "3"]

# One diff: (is_bid, price index, quantity text) changes.
change = st.tuples(st.booleans(), st.integers(0, 29), st.sampled_from(ZEROS + AMOUNTS))
diffs_st = st.lists(st.lists(change, max_size=8), min_size=1, max_size=30)


def wire_diff(update_id: int, changes: list[tuple[bool, int, str]]) -> WireDiff:
    bids = [(D(100 - i), q) for is_bid, i, q in changes if is_bid]
    asks = [(D(101 + i), q) for is_bid, i, q in changes if not is_bid]
    return WireDiff(
        SYM, update_id, update_id, 0,
        [p for p, _ in bids], tuple(q for _, q in bids),
        [p for p, _ in asks], tuple(q for _, q in asks),
    )  # fmt: skip


def synced(slack: int) -> LocalBook:
    book = LocalBook(SYM, compact_slack=slack)
    book.on_diff(DepthUpdate(SYM, 1, 1, 0, (), ()), 0.0)
    snapshot = DepthSnapshot(SYM, 1, ((D(100), D(5)), (D(99), D(1))), ((D(101), D(2)),))
    assert book.on_snapshot(snapshot, 0.0) is BookAction.UPDATED
    return book


def shown(book: LocalBook, depth: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    view = book.snapshot(depth)
    return ([(str(lv.price), str(lv.quantity)) for lv in view.bids],
            [(str(lv.price), str(lv.quantity)) for lv in view.asks])  # fmt: skip


@given(diffs=diffs_st, slack=st.sampled_from([0, 1, 3, 256]), depths=st.data())
def test_wire_diffs_and_depth_updates_build_the_same_book_as_a_plain_model(
    diffs: list[list[tuple[bool, int, str]]], slack: int, depths: st.DataObject
) -> None:
    by_wire, by_update = synced(slack), synced(slack)
    bids: dict[Decimal, Decimal] = {D(100): D(5), D(99): D(1)}
    asks: dict[Decimal, Decimal] = {D(101): D(2)}
    for n, changes in enumerate(diffs, start=2):
        wire = wire_diff(n, changes)
        assert by_wire.on_diff(wire, float(n)) is BookAction.UPDATED
        assert by_update.on_diff(wire.to_update(), float(n)) is BookAction.UPDATED
        for is_bid, i, text in changes:
            side, price = (bids, D(100 - i)) if is_bid else (asks, D(101 + i))
            if D(text):
                side[price] = D(text)
            else:
                side.pop(price, None)
        depth = depths.draw(st.integers(0, 40))  # publishing drops the tombstones it passes
        assert shown(by_wire, depth) == shown(by_update, depth)
        view = by_wire.snapshot(100)
        assert [(lv.price, lv.quantity) for lv in view.bids] == sorted(bids.items())[::-1]
        assert [(lv.price, lv.quantity) for lv in view.asks] == sorted(asks.items())
        assert view.is_valid and view.last_update_id == n


def test_a_published_quantity_is_the_exact_decimal_of_its_wire_text() -> None:
    book = synced(256)
    book.on_diff(WireDiff(SYM, 2, 2, 0, [D(100)], ("1.50000000",), [], ()), 1.0)
    (top, _) = book.snapshot(2).bids
    assert (top.price, str(top.quantity)) == (D(100), "1.50000000")


def test_removing_a_level_the_book_never_had_leaves_nothing_behind() -> None:
    book = synced(0)  # compacts as soon as anything is left over
    book.on_diff(WireDiff(SYM, 2, 2, 0, [D(50), D(99)], ("0.000", "0"), [], ()), 1.0)
    assert shown(book, 10) == ([("100", "5")], [("101", "2")])
    book.on_diff(WireDiff(SYM, 3, 3, 0, [D(99)], ("4",), [], ()), 2.0)  # a removed level returns
    assert shown(book, 10) == ([("100", "5"), ("99", "4")], [("101", "2")])


def test_unchanged_levels_are_published_as_the_same_values_again() -> None:
    book = synced(256)
    first = book.snapshot(5)
    book.on_diff(WireDiff(SYM, 2, 2, 0, [D(99)], ("7",), [], ()), 1.0)
    second = book.snapshot(5)
    assert second.bids[0] is first.bids[0]  # 100 did not change: reused
    assert second.bids[1].quantity == D(7) and second.asks == first.asks


def test_buffered_wire_diffs_are_replayed_after_the_snapshot() -> None:
    book = LocalBook(SYM)
    assert book.on_diff(WireDiff(SYM, 5, 6, 0, [D(10)], ("1",), [], ()), 0.0) is (
        BookAction.FETCH_SNAPSHOT
    )
    book.on_diff(WireDiff(SYM, 7, 7, 0, [D(10)], ("0",), [D(12)], ("2",)), 0.0)
    snapshot = DepthSnapshot(SYM, 6, ((D(10), D(1)), (D(9), D(3))), ())
    assert book.on_snapshot(snapshot, 1.0) is BookAction.UPDATED
    assert shown(book, 5) == ([("9", "3")], [("12", "2")])
    assert book.last_update_id == 7
