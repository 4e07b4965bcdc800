"""Property: the local book is never valid-but-wrong, whatever the stream does.

A true book evolves one level change per update id. Its changes are grouped into diff
events; the stream drops, duplicates and reorders whole events; snapshots of the truth are
taken at random ids whenever the book asks. Whenever the book says it is valid it must
equal the true book at its update id; at the end a fresh snapshot makes it exact again.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mmbot.venue.book import BookAction, BookState, LocalBook
from mmbot.venue.events import DepthSnapshot, DepthUpdate

SYM = "BTCUSDT"
BID_PRICES = [Decimal(90 + i) for i in range(6)]
ASK_PRICES = [Decimal(100 + i) for i in range(6)]

Side = dict[Decimal, Decimal]
Truth = list[tuple[Side, Side]]

changes_st = st.lists(
    st.tuples(st.booleans(), st.integers(0, 5), st.sampled_from(["0", "1", "2.5", "3"])),
    min_size=1,
    max_size=40,
)


def evolve(changes: list[tuple[bool, int, str]]) -> Truth:
    """truth[k] is the book after update id k (truth[0]: empty)."""
    bids: Side = {}
    asks: Side = {}
    truth: Truth = [({}, {})]
    for is_bid, index, qty in changes:
        side, price = (bids, BID_PRICES[index]) if is_bid else (asks, ASK_PRICES[index])
        if qty == "0":
            side.pop(price, None)
        else:
            side[price] = Decimal(qty)
        truth.append((dict(bids), dict(asks)))
    return truth


def group(changes: list[tuple[bool, int, str]], cuts: set[int], truth: Truth) -> list[DepthUpdate]:
    """Diff events over consecutive id ranges, carrying the final quantity of each level."""
    events, start = [], 1
    for end in sorted({*(c for c in cuts if 1 <= c < len(changes)), len(changes)}):
        bids_after, asks_after = truth[end]
        touched_b = {BID_PRICES[i] for b, i, _ in changes[start - 1 : end] if b}
        touched_a = {ASK_PRICES[i] for b, i, _ in changes[start - 1 : end] if not b}
        events.append(
            DepthUpdate(
                SYM,
                start,
                end,
                0,
                tuple((p, bids_after.get(p, Decimal(0))) for p in sorted(touched_b)),
                tuple((p, asks_after.get(p, Decimal(0))) for p in sorted(touched_a)),
            )
        )
        start = end + 1
    return events


def snapshot_at(truth: Truth, update_id: int) -> DepthSnapshot:
    bids, asks = truth[update_id]
    return DepthSnapshot(
        SYM,
        update_id,
        tuple(sorted(bids.items(), reverse=True)),
        tuple(sorted(asks.items())),
    )


def assert_never_valid_but_wrong(book: LocalBook, truth: Truth) -> None:
    view = book.snapshot(100)
    if book.state is BookState.GAPPED:
        assert not view.is_valid
    if view.is_valid:
        bids, asks = truth[view.last_update_id]
        assert {lv.price: lv.quantity for lv in view.bids} == bids
        assert {lv.price: lv.quantity for lv in view.asks} == asks
        assert [lv.price for lv in view.bids] == sorted(bids, reverse=True)
        assert [lv.price for lv in view.asks] == sorted(asks)


@given(changes=changes_st, cuts=st.sets(st.integers(1, 40)), data=st.data())
def test_book_is_never_valid_but_wrong_and_resyncs_exactly(
    changes: list[tuple[bool, int, str]], cuts: set[int], data: st.DataObject
) -> None:
    truth = evolve(changes)
    events = group(changes, cuts, truth)
    last_id = len(changes)
    stream: list[DepthUpdate] = []
    for event in events:  # drop, duplicate or deliver each event
        fate = data.draw(st.sampled_from(["deliver"] * 8 + ["drop", "dup"]))
        stream += {"deliver": [event], "drop": [], "dup": [event, event]}[fate]
    for i in range(len(stream) - 1):  # swap some neighbours
        if data.draw(st.integers(0, 9)) == 0:
            stream[i], stream[i + 1] = stream[i + 1], stream[i]

    book = LocalBook(SYM)
    wants_snapshot = False
    now = 0.0
    seen = 0  # the newest update id the stream has shown: the venue is at least there
    for event in stream:
        now += 1.0
        if wants_snapshot and data.draw(st.integers(0, 2)) > 0:
            # The REST snapshot may lag or lead the stream a little.
            taken_at = data.draw(st.integers(max(0, seen - 3), min(last_id, seen + 3)))
            wants_snapshot = book.on_snapshot(snapshot_at(truth, taken_at), now) is (
                BookAction.FETCH_SNAPSHOT
            )
            assert_never_valid_but_wrong(book, truth)
        seen = max(seen, event.final_update_id)
        action = book.on_diff(event, now)
        wants_snapshot = wants_snapshot or action is BookAction.FETCH_SNAPSHOT
        assert wants_snapshot == book.needs_snapshot
        assert_never_valid_but_wrong(book, truth)

    # Healing: a snapshot of the latest state always brings the book back, exactly.
    if book.needs_snapshot:
        assert book.on_snapshot(snapshot_at(truth, last_id), now + 1) is BookAction.UPDATED
    if book.state is not BookState.AWAITING_EVENTS:
        assert book.is_valid
        assert_never_valid_but_wrong(book, truth)


@given(changes=changes_st, cuts=st.sets(st.integers(1, 40)), data=st.data())
def test_duplicates_and_old_events_never_break_a_synced_book(
    changes: list[tuple[bool, int, str]], cuts: set[int], data: st.DataObject
) -> None:
    truth = evolve(changes)
    events = group(changes, cuts, truth)
    book = LocalBook(SYM)
    book.on_diff(events[0], 0.0)
    assert book.on_snapshot(snapshot_at(truth, events[0].first_update_id), 0.0) is (
        BookAction.UPDATED
    )
    for i, event in enumerate(events[1:], start=1):
        replays = data.draw(st.lists(st.sampled_from(events[: i + 1]), max_size=2))
        for old in [event, *replays]:
            assert book.on_diff(old, float(i)) is not BookAction.FETCH_SNAPSHOT
            assert book.is_valid
    assert book.last_update_id == len(changes)
    assert_never_valid_but_wrong(book, truth)
