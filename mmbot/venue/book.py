"""One symbol's local order book, synced by the dialect's snapshot-and-diff procedure (sans-IO).

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

Speed (the diff path is hot, issue 4): a diff comes either as a :class:`DepthUpdate` or as a
:class:`WireDiff`, whose quantities are still the wire's decimal texts (validated by the
codec). A side keeps ``price -> quantity`` — a ``Decimal``, a quantity text, or the
``BookLevel`` last published for it: :meth:`LocalBook.snapshot` builds the exact ``Decimal``
and ``BookLevel`` of a level only when it first publishes it after a change — and the
sorted list of its prices. A diff is applied with one ``dict.update``; a zero quantity stays
in place as a *tombstone*, so a level that comes back costs no sorted insertion.
:meth:`LocalBook.snapshot` drops the tombstones it walks past, and a side is compacted once
its list grows past twice its live size (plus ``compact_slack``).
"""

from __future__ import annotations

import enum
from bisect import insort
from collections import deque
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import NamedTuple

import attrs

from mmbot.model import BookLevel, BookSnapshot
from mmbot.venue.events import DepthSnapshot, DepthUpdate


class WireDiff(NamedTuple):
    """A diff event as a venue codec's fast path decodes it (``codec.decode_market_wire``).

    Each side is two parallel sequences: the exact prices (> 0) and their quantity *texts*.
    A quantity text is a finite decimal >= 0 that ``Decimal(text)`` reads exactly, and
    ``text.strip("0.")`` is empty exactly when it is zero (the wire's plain texts, or
    ``str(Decimal)`` / ``"0"`` for any other spelling). It stands for the same diff as
    :meth:`to_update`.
    """

    symbol: str
    first_update_id: int  # U
    final_update_id: int  # u
    event_time_ms: int
    bid_prices: Sequence[Decimal]
    bid_quantities: Sequence[str]
    ask_prices: Sequence[Decimal]
    ask_quantities: Sequence[str]

    def to_update(self) -> DepthUpdate:
        """The same diff as a :class:`DepthUpdate` (quantities as Decimals)."""
        return DepthUpdate(
            self.symbol, self.first_update_id, self.final_update_id, self.event_time_ms,
            tuple(zip(self.bid_prices, map(Decimal, self.bid_quantities), strict=True)),
            tuple(zip(self.ask_prices, map(Decimal, self.ask_quantities), strict=True)),
        )  # fmt: skip


#: A side's quantity at a price: a Decimal, a quantity text (see :class:`WireDiff`), or the
#: ``BookLevel`` last published for it (reused until the level changes). A zero quantity is
#: a *tombstone*: a removed level still listed.
_Quantity = Decimal | str | BookLevel


def _live(qty: _Quantity) -> bool:
    return bool(qty.strip("0.") if type(qty) is str else qty)  # a BookLevel is truthy


class _Side:
    """One side of the book: ``levels`` maps every listed price to its quantity (zero: a
    tombstone); ``prices`` holds exactly the keys of ``levels``, ascending, and ``listed``
    the same keys as a set."""

    __slots__ = ("compact_at", "levels", "listed", "prices", "slack")

    def __init__(self, levels: dict[Decimal, _Quantity], slack: int) -> None:
        self.levels = levels
        self.prices = sorted(levels)
        self.listed = set(levels)
        self.slack = slack
        self.compact_at = 2 * len(self.prices) + slack

    def update(
        self, changes: Iterable[tuple[Decimal, _Quantity]], prices: Sequence[Decimal] | None
    ) -> None:
        """Set each (price, quantity) of ``changes``; ``prices`` are their prices (None:
        ``changes`` is a sequence, read them from it)."""
        levels = self.levels
        size = len(levels)
        levels.update(changes)  # one C call: the hot path
        if len(levels) == size:  # the common case: every price was listed already
            return
        if prices is None:
            prices = [price for price, _ in changes]
        listed = self.listed
        for price in {price for price in prices if price not in listed}:
            if _live(levels[price]):
                insort(self.prices, price)
                listed.add(price)
            else:  # the removal of a level the book does not have
                del levels[price]
        if len(self.prices) > self.compact_at:
            self.prices = [p for p in self.prices if _live(levels[p])]
            self.levels = {p: levels[p] for p in self.prices}
            self.listed = set(self.prices)
            self.compact_at = 2 * len(self.prices) + self.slack

    def best(self, n: int, descending: bool) -> tuple[BookLevel, ...]:
        """The best ``n`` live levels. Builds (once) the ``BookLevel`` of a level that
        changed since it was last published; drops the tombstones it passes."""
        levels, prices = self.levels, self.prices
        out: list[BookLevel] = []
        dead: list[int] = []
        if n > 0:
            size = len(prices)
            for i in range(size - 1, -1, -1) if descending else range(size):
                price = prices[i]
                level = levels[price]
                if not isinstance(level, BookLevel):
                    if isinstance(level, str):
                        if not level.strip("0."):
                            dead.append(i)
                            continue
                        level = BookLevel(price, Decimal(level))
                    elif level:
                        level = BookLevel(price, level)
                    else:
                        dead.append(i)
                        continue
                    levels[price] = level
                out.append(level)
                if len(out) == n:
                    break
        for i in sorted(dead, reverse=True):  # later indices first: earlier ones stay put
            price = prices.pop(i)
            del levels[price]
            self.listed.remove(price)
        return tuple(out)


