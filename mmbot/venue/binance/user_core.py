"""What the user stream has delivered, and what to deliver next (sans-IO core of ``user.py``).

What it is for: :class:`UserStreamState` filters the account's events so the consumer sees
each fill exactly once (by symbol, order id, trade id), never sees an order's cumulative
quantity go backwards, and sees each order's terminal state (cancelled, rejected, expired)
at most once; events for orders never acknowledged (a fill before its ``NEW``) are delivered,
not dropped. After a gap, :meth:`UserStreamState.reconcile` turns what REST says (open
orders, the account's trades since the last one seen, the final state of orders that are
no longer open) into the events the stream would have delivered, in order, minus those
already delivered.

An order the stream believes open that the venue no longer knows (-2013 when REST is asked
for it) ends with one :class:`~mmbot.venue.events.OrderGone` and is never asked about again.
A venue whose order ids went backwards (a restarted venue: the same order id names another
client order id, or a ``NEW`` comes for an order id at or below the highest one of a live
event on the symbol) is resynchronised, symbol by symbol (:meth:`UserStreamState.resync`):
every order believed open there is gone, and what was known of the symbol is forgotten, so a
new order that reuses an old id is a new order (its ``OrderAccepted`` is delivered), not a
duplicate.

What it must never do: I/O, read a clock or an RNG (``now_ms`` is passed in), drop a fill it
has not delivered, or deliver one twice; keep an order "open" that the venue says does not
exist, or merge a new order with a stale record of the same id.

Theory of operation: one :class:`_Order` per (symbol, order id) remembers the order's terms,
its delivered cumulative quantity and trade ids, whether ``NEW`` was delivered and its
terminal status. Live events pass through :meth:`on_event`; REST answers pass through
:meth:`reconcile`; both update the same records, so a fill seen by one is a duplicate for
the other.

Bounded memory: an order whose terminal state was delivered is kept while it is among the
newest ``retained_terminal_orders`` such orders, then forgotten with its trade ids. Per symbol,
watermarks remember the largest order id and trade id forgotten; an event of an order no
longer tracked is a duplicate when its id is at or below them. That is exact because the venue
numbers orders and trades in increasing order and sends each account's events in that order
(a fill of an order we never saw cannot come after a later trade of a forgotten order); the
retention window absorbs any reordering across a reconnect (live events wait behind the
reconcile). Orders still open are never forgotten.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import attrs

from mmbot.model import ExecutionType, Fill, OrderStatus, OrderType, Side, TimeInForce
from mmbot.venue.base import OrderInfo
from mmbot.venue.events import (
    ExecutionReport,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderGone,
    OrderRejected,
    UserEvent,
    VenueReset,
)

ZERO = Decimal(0)
_EXPIRED = (OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH)


@attrs.define(eq=False)
class _Order:
    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    price: Decimal
    # Invariant: only grows; the largest cumulative quantity delivered for this order.
    cumulative_qty: Decimal = ZERO
    cumulative_quote_qty: Decimal = ZERO
    acknowledged: bool = False  # an OrderAccepted (NEW) was delivered
    terminal: OrderStatus | None = None  # set once a terminal state was delivered
    # Invariant: the trade ids of this order's fills that were delivered.
    trade_ids: set[int] = attrs.field(factory=set)
    # Other client order ids this order has had (an amend renames it: REPLACED).
    aliases: set[str] = attrs.field(factory=set)

    @classmethod
    def from_report(cls, r: ExecutionReport) -> _Order:
        return cls(
            r.symbol, r.order_id, r.orig_client_order_id or r.client_order_id, r.side,
            r.order_type, r.time_in_force, r.quantity, r.price,
        )  # fmt: skip

    @classmethod
    def from_info(cls, o: OrderInfo) -> _Order:
        return cls(
            o.symbol, o.order_id, o.client_order_id, o.side, o.type,
            o.time_in_force or TimeInForce.GTC, o.orig_qty, o.price,
        )  # fmt: skip

    @classmethod
    def from_fill(cls, f: Fill) -> _Order:
        """Terms unknown (the venue would not say): a best-effort record from the fill."""
        return cls(
            f.symbol, f.order_id, f.client_order_id, f.side, OrderType.LIMIT, TimeInForce.GTC,
            ZERO, f.price,
        )  # fmt: skip


@attrs.frozen
class UserDeliveryStatistics:
    """What :class:`UserStreamState` let through and held back (``UserStreamState.statistics``);
    the connection's own figures are ``user.UserStreamStatistics``."""

    delivered: int
    duplicate_fills: int
    duplicate_states: int
    reconciled: int  # events made from REST answers
    corrected_cumulative: int  # events whose cumulative quantity was raised to the known one
    gone: int = 0  # orders believed open that the venue no longer knows (OrderGone)
    venue_resyncs: int = 0  # symbols resynchronised after the venue's ids went backwards


