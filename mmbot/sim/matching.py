"""The fake exchange's matching engine: Binance Spot semantics, exact, sans-IO.

What it is for: :class:`MatchingEngine` implements ``EngineProtocol`` (``sim/events.py``):
per-symbol price-time priority books; LIMIT (GTC, IOC, FOK), LIMIT_MAKER and MARKET (by
``quantity`` or ``quoteOrderQty``); PRICE_FILTER, LOT_SIZE and NOTIONAL; accounts with free
and locked balances; maker and taker fees; cancel, cancel-all, cancel-replace, query;
symbol status; and the events a Binance client would see, drained in order.

What it must never do: I/O, read a clock, draw randomness, or lose an atom. Time enters as
``now_ms`` on every call that changes state.

Choices, following Binance where it is documented:
- Money is integers inside (``matching_money``): prices in price units, quantities in lots,
  balances in atoms of ``10**-dp``; everything out is Decimal quantized to tick and step.
- Fees: the buyer pays its fee in the base asset it receives, the seller in the quote asset
  it receives (Binance without BNB); fees go to the account :data:`FEE_ACCOUNT`, so every
  asset is conserved exactly across accounts plus that account (:meth:`fee_totals`).
- Locks: a LIMIT BUY locks ``price * qty`` of quote, a SELL locks ``qty`` of base; a BUY
  that trades below its limit gets the difference back to free at once.
- Self-trade prevention: NONE. An account may trade with itself (both sides pay fees). This
  is simpler than Binance's per-symbol default (often EXPIRE_MAKER) and never expires an
  order in match; a bot that must not self-trade has to avoid crossing itself.
- MARKET: fills what the book has, the rest EXPIRED (an empty book: EXPIRED at once). By
  ``quoteOrderQty`` the quantity is what the amount buys (sells) on the book in whole lots;
  an empty book is -2010 "Order book liquidity is less than symbol minimum quantity.".
  NOTIONAL's minimum applies to MARKET, estimated on the book; its maximum does not.
- Refused requests (-1013, -2010, -2011...) send no execution report, as on Binance, except
  a cancel-replace's new order after a successful cancel: that one gets a REJECTED report
  (order id -1). A CANCELED report carries the original client order id in both ``c`` and
  ``C`` (the contract has no client id for the cancel request itself).
- Symbol status: anything but TRADING refuses new orders (-1013 "Market is closed.");
  BREAK and END_OF_DAY expire every open order; HALT leaves them resting. Cancels work in
  every status.
- Event order of one action: execution reports and public trades as they happen (per fill:
  taker's TRADE, maker's TRADE, the public trade), then one ``BookDelta`` per changed price
  level, then one ``AccountPosition`` per account whose balances changed (changed assets
  only). ``cancel_all`` on an account with no open order on the symbol is -2011 "Unknown
  order sent.", as Binance answers.
- ``open_account`` credits the given free balances (creating the account); it emits no
  event. ``adjust_balance`` refuses (ValueError) a debit larger than the free balance.
- Unknown symbols: commands and ``query`` answer -1121 "Invalid symbol."; ``open_orders``
  and ``trades`` answer ``[]``; ``depth``, ``best_bid_ask`` and ``set_symbol_status`` raise
  ``KeyError`` (the dialect layer checks the symbol first).
- Closed orders stay queryable for the last ``closed_order_retention`` of them per symbol;
  ``trades`` keeps at least the last ``trade_retention`` trades per account and symbol, and
  none for the accounts named in ``no_trade_history`` (the market simulator's own).
  Both are kept as plain tuples, which CPython's garbage collector stops tracking.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs

from mmbot.model import (
    Instrument,
    OrderStatus,
    SymbolStatus,
)
from mmbot.sim.events import (
    Balance,
    BalanceUpdate,
    CancelReplaceMode,
    CancelReplaceResult,
    Depth,
    EngineEvent,
    OrderRequest,
    OrderView,
    PlaceResult,
    Rejection,
    SymbolStatusChanged,
    TradeView,
)
from mmbot.sim.matching_core import (
    CANCEL_ID_MISSING,
    FEE_ACCOUNT,
    UNKNOWN_ORDER,
    EngineCore,
)
from mmbot.sim.matching_reports import closed_view, order_view, rejected_report, trade_view
from mmbot.venue.binance.errors import MSG_INVALID_SYMBOL, MSG_NO_SUCH_ORDER, Code, DialectError

__all__ = ["FEE_ACCOUNT", "MatchingEngine"]

BAD_SYMBOL = DialectError(Code.BAD_SYMBOL, MSG_INVALID_SYMBOL)
NO_SUCH_ORDER = DialectError(Code.NO_SUCH_ORDER, MSG_NO_SUCH_ORDER)
_EXPIRING = (SymbolStatus.BREAK, SymbolStatus.END_OF_DAY)


class MatchingEngine(EngineCore):
    """Binance-Spot-like matching for several symbols and accounts (see module docstring)."""

    # ---- reference data and accounts -----------------------------------------------------

    @property
    def instruments(self) -> Sequence[Instrument]:
        return tuple(st.instrument for st in self._symbols.values())

    def instrument(self, symbol: str) -> Instrument | None:
        st = self._symbols.get(symbol)
        return None if st is None else st.instrument

    def open_account(self, account: str, balances: dict[str, Decimal]) -> None:
        """Create ``account`` (if new) and credit these free balances; no event."""
        for asset, amount in balances.items():
            atoms = self._atoms(amount)
            if atoms < 0:
                raise ValueError(f"opening balance of {asset} must be >= 0, got {amount}")
        ledger = self._ledger
        ledger.accounts.setdefault(account, {})
        for asset, amount in balances.items():
            ledger.slot(account, asset).free += self._atoms(amount)
        ledger.take_changes(0, account)  # opening balances: no event

    def adjust_balance(self, account: str, asset: str, delta: Decimal, now_ms: int) -> None:
        """Credit (or debit) free balance; emits ``BalanceUpdate`` and ``AccountPosition``."""
        atoms = self._atoms(delta)
        if self._ledger.free(account, asset) + atoms < 0:
            raise ValueError(f"debit of {-delta} {asset} exceeds the free balance")
        self._ledger.slot(account, asset).free += atoms
        self._events.append(BalanceUpdate(account, now_ms, asset, delta))
        self._flush(None, now_ms)

    def balances(self, account: str) -> list[Balance]:
        to_dec = self._ledger.to_decimal
        held = self._ledger.accounts.get(account, {})
        return [Balance(a, to_dec(s.free), to_dec(s.locked)) for a, s in sorted(held.items())]

    def fee_totals(self) -> dict[str, Decimal]:
        """Fees collected so far, per asset (the free balances of :data:`FEE_ACCOUNT`)."""
        return {b.asset: b.free for b in self.balances(FEE_ACCOUNT)}

    # ---- orders ----------------------------------------------------------------------------

    def place(self, request: OrderRequest, now_ms: int) -> PlaceResult | Rejection:
        st = self._symbols.get(request.symbol)
        if st is None:
            return BAD_SYMBOL
        result = self._place(st, request, now_ms)
        self._flush(st, now_ms)
        return result

    def cancel(
        self,
        account: str,
        symbol: str,
        now_ms: int,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderView | Rejection:
        st = self._symbols.get(symbol)
        if st is None:
            return BAD_SYMBOL
        result = self._cancel(st, account, now_ms, order_id, client_order_id)
        self._flush(st, now_ms)
        return result

    def cancel_all(self, account: str, symbol: str, now_ms: int) -> list[OrderView] | Rejection:
        st = self._symbols.get(symbol)
        if st is None:
            return BAD_SYMBOL
        open_orders = st.open_by_account.get(account)
        if not open_orders:
            return UNKNOWN_ORDER
        views = []
        for order in sorted(open_orders.values(), key=lambda o: o.order_id):
            self._end(st, order, now_ms, OrderStatus.CANCELED)
            views.append(order_view(order, st.units))
        self._flush(st, now_ms)
        return views

    def cancel_replace(
        self,
        mode: str,
        new: OrderRequest,
        now_ms: int,
        *,
        cancel_order_id: int | None = None,
        cancel_client_order_id: str | None = None,
    ) -> CancelReplaceResult:
        if mode not in (CancelReplaceMode.STOP_ON_FAILURE, CancelReplaceMode.ALLOW_FAILURE):
            raise ValueError(f"unknown cancelReplaceMode {mode!r}")
        st = self._symbols.get(new.symbol)
        if st is None:
            return CancelReplaceResult(BAD_SYMBOL, None)
        cancelled = self._cancel(st, new.account, now_ms, cancel_order_id, cancel_client_order_id)
        if isinstance(cancelled, DialectError) and mode == CancelReplaceMode.STOP_ON_FAILURE:
            self._flush(st, now_ms)
            return CancelReplaceResult(cancelled, None)
        placed = self._place(st, new, now_ms)
        if isinstance(placed, DialectError) and not isinstance(cancelled, DialectError):
            self._events.append(
                rejected_report(
                    new.account,
                    new.symbol,
                    new.client_order_id,
                    new.side,
                    new.type,
                    new.quantity or Decimal(0),
                    new.price or Decimal(0),
                    placed,
                    now_ms,
                )
            )
        self._flush(st, now_ms)
        return CancelReplaceResult(cancelled, placed)

    def query(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderView | Rejection:
        st = self._symbols.get(symbol)
        if st is None:
            return BAD_SYMBOL
        if order_id is None and client_order_id is None:
            return CANCEL_ID_MISSING
        order, closed, found_id = self._find(st, account, order_id, client_order_id)
        if order is not None:
            return order_view(order, st.units)
        if closed is not None:
            return closed_view(symbol, found_id, closed, st.units)
        return NO_SUCH_ORDER

    def open_orders(self, account: str, symbol: str | None = None) -> list[OrderView]:
        states = self._symbols.values() if symbol is None else [self._symbols.get(symbol)]
        views = []
        for st in states:
            if st is not None:
                for order in st.open_by_account.get(account, {}).values():
                    views.append(order_view(order, st.units))
        return views

    def trades(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        from_id: int | None = None,
        limit: int = 500,
    ) -> list[TradeView]:
        """myTrades: ascending trade ids; from ``from_id`` on, else the most recent."""
        st = self._symbols.get(symbol)
        if st is None or limit <= 0:
            return []
        found = st.trades.get(account, [])
        if order_id is not None:
            found = [t for t in found if t[1] == order_id]
        if from_id is not None:
            found = [t for t in found if t[0] >= from_id][:limit]
        else:
            found = found[-limit:]
        return [trade_view(t, account, symbol, st.units) for t in found]

    # ---- market data -----------------------------------------------------------------------

    def depth(self, symbol: str, limit: int) -> Depth:
        """Snapshot; ``KeyError`` for an unknown symbol (the dialect checks it first)."""
        st = self._symbols[symbol]
        price, qty = st.units.price, st.units.qty
        bids = tuple((price(p), qty(q)) for p, q in st.book.side_levels(True, limit))
        asks = tuple((price(p), qty(q)) for p, q in st.book.side_levels(False, limit))
        return Depth(symbol, st.update_id, bids, asks)

    def best_bid_ask(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        st = self._symbols[symbol]
        bid, ask = st.book.best_bid(), st.book.best_ask()
        return (
            None if bid is None else st.units.price(bid),
            None if ask is None else st.units.price(ask),
        )

    def set_symbol_status(self, symbol: str, status: SymbolStatus, now_ms: int) -> None:
        """HALT/BREAK/END_OF_DAY: new orders refused; BREAK and END_OF_DAY expire open orders."""
        st = self._symbols[symbol]
        if status is st.status:
            return
        st.status = status
        st.instrument = attrs.evolve(st.instrument, status=status)
        self._events.append(SymbolStatusChanged(symbol, status, now_ms))
        if status in _EXPIRING:
            for order in sorted(st.book.orders(), key=lambda o: o.order_id):
                self._end(st, order, now_ms, OrderStatus.EXPIRED)
        self._flush(st, now_ms)

    def drain_events(self) -> list[EngineEvent]:
        events, self._events = self._events, []
        return events
