"""Order actions against the venue, with the tracker's bookkeeping around each (trio shell).

What it is for: turning the actions reconcile decides (:class:`Place`, :class:`Cancel`,
:class:`CancelReplace`) into venue requests, and every answer — ok, failed or unknown —
into the order tracker's inputs, so that the tracker always knows which of the bot's orders
may be on the exchange. The bookkeeping before a request is synchronous (the order is in
the tracker, PENDING_NEW or PENDING_CANCEL, before the first checkpoint), so a decision made
while requests are in flight sees their slots taken. Each request runs in its own cancel
scope with the action deadline; a deadline that passes, or a cancellation from outside,
leaves the outcome UNKNOWN in the tracker (the order is queried, never assumed gone).
Also: resolving unresolved orders by query, and cancelling every order of a symbol.

What it must never do: re-send a placement whose outcome is unknown; swallow
``Cancelled`` (the bookkeeping runs, then it propagates); let a venue exception escape
(the venue answers with three-valued results).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from mmbot.bot.state import BotState
from mmbot.bot.status import SymbolState
from mmbot.model import OrderType, Outcome
from mmbot.quoting.orders.client_ids import parse_client_order_id
from mmbot.quoting.orders.reconcile import Action, Cancel, Place
from mmbot.quoting.orders.states import OrderState
from mmbot.quoting.orders.values import OrderIntent
from mmbot.venue.base import (
    CancelReplaceMode,
    CancelReplaceRequest,
    OrderRef,
    PlaceRequest,
    Venue,
    VenueResult,
)
from mmbot.venue.binance.errors import MSG_MARKET_CLOSED, Code

log = logging.getLogger("mmbot.orders")

#: Called once per order request with (symbol, action, outcome, seconds it took).
OrderObserver = Callable[[str, str, Outcome, float], None]
#: Called with (symbol, seconds): a quote cycle's length, or a tick-to-order time.
LatencyObserver = Callable[[str, float], None]


class QuoteCycle:
    """One decision's actions, seen from the decision: the book it was made on (received
    at ``book_received_at``), whether the decision was the first on that book (its orders
    then react to the book's arrival: tick-to-order is measured for them), which of the
    symbol's decisions it was (``decision``: the runtime's count), and how many of its
    actions are still to end. When the last one has ended with its outcome known,
    ``on_end`` hears the cycle's length (book received -> then)."""

    __slots__ = ("book_received_at", "decision", "first_on_book", "on_end", "pending", "symbol")

    def __init__(
        self,
        symbol: str,
        book_received_at: float,
        *,
        first_on_book: bool,
        pending: int,
        on_end: LatencyObserver | None = None,
        decision: int = 0,
    ) -> None:
        self.symbol = symbol
        self.book_received_at = book_received_at
        self.first_on_book = first_on_book
        self.pending = pending
        self.on_end = on_end
        self.decision = decision

    def action_ended(self) -> None:
        self.pending -= 1
        if self.pending == 0 and self.on_end is not None:
            self.on_end(self.symbol, trio.current_time() - self.book_received_at)


def _ignore(symbol: str, action: str, outcome: Outcome, seconds: float) -> None:
    return None


