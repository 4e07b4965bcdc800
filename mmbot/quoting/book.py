"""The local order book of one symbol, synced by the dialect's snapshot-and-diff procedure.

What it is for: turning a stream of diff events (``DepthUpdate``) and ``/depth`` snapshots
into a book the quoter can trust, and saying when it cannot (VENUE_DIALECT.md, "Local order
book"). It returns what the shell must do next (:class:`BookAction`); the shell does the
waiting, the fetching and the publishing.

What it must never do: I/O, read a clock (``now`` is passed in), or report a book as valid
unless it equals the venue's book at ``last_update_id``. A gapped book is never valid.

Theory of operation (everything that moves the state lives in ``_TRANSITIONS`` below):

1. AWAITING_EVENTS: nothing buffered. The first diff is buffered (its ``U`` noted as the
   first buffered U) → AWAITING_SNAPSHOT, action FETCH_SNAPSHOT.
2. AWAITING_SNAPSHOT / GAPPED: diffs are buffered (oldest dropped past ``max_buffer``). A
   snapshot whose ``lastUpdateId`` is below the first buffered U is stale: FETCH_SNAPSHOT
   again. Otherwise the book becomes the snapshot (local id = lastUpdateId) and the buffered
   diffs are replayed in arrival order by the rule of step 3 → SYNCED (UPDATED).
3. SYNCED: a diff with ``u <= local id`` is old or a duplicate: ignored (``u == local id`` is
   the update the book already reflects). A diff with ``U > local id + 1`` means updates were
   lost: the book is discarded, that diff becomes the first buffered one → GAPPED,
   FETCH_SNAPSHOT. Otherwise its levels are applied (quantity 0 removes a level), local
   id = ``u`` → UPDATED.
4. ``reset()`` (the stream reconnected) → AWAITING_EVENTS from any state.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from decimal import Decimal

import attrs

from mmbot.model import BookLevel, BookSnapshot
from mmbot.venue.base import DepthSnapshot, DepthUpdate, Level


class BookState(enum.Enum):
    AWAITING_EVENTS = "awaiting_events"  # no diff buffered yet
    AWAITING_SNAPSHOT = "awaiting_snapshot"  # diffs buffered; needs /depth
    SYNCED = "synced"  # valid
    GAPPED = "gapped"  # updates were lost: book discarded, diffs buffered; needs /depth


class BookAction(enum.Enum):
    """What the shell does after feeding the book one input."""

    UPDATED = "updated"  # the book changed and is valid: publish it
    UNCHANGED = "unchanged"  # nothing visible changed (buffered, old, duplicate)
    FETCH_SNAPSHOT = "fetch_snapshot"  # fetch /depth, pass it to on_snapshot; book invalid


class _Input(enum.Enum):
    DIFF_BUFFERED = enum.auto()
    DIFF_APPLIED = enum.auto()
    DIFF_IGNORED = enum.auto()
    GAP = enum.auto()
    SNAPSHOT_ACCEPTED = enum.auto()
    SNAPSHOT_STALE = enum.auto()
    SNAPSHOT_UNASKED = enum.auto()
    RESET = enum.auto()


_S, _I = BookState, _Input
#: The whole state machine: (state, input) -> next state. A missing pair is a bug.
_TRANSITIONS: dict[tuple[BookState, _Input], BookState] = {
    (_S.AWAITING_EVENTS, _I.DIFF_BUFFERED): _S.AWAITING_SNAPSHOT,
    (_S.AWAITING_EVENTS, _I.SNAPSHOT_UNASKED): _S.AWAITING_EVENTS,
    (_S.AWAITING_SNAPSHOT, _I.DIFF_BUFFERED): _S.AWAITING_SNAPSHOT,
    (_S.AWAITING_SNAPSHOT, _I.SNAPSHOT_STALE): _S.AWAITING_SNAPSHOT,
    (_S.AWAITING_SNAPSHOT, _I.SNAPSHOT_ACCEPTED): _S.SYNCED,
    (_S.SYNCED, _I.DIFF_APPLIED): _S.SYNCED,
    (_S.SYNCED, _I.DIFF_IGNORED): _S.SYNCED,
    (_S.SYNCED, _I.GAP): _S.GAPPED,
    (_S.SYNCED, _I.SNAPSHOT_UNASKED): _S.SYNCED,
    (_S.GAPPED, _I.DIFF_BUFFERED): _S.GAPPED,
    (_S.GAPPED, _I.SNAPSHOT_STALE): _S.GAPPED,
    (_S.GAPPED, _I.SNAPSHOT_ACCEPTED): _S.SYNCED,
    **{(state, _I.RESET): _S.AWAITING_EVENTS for state in BookState},
}


def transitions() -> dict[tuple[str, str], str]:
    """The transition table by name, for documentation and tests."""
    return {(s.value, i.name.lower()): n.value for (s, i), n in _TRANSITIONS.items()}


@attrs.frozen
class BookStatistics:
    state: BookState
    last_update_id: int
    buffered: int
    applied: int
    ignored: int
    gaps: int
    snapshots_accepted: int
    snapshots_stale: int


@attrs.define(eq=False)
class LocalBook:
    """The local book of one symbol. Feed it with :meth:`on_diff` and :meth:`on_snapshot`."""

    symbol: str
    max_buffer: int = 10_000
    _state: BookState = attrs.field(default=BookState.AWAITING_EVENTS, init=False)
    # Invariant: the four containers below are empty unless the state is SYNCED; each price
    # list holds exactly its dict's keys, ascending.
    _bids: dict[Decimal, Decimal] = attrs.field(factory=dict, init=False)
    _asks: dict[Decimal, Decimal] = attrs.field(factory=dict, init=False)
    _bid_prices: list[Decimal] = attrs.field(factory=list, init=False)
    _ask_prices: list[Decimal] = attrs.field(factory=list, init=False)
    # Invariant: empty in AWAITING_EVENTS and SYNCED; its first item's U is "the first U".
    _buffer: deque[DepthUpdate] = attrs.field(factory=deque, init=False)
    _last_update_id: int = attrs.field(default=0, init=False)
    _received_at: float = attrs.field(default=float("-inf"), init=False)
    _counts: dict[str, int] = attrs.field(factory=dict, init=False)

    # ---- queries ----------------------------------------------------------------------

    @property
    def state(self) -> BookState:
        return self._state

    @property
    def is_valid(self) -> bool:
        return self._state is BookState.SYNCED

    @property
    def needs_snapshot(self) -> bool:
        return self._state in (BookState.AWAITING_SNAPSHOT, BookState.GAPPED)

    @property
    def last_update_id(self) -> int:
        return self._last_update_id

    @property
    def received_at(self) -> float:
        """The ``now`` of the last applied update (``-inf`` before the first)."""
        return self._received_at

    def age(self, now: float) -> float:
        return now - self._received_at

    def snapshot(self, depth: int) -> BookSnapshot:
        """The best ``depth`` levels per side; ``is_valid`` is False unless SYNCED."""
        n = max(depth, 0)
        bids, asks = self._bids, self._asks
        top_bids = self._bid_prices[max(len(self._bid_prices) - n, 0) :] if n else []
        return BookSnapshot(
            symbol=self.symbol,
            bids=tuple(BookLevel(p, bids[p]) for p in reversed(top_bids)),
            asks=tuple(BookLevel(p, asks[p]) for p in self._ask_prices[:n]),
            last_update_id=self._last_update_id,
            received_at=self._received_at,
            is_valid=self._state is BookState.SYNCED,
        )

    def statistics(self) -> BookStatistics:
        c = self._counts.get
        return BookStatistics(
            self._state, self._last_update_id, len(self._buffer), c("applied", 0),
            c("ignored", 0), c("gaps", 0), c("snapshots_accepted", 0), c("snapshots_stale", 0),
        )  # fmt: skip

    # ---- inputs -----------------------------------------------------------------------

    def on_diff(self, update: DepthUpdate, now: float) -> BookAction:
        """Feed one diff event received at ``now``."""
        if update.symbol != self.symbol:
            raise ValueError(f"diff for {update.symbol} fed to the {self.symbol} book")
        if self._state is BookState.SYNCED:
            return self._apply_or_gap(update, now)
        first = not self._buffer
        self._buffer.append(update)
        if len(self._buffer) > self.max_buffer:
            self._buffer.popleft()  # as if buffering had started one event later
        self._move(_I.DIFF_BUFFERED)
        return BookAction.FETCH_SNAPSHOT if first else BookAction.UNCHANGED

    def on_snapshot(self, snapshot: DepthSnapshot, now: float) -> BookAction:
        """Feed a ``/depth`` snapshot fetched after :attr:`BookAction.FETCH_SNAPSHOT`."""
        if snapshot.symbol != self.symbol:
            raise ValueError(f"snapshot of {snapshot.symbol} fed to the {self.symbol} book")
        if not self.needs_snapshot:
            self._move(_I.SNAPSHOT_UNASKED)
            return BookAction.UNCHANGED
        if snapshot.last_update_id < self._buffer[0].first_update_id:
            self._count("snapshots_stale")
            self._move(_I.SNAPSHOT_STALE)
            return BookAction.FETCH_SNAPSHOT
        self._count("snapshots_accepted")
        pending = self._buffer
        self._load(snapshot)  # empties the buffer
        self._received_at = now
        self._move(_I.SNAPSHOT_ACCEPTED)
        while pending:
            if self._apply_or_gap(pending.popleft(), now) is BookAction.FETCH_SNAPSHOT:
                self._buffer.extend(pending)
                return BookAction.FETCH_SNAPSHOT
        return BookAction.UPDATED

    def reset(self) -> None:
        """The stream was reconnected (or resubscribed): start the procedure again."""
        self._discard()
        self._move(_I.RESET)

    # ---- internals --------------------------------------------------------------------

    def _move(self, event: _Input) -> None:
        try:
            self._state = _TRANSITIONS[(self._state, event)]
        except KeyError:  # pragma: no cover - a bug in this module
            raise RuntimeError(f"book: no transition from {self._state} on {event}") from None

    def _count(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1

    def _apply_or_gap(self, update: DepthUpdate, now: float) -> BookAction:
        if update.final_update_id <= self._last_update_id:
            self._count("ignored")
            self._move(_I.DIFF_IGNORED)
            return BookAction.UNCHANGED
        if update.first_update_id > self._last_update_id + 1:
            self._count("gaps")
            self._discard()
            self._buffer.append(update)
            self._move(_I.GAP)
            return BookAction.FETCH_SNAPSHOT
        _apply_side(update.bids, self._bids, self._bid_prices)
        _apply_side(update.asks, self._asks, self._ask_prices)
        self._last_update_id = update.final_update_id
        self._received_at = now
        self._count("applied")
        self._move(_I.DIFF_APPLIED)
        return BookAction.UPDATED

    def _load(self, snapshot: DepthSnapshot) -> None:
        self._discard()
        self._bids = {p: q for p, q in snapshot.bids if q}
        self._asks = {p: q for p, q in snapshot.asks if q}
        self._bid_prices = sorted(self._bids)
        self._ask_prices = sorted(self._asks)
        self._last_update_id = snapshot.last_update_id

    def _discard(self) -> None:
        self._bids, self._asks = {}, {}
        self._bid_prices, self._ask_prices = [], []
        self._buffer = deque()


def _apply_side(
    levels: Iterable[Level], book: dict[Decimal, Decimal], prices: list[Decimal]
) -> None:
    # Hot path: one dict operation (one Decimal hash) per level.
    for price, qty in levels:
        if qty:
            size = len(book)
            book[price] = qty
            if len(book) != size:
                insort(prices, price)
        elif book.pop(price, None) is not None:
            del prices[bisect_left(prices, price)]
