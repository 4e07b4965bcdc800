"""One symbol's quoter: book in, decisions out, actions sent concurrently (trio shell).

What it is for: the loop DESIGN.md §3 draws, for one symbol. It wakes when something that
can change its decision happens — a book update (the market stream raises the wake-up as it
publishes the book; the quoter takes the newest one when it runs), an order event that
changed an order or the position, a finished action whose decision could now differ, or an
unresolved order settled by query (the account service and the actions raise its
:class:`~mmbot.bot.state.Wakeup`), a breaker transition, a halt or resume, or the moment its
book turns stale (one timer per book, :meth:`Quoter._wake_when_stale`) — never on a fixed
tick.
Each wake: the pipeline decides the desired quotes from frozen inputs, risk restrictions
apply, ``reconcile`` compares them with the tracker's live orders, the shared order budget
grants the new orders, and the actions start in the quoter's nursery, each in its own cancel
scope with a deadline (:mod:`mmbot.bot.actions`). A book that arrives while actions are in
flight is decided on at once: their slots are taken in the tracker, so reconcile leaves
them alone.

Quote cycles: each decision that sends actions hands them a
:class:`~mmbot.bot.actions.QuoteCycle`. With ``on_cycle``, once the last of them has ended
with its outcome known (ok, failed, or unknown past its deadline), it reports the time from
its book being received to then (``mmbot_quote_cycle_seconds``); a decision whose actions
are cancelled (the quoter stopping) reports nothing. The orders of a decision that is the
first on its book (a reaction to that book's arrival, not to a fill or an action's answer)
report their tick-to-order (``mmbot_tick_to_order_seconds``).

Staleness: the guards stage pulls the quotes of a book older than ``guards.stale_after`` or
gapped, and the quoter wakes exactly when its book turns stale, so the quotes are cancelled
within one decision. An open order breaker pulls the quotes too, and sends nothing until the
breaker lets calls through again (not a crash). Unresolved orders are queried every
``orders.resolve_interval`` until the tracker settles them.

Stopping (asked by its supervisor): it stops deciding, lets in-flight actions settle for
``shutdown.in_flight_wait``, then cancels every order of its symbol it knows.

What it must never do: block on another symbol, send a request for a slot the tracker says
is taken, re-send a placement with an unknown outcome, or swallow ``Cancelled``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import trio

from mmbot.bot.actions import LatencyObserver, OrderActions, QuoteCycle
from mmbot.bot.state import BotState
from mmbot.bot.status import SymbolState
from mmbot.clock import perf_counter_ns
from mmbot.model import BookSnapshot, Side
from mmbot.quoting.orders.reconcile import Action, Cancel, CancelReplace, Tolerances, reconcile
from mmbot.quoting.orders.states import OrderState
from mmbot.quoting.pipeline import (
    FRESH_STATE,
    IntensityFit,
    QuoteInputs,
    QuotePipeline,
    RiskFlags,
    StageTimings,
    TradeTick,
)
from mmbot.quoting.risk import restrict
from mmbot.quoting.strategy import TRADE_READING_STAGES, reads_public_trades
from mmbot.resilience.breaker import CircuitBreaker
from mmbot.supervision import current_child
from mmbot.venue.base import BookStream
from mmbot.venue.events import PublicTrade

log = logging.getLogger("mmbot.quoter")

#: Called after each decision with (symbol, stage timings).
TimingsObserver = Callable[[str, StageTimings], None]
#: Told of every decision: (symbol, book age in seconds, why quotes were pulled or None,
#: how many order actions it started).
DecisionObserver = Callable[[str, float, str | None, int], None]

#: How long past ``stale_after`` the quoter wakes to pull a stale book's quotes.
STALE_MARGIN = 0.001
_IN_FLIGHT = (OrderState.PENDING_NEW, OrderState.PENDING_CANCEL)


def fallback_change(before: IntensityFit | None, after: IntensityFit) -> str | None:
    """``"falls_back"`` when ``after`` falls back and ``before`` did not (or there was no
    fit before), ``"in_use"`` when ``after`` is usable and ``before`` fell back, else None:
    what the quoter logs, once per change and never per decision."""
    falls_back = after.fallback_reason is not None
    fell_back = before is not None and before.fallback_reason is not None
    if falls_back and not fell_back:
        return "falls_back"
    if fell_back and not falls_back:
        return "in_use"
    return None


def trade_tick(received_at: float, trade: PublicTrade) -> TradeTick:
    """A public trade as the pipeline reads it: at the trio time it arrived, on the
    aggressor's side (the seller when the buyer was the maker, else the buyer)."""
    side = Side.SELL if trade.buyer_is_maker else Side.BUY
    return TradeTick(received_at, trade.price, trade.quantity, side)


