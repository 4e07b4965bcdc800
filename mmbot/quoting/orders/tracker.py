"""The order tracker: the bot's book of its own orders, driven by the state table (sans-IO).

What it is for: knowing, at every moment, which of the bot's orders may be on the exchange,
how much of each has filled, and which ones the shell must query because a request's outcome
is unknown (DESIGN.md §4.2). The quoter maps venue replies and user-stream events to the
``on_*`` methods; :func:`~mmbot.quoting.orders.reconcile.reconcile` reads
:meth:`OrderTracker.live`.

What it must never do: I/O, read a clock, raise on a surprising event, or guess. How an
order moves between states lives in one table, :mod:`mmbot.quoting.orders.states` (read its
docstring for the rules); an event with no entry there is an *anomaly*: recorded in
:meth:`OrderTracker.anomalies` and returned as an :class:`OrderTransition`, the state kept.

Fill quantity is monotone: ``filled = min(quantity, max(sum of de-duplicated fills, largest
cumulative quantity reported))``; it never decreases and never exceeds quantity. A fill that
completes the quantity makes the order FILLED (the exchange says so).

The values it takes and returns (:class:`OrderIntent`, :class:`TrackedOrder`,
:class:`OrderTransition`, :class:`TrackerStatistics`) live in
:mod:`mmbot.quoting.orders.values`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from decimal import Decimal

import attrs

from mmbot.model import ZERO, Fill, OrderStatus, Outcome, Side
from mmbot.quoting.orders.client_ids import ClientIdFactory
from mmbot.quoting.orders.states import (
    CONTRADICTIONS,
    QUERY_EVENTS,
    TRANSITIONS,
    OrderState,
    TrackerEvent,
    normalise,
)
from mmbot.quoting.orders.values import (
    DEFAULT_RECV_WINDOW_S,
    NOT_FOUND_MARGIN_S,
    OrderIntent,
    OrderTransition,
    TrackedOrder,
    TrackerStatistics,
)

S = OrderState
E = TrackerEvent


@attrs.define(eq=False)
class OrderTracker:
    """The bot's orders, keyed by client order id (any number of symbols).

    ``max_closed`` terminal orders are kept (oldest forgotten first) so late fills and
    duplicates still find their order; ``max_anomalies`` recent anomalies are kept.
    """

    ids: ClientIdFactory
    max_closed: int = 10_000
    max_anomalies: int = 1_000
    # Invariant: every order ever created is in _orders until it is terminal and evicted.
    _orders: dict[str, TrackedOrder] = attrs.field(factory=dict, init=False)
    # Invariant: _live holds, per symbol and in _orders' order, the ids of the orders in
    # _orders that are not terminal (what ``live`` answers without scanning the closed).
    _live: dict[str, dict[str, None]] = attrs.field(factory=dict, init=False)
    _by_order_id: dict[tuple[str, int], str] = attrs.field(factory=dict, init=False)
    _trades: dict[str, set[int]] = attrs.field(factory=dict, init=False)
    _closed: deque[str] = attrs.field(factory=deque, init=False)
    _anomalies: deque[OrderTransition] = attrs.field(init=False)
    _created: int = attrs.field(default=0, init=False)
    _fills: int = attrs.field(default=0, init=False)
    _duplicate_fills: int = attrs.field(default=0, init=False)
    _anomaly_count: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        self._anomalies = deque(maxlen=self.max_anomalies)

    # -- queries ---------------------------------------------------------------------------

    def get(self, cid: str) -> TrackedOrder | None:
        return self._orders.get(cid)

    def __iter__(self) -> Iterator[TrackedOrder]:
        return iter(list(self._orders.values()))

    def live(self, symbol: str | None = None) -> list[TrackedOrder]:
        """Orders that may be on the exchange: every non-terminal state (oldest first).

        Read from the live index, so its cost is the number of live orders, not of the
        ``max_closed`` terminal ones kept beside them.
        """
        orders = self._orders
        if symbol is not None:
            return [orders[cid] for cid in self._live.get(symbol, ())]
        return [o for o in orders.values() if not o.state.is_terminal]

    def unresolved(self, symbol: str | None = None) -> list[TrackedOrder]:
        """Orders whose fate is unknown: the shell must query these by client order id."""
        return [o for o in self.live(symbol) if o.state is S.UNRESOLVED]

    def anomalies(self) -> list[OrderTransition]:
        return list(self._anomalies)

    def statistics(self) -> TrackerStatistics:
        states = dict.fromkeys(OrderState, 0)
        for o in self._orders.values():
            states[o.state] += 1
        live = sum(n for s, n in states.items() if not s.is_terminal)
        return TrackerStatistics(
            created=self._created,
            live=live,
            unresolved=states[S.UNRESOLVED],
            states=states,
            fills=self._fills,
            duplicate_fills=self._duplicate_fills,
            anomalies=self._anomaly_count,
        )

    # -- inputs ----------------------------------------------------------------------------

    def new_order(self, intent: OrderIntent, now: float | None = None) -> str:
        """Record an order about to be sent (PENDING_NEW); returns its client order id.

        ``now`` (optional) is when it is created; :meth:`on_place_outcome` moves that to
        when the outcome arrived. Together they bound when the request was sent, which
        decides when a "not found" may be believed (:meth:`on_query_result`).
        """
        cid = self.ids.next_id((intent.side, intent.level))
        self._orders[cid] = TrackedOrder(
            client_order_id=cid,
            symbol=intent.symbol,
            side=intent.side,
            level=intent.level,
            price=intent.price,
            quantity=intent.quantity,
            type=intent.type,
            placed_at=now,
        )
        self._live.setdefault(intent.symbol, {})[cid] = None
        self._trades[cid] = set()
        self._created += 1
        return cid

    def adopt(
        self,
        cid: str,
        symbol: str,
        slot: tuple[Side, int],
        price: Decimal,
        quantity: Decimal,
        order_id: int,
        executed_qty: Decimal = ZERO,
    ) -> TrackedOrder:
        """Take over a resting order this tracker did not create (an earlier run's, found
        open at start-up): from now on it is tracked like one of its own.

        Adopting an id the tracker already knows changes nothing and returns its record.
        """
        known = self._orders.get(cid)
        if known is not None:
            return known
        side, level = slot
        order = TrackedOrder(
            client_order_id=cid,
            symbol=symbol,
            side=side,
            level=level,
            price=price,
            quantity=quantity,
            state=S.PARTIALLY_FILLED if executed_qty > 0 else S.OPEN,
            order_id=order_id,
            reported_qty=executed_qty,
        )
        self._orders[cid] = order
        self._live.setdefault(symbol, {})[cid] = None
        self._by_order_id[(symbol, order_id)] = cid
        self._trades[cid] = set()
        self._created += 1
        return order

    def on_place_outcome(
        self,
        cid: str,
        outcome: Outcome,
        order_id: int | None = None,
        reason: str | None = None,
        now: float | None = None,
    ) -> OrderTransition:
        """The outcome of the placement request (``reason``: the venue's message if any).

        ``now``: when the outcome arrived. The request was signed and sent before that, so
        it is a safe upper bound on its send time (see :meth:`on_query_result`).
        """
        if now is not None:
            order = self._orders.get(cid)
            if order is not None and (order.placed_at is None or now > order.placed_at):
                self._orders[cid] = order.changed(placed_at=now)
        event = {
            Outcome.OK: E.PLACE_OK,
            Outcome.FAILED: E.PLACE_FAILED,
            Outcome.UNKNOWN: E.PLACE_UNKNOWN,
        }[outcome]
        return self._apply(cid, event, order_id=order_id, note=reason)

    def on_ack(self, cid: str, order_id: int) -> OrderTransition:
        """The exchange reports the order NEW (user stream)."""
        return self._apply(cid, E.ACK, order_id=order_id)

    def on_fill(self, fill: Fill) -> OrderTransition:
        """One trade of one order; de-duplicated by (order_id, trade_id)."""
        cid = self._resolve_cid(fill.client_order_id, fill.symbol, fill.order_id)
        if cid is None:
            return self._anomaly(fill.client_order_id, E.FILL, None, "fill for an unknown order")
        trades = self._trades[cid]
        if fill.trade_id in trades:
            self._duplicate_fills += 1
            order = self._orders[cid]
            return OrderTransition(cid, None, order.state, order.state)
        trades.add(fill.trade_id)
        self._fills += 1
        order = self._orders[cid]
        note = None
        if order.fills_qty + fill.quantity > order.quantity:
            note = f"fills exceed quantity {order.quantity}"
        updated = attrs.evolve(order, fills_qty=order.fills_qty + fill.quantity)
        return self._after_fill(order, updated, fill.order_id, note)

    def on_cumulative(
        self, cid: str, cumulative: Decimal, order_id: int | None = None
    ) -> OrderTransition:
        """The exchange's cumulative filled quantity (``z``); only ever moves it up."""
        order = self._orders.get(cid)
        if order is None:
            return self._anomaly(cid, E.FILL, None, "cumulative for an unknown order")
        note = None
        if cumulative > order.quantity:
            note = f"cumulative {cumulative} exceeds quantity {order.quantity}"
        updated = attrs.evolve(order, reported_qty=max(order.reported_qty, cumulative))
        return self._after_fill(order, updated, order_id, note)

    def on_cancelled(self, cid: str) -> OrderTransition:
        return self._apply(cid, E.CANCELLED)

    def on_expired(self, cid: str) -> OrderTransition:
        return self._apply(cid, E.EXPIRED)

    def on_rejected(self, cid: str, reason: str | None = None) -> OrderTransition:
        return self._apply(cid, E.REJECTED, note=reason)

    def on_gone(self, cid: str, reason: str | None = None) -> OrderTransition:
        """The venue no longer knows the order (the user stream's ``OrderGone``): a live
        order, an UNRESOLVED one included, is settled CANCELLED (it left the book with no
        further fills) and is never queried again; a terminal one stays as it is."""
        return self._apply(cid, E.GONE, note=reason)

    def request_cancel(self, cid: str) -> OrderTransition:
        """Record a cancel about to be sent (only a resting order can be cancelled)."""
        return self._apply(cid, E.CANCEL_REQUEST)

    def on_cancel_outcome(self, cid: str, outcome: Outcome) -> OrderTransition:
        """The outcome of the cancel request.

        FAILED makes a resting order UNRESOLVED, not OPEN: the venue also refuses to cancel
        an order that is no longer open (Binance -2011), so the shell must query it.
        """
        event = {
            Outcome.OK: E.CANCEL_OK,
            Outcome.FAILED: E.CANCEL_FAILED,
            Outcome.UNKNOWN: E.CANCEL_UNKNOWN,
        }[outcome]
        return self._apply(cid, event)

    def on_query_result(
        self,
        cid: str,
        found: bool,
        status: OrderStatus | None = None,
        executed_qty: Decimal | None = None,
        order_id: int | None = None,
        now: float | None = None,
        recv_window_s: float = DEFAULT_RECV_WINDOW_S,
    ) -> OrderTransition:
        """The answer to a query by client order id (how UNRESOLVED orders are resolved).

        "Not found" is believed only when it can be final:

        - for an order known to exist (it had an order id or fills), it means the order is
          gone: CANCELLED, recorded as an anomaly (the venue normally still finds it);
        - for a placement whose fate is unknown, the request may still be in flight until
          its send time + ``recv_window_s`` seconds (the venue refuses it after that). With
          ``now`` and a known send time (``placed_at``), a "not found" before ``placed_at +
          recv_window_s + NOT_FOUND_MARGIN_S`` leaves the order UNRESOLVED (query again later);
          after it, the order never reached the book: REJECTED. Without ``now`` it is
          believed at once.
        """
        order = self._orders.get(cid)
        if order is None:
            return self._anomaly(cid, None, None, "query result for an unknown order")
        if not found:
            if order.order_id is not None or order.filled > 0:
                transition = self._apply(cid, E.QUERY_GONE)
                if transition.anomaly is None:
                    transition = attrs.evolve(
                        transition, anomaly="an order known to exist not found"
                    )
                    self._record(transition)
                return transition
            placed_at = order.placed_at
            if (
                now is not None
                and placed_at is not None
                and now < placed_at + recv_window_s + NOT_FOUND_MARGIN_S
            ):
                return self._apply(cid, E.QUERY_NOT_FOUND_EARLY)
            return self._apply(cid, E.QUERY_NOT_FOUND)
        if status is None:
            return self._anomaly(cid, None, order.state, "query found the order without status")
        if executed_qty is not None:
            self.on_cumulative(cid, executed_qty, order_id)
        if status is OrderStatus.FILLED:
            order = self._orders[cid]
            updated = attrs.evolve(order, reported_qty=order.quantity)
            return self._after_fill(order, updated, order_id)
        return self._apply(cid, QUERY_EVENTS[status], order_id=order_id)

    # -- the machine -----------------------------------------------------------------------

    def _resolve_cid(self, cid: str, symbol: str, order_id: int) -> str | None:
        if cid in self._orders:
            return cid
        return self._by_order_id.get((symbol, order_id))

    def _after_fill(
        self,
        before: TrackedOrder,
        updated: TrackedOrder,
        order_id: int | None,
        note: str | None = None,
    ) -> OrderTransition:
        cid = before.client_order_id
        self._orders[cid] = updated
        if note is not None:
            self._anomaly(cid, E.FILL, before.state, note)
        if updated.filled == updated.quantity and updated.state is not S.FILLED:
            return self._apply(cid, E.FILL_COMPLETE, order_id=order_id)
        if updated.filled > before.filled:
            return self._apply(cid, E.FILL, order_id=order_id)
        return OrderTransition(cid, None, before.state, updated.state)

    def _apply(
        self, cid: str, event: TrackerEvent, order_id: int | None = None, note: str | None = None
    ) -> OrderTransition:
        order = self._orders.get(cid)
        if order is None:
            return self._anomaly(cid, event, None, "event for an unknown order")
        if order_id is not None and order.order_id is None:
            order = order.changed(order_id=order_id)
            self._orders[cid] = order
            self._by_order_id[(order.symbol, order_id)] = cid
        before = order.state
        after = TRANSITIONS[before].get(event)
        anomaly = None
        if after is None:
            after = CONTRADICTIONS.get((before, event))
            anomaly = f"{event.value} in state {before.value}" + (f": {note}" if note else "")
            if after is None:
                return self._anomaly(cid, event, before, anomaly)
        after = normalise(after, order.filled > 0)
        if after is not before:
            self._orders[cid] = order.changed(state=after)
            if after.is_terminal:
                self._live[order.symbol].pop(cid, None)
                self._close(cid)
            elif before.is_terminal:  # a contradiction brought it back: rare, so rebuild
                self._reindex(order.symbol)
        transition = OrderTransition(cid, event, before, after, anomaly)
        if anomaly is not None:
            self._record(transition)
        return transition

    def _reindex(self, symbol: str) -> None:
        """Rebuild ``symbol``'s live index from ``_orders`` (keeps their order)."""
        self._live[symbol] = {
            cid: None
            for cid, o in self._orders.items()
            if o.symbol == symbol and not o.state.is_terminal
        }

    def _anomaly(
        self, cid: str, event: TrackerEvent | None, state: OrderState | None, why: str
    ) -> OrderTransition:
        transition = OrderTransition(cid, event, state, state, why)
        self._record(transition)
        return transition

    def _record(self, transition: OrderTransition) -> None:
        self._anomaly_count += 1
        self._anomalies.append(transition)

    def _close(self, cid: str) -> None:
        self._closed.append(cid)
        while len(self._closed) > self.max_closed:
            old = self._closed.popleft()
            record = self._orders.get(old)
            if record is None or not record.state.is_terminal:
                continue
            del self._orders[old]
            del self._trades[old]
            if record.order_id is not None:
                self._by_order_id.pop((record.symbol, record.order_id), None)