class OrderActions:
    """Sends one bot's order actions to one venue (see the module docstring)."""

    def __init__(
        self,
        state: BotState,
        venue: Venue,
        *,
        observe: OrderObserver | None = None,
        tick_to_order: LatencyObserver | None = None,
    ) -> None:
        self.state = state
        self.venue = venue
        self.observe = observe or _ignore
        self.tick_to_order = tick_to_order
        self.timeout = state.config.orders.action_timeout
        self.in_flight = 0

    # -- starting actions (sync bookkeeping, then the request in ``nursery``) ---------------

    def start(
        self,
        nursery: trio.Nursery,
        symbol: str,
        action: Action,
        cycle: QuoteCycle | None = None,
    ) -> None:
        """Record ``action`` in the tracker now and send it in ``nursery``.

        ``cycle``: the decision the action belongs to. Its ``action_ended`` is called once
        the action has ended with its outcome known to the tracker (ok, failed, or unknown
        past its deadline), not when it is cancelled; a placement of a decision that was the
        first on its book reports its tick-to-order (book received -> request started).
        """
        tracker = self.state.tracker
        now = trio.current_time()
        runtime = self.state.runtime(symbol)
        runtime.actions += 1
        if isinstance(action, Cancel):
            tracker.request_cancel(action.client_order_id)
            self._spawn(nursery, cycle, self._cancel, symbol, action.client_order_id)
            return
        intent = OrderIntent.from_quote(symbol, action.quote)
        cid = tracker.new_order(intent, now)
        mid = runtime.mid
        if mid is not None:
            self.state.ledger.register_order(cid, mid)
        self.state.risk.on_order_sent(symbol, now)
        if isinstance(action, Place):
            self._spawn(nursery, cycle, self._place, symbol, cid, intent, cycle)
        else:
            tracker.request_cancel(action.client_order_id)
            self._spawn(
                nursery, cycle, self._cancel_replace, symbol, action.client_order_id, cid,
                intent, cycle,
            )  # fmt: skip

    def _spawn(
        self,
        nursery: trio.Nursery,
        cycle: QuoteCycle | None,
        fn: Callable[..., Awaitable[bool]],
        *args: object,
    ) -> None:
        self.in_flight += 1
        nursery.start_soon(self._counted, cycle, fn, *args)

    async def _counted(
        self, cycle: QuoteCycle | None, fn: Callable[..., Awaitable[bool]], *args: object
    ) -> None:
        as_decided = False
        try:
            as_decided = await fn(*args)
            if cycle is not None:
                cycle.action_ended()
        finally:
            self.in_flight -= 1
            runtime = self.state.runtime(str(args[0]))
            # Wake the quoter unless deciding again could only repeat what this action did:
            # it did what its decision asked, no decision came since (one that did skipped
            # this slot while it was in flight), no order was held back for budget, and the
            # quoter is not stopping (its stop waits for in-flight actions to end).
            if not (
                as_decided
                and cycle is not None
                and cycle.decision == runtime.decisions
                and not runtime.budget_short
                and runtime.state is not SymbolState.STOPPED
            ):
                runtime.wakeup.set()

    def _tick(self, symbol: str, cycle: QuoteCycle | None) -> None:
        """Tick-to-order of a placement: only for a decision that was the first on its
        book (a decision woken by something else does not react to a book change)."""
        if self.tick_to_order is None or cycle is None or not cycle.first_on_book:
            return
        self.tick_to_order(symbol, max(0.0, trio.current_time() - cycle.book_received_at))

    # -- the requests ----------------------------------------------------------------------

    async def _place(
        self, symbol: str, cid: str, intent: OrderIntent, cycle: QuoteCycle | None = None
    ) -> bool:
        tracker = self.state.tracker
        request = PlaceRequest(
            symbol, intent.side, OrderType.LIMIT_MAKER, intent.quantity, cid, intent.price
        )
        started = trio.current_time()
        outcome = Outcome.UNKNOWN
        try:
            self._tick(symbol, cycle)
            with trio.move_on_after(self.timeout):
                result = await self.venue.place(request)
                outcome = result.outcome
                order_id = result.value.order_id if result.value is not None else None
                tracker.on_place_outcome(
                    cid, outcome, order_id, result.reason or None, now=trio.current_time()
                )
                if result.is_failed:
                    self.state.ledger.forget_order(cid)
                    if result.reason == MSG_MARKET_CLOSED:  # a halt or maintenance began
                        self.state.suspect_status()
                    log.info(
                        "place refused",
                        extra={"symbol": symbol, "client_order_id": cid, "reason": result.reason},
                    )
                # Refused by the venue as it stands (a 4xx with one of its codes: -2010, it
                # would take; a filter): deciding again on the same book could only send it
                # again, at once and for nothing, until the order budget runs dry (found by
                # three fuzzers). The next book, a breaker's transition or a fill wakes the
                # quoter instead. Refused unsent (a breaker, the client's limiter) or
                # throttled, it is woken: the quoter asks the breaker before placing, and
                # the limiter makes a new try wait.
                return outcome is Outcome.OK or _refused_as_it_stands(result)
            tracker.on_place_outcome(
                cid, Outcome.UNKNOWN, reason="deadline", now=trio.current_time()
            )
            return False
        except BaseException:
            if outcome is Outcome.UNKNOWN and _pending(self.state, cid):
                tracker.on_place_outcome(
                    cid, Outcome.UNKNOWN, reason="cancelled", now=trio.current_time()
                )
            raise
        finally:
            self.observe(symbol, "place", outcome, trio.current_time() - started)

    async def _cancel(self, symbol: str, cid: str) -> bool:
        tracker = self.state.tracker
        started = trio.current_time()
        outcome = Outcome.UNKNOWN
        try:
            with trio.move_on_after(self.timeout):
                result = await self.venue.cancel(OrderRef(symbol, client_order_id=cid))
                outcome = result.outcome
                tracker.on_cancel_outcome(cid, outcome)
                return outcome is Outcome.OK
            tracker.on_cancel_outcome(cid, Outcome.UNKNOWN)
            return False
        except BaseException:
            if outcome is Outcome.UNKNOWN and _cancelling(self.state, cid):
                tracker.on_cancel_outcome(cid, Outcome.UNKNOWN)
            raise
        finally:
            self.observe(symbol, "cancel", outcome, trio.current_time() - started)

    async def _cancel_replace(
        self,
        symbol: str,
        old_cid: str,
        new_cid: str,
        intent: OrderIntent,
        cycle: QuoteCycle | None = None,
    ) -> bool:
        tracker = self.state.tracker
        request = CancelReplaceRequest(
            OrderRef(symbol, client_order_id=old_cid),
            PlaceRequest(
                symbol, intent.side, OrderType.LIMIT_MAKER, intent.quantity, new_cid, intent.price
            ),
            CancelReplaceMode.STOP_ON_FAILURE,
        )
        started = trio.current_time()
        outcome = Outcome.UNKNOWN
        try:
            self._tick(symbol, cycle)
            with trio.move_on_after(self.timeout):
                result = await self.venue.cancel_replace(request)
                outcome = result.outcome
                now = trio.current_time()
                parts = result.value
                if parts is None:  # the request as a whole failed or is unknown
                    tracker.on_cancel_outcome(old_cid, outcome)
                    tracker.on_place_outcome(new_cid, outcome, reason=result.reason, now=now)
                    return False
                tracker.on_cancel_outcome(old_cid, parts.cancel.outcome)
                new = parts.new
                if new is None:
                    tracker.on_place_outcome(
                        new_cid, Outcome.FAILED, reason="not attempted", now=now
                    )
                    return False
                order_id = new.value.order_id if new.value is not None else None
                tracker.on_place_outcome(
                    new_cid, new.outcome, order_id, new.reason or None, now=now
                )
                return parts.cancel.outcome is Outcome.OK and new.outcome is Outcome.OK
            tracker.on_cancel_outcome(old_cid, Outcome.UNKNOWN)
            tracker.on_place_outcome(
                new_cid, Outcome.UNKNOWN, reason="deadline", now=trio.current_time()
            )
            return False
        except BaseException:
            if outcome is Outcome.UNKNOWN:
                if _cancelling(self.state, old_cid):
                    tracker.on_cancel_outcome(old_cid, Outcome.UNKNOWN)
                if _pending(self.state, new_cid):
                    self._place_unknown(new_cid, "cancelled")
            raise
        finally:
            self.observe(symbol, "cancel_replace", outcome, trio.current_time() - started)

    def _place_unknown(self, cid: str, reason: str) -> None:
        self.state.tracker.on_place_outcome(
            cid, Outcome.UNKNOWN, reason=reason, now=trio.current_time()
        )

    # -- resolving and sweeping ------------------------------------------------------------

    async def resolve(self, symbol: str, cid: str) -> None:
        """Query one unresolved order by client order id and tell the tracker."""
        started = trio.current_time()
        result: VenueResult[object] | None = None
        with trio.move_on_after(self.timeout):
            answer = await self.venue.query_order(OrderRef(symbol, client_order_id=cid))
            result = answer
            now = trio.current_time()
            info = answer.value
            transition = None
            if info is not None:
                transition = self.state.tracker.on_query_result(
                    cid, True, info.status, info.executed_qty, info.order_id, now=now
                )
            elif answer.is_failed and answer.code == Code.NO_SUCH_ORDER:
                transition = self.state.tracker.on_query_result(cid, False, now=now)
            if transition is not None and transition.before is not transition.after:
                self.state.runtime(symbol).wakeup.set()  # a settled slot: decide on it
        outcome = Outcome.UNKNOWN if result is None else result.outcome
        self.observe(symbol, "query", outcome, trio.current_time() - started)

    async def cancel_all_of(self, symbol: str) -> None:
        """Cancel every live order of ``symbol`` the tracker knows, concurrently, then ask
        the venue to cancel whatever of ours is still open there (within the deadline)."""
        tracker = self.state.tracker
        async with trio.open_nursery() as nursery:
            for order in tracker.live(symbol):
                if order.state.is_resting:
                    self.start(nursery, symbol, Cancel(order.client_order_id))
        await self.sweep(symbol)

    async def sweep(self, symbol: str) -> list[str]:
        """Cancel, one by one, every open order of ``symbol`` with our prefix that the venue
        still lists; returns the client ids still open after that (empty when clean)."""
        prefix = self.state.prefix
        with trio.move_on_after(self.timeout):
            listed = await self.venue.open_orders(symbol)
            if listed.value is None:
                return ["(open orders could not be listed: " + listed.reason + ")"]
            ours = [o for o in listed.value if parse_client_order_id(o.client_order_id, prefix)]
            async with trio.open_nursery() as nursery:
                for order in ours:
                    nursery.start_soon(self._cancel_listed, symbol, order.client_order_id)
            again = await self.venue.open_orders(symbol)
            if again.value is None:
                return ["(open orders could not be listed: " + again.reason + ")"]
            return [
                o.client_order_id
                for o in again.value
                if parse_client_order_id(o.client_order_id, prefix)
            ]
        return ["(sweep deadline passed)"]

    async def _cancel_listed(self, symbol: str, cid: str) -> None:
        tracker = self.state.tracker
        known = tracker.get(cid)
        if known is not None and known.state.is_resting:
            tracker.request_cancel(cid)
            await self._cancel(symbol, cid)
            return
        # Not ours to track (an earlier run's) or in flight/unresolved: cancel it directly;
        # the user stream's cancel event (or the resolver's query) updates the tracker.
        started = trio.current_time()
        result = await self.venue.cancel(OrderRef(symbol, client_order_id=cid))
        self.observe(symbol, "cancel", result.outcome, trio.current_time() - started)


def _refused_as_it_stands(result: VenueResult[object]) -> bool:
    """Whether the venue refused the request itself, with one of its codes (a 4xx other
    than a throttle: a 429 or 418 is the limiter's business; a refusal before sending has
    no status)."""
    status = result.http_status
    return (
        result.code is not None and status is not None and 400 <= status < 500
        and status not in (429, 418)
    )  # fmt: skip


def _pending(state: BotState, cid: str) -> bool:
    order = state.tracker.get(cid)
    return order is not None and order.state is OrderState.PENDING_NEW


def _cancelling(state: BotState, cid: str) -> bool:
    order = state.tracker.get(cid)
    return order is not None and order.state is OrderState.PENDING_CANCEL
