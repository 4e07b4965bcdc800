"""The fake exchange's matching engine: Binance Spot semantics, exact (sans-IO).

What it is for: :class:`MatchingEngine` implements ``EngineProtocol`` (``contract.py``):
per-symbol price-time priority books; LIMIT (GTC, IOC, FOK), LIMIT_MAKER and MARKET (by
``quantity`` or ``quoteOrderQty``); PRICE_FILTER, LOT_SIZE and NOTIONAL; accounts with free
and locked balances; maker and taker fees; cancel, cancel-all, cancel-replace, query;
symbol status; and the events a Binance client would see, drained in order.

What it must never do: I/O, read a clock, draw randomness, or lose an atom (money moves only
as matched pairs of balance changes). Time enters as ``now_ms`` on every call that changes
state.

How it is built: this class holds the commands and the steps they are made of (place and
match an admitted order, one fill with its exact money movements and reports, end a resting
order, and at the end of each action one ``BookDelta`` per changed level and one
``AccountPosition`` per changed account). Beside it: ``symbol.py`` (one symbol's book and
order store), ``admission.py`` (the checks before the book), ``balances.py`` and
``units.py`` (exact money), ``reports.py`` (the contract's values built from its records).

Choices, following Binance where it is documented:
- Money is integers inside (``units.py``, ``balances.py``): prices in price units,
  quantities in lots, balances in atoms of ``10**-dp``; everything out is Decimal quantized
  to tick and step.
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
- Closed orders stay queryable for the last ``closed_order_retention`` of them per symbol,
  and (with ``closed_order_max_age_ms``) until that long after they closed (checked each
  time an order of the symbol closes); none of the accounts in ``no_closed_history`` (the
  market simulator's own: it treats a closed order as gone anyway). A dropped one answers
  -2013, as an unknown order;
  ``trades`` keeps at least the last ``trade_retention`` trades per account and symbol, and
  none for the accounts named in ``no_trade_history`` (the market simulator's own).
- The private events (execution reports, account positions, balance updates) of the
  accounts named in ``quiet_accounts`` are never built: nobody listens to them (in the
  exchange, the market simulator's own). Their orders trade, and show in the public book,
  tape and ``BookDelta`` events, as any other.
  Both are kept as plain tuples, which CPython's garbage collector stops tracking.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal

import attrs

from mmbot.model import (
    ExecutionType,
    Instrument,
    OrderStatus,
    OrderType,
    Side,
    SymbolStatus,
    TimeInForce,
)
from mmbot.sim.engine.admission import admit, fillable
from mmbot.sim.engine.balances import Balances
from mmbot.sim.engine.book import RestingOrder
from mmbot.sim.engine.contract import (
    AmendResult,
    AssetBalance,
    BalanceUpdate,
    BookDelta,
    Depth,
    EngineEvent,
    Fees,
    OrderRequest,
    OrderView,
    PlaceResult,
    ReplaceMode,
    ReplaceResult,
    SymbolStatusChanged,
    TradePrint,
    TradeView,
)
from mmbot.sim.engine.reports import (
    TradeRecord,
    amended_report,
    closed_view,
    closing_report,
    new_report,
    order_view,
    rejected_report,
    trade_report,
    trade_view,
)
from mmbot.sim.engine.symbol import SymbolState
from mmbot.sim.engine.units import Rate, Units, atom_decimals
from mmbot.venue.binance.errors import (
    MSG_INVALID_SYMBOL,
    MSG_NO_SUCH_ORDER,
    MSG_UNKNOWN_ORDER,
    Code,
    DialectError,
    filter_failure,
)

#: The account that collects every fee (assets are conserved across accounts + this one).
FEE_ACCOUNT = "__fees__"

BAD_SYMBOL = DialectError(Code.BAD_SYMBOL, MSG_INVALID_SYMBOL)
NO_SUCH_ORDER = DialectError(Code.NO_SUCH_ORDER, MSG_NO_SUCH_ORDER)
UNKNOWN_ORDER = DialectError(Code.CANCEL_REJECTED, MSG_UNKNOWN_ORDER)
CANCEL_ID_MISSING = DialectError(
    Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
    "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
)
#: ``order.amend.keepPriority`` refusals (-2038 ORDER_AMEND_REJECTED, errors.md's messages).
ORDER_AMEND_REJECTED = -2038
AMEND_UNKNOWN_ORDER = DialectError(ORDER_AMEND_REJECTED, MSG_UNKNOWN_ORDER)
AMEND_INCREASE = DialectError(
    ORDER_AMEND_REJECTED, "Order amend (quantity increase) is not supported."
)
AMEND_NO_CHANGE = DialectError(
    ORDER_AMEND_REJECTED, "The requested action would change no state; rejecting"
)
AMEND_DUPLICATE = DialectError(ORDER_AMEND_REJECTED, "Duplicate order sent.")
#: Amendments one order may have (the MAX_NUM_ORDER_AMENDS filter); -2038 beyond.
MAX_NUM_ORDER_AMENDS = 10
TOO_MANY_AMENDS = DialectError(ORDER_AMEND_REJECTED, "Filter failure: MAX_NUM_ORDER_AMENDS")
LOT_SIZE_FAILURE = filter_failure("LOT_SIZE")
_EXPIRING = (SymbolStatus.BREAK, SymbolStatus.END_OF_DAY)
_DEFAULT_FEES = Fees()


class MatchingEngine:
    """Binance-Spot-like matching for several symbols and accounts (see module docstring)."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        fees: Fees = _DEFAULT_FEES,
        *,
        closed_order_retention: int = 100_000,
        trade_retention: int = 100_000,
        no_trade_history: Collection[str] = (),
        quiet_accounts: Collection[str] = (),
        max_num_orders: int | None = None,
        order_limit_exempt: Collection[str] = (),
        closed_order_max_age_ms: int | None = None,
        no_closed_history: Collection[str] = (),
    ) -> None:
        self._maker = Rate(fees.maker_rate)
        self._taker = Rate(fees.taker_rate)
        dp = atom_decimals(list(instruments), [self._maker, self._taker])
        self._balances = Balances(dp)
        self._symbols: dict[str, SymbolState] = {
            i.symbol: SymbolState(
                i,
                Units(i, dp),
                self._balances,
                closed_retention=closed_order_retention,
                trade_retention=trade_retention,
                no_trade_history=no_trade_history,
                max_num_orders=max_num_orders,
                order_limit_exempt=order_limit_exempt,
                closed_max_age_ms=closed_order_max_age_ms,
                no_closed_history=no_closed_history,
            )
            for i in instruments
        }
        self._events: list[EngineEvent] = []
        #: MAX_NUM_ORDERS: open orders one account may have on a symbol (None: no limit)
        self.max_num_orders = max_num_orders
        self._quiet = frozenset(quiet_accounts)
        # accounts whose balance changes are never reported: the fee account and the quiet
        self._unreported = self._quiet | {FEE_ACCOUNT}

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
        held = self._balances
        held.accounts.setdefault(account, {})
        for asset, amount in balances.items():
            held.slot(account, asset).free += self._atoms(amount)
        held.take_changes(0, {account})  # opening balances: no event

    def adjust_balance(self, account: str, asset: str, delta: Decimal, now_ms: int) -> None:
        """Credit (or debit) free balance; emits ``BalanceUpdate`` and ``AccountPosition``."""
        atoms = self._atoms(delta)
        if self._balances.free(account, asset) + atoms < 0:
            raise ValueError(f"debit of {-delta} {asset} exceeds the free balance")
        self._balances.slot(account, asset).free += atoms
        if account not in self._quiet:
            self._events.append(BalanceUpdate(account, now_ms, asset, delta))
        self._flush(None, now_ms)

    def balances(self, account: str) -> list[AssetBalance]:
        to_dec = self._balances.to_decimal
        held = self._balances.accounts.get(account, {})
        return [AssetBalance(a, to_dec(s.free), to_dec(s.locked)) for a, s in sorted(held.items())]

    def fee_totals(self) -> dict[str, Decimal]:
        """Fees collected so far, per asset (the free balances of :data:`FEE_ACCOUNT`)."""
        return {b.asset: b.free for b in self.balances(FEE_ACCOUNT)}

    # ---- orders ----------------------------------------------------------------------------

    def place(self, request: OrderRequest, now_ms: int) -> PlaceResult | DialectError:
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
    ) -> OrderView | DialectError:
        st = self._symbols.get(symbol)
        if st is None:
            return BAD_SYMBOL
        result = self._cancel(st, account, now_ms, order_id, client_order_id)
        self._flush(st, now_ms)
        return result

    def cancel_all(self, account: str, symbol: str, now_ms: int) -> list[OrderView] | DialectError:
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
    ) -> ReplaceResult:
        if mode not in (ReplaceMode.STOP_ON_FAILURE, ReplaceMode.ALLOW_FAILURE):
            raise ValueError(f"unknown cancelReplaceMode {mode!r}")
        st = self._symbols.get(new.symbol)
        if st is None:
            return ReplaceResult(BAD_SYMBOL, None)
        cancelled = self._cancel(st, new.account, now_ms, cancel_order_id, cancel_client_order_id)
        if isinstance(cancelled, DialectError) and mode == ReplaceMode.STOP_ON_FAILURE:
            self._flush(st, now_ms)
            return ReplaceResult(cancelled, None)
        placed = self._place(st, new, now_ms)
        if isinstance(placed, DialectError) and not isinstance(cancelled, DialectError):
            execution_id = st.take_execution_id()
        if (
            isinstance(placed, DialectError)
            and not isinstance(cancelled, DialectError)
            and new.account not in self._quiet
        ):
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
                    execution_id,
                )
            )
        self._flush(st, now_ms)
        return ReplaceResult(cancelled, placed)

    def query(
        self,
        account: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderView | DialectError:
        st = self._symbols.get(symbol)
        if st is None:
            return BAD_SYMBOL
        if order_id is None and client_order_id is None:
            return CANCEL_ID_MISSING
        order, closed, found_id = st.find(account, order_id, client_order_id)
        if order is not None:
            return order_view(order, st.units)
        if closed is not None:
            return closed_view(symbol, found_id, closed, st.units)
        return NO_SUCH_ORDER

    def check_order(self, request: OrderRequest) -> DialectError | None:
        """What ``place`` would refuse ``request`` with now (admission only: nothing
        changes, no event); None if it would be accepted."""
        st = self._symbols.get(request.symbol)
        if st is None:
            return BAD_SYMBOL
        plan = admit(st, request, self._balances)
        return plan if isinstance(plan, DialectError) else None

    def amend_keep_priority(
        self,
        account: str,
        symbol: str,
        new_qty: Decimal,
        new_client_order_id: str,
        now_ms: int,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> AmendResult | DialectError:
        """Reduce an open order's quantity in place: it keeps its place in the queue.

        Refused (-2038, the order unchanged) unless ``new_qty`` is below the order's
        quantity; -1013 when it breaks LOT_SIZE. At or below what already filled, the order
        leaves the book EXPIRED. Emits one REPLACED (or EXPIRED) execution report.
        """
        st = self._symbols.get(symbol)
        if st is None:
            return BAD_SYMBOL
        if order_id is None and client_order_id is None:
            return CANCEL_ID_MISSING
        order = st.find(account, order_id, client_order_id)[0]
        if order is None or order.working_ms < 0:
            return AMEND_UNKNOWN_ORDER
        qty = st.units.qty_int(new_qty)
        if qty is None or not st.qty_ok(qty):
            return LOT_SIZE_FAILURE
        if qty > order.orig_qty:
            return AMEND_INCREASE
        if qty == order.orig_qty:
            return AMEND_NO_CHANGE
        if order.amends >= MAX_NUM_ORDER_AMENDS:
            return TOO_MANY_AMENDS
        previous = order.client_order_id
        if new_client_order_id != previous:
            taken = st.by_client.get((account, new_client_order_id))
            if taken is not None and taken in st.orders:
                return AMEND_DUPLICATE
        order.amends += 1
        if qty <= order.executed:  # nothing left to rest: the amendment expires it
            st.rename(order, new_client_order_id)
            self._end(st, order, now_ms, OrderStatus.EXPIRED)  # takes the execution id
            execution_id = st.next_execution_id - 1
            view = order_view(order, st.units)
            self._flush(st, now_ms)
            return AmendResult(view, execution_id, previous, expired=True)
        freed = order.orig_qty - qty
        st.book.reduce(order, qty)
        st.touched[order.price if order.is_buy else -order.price] = None
        self._release(st, order, freed)
        st.rename(order, new_client_order_id)
        order.update_ms = now_ms
        execution_id = st.take_execution_id()
        if order.reported:
            self._events.append(amended_report(order, st.units, now_ms, previous, execution_id))
        view = order_view(order, st.units)
        self._flush(st, now_ms)
        return AmendResult(view, execution_id, previous)

    def all_orders(
        self,
        account: str,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[OrderView]:
        """allOrders: ascending ids; from ``from_id`` on (its oldest ``limit``), else the
        most recent ``limit``; a time window (of the last update) replaces ``from_id``."""
        st = self._symbols.get(symbol)
        if st is None or limit <= 0:
            return []
        timed = start_ms is not None or end_ms is not None
        found = st.orders_of(account, None if timed else from_id, start_ms, end_ms)
        found = found[:limit] if (from_id is not None or start_ms is not None) else found[-limit:]
        views = []
        for item in found:
            if isinstance(item, tuple):
                views.append(closed_view(symbol, item[0], item[1], st.units))
            else:
                views.append(order_view(item, st.units))
        return views

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
        found = st.trades_of(account, order_id, from_id, limit)
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

    # ---- the steps of the commands ---------------------------------------------------------

    def _atoms(self, amount: Decimal) -> int:
        atoms = self._balances.to_atoms(amount)
        if atoms is None:
            raise ValueError(f"amount {amount} has more decimals than the engine keeps")
        return atoms

    def _cancel(
        self,
        st: SymbolState,
        account: str,
        now_ms: int,
        order_id: int | None,
        client_order_id: str | None,
    ) -> OrderView | DialectError:
        if order_id is None and client_order_id is None:
            return CANCEL_ID_MISSING
        order = st.find(account, order_id, client_order_id)[0]
        if order is None:
            return UNKNOWN_ORDER
        self._end(st, order, now_ms, OrderStatus.CANCELED)
        return order_view(order, st.units)

    def _end(self, st: SymbolState, order: RestingOrder, now_ms: int, status: OrderStatus) -> None:
        """Take a resting order off the book: CANCELED or EXPIRED, its lock released."""
        st.book.remove(order)
        st.touched[order.price if order.is_buy else -order.price] = None
        self._unlock_rest(st, order)
        order.status = status
        order.update_ms = now_ms
        if status is OrderStatus.CANCELED:
            order.orig_client_order_id = order.client_order_id
            kind = ExecutionType.CANCELED
        else:
            kind = ExecutionType.EXPIRED
        execution_id = st.take_execution_id()  # also when unreported: ids are the symbol's
        if order.reported:
            self._events.append(closing_report(order, st.units, now_ms, kind, execution_id))
        st.close(order)

    def _unlock_rest(self, st: SymbolState, order: RestingOrder) -> None:
        self._release(st, order, order.remaining)

    def _release(self, st: SymbolState, order: RestingOrder, lots: int) -> None:
        """Unlock what ``lots`` of a resting order held (quote for a BUY, base for a SELL)."""
        units = st.units
        if order.is_buy:
            amount = order.price * lots * units.notional_scale
            slot = self._balances.slot(order.account, st.instrument.quote_asset)
        else:
            amount = lots * units.qty_scale
            slot = self._balances.slot(order.account, st.instrument.base_asset)
        slot.locked -= amount
        slot.free += amount

    def _place(self, st: SymbolState, req: OrderRequest, now_ms: int) -> PlaceResult | DialectError:
        plan = admit(st, req, self._balances)
        if isinstance(plan, DialectError):
            return plan
        kind, tif, price, qty, lock_asset, lock_atoms = plan
        order_id = st.next_order_id
        st.next_order_id = order_id + 1
        order = RestingOrder(
            st.instrument.symbol,
            order_id,
            req.account,
            req.client_order_id,
            req.side,
            kind,
            tif,
            price,
            qty,
            now_ms,
            req.account not in self._quiet,
        )
        st.open_order(order)
        is_market = kind is OrderType.MARKET
        units = st.units
        execution_id = st.take_execution_id()
        if order.reported:
            self._events.append(new_report(order, units, now_ms, execution_id))
        book = st.book
        if tif is TimeInForce.FOK and not fillable(book, order.is_buy, price, qty):
            return self._expire_taker(st, order, now_ms, ())
        # touched first, so the taker leads the action's AccountPosition events
        slot = self._balances.slot(req.account, lock_asset)
        if not is_market:
            slot.free -= lock_atoms
            slot.locked += lock_atoms
        if is_market or book.would_cross(order.is_buy, price):
            fills = self._match(st, order, None if is_market else price, now_ms)
        else:
            fills = ()
        if order.executed < order.orig_qty:
            if is_market or tif is not TimeInForce.GTC:
                if not is_market:
                    self._unlock_rest(st, order)
                return self._expire_taker(st, order, now_ms, fills)
            order.working_ms = now_ms
            book.add(order)
            st.touched[price if order.is_buy else -price] = None
            st.rest(order)
        else:
            st.close(order)
        return PlaceResult(order_view(order, units), fills)

    def _expire_taker(
        self, st: SymbolState, order: RestingOrder, now_ms: int, fills: tuple[TradeView, ...]
    ) -> PlaceResult:
        order.status = OrderStatus.EXPIRED
        order.update_ms = now_ms
        execution_id = st.take_execution_id()
        if order.reported:
            self._events.append(
                closing_report(order, st.units, now_ms, ExecutionType.EXPIRED, execution_id)
            )
        st.close(order)
        return PlaceResult(order_view(order, st.units), fills)

    def _match(
        self, st: SymbolState, taker: RestingOrder, limit: int | None, now_ms: int
    ) -> tuple[TradeView, ...]:
        """Trade ``taker`` against the book up to its ``limit`` price (``None``: MARKET)."""
        book = st.book
        is_buy = taker.is_buy
        levels = book.asks if is_buy else book.bids
        keys = book.ask_keys if is_buy else book.bid_keys
        fills: list[TradeView] = []
        touched = st.touched
        while keys and taker.executed < taker.orig_qty:
            price = -keys[-1] if is_buy else keys[-1]
            if limit is not None and (price > limit if is_buy else price < limit):
                break
            level = levels[price]
            orders = level.orders
            while orders and taker.executed < taker.orig_qty:
                maker = next(iter(orders.values()))
                qty = min(taker.orig_qty - taker.executed, maker.orig_qty - maker.executed)
                fills.append(self._fill(st, taker, maker, price, qty, now_ms))
                level.qty -= qty
                if maker.executed == maker.orig_qty:
                    orders.popitem(last=False)
                    st.close(maker)
            touched[-price if is_buy else price] = None  # the makers' side
            if not orders:
                del levels[price]
                keys.pop()
        return tuple(fills)

    def _fill(
        self,
        st: SymbolState,
        taker: RestingOrder,
        maker: RestingOrder,
        price: int,
        qty: int,
        now_ms: int,
    ) -> TradeView:
        units = st.units
        inst = st.instrument
        base_asset, quote_asset = inst.base_asset, inst.quote_asset
        cost = price * qty  # price units x lots: the trade's notional, exactly
        notional = cost * units.notional_scale  # the same in atoms of the quote asset
        base = qty * units.qty_scale
        trade_id = st.next_trade_id
        st.next_trade_id += 1
        if taker.is_buy:
            buyer, seller, buyer_rate, seller_rate = taker, maker, self._taker, self._maker
        else:
            buyer, seller, buyer_rate, seller_rate = maker, taker, self._maker, self._taker
        buyer_fee = buyer_rate.of(base)
        seller_fee = seller_rate.of(notional)
        slot = self._balances.slot
        pay = slot(buyer.account, quote_asset)
        if buyer.type is OrderType.MARKET:
            pay.free -= notional
        else:  # release the lock at the buyer's limit; a better price refunds the difference
            lock = buyer.price * qty * units.notional_scale
            pay.locked -= lock
            pay.free += lock - notional
        slot(buyer.account, base_asset).free += base - buyer_fee
        give = slot(seller.account, base_asset)
        if seller.type is OrderType.MARKET:
            give.free -= base
        else:
            give.locked -= base
        slot(seller.account, quote_asset).free += notional - seller_fee
        fee = self._balances.unreported_slot  # the fee account is never reported
        fee(FEE_ACCOUNT, base_asset).free += buyer_fee
        fee(FEE_ACCOUNT, quote_asset).free += seller_fee
        to_dec = self._balances.to_decimal
        events = self._events
        prices, qtys = units.prices, units.qtys
        dec_price, dec_qty = prices[price], qtys[qty]
        result: TradeView | None = None
        for order, is_maker in ((taker, False), (maker, True)):
            order.executed += qty
            order.cum_notional += cost
            order.update_ms = now_ms
            done = order.executed == order.orig_qty
            order.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
            if order.is_buy:
                commission, fee_asset = to_dec(buyer_fee), base_asset
            else:
                commission, fee_asset = to_dec(seller_fee), quote_asset
            execution_id = st.take_execution_id()
            if order.reported:
                events.append(
                    trade_report(
                        order,
                        units,
                        now_ms,
                        dec_qty,
                        dec_price,
                        commission,
                        fee_asset,
                        trade_id,
                        is_maker,
                        done,
                        execution_id,
                    )
                )
            record: TradeRecord = (
                trade_id,
                order.order_id,
                order.client_order_id,
                order.is_buy,
                price,
                qty,
                cost,
                commission,
                fee_asset,
                now_ms,
                is_maker,
            )
            st.record_trade(order.account, record)
            if result is None:  # the taker's fill, for PlaceResult.fills
                result = trade_view(record, order.account, order.symbol, units)
        events.append(TradePrint(inst.symbol, trade_id, dec_price, dec_qty, now_ms, maker.is_buy))
        assert result is not None
        return result

    def _flush(self, st: SymbolState | None, now_ms: int) -> None:
        """End of an action: one BookDelta per changed level, then AccountPositions."""
        events = self._events
        if st is not None and st.touched:
            book, symbol = st.book, st.instrument.symbol
            prices, qtys = st.units.prices, st.units.qtys
            update_id = st.update_id
            for key in st.touched:
                if key > 0:
                    side, price, level = Side.BUY, key, book.bids.get(key)
                else:
                    side, price, level = Side.SELL, -key, book.asks.get(-key)
                update_id += 1
                events.append(
                    BookDelta(
                        symbol,
                        update_id,
                        side,
                        prices[price],
                        qtys[0 if level is None else level.qty],
                        now_ms,
                    )
                )
            st.update_id = update_id
            st.touched.clear()
        events.extend(self._balances.take_changes(now_ms, self._unreported))
