"""The ledger: fills in; position, cash, fees, PnL and the edge metrics out (sans-IO).

What it is for: the bot's exact books of its trading, per symbol and in total, and the
edge metrics defined in ``docs/metrics.md`` (``net_bps``, ``slippage_bps``, ``taker_share``,
volume, fill count, markouts at 1 s / 10 s / 60 s), as frozen :class:`LedgerStatistics`.

What it must never do: I/O, read a clock, or round money. Position, cash, fees and PnL are
exact ``Decimal`` sums and products (no division); only the reported ratios (bps, shares,
average cost) divide, once, when a statistics value is built (in
:mod:`mmbot.quoting.ledger_views`, which also holds the values returned here). The exact
arithmetic runs in :data:`EXACT`, a context whose precision is the largest there is, so no
sum or product is ever rounded whatever the caller's context (the default 28 digits would
round a 22-digit price times a 12-digit quantity); a division there would fail loudly, not
round.

Accounting (all amounts in the symbol's quote asset; ``s`` = +1 buy, -1 sell):
- A fill of ``q`` at ``x``: ``cash -= s*q*x``; ``position += s*q``.
- Realized PnL matches FIFO lots (exact without division); ``unrealized = position*mid -
  cost_basis`` where ``cost_basis`` is the open lots' cost; ``average_cost = cost_basis /
  position`` is for display.
- A fee in the quote asset: ``cash -= fee``, ``fees += fee``. A fee in the base asset
  converts at the fill price: the position shrinks by ``fee`` (that is what the exchange's
  balance does) and ``fees += fee*x``, booked as a sale of ``fee`` at ``x`` whose proceeds
  pay the fee. A fee in any other asset (e.g. BNB) is kept in ``other_fees`` and is not in
  PnL (the ledger has no price for it).
- Hence, exactly: ``cash + position*mid == realized + unrealized - fees`` (= ``net_pnl``).
  A fee in an asset the ledger cannot place because the symbol's assets are unknown (no
  :meth:`Ledger.add_instrument`) also goes to ``other_fees``, and is recorded as an anomaly
  (:meth:`Ledger.anomalies`): it may be a base or quote fee that belongs in PnL.
Fills are de-duplicated by ``(symbol, order_id, trade_id)``; the set of keys seen grows by
one small tuple per fill for the life of the ledger (about 100 bytes: a million fills is
~100 MB), which is accepted: forgetting keys would let a late duplicate be booked twice.
Totals add the symbols up and
assume they share one quote asset (the total ``position`` adds base quantities: meaningful
for one symbol only). ``now`` must not go backwards between calls (trio time does not).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

import attrs

from mmbot.model import ZERO, Fill, Instrument
from mmbot.quoting.ledger_views import (
    MARKOUT_HORIZONS,
    LedgerStatistics,
    LedgerSums,
    LedgerView,
    SymbolMark,
    view_from_sums,
)

#: Where the books' sums and products are computed: nothing is ever rounded (see above).
EXACT = Context(
    prec=MAX_PREC,
    Emax=MAX_EMAX,
    Emin=MIN_EMIN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


@attrs.define(eq=False)
class _Book:
    """One symbol's running sums. Invariant: cash == realized - cost_basis - fees."""

    symbol: str
    base_asset: str | None
    quote_asset: str | None
    position: Decimal = ZERO
    cost_basis: Decimal = ZERO
    cash: Decimal = ZERO
    fees: Decimal = ZERO
    realized: Decimal = ZERO
    volume: Decimal = ZERO
    base_volume: Decimal = ZERO
    taker_volume: Decimal = ZERO
    fill_count: int = 0
    slip_num: Decimal = ZERO
    slip_den: Decimal = ZERO
    slip_fills: int = 0
    mid: Decimal | None = None
    # Invariant: lots all have the sign of position; oldest first.
    lots: deque[list[Decimal]] = attrs.field(factory=deque)
    # One queue per horizon, ordered by due time (``now`` never goes backwards).
    pending: list[deque[tuple[float, int, Decimal, Decimal]]] = attrs.field(
        factory=lambda: [deque() for _ in MARKOUT_HORIZONS]
    )
    mark_num: list[Decimal] = attrs.field(factory=lambda: [ZERO] * len(MARKOUT_HORIZONS))
    mark_den: list[Decimal] = attrs.field(factory=lambda: [ZERO] * len(MARKOUT_HORIZONS))
    mark_count: list[int] = attrs.field(factory=lambda: [0] * len(MARKOUT_HORIZONS))
    other_fees: dict[str, Decimal] = attrs.field(factory=dict)

    def trade(self, signed_qty: Decimal, price: Decimal) -> None:
        """Move the position by ``signed_qty`` at ``price`` (FIFO); cash is the caller's."""
        remaining = signed_qty
        while remaining and self.lots and (self.lots[0][0] > 0) != (remaining > 0):
            lot = self.lots[0]
            close = min(abs(remaining), abs(lot[0]))
            if lot[0] > 0:  # closing a long lot by selling
                self.realized += close * (price - lot[1])
                self.cost_basis -= close * lot[1]
                lot[0] -= close
                remaining += close
            else:  # closing a short lot by buying
                self.realized += close * (lot[1] - price)
                self.cost_basis += close * lot[1]
                lot[0] += close
                remaining -= close
            if lot[0] == 0:
                self.lots.popleft()
        if remaining:
            self.lots.append([remaining, price])
            self.cost_basis += remaining * price
        self.position += signed_qty

    def complete_markouts(self, now: float, mid: Decimal, inclusive: bool) -> None:
        """Complete every pending markout due before ``now`` (or at it) at ``mid``."""
        for index, pending in enumerate(self.pending):
            while pending and (pending[0][0] < now or (inclusive and pending[0][0] == now)):
                _due, sign, price, qty = pending.popleft()
                self.mark_num[index] += sign * (mid - price) * qty
                self.mark_den[index] += price * qty
                self.mark_count[index] += 1