def _empty_side() -> _Side:
    return _Side({}, 0)


class BookState(enum.Enum):
    AWAITING_EVENTS = "awaiting_events"  # no diff buffered yet
    AWAITING_SNAPSHOT = "awaiting_snapshot"  # diffs buffered; needs /depth
    SYNCED = "synced"  # valid
    GAPPED = "gapped"  # updates were lost: book discarded, diffs buffered; needs /depth

    # Members are singletons compared by identity: hash them the same way, in C (Enum's
    # own __hash__ is Python code, and every transition hashes a state and an input).
    __hash__ = object.__hash__


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

    __hash__ = object.__hash__  # as BookState's


_S, _I = BookState, _Input
# The members the hot path uses, read once (an enum attribute read costs ~0.15 µs here).
_SYNCED, _DIFF_APPLIED, _UPDATED = BookState.SYNCED, _Input.DIFF_APPLIED, BookAction.UPDATED
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


_COUNTERS = ("applied", "ignored", "gaps", "snapshots_accepted", "snapshots_stale")


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
    #: Tombstones a side may hold past twice its live size before it is compacted.
    compact_slack: int = 256
    _state: BookState = attrs.field(default=BookState.AWAITING_EVENTS, init=False)
    # Invariant: both sides are empty unless the state is SYNCED (see _Side).
    _bids: _Side = attrs.field(factory=_empty_side, init=False)
    _asks: _Side = attrs.field(factory=_empty_side, init=False)
    # Invariant: empty in AWAITING_EVENTS and SYNCED; its first item's U is "the first U".
    _buffer: deque[DepthUpdate | WireDiff] = attrs.field(factory=deque, init=False)
    _last_update_id: int = attrs.field(default=0, init=False)
    _received_at: float = attrs.field(default=float("-inf"), init=False)
    _counts: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(_COUNTERS, 0), init=False)

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
        return BookSnapshot(
            symbol=self.symbol,
            bids=self._bids.best(n, descending=True),
            asks=self._asks.best(n, descending=False),
            last_update_id=self._last_update_id,
            received_at=self._received_at,
            is_valid=self._state is BookState.SYNCED,
        )

    def statistics(self) -> BookStatistics:
        c = self._counts
        return BookStatistics(
            self._state, self._last_update_id, len(self._buffer), c["applied"], c["ignored"],
            c["gaps"], c["snapshots_accepted"], c["snapshots_stale"],
        )  # fmt: skip

    # ---- inputs -----------------------------------------------------------------------

    def on_diff(self, update: DepthUpdate | WireDiff, now: float) -> BookAction:
        """Feed one diff event received at ``now`` (either form: the same diff, the same
        result)."""
        if update.symbol != self.symbol:
            raise ValueError(f"diff for {update.symbol} fed to the {self.symbol} book")
        if self._state is _SYNCED:
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
        self._counts[name] += 1

    def _apply_or_gap(self, update: DepthUpdate | WireDiff, now: float) -> BookAction:
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
        if isinstance(update, WireDiff):
            prices = update.bid_prices
            self._bids.update(zip(prices, update.bid_quantities, strict=True), prices)
            prices = update.ask_prices
            self._asks.update(zip(prices, update.ask_quantities, strict=True), prices)
        else:
            self._bids.update(update.bids, None)
            self._asks.update(update.asks, None)
        self._last_update_id = update.final_update_id
        self._received_at = now
        self._counts["applied"] += 1
        self._move(_DIFF_APPLIED)
        return _UPDATED

    def _load(self, snapshot: DepthSnapshot) -> None:
        self._discard()
        slack = self.compact_slack
        self._bids = _Side({p: q for p, q in snapshot.bids if q}, slack)
        self._asks = _Side({p: q for p, q in snapshot.asks if q}, slack)
        self._last_update_id = snapshot.last_update_id

    def _discard(self) -> None:
        self._bids, self._asks = _empty_side(), _empty_side()
        self._buffer = deque()