@attrs.define(eq=False)
class UserStreamState:
    """The delivery filter and reconcile planner (see the module docstring)."""

    #: Orders with a delivered terminal state kept before the oldest are forgotten.
    retained_terminal_orders: int = attrs.field(default=1_000, validator=attrs.validators.ge(0))
    _orders: dict[tuple[str, int], _Order] = attrs.field(factory=dict, init=False)
    # Invariant: exactly the keys of tracked orders with a terminal state, oldest first.
    _ended_keys: deque[tuple[str, int]] = attrs.field(factory=deque, init=False)
    # Invariant: per symbol, the largest trade id delivered.
    _last_trade_id: dict[str, int] = attrs.field(factory=dict, init=False)
    # Invariant: per symbol, the largest order id / trade id of the orders forgotten.
    _forgotten_order_id: dict[str, int] = attrs.field(factory=dict, init=False)
    _forgotten_trade_id: dict[str, int] = attrs.field(factory=dict, init=False)
    # Invariant: per symbol, the largest order id of a live event passed to on_event (live
    # events come in the venue's order; REST answers may name older orders: not counted).
    _max_order_id: dict[str, int] = attrs.field(factory=dict, init=False)
    # Invariant: per symbol, the latest transaction time of a live event passed to on_event.
    _max_time_ms: dict[str, int] = attrs.field(factory=dict, init=False)
    _counts: dict[str, int] = attrs.field(factory=dict, init=False)

    # ---- queries ----------------------------------------------------------------------

    def last_trade_id(self, symbol: str) -> int | None:
        return self._last_trade_id.get(symbol)

    def symbols(self) -> set[str]:
        return {symbol for symbol, _ in self._orders} | set(self._last_trade_id)

    def has_fill(self, key: tuple[str, int, int]) -> bool:
        """Whether the fill (symbol, order id, trade id) was delivered."""
        symbol, order_id, trade_id = key
        order = self._orders.get((symbol, order_id))
        if order is not None:
            return trade_id in order.trade_ids
        return trade_id <= self._forgotten_trade_id.get(symbol, -1)

    def tracked_orders(self) -> int:
        return len(self._orders)

    def tracked_fills(self) -> int:
        return sum(len(order.trade_ids) for order in self._orders.values())

    def live_order_ids(self, symbol: str) -> list[int]:
        """Orders of ``symbol`` whose terminal state has not been delivered."""
        return sorted(
            o.order_id for o in self._orders.values() if o.symbol == symbol and o.terminal is None
        )

    def orders_to_query(
        self, symbol: str, open_orders: Iterable[OrderInfo], fills: Iterable[Fill]
    ) -> list[int]:
        """Order ids whose final state REST must be asked for before :meth:`reconcile`:
        live orders that are no longer open, and orders of new fills that are not open."""
        open_ids = {o.order_id for o in open_orders}
        wanted = {oid for oid in self.live_order_ids(symbol) if oid not in open_ids}
        for fill in fills:
            if not self.has_fill(fill.key) and fill.order_id not in open_ids:
                wanted.add(fill.order_id)
        return sorted(wanted)

    def statistics(self) -> UserDeliveryStatistics:
        c = self._counts.get
        return UserDeliveryStatistics(
            c("delivered", 0), c("duplicate_fills", 0), c("duplicate_states", 0),
            c("reconciled", 0), c("corrected_cumulative", 0), c("gone", 0),
            c("venue_resyncs", 0),
        )  # fmt: skip

    # ---- live events ------------------------------------------------------------------

    def on_event(self, event: UserEvent) -> UserEvent | None:
        """The event to deliver for one live event, or None for a duplicate."""
        if not isinstance(
            event, OrderAccepted | OrderFilled | OrderCancelled | OrderRejected | OrderExpired
        ):
            self._count("delivered")
            return event
        report = event.report
        key = (report.symbol, report.order_id)
        top = self._max_order_id.get(report.symbol)
        if top is None or report.order_id > top:
            self._max_order_id[report.symbol] = report.order_id
        latest = self._max_time_ms.get(report.symbol)
        if latest is None or report.transaction_time_ms > latest:
            self._max_time_ms[report.symbol] = report.transaction_time_ms
        order = self._orders.get(key)
        if order is None:
            if self._forgotten(event):
                return None
            order = self._track(_Order.from_report(report))
        if report.execution_type is ExecutionType.REPLACED:  # an amend may rename it
            order.aliases.update((order.client_order_id, report.orig_client_order_id))
            order.client_order_id = report.client_order_id
        if isinstance(event, OrderFilled):
            if event.fill.trade_id in order.trade_ids:
                self._count("duplicate_fills")
                return None
            self._remember_fill(order, event.fill)
        elif isinstance(event, OrderAccepted):
            if order.acknowledged and report.execution_type is ExecutionType.NEW:
                self._count("duplicate_states")
                return None
            order.acknowledged = True
        elif order.terminal is not None:
            self._count("duplicate_states")
            return None
        return self._deliver(order, event)

    def _deliver(self, order: _Order, event: OrderEvent) -> OrderEvent:
        report = event.report
        if report.cumulative_qty < order.cumulative_qty:
            self._count("corrected_cumulative")
            report = attrs.evolve(
                report,
                cumulative_qty=order.cumulative_qty,
                cumulative_quote_qty=max(report.cumulative_quote_qty, order.cumulative_quote_qty),
            )
            event = attrs.evolve(event, report=report)
        order.cumulative_qty = report.cumulative_qty
        order.cumulative_quote_qty = max(order.cumulative_quote_qty, report.cumulative_quote_qty)
        if order.quantity == ZERO and report.quantity > ZERO:
            order.quantity = report.quantity
        if not report.status.is_open:
            self._end(order, report.status)
        self._count("delivered")
        return event

    def _remember_fill(self, order: _Order, fill: Fill) -> None:
        order.trade_ids.add(fill.trade_id)
        last = self._last_trade_id.get(fill.symbol)
        if last is None or fill.trade_id > last:
            self._last_trade_id[fill.symbol] = fill.trade_id

    def _track(self, order: _Order) -> _Order:
        """Start tracking ``order`` (not tracked yet)."""
        self._orders[(order.symbol, order.order_id)] = order
        return order

    # ---- orders the venue no longer knows, and a venue whose ids went backwards ---------

    def went_backwards(self, event: UserEvent) -> bool:
        """Whether live ``event`` shows that the venue's order ids went backwards (it was
        restarted): an event of a tracked order id naming another client order id, or a
        ``NEW`` for an untracked order id at or below the highest one of a live event on
        the symbol and with a transaction time after every live event's on the symbol.
        The venue numbers orders in increasing order, so neither can happen on a venue
        that kept its ids (REST answers do not count: an order placed and cancelled while
        the stream reconnects is listed nowhere, yet its ``NEW`` may still arrive after a
        later order's listing). The time tells a restart (ids back, time forward) from a
        ``NEW`` that merely arrives late, behind a later order's events (ids and time
        back: the stream delivered out of order, as ``ws_dup_reorder`` does).
        Call it before :meth:`on_event`; when True, :meth:`resync` the symbol first."""
        if not isinstance(
            event, OrderAccepted | OrderFilled | OrderCancelled | OrderRejected | OrderExpired
        ):
            return False
        report = event.report
        key = (report.symbol, report.order_id)
        order = self._orders.get(key)
        if order is not None:
            if report.execution_type is ExecutionType.REPLACED:  # an amend may rename it
                return False
            return _other_order(order, event.client_order_id)
        if report.execution_type is not ExecutionType.NEW:
            return False
        top = self._max_order_id.get(report.symbol)
        if top is None or report.order_id > top:
            return False
        latest = self._max_time_ms.get(report.symbol)
        return latest is None or report.transaction_time_ms > latest

    def went_backwards_in(
        self, symbol: str, open_orders: Iterable[OrderInfo], final_states: Mapping[int, OrderInfo]
    ) -> bool:
        """Whether REST answers show the venue's order ids went backwards on ``symbol``: an
        open or queried order whose id a tracked order has, under another client order id."""
        for info in (*open_orders, *final_states.values()):
            order = self._orders.get((symbol, info.order_id))
            if order is not None and _other_order(order, info.client_order_id):
                return True
        return False

    def resync(self, symbol: str, now_ms: int, reason: str) -> list[UserEvent]:
        """The venue's ids went backwards on ``symbol``: a :class:`VenueReset`, then every
        order believed open there is gone (its :class:`OrderGone`, ``venue_reset`` True, in
        order id order), and
        everything known of the symbol (orders, trade ids, watermarks) is forgotten, so the
        restarted venue's orders and trades are new. The caller reconciles the symbol again
        (open orders, trades) to learn what the restarted venue has."""
        out: list[UserEvent] = [VenueReset(symbol, reason, now_ms)]
        for order_id in self.live_order_ids(symbol):
            order = self._orders[(symbol, order_id)]
            out.append(self._gone(order, now_ms, reason, venue_reset=True))
        for key in [k for k in self._orders if k[0] == symbol]:
            del self._orders[key]
        self._ended_keys = deque(k for k in self._ended_keys if k[0] != symbol)
        for watermarks in (
            self._last_trade_id, self._forgotten_order_id, self._forgotten_trade_id,
            self._max_order_id,
        ):  # fmt: skip
            watermarks.pop(symbol, None)
        self._count("venue_resyncs")
        return out

    def _gone(self, order: _Order, now_ms: int, reason: str, *, venue_reset: bool) -> OrderEvent:
        report = _report(order, ExecutionType.EXPIRED, OrderStatus.EXPIRED, now_ms)
        self._count("gone")
        return self._deliver(order, OrderGone(report, reason, venue_reset))

    # ---- forgetting ended orders --------------------------------------------------------

    def _forgotten(self, event: OrderEvent) -> bool:
        """Whether ``event`` (of an order not tracked) belongs to a forgotten order."""
        report = event.report
        if isinstance(event, OrderFilled):
            if event.fill.trade_id <= self._forgotten_trade_id.get(report.symbol, -1):
                self._count("duplicate_fills")
                return True
        elif report.order_id <= self._forgotten_order_id.get(report.symbol, -1):
            self._count("duplicate_states")
            return True
        return False

    def _end(self, order: _Order, status: OrderStatus) -> None:
        """Record ``order``'s terminal state; forget the oldest ended orders past retention."""
        if order.terminal is None:
            self._ended_keys.append((order.symbol, order.order_id))
        order.terminal = status
        while len(self._ended_keys) > self.retained_terminal_orders:
            old = self._orders.pop(self._ended_keys.popleft())
            symbol = old.symbol
            if old.order_id > self._forgotten_order_id.get(symbol, -1):
                self._forgotten_order_id[symbol] = old.order_id
            if old.trade_ids:
                top = max(old.trade_ids)
                if top > self._forgotten_trade_id.get(symbol, -1):
                    self._forgotten_trade_id[symbol] = top

    # ---- reconcile --------------------------------------------------------------------

    def reconcile(
        self,
        symbol: str,
        open_orders: Sequence[OrderInfo],
        fills: Sequence[Fill],
        final_states: Mapping[int, OrderInfo],
        now_ms: int,
        *,
        terminals: bool = True,
        gone: Iterable[int] = (),
    ) -> list[UserEvent]:
        """The events missed on ``symbol``, in order: acknowledgements of open orders never
        acknowledged, then new fills by trade id, then terminal states of orders that are
        no longer open (``final_states``: the queried orders, by order id), and an
        :class:`OrderGone` for each order believed open that the venue does not know
        (``gone``: the ids it answered -2013 for). ``terminals`` False (``fills`` is not all
        of them yet): no terminal states and no gone orders, as an order's later fills may
        still be unread and must come first."""
        out: list[UserEvent] = []
        infos = {o.order_id: o for o in open_orders}
        for oid, info in final_states.items():
            infos.setdefault(oid, info)
        for info in open_orders:
            order = self._order_for(info.symbol, info.order_id, info, None)
            if not order.acknowledged and order.cumulative_qty == ZERO:
                out.append(self._accepted(order, now_ms))
        for fill in sorted(fills, key=lambda f: f.trade_id):
            if fill.symbol != symbol or self.has_fill(fill.key):
                continue
            order = self._order_for(symbol, fill.order_id, infos.get(fill.order_id), fill)
            out.append(self._filled(order, fill, now_ms))
        for oid in sorted(infos) if terminals else ():
            info = infos[oid]
            known = self._orders.get((symbol, oid))
            if known is None or known.terminal is not None or info.status.is_open:
                continue
            order = known
            if info.status is OrderStatus.FILLED:
                self._end(order, OrderStatus.FILLED)  # its fills say so (or were not listed)
                continue
            out.append(self._ended(order, info, now_ms))
        for oid in sorted(set(gone)) if terminals else ():
            known = self._orders.get((symbol, oid))
            if known is not None and known.terminal is None:
                out.append(
                    self._gone(known, now_ms, "order does not exist (-2013)", venue_reset=False)
                )
        self._counts["reconciled"] = self._counts.get("reconciled", 0) + len(out)
        return out

    def _order_for(
        self, symbol: str, order_id: int, info: OrderInfo | None, fill: Fill | None
    ) -> _Order:
        order = self._orders.get((symbol, order_id))
        if order is None:
            if info is not None:
                order = self._track(_Order.from_info(info))
            else:
                assert fill is not None
                order = self._track(_Order.from_fill(fill))
        elif order.quantity == ZERO and info is not None:
            order.quantity = info.orig_qty
        return order

    def _accepted(self, order: _Order, now_ms: int) -> OrderEvent:
        report = _report(order, ExecutionType.NEW, OrderStatus.NEW, now_ms)
        order.acknowledged = True
        return self._deliver(order, OrderAccepted(report))

    def _filled(self, order: _Order, fill: Fill, now_ms: int) -> OrderEvent:
        cumulative = order.cumulative_qty + fill.quantity
        full = order.quantity > ZERO and cumulative >= order.quantity
        status = OrderStatus.FILLED if full else OrderStatus.PARTIALLY_FILLED
        fill = attrs.evolve(fill, client_order_id=fill.client_order_id or order.client_order_id)
        report = attrs.evolve(
            _report(order, ExecutionType.TRADE, status, now_ms),
            last_qty=fill.quantity,
            cumulative_qty=cumulative,
            last_price=fill.price,
            commission=fill.fee,
            commission_asset=fill.fee_asset or None,
            transaction_time_ms=fill.time_ms,
            trade_id=fill.trade_id,
            is_maker=fill.is_maker,
            cumulative_quote_qty=order.cumulative_quote_qty + fill.notional,
            last_quote_qty=fill.notional,
        )
        self._remember_fill(order, fill)
        return self._deliver(order, OrderFilled(report, fill))

    def _ended(self, order: _Order, info: OrderInfo, now_ms: int) -> OrderEvent:
        status = info.status
        report = attrs.evolve(
            _report(order, ExecutionType.CANCELED, status, now_ms),
            cumulative_qty=max(order.cumulative_qty, info.executed_qty),
            cumulative_quote_qty=max(order.cumulative_quote_qty, info.cumulative_quote_qty),
            transaction_time_ms=info.update_time_ms or now_ms,
        )
        event: OrderEvent
        if status is OrderStatus.CANCELED:
            event = OrderCancelled(report)
        elif status in _EXPIRED:
            event = OrderExpired(attrs.evolve(report, execution_type=ExecutionType.EXPIRED))
        else:
            event = OrderRejected(
                attrs.evolve(report, execution_type=ExecutionType.REJECTED), "reconciled"
            )
        return self._deliver(order, event)

    def _count(self, name: str) -> None:
        self._counts[name] = self._counts.get(name, 0) + 1


def _report(
    order: _Order, kind: ExecutionType, status: OrderStatus, now_ms: int
) -> ExecutionReport:
    """An execution report for ``order`` as the stream would have sent it (no trade)."""
    return ExecutionReport(
        event_time_ms=now_ms,
        symbol=order.symbol,
        client_order_id=order.client_order_id,
        side=order.side,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        quantity=order.quantity,
        price=order.price,
        execution_type=kind,
        status=status,
        reject_reason="NONE",
        order_id=order.order_id,
        last_qty=ZERO,
        cumulative_qty=order.cumulative_qty,
        last_price=ZERO,
        commission=ZERO,
        commission_asset=None,
        transaction_time_ms=now_ms,
        trade_id=-1,
        is_maker=False,
        orig_client_order_id="",
        cumulative_quote_qty=order.cumulative_quote_qty,
    )


def _other_order(order: _Order, client_order_id: str) -> bool:
    """Whether ``client_order_id`` names another order than ``order`` (an empty id, as a
    fill read from REST has, names none; an amend's earlier names are the order's)."""
    if not order.client_order_id or not client_order_id:
        return False
    return client_order_id != order.client_order_id and client_order_id not in order.aliases