@attrs.define(eq=False)
class Ledger:
    """Exact books of the bot's fills, per symbol and in total."""

    _books: dict[str, _Book] = attrs.field(factory=dict, init=False)
    _seen: set[tuple[str, int, int]] = attrs.field(factory=set, init=False)
    _placed_mids: dict[str, Decimal] = attrs.field(factory=dict, init=False)
    _duplicates: int = attrs.field(default=0, init=False)
    _anomalies: deque[str] = attrs.field(factory=lambda: deque(maxlen=1_000), init=False)
    _anomaly_count: int = attrs.field(default=0, init=False)
    max_registered: int = 100_000

    @classmethod
    def for_instruments(cls, instruments: Iterable[Instrument]) -> Ledger:
        ledger = cls()
        for instrument in instruments:
            ledger.add_instrument(instrument)
        return ledger

    def add_instrument(self, instrument: Instrument) -> None:
        """Name the symbol's assets, so fees in base or quote are recognised."""
        book = self._book(instrument.symbol)
        book.base_asset = instrument.base_asset
        book.quote_asset = instrument.quote_asset

    def register_order(self, client_order_id: str, mid: Decimal) -> None:
        """The mid when the order was placed (for ``slippage_bps`` of its fills)."""
        if len(self._placed_mids) >= self.max_registered:
            del self._placed_mids[next(iter(self._placed_mids))]
        self._placed_mids[client_order_id] = mid

    def forget_order(self, client_order_id: str) -> None:
        self._placed_mids.pop(client_order_id, None)

    def anomalies(self) -> list[str]:
        """The most recent fills the ledger could not book fully (oldest first)."""
        return list(self._anomalies)

    def on_fill(self, fill: Fill, now: float, placed_mid: Decimal | None = None) -> bool:
        """Book one fill received at ``now``; False if it was a duplicate (ignored)."""
        if fill.key in self._seen:
            self._duplicates += 1
            return False
        self._seen.add(fill.key)
        with localcontext(EXACT):
            self._book_fill(fill, now, placed_mid)
        return True

    def forget_fill_keys(self, symbol: str) -> int:
        """Forget which fills of ``symbol`` were booked (their keys only; positions, cash
        and fees stay): the venue was reset and numbers orders and trades again, so a new
        fill may carry an old fill's (order id, trade id). Returns how many were forgotten."""
        keys = {key for key in self._seen if key[0] == symbol}
        self._seen -= keys
        return len(keys)

    def _book_fill(self, fill: Fill, now: float, placed_mid: Decimal | None) -> None:
        book = self._book(fill.symbol)
        sign = fill.side.sign
        qty, price = fill.quantity, fill.price
        notional = qty * price
        book.cash -= sign * notional
        book.trade(sign * qty, price)
        if fill.fee:
            if fill.fee_asset == book.quote_asset:
                book.cash -= fill.fee
                book.fees += fill.fee
            elif fill.fee_asset == book.base_asset:
                book.trade(-fill.fee, price)  # the fee is paid by giving up base
                book.fees += fill.fee * price
            else:
                book.other_fees[fill.fee_asset] = (
                    book.other_fees.get(fill.fee_asset, ZERO) + fill.fee
                )
                if book.base_asset is None or book.quote_asset is None:
                    self._anomaly_count += 1
                    self._anomalies.append(
                        f"fee {fill.fee} {fill.fee_asset} on {fill.symbol} trade"
                        f" {fill.trade_id}: the symbol's assets are unknown (add_instrument),"
                        " kept in other_fees, not in PnL"
                    )
        book.volume += notional
        book.base_volume += qty
        book.fill_count += 1
        if not fill.is_maker:
            book.taker_volume += notional
        if placed_mid is None:
            placed_mid = self._placed_mids.get(fill.client_order_id)
        if placed_mid is not None:
            book.slip_num += sign * (price - placed_mid) * qty
            book.slip_den += placed_mid * qty
            book.slip_fills += 1
        for pending, horizon in zip(book.pending, MARKOUT_HORIZONS, strict=True):
            pending.append((now + horizon, sign, price, qty))

    def on_mid(self, symbol: str, now: float, mid: Decimal) -> None:
        """A new mid at ``now``: markouts due before it complete at the previous mid."""
        book = self._book(symbol)
        with localcontext(EXACT):
            if book.mid is not None:
                book.complete_markouts(now, book.mid, inclusive=False)
            book.mid = mid
            book.complete_markouts(now, mid, inclusive=True)

    def advance(self, now: float) -> None:
        """Time passed with no new mid: complete markouts due by ``now`` at the last mid."""
        with localcontext(EXACT):
            for book in self._books.values():
                if book.mid is not None:
                    book.complete_markouts(now, book.mid, inclusive=True)

    def position(self, symbol: str) -> Decimal:
        """One symbol's net position in base units (what a decision needs of the ledger:
        the whole :meth:`view` is a dozen exact sums)."""
        book = self._books.get(symbol)
        return ZERO if book is None else book.position

    def marked(self, symbol: str, mid: Decimal | None) -> tuple[Decimal, Decimal]:
        """``(position, net PnL marked to mid)``: what the risk engine reads on every new
        mid, computed as :meth:`view` computes them (realized + unrealized - fees; no
        unrealized part without a mid), without the rest of the view."""
        book = self._books.get(symbol)
        if book is None:
            return ZERO, ZERO
        with localcontext(EXACT):
            unrealized = ZERO
            if book.position and mid is not None:
                unrealized = book.position * mid - book.cost_basis
            return book.position, book.realized + unrealized - book.fees

    def view(self, symbol: str, mid: Decimal | None = None) -> LedgerView:
        """One symbol's books, marked to ``mid`` (default: the last mid seen)."""
        book = self._book(symbol)
        return _view(symbol, [(book, mid if mid is not None else book.mid)])

    def statistics(self, mids: Mapping[str, Decimal] | None = None) -> LedgerStatistics:
        """Every symbol and the total, marked to ``mids`` (default: the last mids seen)."""
        marked = [(b, (mids or {}).get(s, b.mid)) for s, b in sorted(self._books.items())]
        return LedgerStatistics(
            symbols={b.symbol: _view(b.symbol, [(b, m)]) for b, m in marked},
            total=_view("*", marked),
            duplicate_fills=self._duplicates,
            anomalies=self._anomaly_count,
        )

    def _book(self, symbol: str) -> _Book:
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = _Book(symbol, None, None)
        return book


