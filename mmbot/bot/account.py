"""The account service: the user stream into the order tracker, the ledger and the risk engine.

What it is for: one task per bot that reads the venue's user stream (execution reports and
balance changes, in order, with the venue's own reconcile after a gap) and hands each event
to the right place: order events to the order tracker (only the bot's own orders are
tracked), every fill of the account to the ledger exactly once (so the ledger matches the
exchange's fills for the account), exposure to the risk engine, balances to the bot state;
then it wakes the symbol's quoter.

An ``OrderGone`` (the venue no longer knows an order: -2013 for one believed open, or a
restarted venue) settles the tracker's order (``OrderTracker.on_gone``: CANCELLED, an
unresolved one included), so it is neither quoted against nor queried again. A
``VenueReset`` (the venue's ids went backwards: restarted) makes the ledger forget which of
that symbol's fill keys it booked, since the restarted venue numbers its fills again.

It also keeps the instruments' trading status current once it may have changed
(:meth:`AccountService.watch_status`): read again after an order was refused "Market is
closed.", and every few seconds while a symbol is not TRADING, so a halted symbol's quoter
pulls and quotes again once it trades.

What it must never do: decide or send anything but those reads (it records); book a fill
twice (the ledger de-duplicates by (symbol, order id, trade id)); swallow ``Cancelled``.
"""

from __future__ import annotations

import logging

import trio

from mmbot.bot.state import BotState
from mmbot.quoting.orders import OrderTransition, TrackerEvent
from mmbot.supervision import current_child
from mmbot.venue.base import Venue
from mmbot.venue.events import (
    BalanceChanged,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderGone,
    OrderRejected,
    Resynced,
    StreamGap,
    UserEvent,
    VenueReset,
)

log = logging.getLogger("mmbot.account")

#: Seconds between reads of the instruments' status while a symbol is not TRADING.
STATUS_POLL_HALTED = 5.0


async def _cancel_on(event: trio.Event, scope: trio.CancelScope) -> None:
    """Cancel ``scope`` once ``event`` is set (a supervised child's stop request)."""
    await event.wait()
    scope.cancel()


class AccountService:
    """Feeds one bot's state from the venue's user stream (a supervised child)."""

    def __init__(self, state: BotState, venue: Venue) -> None:
        self.state = state
        self.venue = venue
        self._nursery: trio.Nursery | None = None  # while running: where the watch runs
        self._watching = False
        #: A suspicion raised while a read was in flight (its answer may predate the halt),
        #: or while the service was not running: read once more.
        self._suspect_again = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        stop = current_child().stop_requested
        async with self.venue.user_stream() as events, trio.open_nursery() as nursery:
            task_status.started()
            nursery.start_soon(_cancel_on, stop, nursery.cancel_scope)
            self._nursery = nursery
            self.state.on_status_suspect = self.suspect_status
            try:
                if self.state.halted_symbols() or self._suspect_again:  # watch for the end
                    self.suspect_status()
                async for event in events:
                    self.on_event(event, trio.current_time())
            finally:
                self.state.on_status_suspect = None
                self._nursery = None

    def suspect_status(self) -> None:
        """The instruments' trading status may have changed: start :meth:`watch_status`
        unless it runs already."""
        if self._nursery is None or self._watching:
            self._suspect_again = True  # the running watch (or the next start) reads again
            return
        self._watching = True
        self._nursery.start_soon(self.watch_status)

    async def watch_status(self) -> None:
        """Read the instruments again, and every :data:`STATUS_POLL_HALTED` seconds while a
        symbol is not TRADING; wake the quoter of each symbol whose status changed (it
        pulls while closed and quotes again once it trades). Started after an order was
        refused "Market is closed." or with a symbol halted at start-up (found by the chaos
        fuzzer: a symbol halted at start-up was never quoted after the halt ended); ends
        once every symbol trades, so a venue that never halts is never asked. A read the
        venue does not answer is tried again at the next poll."""
        state = self.state
        try:
            while True:
                self._suspect_again = False
                result = await self.venue.instruments()
                if result.value is not None:
                    for symbol in state.set_instruments(result.value):
                        runtime = state.symbols[symbol]
                        status = runtime.instrument.status.value if runtime.instrument else None
                        log.info(
                            "symbol status changed", extra={"symbol": symbol, "status": status}
                        )
                        runtime.wakeup.set()
                    if not state.halted_symbols() and not self._suspect_again:
                        return
                await trio.sleep(STATUS_POLL_HALTED)
        finally:
            self._watching = False

    def on_event(self, event: UserEvent, now: float) -> None:
        """Record one user-stream event (synchronously: nothing here waits)."""
        state = self.state
        if isinstance(event, BalanceChanged):
            for balance in event.balances:
                state.balances[balance.asset] = balance
            return
        if isinstance(event, StreamGap):
            log.warning("user stream gap", extra={"reason": event.reason})
            return
        if isinstance(event, Resynced):
            log.info("user stream resynced", extra={"reason": event.reason})
            return
        if isinstance(event, VenueReset):  # a restarted venue numbers fills again
            forgotten = state.ledger.forget_fill_keys(event.symbol)
            log.warning(
                "venue reset",
                extra={"symbol": event.symbol, "reason": event.reason, "forgotten": forgotten},
            )
            return
        if not isinstance(
            event,
            OrderAccepted | OrderFilled | OrderCancelled | OrderExpired | OrderRejected | OrderGone,
        ):
            return  # a deposit or transfer: the next outboundAccountPosition carries it
        symbol = event.symbol
        tracker = state.tracker
        cid = event.client_order_id
        ours = tracker.get(cid) is not None
        # Wake the quoter only for what can change its decision: a fill it booked, or an
        # order of ours that changed state (the NEW that follows a placement's own answer
        # changes nothing: no second decision for it).
        changed = False
        if isinstance(event, OrderFilled):
            if state.ledger.on_fill(event.fill, now):
                changed = True
                if symbol in state.symbols:
                    state.update_risk(symbol, now)
            if ours:
                changed |= _moved(tracker.on_fill(event.fill))
        elif ours:
            if isinstance(event, OrderAccepted):
                changed = _moved(tracker.on_ack(cid, event.order_id))
            elif isinstance(event, OrderCancelled):
                changed = _moved(tracker.on_cancelled(cid))
            elif isinstance(event, OrderExpired):
                changed = _moved(tracker.on_expired(cid))
            elif isinstance(event, OrderGone):
                log.warning(
                    "order gone from the venue",
                    extra={"client_order_id": cid, "reason": event.reason},
                )
                changed = _moved(tracker.on_gone(cid, event.reason))
            else:
                changed = _moved(tracker.on_rejected(cid, event.reason))
        runtime = state.symbols.get(symbol)
        if runtime is not None and changed:
            runtime.wakeup.set()


def _moved(transition: OrderTransition) -> bool:
    """Whether an input changed the order's state (or filled it further)."""
    return transition.before is not transition.after or transition.event is TrackerEvent.FILL