class Quoter:
    """The quoting loop of one symbol (a supervised child: ``run`` is its target)."""

    def __init__(
        self,
        state: BotState,
        symbol: str,
        actions: OrderActions,
        pipeline: QuotePipeline,
        *,
        orders_breaker: CircuitBreaker | None = None,
        on_timings: TimingsObserver | None = None,
        on_cycle: LatencyObserver | None = None,
        on_decision: DecisionObserver | None = None,
        throttled: Callable[[], bool] | None = None,
    ) -> None:
        self.state = state
        self.symbol = symbol
        self.runtime = state.runtime(symbol)
        self.actions = actions
        self.venue = actions.venue
        self.pipeline = pipeline
        self.breaker = orders_breaker
        self.on_timings = on_timings
        self.on_cycle = on_cycle
        self.on_decision = on_decision
        #: Whether a venue's Retry-After holds requests now (placements would be refused).
        self.throttled = throttled
        #: The book the last decision was made on (a decision on a newer one reacts to it).
        self.decided_book: BookSnapshot | None = None
        orders = state.config.orders
        self.tolerances = Tolerances(orders.price_tolerance_bps, orders.size_tolerance_ratio)
        self.params = state.config.strategy_for(symbol)
        self.reads_trades = reads_public_trades(self.params)
        self.stale_after = self.params.guards.stale_after
        #: Set when the quoter takes a book the staleness timer is waiting for.
        self._book_taken = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        child = current_child()
        runtime = self.runtime
        runtime.strategy_state = FRESH_STATE  # a restart starts its filters afresh
        # ... from the trades that come next (a backlog's distances and moves would be
        # measured against today's mid)
        kept = self.venue.public_trades(self.symbol, -1) if self.reads_trades else ()
        runtime.last_trade_id = kept[-1][1].trade_id if kept else -1
        runtime.intensity = None
        stop = child.stop_requested
        async with (
            self.venue.book_stream(self.symbol, on_update=runtime.wakeup.set) as books,
            trio.open_nursery() as background,
        ):
            background.start_soon(self._resolve_unresolved)
            background.start_soon(self._wake_on, stop)
            background.start_soon(self._wake_when_stale)
            try:
                async with trio.open_nursery() as inflight:
                    ready = False
                    if self._take_book(books):  # the current one: decide on it at once
                        runtime.wakeup.set()
                    while not stop.is_set():
                        await runtime.wakeup.wait()
                        if stop.is_set():
                            break
                        self._take_book(books)
                        if self._decide(inflight) and not ready:
                            ready = True
                            runtime.started.set()
                            task_status.started()
                    await self._stop(inflight)
            finally:
                background.cancel_scope.cancel()

    async def _wake_on(self, event: trio.Event) -> None:
        await event.wait()
        self.runtime.wakeup.set()

    async def _wake_when_stale(self) -> None:
        """Wake the quoter just after its book turns stale (one timer per book lifetime, not
        one deadline per decision): sleep until the current book would be stale (a newer
        book by then moves the moment on); a book that did turn stale wakes the quoter once
        (its guards then pull the quotes); with no book, an invalid one (pulled already) or
        one that has been woken for, wait for the quoter to take another."""
        runtime = self.runtime
        woken_for: BookSnapshot | None = None
        while True:
            book = runtime.book
            if book is not None and book.is_valid and book is not woken_for:
                at = book.received_at + self.stale_after + STALE_MARGIN
                if at == math.inf:  # never stale (guards.stale_after = inf)
                    woken_for = book
                elif at > trio.current_time():
                    await trio.sleep_until(at)
                    continue
                else:
                    woken_for = book
                    runtime.wakeup.set()
                    continue
            await self._book_taken.wait()

    # -- inputs ----------------------------------------------------------------------------

    def _new_trades(self) -> tuple[TradeTick, ...]:
        """The public trades since the last decision's, each once (by trade id)."""
        runtime = self.runtime
        received = self.venue.public_trades(self.symbol, runtime.last_trade_id)
        if not received:
            return ()
        runtime.last_trade_id = received[-1][1].trade_id
        return tuple(trade_tick(at, trade) for at, trade in received)

    def _take_book(self, books: BookStream) -> bool:
        """Take the newest book, if one came since the last (the stream raises the wake-up
        as it publishes one: no task of ours stands between a book and its decision);
        whether there was one."""
        try:
            book = books.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel):
            return False
        runtime, state, symbol = self.runtime, self.state, self.symbol
        runtime.book = book
        if self._book_taken.statistics().tasks_waiting:  # the staleness timer waits for it
            self._book_taken.set()
            self._book_taken = trio.Event()
        mid = runtime.mid
        if mid is not None:
            now = trio.current_time()
            state.ledger.on_mid(symbol, now, mid)
            state.update_risk(symbol, now)
        return True

    async def _resolve_unresolved(self) -> None:
        interval = self.state.config.orders.resolve_interval
        while True:
            await trio.sleep(interval)
            for order in self.state.tracker.unresolved(self.symbol):
                await self.actions.resolve(self.symbol, order.client_order_id)

    # -- one decision ----------------------------------------------------------------------

    def _decide(self, inflight: trio.Nursery) -> bool:
        """Decide on the current book and start the actions; True once it has quoted on a
        valid book (the quoter is then "ready")."""
        state, runtime, symbol = self.state, self.runtime, self.symbol
        book, instrument = runtime.book, runtime.instrument
        if book is None or instrument is None:
            return False
        first_on_book = book is not self.decided_book
        self.decided_book = book
        now = trio.current_time()
        risk = state.risk.check(symbol, now)
        # OPEN, or HALF_OPEN with its probes out: a placement now would be refused unsent,
        # fail at once and wake this quoter to decide again, over and over.
        breaker_open = (self.breaker is not None and self.breaker.refuses_calls()) or (
            self.throttled is not None and self.throttled()
        )
        halt = runtime.halt_reason or risk.halt_reason
        seen_trade_id = runtime.last_trade_id
        trades = self._new_trades() if self.reads_trades else ()
        inputs = QuoteInputs(
            symbol=symbol,
            instrument=instrument,
            now=now,
            book=book,
            params=self.params,
            position=state.ledger.position(symbol),
            trades=trades,
            risk=RiskFlags(halt_reason=halt, breaker_open=breaker_open),
            base_free=state.free(instrument.base_asset),
            quote_free=state.free(instrument.quote_asset),
        )
        decision, timings = self.pipeline.run(inputs, perf_counter_ns, runtime.strategy_state)
        if trades and TRADE_READING_STAGES.isdisjoint(timings.names):
            runtime.last_trade_id = seen_trade_id  # pulled before a stage read them: next time
        runtime.strategy_state = decision.state
        self._observe_intensity(decision.intensity)
        runtime.decisions += 1
        runtime.decision_us.append(timings.total_ns / 1000)
        if self.on_timings is not None:
            self.on_timings(symbol, timings)
        quotes = decision.quotes
        assert quotes is not None  # the runner always sets them
        quotes = restrict(quotes, risk)
        runtime.quotes = quotes
        runtime.pull_reason = quotes.reason
        if halt is not None:
            runtime.state = SymbolState.HALTED
        elif quotes.reason is not None:
            runtime.state = SymbolState.PULLED
        else:
            runtime.state = SymbolState.QUOTING
        if breaker_open:
            # Requests would be refused unsent; wait for the breaker (its transitions wake us).
            state.observe_uptime(symbol, now)
            if self.on_decision is not None:
                self.on_decision(symbol, now - book.received_at, quotes.reason, 0)
            return book.is_valid
        tolerances = state.budget.tolerances(self.tolerances, now)
        actions = reconcile(quotes, state.tracker.live(symbol), now, tolerances)
        wanted = sum(1 for a in actions if not isinstance(a, Cancel))
        granted = state.budget.grant(wanted, now) if risk.place_allowed else 0
        runtime.budget_short = granted < wanted or state.budget.short(now)
        sent: list[Action] = []
        for action in actions:
            if not isinstance(action, Cancel):
                if granted == 0:
                    if isinstance(action, CancelReplace):  # the cancel half always goes
                        sent.append(Cancel(action.client_order_id))
                    continue
                granted -= 1
            sent.append(action)
        if sent:
            cycle = QuoteCycle(
                symbol,
                book.received_at,
                first_on_book=first_on_book,
                pending=len(sent),
                on_end=self.on_cycle,
                decision=runtime.decisions,
            )
            for action in sent:
                self.actions.start(inflight, symbol, action, cycle)
        state.observe_uptime(symbol, now)
        if self.on_decision is not None:
            self.on_decision(symbol, now - book.received_at, quotes.reason, len(sent))
        return book.is_valid

    def _observe_intensity(self, fit: IntensityFit | None) -> None:
        """Keep the decision's intensity fit for the status (a decision pulled before the
        calibration stage ran leaves the last one); log once when the symbol starts falling
        back to the configured spread (with the reason) and once when it stops."""
        if fit is None:
            return
        runtime = self.runtime
        change = fallback_change(runtime.intensity, fit)
        runtime.intensity = fit
        if change == "falls_back":
            log.info(
                "calibration falls back to the configured spread",
                extra={"symbol": self.symbol, "reason": fit.fallback_reason},
            )
        elif change == "in_use":
            log.info(
                "calibration fit in use",
                extra={"symbol": self.symbol, "a": fit.a, "k": fit.k, "r2": fit.r2},
            )

    # -- stopping --------------------------------------------------------------------------

    async def _stop(self, inflight: trio.Nursery) -> None:
        """Let in-flight actions settle (bounded), then cancel every order of the symbol."""
        state, runtime = self.state, self.runtime
        runtime.state = SymbolState.STOPPED
        with trio.move_on_after(state.config.shutdown.in_flight_wait):
            while any(o.state in _IN_FLIGHT for o in state.tracker.live(self.symbol)):
                await runtime.wakeup.wait()
        for order in state.tracker.live(self.symbol):
            if order.state.is_resting:
                self.actions.start(inflight, self.symbol, Cancel(order.client_order_id))