def _view(symbol: str, marked: list[tuple[_Book, Decimal | None]]) -> LedgerView:
    with localcontext(EXACT):
        sums = _sums(marked)
    single = None
    if len(marked) == 1:
        book, mid = marked[0]
        single = SymbolMark(book.position, book.cost_basis, mid)
    return view_from_sums(symbol, sums, single)


def _sums(marked: list[tuple[_Book, Decimal | None]]) -> LedgerSums:
    """The exact sums behind a view (run in :data:`EXACT`)."""
    position = cash = fees = realized = unrealized = ZERO
    volume = base_volume = taker = slip_num = slip_den = ZERO
    fill_count = slip_fills = 0
    num = [ZERO] * len(MARKOUT_HORIZONS)
    den = [ZERO] * len(MARKOUT_HORIZONS)
    count = [0] * len(MARKOUT_HORIZONS)
    other: dict[str, Decimal] = {}
    for book, mid in marked:
        position += book.position
        cash += book.cash
        fees += book.fees
        realized += book.realized
        if book.position and mid is not None:
            unrealized += book.position * mid - book.cost_basis
        volume += book.volume
        base_volume += book.base_volume
        taker += book.taker_volume
        fill_count += book.fill_count
        slip_num += book.slip_num
        slip_den += book.slip_den
        slip_fills += book.slip_fills
        for i in range(len(MARKOUT_HORIZONS)):
            num[i] += book.mark_num[i]
            den[i] += book.mark_den[i]
            count[i] += book.mark_count[i]
        for asset, amount in book.other_fees.items():
            other[asset] = other.get(asset, ZERO) + amount
    net = realized + unrealized - fees
    return LedgerSums(
        position,
        cash,
        fees,
        realized,
        unrealized,
        volume,
        base_volume,
        taker,
        slip_num,
        slip_den,
        fill_count,
        slip_fills,
        num,
        den,
        count,
        other,
        net,
    )
