"""The fake exchange's stream faults at work: drops, stalls, gaps, duplicates, losses (trio shell).

What it is for: :class:`StreamFaults`, the part of :class:`~mmbot.sim.exchange.Exchange` that
carries out the stream faults of its :class:`~mmbot.sim.faults.FaultPlan` (``ws_drop``,
``ws_stall``, ``seq_gap``, ``ws_dup_reorder``, ``packet_loss``, ``stale_snapshot``; the plan
decides, sans-IO, and this does). It keeps what those faults need between messages: which
connections are stalled and until when, the messages each connection holds back to send out
of order, whether each connection is inside a loss burst, and a log of recent book updates
(with the quantity each replaced) so a ``depth`` answer can be rewound to a true past book.
Its :meth:`StreamFaults.clock` task wakes at each instant a fault acts on connections (a drop,
a stall's start and end, the end of a reordering) and applies it; a new plan (a heal) ends
every stall, sends every held message and ends every burst at once. The market streams and
the user-data events pass through :meth:`StreamFaults.deliver` only while the plan holds a
stream fault, so a plan without one leaves the exchange's paths (and its random stream) as
they were. Loopback and simulated mode share it: both serve connections through
``sim/ws_app.py``, whose writer, pinger and ping answers obey a stalled outbox.

What it must never do: draw from the exchange's RNG for a message or connection no fault
could hit; block the exchange (a stalled connection's frames wait in its outbox, which drops
it as a slow consumer when full); keep state for a connection that is gone; read the wall
clock (fault time is trio time since the exchange started).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import trio

from mmbot.model import Side
from mmbot.sim.dialect.bodies import num
from mmbot.sim.engine import BookDelta, EngineEvent
from mmbot.sim.faults import (
    FaultPlan,
    PacketLoss,
    SeqGap,
    StaleSnapshot,
    WsDrop,
    WsDupReorder,
    WsStall,
)

if TYPE_CHECKING:
    from mmbot.sim.connections import Outbox
    from mmbot.sim.exchange import Exchange

#: Book updates the rewind log keeps at most per symbol, whatever the faults ask.
MAX_REWIND = 1_000_000
#: ``depth``'s default and largest ``limit`` (the dialect's).
DEPTH_DEFAULT_LIMIT = 100
DEPTH_MAX_LIMIT = 5000


@attrs.define(eq=False)
class _Held:
    """A message held back: sent after ``behind`` more messages of its connection."""

    behind: int
    text: str
    channel: str
    event_type: str


@attrs.define(eq=False)
class StreamFaults:
    """The exchange's stream-fault state (see the module docstring)."""

    exchange: Exchange
    #: The plan holds a per-message fault (the stream paths go through :meth:`deliver`).
    messages: bool = False
    #: Stalled connections and the fault time each is released at.
    _stalled: dict[Outbox, float] = attrs.field(factory=dict)
    _held: dict[Outbox, list[_Held]] = attrs.field(factory=dict)
    _bursts: dict[Outbox, bool] = attrs.field(factory=dict)
    #: Per symbol: (time ms, update id, bid side, price, quantity before); None: not kept.
    _rewind: dict[str, deque[tuple[int, int, bool, Decimal, Decimal]]] | None = None
    _rewind_lag: int = 0
    _rewind_age_ms: int = 0
    _changed: trio.Event = attrs.field(factory=trio.Event)
    _clock_running: bool = False

    # ---- the plan ----------------------------------------------------------------------

    @property
    def rewinds(self) -> bool:
        """Whether a stale snapshot is planned (book updates are logged, depth rewritten)."""
        return self._rewind is not None

    def plan_set(self, plan: FaultPlan, nursery: trio.Nursery | None) -> None:
        """A new plan: end every stall, send every held message, end every burst; start
        the clock if the plan acts on connections (``nursery``: the exchange's, once run)."""
        now_ms = self.exchange.now_ms()
        for outbox in list(self._stalled):
            self._release(outbox, now_ms)
        for outbox in list(self._held):
            self._flush(outbox, now_ms)
        self._bursts.clear()
        faults = plan.stream_faults
        self.messages = any(isinstance(f, SeqGap | WsDupReorder | PacketLoss) for f in faults)
        stale = [f for f in faults if isinstance(f, StaleSnapshot)]
        if not stale:
            self._rewind = None
        else:
            self._rewind = self._rewind if self._rewind is not None else {}
            self._rewind_lag = max((f.lag or 0 for f in stale), default=0)
            self._rewind_age_ms = max((round((f.age or 0) * 1000) for f in stale), default=0)
        self._changed.set()
        self._changed = trio.Event()
        timed = any(isinstance(f, WsDrop | WsStall | WsDupReorder) for f in faults)
        if timed and nursery is not None and not self._clock_running:
            self._clock_running = True
            nursery.start_soon(self.clock)

    async def clock(self) -> None:
        """Apply the connection faults at their instants, until cancelled."""
        self._apply_active(self.exchange.fault_time())
        checked = self.exchange.fault_time()
        while True:
            changed = self._changed
            at = self.exchange.faults.next_stream_instant(checked)
            deadline = math.inf if at is None else self.exchange.fault_epoch() + at
            with trio.move_on_at(deadline):
                await changed.wait()
            if changed.is_set():  # a new plan: what is active now applies at once
                checked = self.exchange.fault_time()
                self._apply_active(checked)
                continue
            assert at is not None
            self._apply_instant(at)
            checked = at

    def _apply_active(self, now: float) -> None:
        for fault in self.exchange.faults.active_connection_faults(now):
            if isinstance(fault, WsDrop):
                self._drop(fault)
            else:
                self._stall(fault)

    def _apply_instant(self, now: float) -> None:
        plan = self.exchange.faults
        now_ms = self.exchange.now_ms()
        for outbox, until in list(self._stalled.items()):
            if until <= now + 1e-9:
                self._release(outbox, now_ms)
        for drop in plan.drops_at(now):
            self._drop(drop)
        for stall in plan.stalls_from(now):
            self._stall(stall)
        if self._held and plan.dup_reorder_ends(now):
            for outbox in list(self._held):
                self._flush(outbox, now_ms)

    # ---- connections ---------------------------------------------------------------------

    def _matching(self, fault: WsDrop | WsStall) -> list[Outbox]:
        """The open connections ``fault`` aims at, each kept with its ``probability``."""
        exchange = self.exchange
        rng = exchange.fault_rng
        chosen = []
        for outbox in exchange.connections():
            if outbox.is_closed:
                continue
            classes, symbols = exchange.connection_classes(outbox)
            if not fault.target.matches_connection(classes, symbols):
                continue
            if fault.probability >= 1 or rng.random() < fault.probability:
                chosen.append(outbox)
        return chosen

    def _drop(self, fault: WsDrop) -> None:
        exchange = self.exchange
        now_ms = exchange.now_ms()
        for outbox in self._matching(fault):
            classes, _ = exchange.connection_classes(outbox)
            exchange.history.append_fault(
                now_ms, "ws_drop", outbox.label, ",".join(sorted(classes))
            )
            exchange.close_outbox(outbox, "dropped")

    def _stall(self, fault: WsStall) -> None:
        now_ms = self.exchange.now_ms()
        for outbox in self._matching(fault):
            if outbox not in self._stalled:
                self.exchange.history.append_fault(now_ms, "ws_stall", outbox.label, "stalled")
                outbox.hold()
            self._stalled[outbox] = max(self._stalled.get(outbox, 0.0), fault.end)

    def _release(self, outbox: Outbox, now_ms: int) -> None:
        del self._stalled[outbox]
        outbox.release()
        if not outbox.is_closed:
            self.exchange.history.append_fault(now_ms, "ws_stall", outbox.label, "released")

    def forget(self, outbox: Outbox) -> None:
        """The connection is closed: nothing more is kept for it."""
        if outbox in self._stalled:
            del self._stalled[outbox]
            outbox.release()
            now_ms = self.exchange.now_ms()
            self.exchange.history.append_fault(now_ms, "ws_stall", outbox.label, "closed")
        self._held.pop(outbox, None)
        self._bursts.pop(outbox, None)

    # ---- messages ------------------------------------------------------------------------

    def gap(self, symbol: str, stream: str, now_ms: int) -> bool:
        """Whether a ``seq_gap`` swallows this depth diff of ``symbol`` (recorded if so)."""
        exchange = self.exchange
        fault = exchange.faults.drops_diff(symbol, exchange.fault_time(), exchange.fault_rng)
        if fault is None:
            return False
        exchange.history.append_fault(now_ms, "seq_gap", stream, "depthUpdate dropped")
        return True

    def deliver(
        self,
        outbox: Outbox,
        text: str,
        channel: str,
        event_type: str,
        now_ms: int,
        stream_class: str,
        symbol: str | None,
    ) -> None:
        """Send one stream message through the plan's losses, duplicates and reorderings."""
        exchange = self.exchange
        plan = exchange.faults
        now = exchange.fault_time()
        rng = exchange.fault_rng
        loss = plan.loss(stream_class, symbol, now)
        if loss is not None:
            was = self._bursts.get(outbox, False)
            lost = self._bursts[outbox] = loss.step(was, rng)
            if lost:
                if not was:
                    exchange.history.append_fault(now_ms, "packet_loss", outbox.label, "burst")
                return
        mix = plan.dup_reorder(stream_class, symbol, now)
        twice = False
        if mix is not None:
            behind, twice = mix.decide(rng)
            if behind:
                self._held.setdefault(outbox, []).append(_Held(behind, text, channel, event_type))
                detail = f"{event_type} held behind {behind}"
                exchange.history.append_fault(now_ms, "ws_dup_reorder", outbox.label, detail)
                return
        held = self._held.get(outbox)
        exchange.deliver(outbox, text, channel, event_type, now_ms)
        if twice:
            detail = f"{event_type} duplicated"
            exchange.history.append_fault(now_ms, "ws_dup_reorder", outbox.label, detail)
            exchange.deliver(outbox, text, channel, event_type, now_ms)
        if held:
            due = []
            for message in held:
                message.behind -= 1
                if message.behind <= 0:
                    due.append(message)
            if due:
                held[:] = [m for m in held if m.behind > 0]
                if not held:
                    del self._held[outbox]
                for message in due:
                    exchange.deliver(
                        outbox, message.text, message.channel, message.event_type, now_ms
                    )

    def _flush(self, outbox: Outbox, now_ms: int) -> None:
        for message in self._held.pop(outbox, []):
            self.exchange.deliver(outbox, message.text, message.channel, message.event_type, now_ms)

    # ---- stale snapshots -----------------------------------------------------------------

    def record(self, events: Iterable[EngineEvent], now_ms: int) -> None:
        """Log the book updates among ``events`` with the quantity each replaces (call
        before the feed's mirror applies them); only while a stale snapshot is planned."""
        rewind = self._rewind
        if rewind is None:
            return
        feed = self.exchange.feed
        touched: dict[tuple[str, bool, Decimal], Decimal] = {}
        for event in events:
            if type(event) is not BookDelta:
                continue
            assert isinstance(event, BookDelta)
            bid = event.side is Side.BUY
            key = (event.symbol, bid, event.price)
            before = touched.get(key)
            if before is None:
                try:
                    mirror = feed.book(event.symbol)
                except KeyError:
                    continue
                before = (mirror.bids if bid else mirror.asks).get(event.price, Decimal(0))
            touched[key] = event.quantity
            log = rewind.get(event.symbol)
            if log is None:
                log = rewind[event.symbol] = deque(maxlen=MAX_REWIND)
            log.append((now_ms, event.update_id, bid, event.price, before))
        horizon = now_ms - self._rewind_age_ms
        for log in rewind.values():
            while len(log) > self._rewind_lag and log[0][0] < horizon:
                log.popleft()

    def stale_depth(self, symbol: str, limit: int) -> dict[str, Any] | None:
        """The ``depth`` answer a ``stale_snapshot`` gives now for ``symbol`` (None: none
        strikes), recorded as a fault."""
        exchange = self.exchange
        if symbol not in exchange.feed.symbols:  # the dialect answered it: never here
            return None
        fault = exchange.faults.stale_snapshot(symbol, exchange.fault_time(), exchange.fault_rng)
        if fault is None or self._rewind is None:
            return None
        mirror = exchange.feed.book(symbol)
        bids, asks = dict(mirror.bids), dict(mirror.asks)
        last = mirror.last_update_id
        now_ms = exchange.now_ms()
        oldest_id = last - fault.lag if fault.lag is not None else None
        oldest_ms = now_ms - round((fault.age or 0) * 1000)
        for at_ms, update_id, bid, price, before in reversed(self._rewind.get(symbol, ())):
            if (update_id <= oldest_id) if oldest_id is not None else (at_ms <= oldest_ms):
                break
            side = bids if bid else asks
            if before:
                side[price] = before
            else:
                side.pop(price, None)
            last = update_id - 1
        detail = f"lastUpdateId {last} for {mirror.last_update_id}"
        exchange.history.append_fault(now_ms, "stale_snapshot", symbol, detail)
        return {
            "lastUpdateId": last,
            "bids": [[num(p), num(q)] for p, q in heapq.nlargest(limit, bids.items())],
            "asks": [[num(p), num(q)] for p, q in heapq.nsmallest(limit, asks.items())],
        }


def depth_limit(value: object) -> int:
    """The number of levels a ``depth`` request asked for (the dialect checked it)."""
    try:
        limit = int(str(value)) if value is not None else DEPTH_DEFAULT_LIMIT
    except ValueError:
        limit = DEPTH_DEFAULT_LIMIT
    return max(1, min(limit, DEPTH_MAX_LIMIT))
