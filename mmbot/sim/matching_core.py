"""The matching engine's order lifecycle: admit, match, fill, end, publish (sans-IO).

What it is for: :class:`EngineCore`, the state of the engine (symbols, ledger, event queue)
and the steps every command is made of: placing an admitted order and matching it against
the book, one fill with its exact money movements and reports, ending a resting order
(CANCELED or EXPIRED) and, at the end of each action, publishing one ``BookDelta`` per
changed level and one ``AccountPosition`` per changed account. ``matching.py`` builds the
public commands and queries on it; its docstring states the semantics.

What it must never do: I/O, read a clock, draw randomness, or move money other than by a
matched pair of ledger changes (assets are conserved to the atom).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal

from mmbot._fastattrs import fast_constructor
from mmbot.model import ExecutionType, Instrument, OrderStatus, OrderType, Side, TimeInForce
from mmbot.sim.events import (
    BookDelta,
    EngineEvent,
    Fees,
    OrderRequest,
    OrderView,
    PlaceResult,
    PublicTrade,
    Rejection,
    TradeView,
)
from mmbot.sim.matching_book import RestingOrder
from mmbot.sim.matching_money import Ledger, Rate, Units, atom_decimals
from mmbot.sim.matching_reports import (
    ClosedOrder,
    TradeRecord,
    closing_report,
    freeze,
    new_report,
    order_view,
    trade_report,
    trade_view,
)
from mmbot.sim.matching_rules import Plan, SymbolState, admit, fillable
from mmbot.venue.binance.errors import MSG_UNKNOWN_ORDER, Code, DialectError

#: The account that collects every fee (assets are conserved across accounts + this one).
FEE_ACCOUNT = "__fees__"

UNKNOWN_ORDER = DialectError(Code.CANCEL_REJECTED, MSG_UNKNOWN_ORDER)
CANCEL_ID_MISSING = DialectError(
    Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
    "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
)
_TRADE = ExecutionType.TRADE


_DEFAULT_FEES = Fees()
_book_delta = fast_constructor(BookDelta)
_public_trade = fast_constructor(PublicTrade)


class EngineCore:
    """State and lifecycle steps shared by the engine's commands."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        fees: Fees = _DEFAULT_FEES,
        *,
        closed_order_retention: int = 100_000,
        trade_retention: int = 100_000,
        no_trade_history: Collection[str] = (),
    ) -> None:
        self._maker = Rate(fees.maker_rate)
        self._taker = Rate(fees.taker_rate)
        dp = atom_decimals(list(instruments), [self._maker, self._taker])
        self._ledger = Ledger(dp)
        self._symbols: dict[str, SymbolState] = {
            i.symbol: SymbolState(i, Units(i, dp), self._ledger) for i in instruments
        }
        self._events: list[EngineEvent] = []
        self._closed_retention = closed_order_retention
        self._trade_retention = trade_retention
        # accounts whose trades are never asked for (the market simulator's): keep none
        self._no_trade_history = frozenset(no_trade_history)

    def _atoms(self, amount: Decimal) -> int:
        atoms = self._ledger.to_atoms(amount)
        if atoms is None:
            raise ValueError(f"amount {amount} has more decimals than the engine keeps")
        return atoms

    def _find(
        self, st: SymbolState, account: str, order_id: int | None, client_order_id: str | None
    ) -> tuple[RestingOrder | None, ClosedOrder | None, int]:
        """(open order, or closed record, and its id) of ``account`` by either id."""
        if order_id is None:
            assert client_order_id is not None
            found = st.by_client.get((account, client_order_id))
            if found is None:
                return None, None, 0
            order_id = found
        order = st.orders.get(order_id)
        if order is not None:
            if order.account != account or (
                client_order_id is not None and order.client_order_id != client_order_id
            ):
                return None, None, 0
            return order, None, order_id
        closed = st.closed_orders.get(order_id)
        if closed is None or closed[0] != account:
            return None, None, 0
        if client_order_id is not None and closed[1] != client_order_id:
            return None, None, 0
        return None, closed, order_id

    def _cancel(
        self,
        st: SymbolState,
        account: str,
        now_ms: int,
        order_id: int | None,
        client_order_id: str | None,
    ) -> OrderView | Rejection:
        if order_id is None and client_order_id is None:
            return CANCEL_ID_MISSING
        order = self._find(st, account, order_id, client_order_id)[0]
        if order is None:
            return UNKNOWN_ORDER
        self._end(st, order, now_ms, OrderStatus.CANCELED)
        return order_view(order, st.units)

    def _end(self, st: SymbolState, order: RestingOrder, now_ms: int, status: OrderStatus) -> None:
        """Take a resting order off the book: CANCELED or EXPIRED, its lock released."""
        st.book.remove(order)
        st.touched[(order.is_buy, order.price)] = None
        self._unlock_rest(st, order)
        order.status = status
        order.update_ms = now_ms
        if status is OrderStatus.CANCELED:
            order.orig_client_order_id = order.client_order_id
            kind = ExecutionType.CANCELED
        else:
            kind = ExecutionType.EXPIRED
        self._events.append(closing_report(order, st.units, now_ms, kind))
        self._close(st, order)

    def _unlock_rest(self, st: SymbolState, order: RestingOrder) -> None:
        units = st.units
        if order.is_buy:
            amount = order.price * order.remaining * units.notional_scale
            slot = self._ledger.slot(order.account, st.instrument.quote_asset)
        else:
            amount = order.remaining * units.qty_scale
            slot = self._ledger.slot(order.account, st.instrument.base_asset)
        slot.locked -= amount
        slot.free += amount

    def _close(self, st: SymbolState, order: RestingOrder) -> None:
        """The order is done: keep only its compact record, for queries."""
        order_id = order.order_id
        del st.orders[order_id]
        open_orders = st.open_by_account.get(order.account)
        if open_orders is not None:
            open_orders.pop(order_id, None)
            if not open_orders:
                del st.open_by_account[order.account]
        st.closed_orders[order_id] = freeze(order)
        st.closed.append(order_id)
        if len(st.closed) > self._closed_retention:
            old_id = st.closed.popleft()
            old = st.closed_orders.pop(old_id)
            key = (old[0], old[1])
            if st.by_client.get(key) == old_id:
                del st.by_client[key]

    def _place(self, st: SymbolState, req: OrderRequest, now_ms: int) -> PlaceResult | Rejection:
        plan = admit(st, req, self._ledger)
        if isinstance(plan, DialectError):
            return plan
        order_id = st.next_order_id
        st.next_order_id = order_id + 1
        order = RestingOrder(
            st.instrument.symbol,
            order_id,
            req.account,
            req.client_order_id,
            req.side,
            plan.type,
            plan.time_in_force,
            plan.price,
            plan.qty,
            now_ms,
        )
        st.orders[order_id] = order
        st.by_client[(req.account, req.client_order_id)] = order_id
        is_market = plan.type is OrderType.MARKET
        units = st.units
        self._events.append(new_report(order, units, now_ms))
        book = st.book
        if plan.time_in_force is TimeInForce.FOK and not fillable(
            book, order.is_buy, plan.price, plan.qty
        ):
            return self._expire_taker(st, order, now_ms, ())
        # touched first, so the taker leads the action's AccountPosition events
        slot = self._ledger.slot(req.account, plan.lock_asset)
        if not is_market:
            slot.free -= plan.lock_atoms
            slot.locked += plan.lock_atoms
        if is_market or book.would_cross(order.is_buy, plan.price):
            fills = self._match(st, order, plan, now_ms)
        else:
            fills = ()
        if order.executed < order.orig_qty:
            if is_market or plan.time_in_force is not TimeInForce.GTC:
                if not is_market:
                    self._unlock_rest(st, order)
                return self._expire_taker(st, order, now_ms, fills)
            order.working_ms = now_ms
            book.add(order)
            st.touched[(order.is_buy, order.price)] = None
            mine = st.open_by_account.get(order.account)
            if mine is None:
                mine = st.open_by_account[order.account] = {}
            mine[order_id] = order
        else:
            self._close(st, order)
        return PlaceResult(order_view(order, units), fills)

    def _expire_taker(
        self, st: SymbolState, order: RestingOrder, now_ms: int, fills: tuple[TradeView, ...]
    ) -> PlaceResult:
        order.status = OrderStatus.EXPIRED
        order.update_ms = now_ms
        self._events.append(closing_report(order, st.units, now_ms, ExecutionType.EXPIRED))
        self._close(st, order)
        return PlaceResult(order_view(order, st.units), fills)

    def _match(
        self, st: SymbolState, taker: RestingOrder, plan: Plan, now_ms: int
    ) -> tuple[TradeView, ...]:
        book = st.book
        is_buy = taker.is_buy
        levels = book.asks if is_buy else book.bids
        keys = book.ask_keys if is_buy else book.bid_keys
        limit = None if plan.type is OrderType.MARKET else taker.price
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
                    self._close(st, maker)
            touched[(not is_buy, price)] = None
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
        notional = price * qty * units.notional_scale
        base = qty * units.qty_scale
        trade_id = st.next_trade_id
        st.next_trade_id += 1
        if taker.is_buy:
            buyer, seller, buyer_rate, seller_rate = taker, maker, self._taker, self._maker
        else:
            buyer, seller, buyer_rate, seller_rate = maker, taker, self._maker, self._taker
        buyer_fee = buyer_rate.of(base)
        seller_fee = seller_rate.of(notional)
        slot = self._ledger.slot
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
        slot(FEE_ACCOUNT, base_asset).free += buyer_fee
        slot(FEE_ACCOUNT, quote_asset).free += seller_fee
        to_dec = self._ledger.to_decimal
        events = self._events
        prices, qtys = units.prices, units.qtys
        dec_price, dec_qty = prices[price], qtys[qty]
        result: TradeView | None = None
        for order, is_maker in ((taker, False), (maker, True)):
            order.executed += qty
            order.cum_quote += notional
            order.update_ms = now_ms
            done = order.executed == order.orig_qty
            order.status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
            if order.is_buy:
                commission, fee_asset = to_dec(buyer_fee), base_asset
            else:
                commission, fee_asset = to_dec(seller_fee), quote_asset
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
                )
            )
            record: TradeRecord = (
                trade_id,
                order.order_id,
                order.client_order_id,
                order.is_buy,
                price,
                qty,
                notional,
                commission,
                fee_asset,
                now_ms,
                is_maker,
            )
            if order.account not in self._no_trade_history:
                trades = st.trades.get(order.account)
                if trades is None:
                    trades = st.trades[order.account] = []
                trades.append(record)
                if len(trades) > 2 * self._trade_retention:
                    del trades[: -self._trade_retention]
            if result is None:  # the taker's fill, for PlaceResult.fills
                result = trade_view(record, order.account, order.symbol, units)
        events.append(
            _public_trade(inst.symbol, trade_id, dec_price, dec_qty, now_ms, maker.is_buy)
        )
        assert result is not None
        return result

    def _flush(self, st: SymbolState | None, now_ms: int) -> None:
        """End of an action: one BookDelta per changed level, then AccountPositions."""
        events = self._events
        if st is not None and st.touched:
            book, symbol = st.book, st.instrument.symbol
            prices, qtys = st.units.prices, st.units.qtys
            update_id = st.update_id
            for is_buy, price in st.touched:
                level = (book.bids if is_buy else book.asks).get(price)
                update_id += 1
                events.append(
                    _book_delta(
                        symbol,
                        update_id,
                        Side.BUY if is_buy else Side.SELL,
                        prices[price],
                        qtys[0 if level is None else level.qty],
                        now_ms,
                    )
                )
            st.update_id = update_id
            st.touched.clear()
        events.extend(self._ledger.take_changes(now_ms, FEE_ACCOUNT))
