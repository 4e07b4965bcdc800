"""The fake exchange's connections: per-connection outboxes and who listens to what (trio).

What it is for: :class:`Outbox`, one connection's bounded queue of encoded frames drained
by its writer task; :class:`ConnectionGate`, the cap on connections served at once (loopback
mode refuses the rest); and :class:`Connections`, the bookkeeping of the open connections:
which outboxes listen to which market stream, which receive which account's user data,
and an event for "no connection is open any more" (planned shutdown waits on it).
``sim/exchange.py`` decides what to send; ``sim/ws_app.py`` drains the outboxes.

What it must never do: block the caller (putting a frame never waits: a full outbox
refuses it, and the exchange drops that connection as a slow consumer); read a clock;
replace the "all closed" event while someone may be waiting on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import attrs
import trio


class Paced(str):
    """A frame queued while the fault plan holds a transport fault that may shape it
    (bandwidth, slicer): the frame's text, with the traffic it belongs to (an operation's
    answer, or ``faults.MARKET_STREAM`` / ``USER_STREAM``). The writer asks the exchange
    how to write it when its turn comes (a pipe's rate is the rate when the bytes go
    through). A ``str``, so whoever reads an outbox without writing to a socket takes it
    as any other frame."""

    traffic: str

    def __new__(cls, text: str, traffic: str) -> Paced:
        frame = super().__new__(cls, text)
        frame.traffic = traffic
        return frame


@attrs.define(eq=False)
class Outbox:
    """One connection's bounded queue of encoded frames, drained by its writer task.

    ``closed`` is set when the exchange stops feeding it: ``reason`` says why
    (``"slow"``: it filled up; ``"shutdown"``: a planned shutdown; ``"reset"``: a ``reset``
    fault, the connection is dropped without a close handshake once what is queued is
    written; ``"dropped"``: a ``ws_drop`` fault). A ``ws_stall`` fault holds it
    (:meth:`hold`): frames queue up and the writer gets none until :meth:`release`. The
    writer takes every
    queued frame at once (:meth:`take`), so a burst costs one wake-up and one write.
    """

    label: str
    combined: bool
    capacity: int
    reason: str | None = None
    #: A WebSocket API connection (not a market stream): frames it control events as such.
    ws_api: bool = False
    #: Set once a :class:`Paced` frame was queued (the writer then looks for them).
    paced: bool = False
    # (account, subscriptionId) pairs this outbox receives user data for (WS API only).
    user_subscriptions: list[tuple[str, int]] = attrs.field(factory=list)
    _frames: list[str] = attrs.field(factory=list)
    _stopped: bool = False  # no more frames will come (set with ``reason``)
    _held: bool = False  # stalled by a fault: frames wait, the writer sends nothing
    _lot: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot)

    @property
    def is_closed(self) -> bool:
        return self.reason is not None

    def __len__(self) -> int:
        """Frames queued and not yet taken by the writer."""
        return len(self._frames)

    def put(self, text: str) -> bool:
        """Queue one frame; ``False`` (nothing queued) when the outbox is full or stopped."""
        if self._stopped or len(self._frames) >= self.capacity:
            return False
        if isinstance(text, Paced):
            self.paced = True
        self._frames.append(text)
        if self._lot and not self._held:
            self._lot.unpark_all()
        return True

    @property
    def held(self) -> bool:
        """Stalled (a ``ws_stall`` fault): nothing is sent, no ping sent or answered."""
        return self._held

    def hold(self) -> None:
        """Stall the connection: frames queue up (a full outbox still refuses them)."""
        self._held = True

    def release(self) -> None:
        """End a stall: the writer sends what queued up meanwhile."""
        self._held = False
        self._lot.unpark_all()

    def stop(self) -> None:
        """No more frames: the writer drains what is queued, then :meth:`take` gives []."""
        self._stopped = True
        self._lot.unpark_all()

    async def take(self, most: int) -> list[str]:
        """Up to ``most`` queued frames, oldest first, waiting for one (and for the end of a
        stall); [] once stopped and drained."""
        if (self._held or not self._frames) and not self._stopped:
            while (self._held or not self._frames) and not self._stopped:
                await self._lot.park()
        else:
            await trio.lowlevel.checkpoint()
        frames = self._frames
        if len(frames) <= most:
            self._frames = []
            return frames
        self._frames = frames[most:]
        return frames[:most]


@attrs.define(eq=False)
class ConnectionGate:
    """At most ``limit`` connections (or requests) served at once; the rest are refused.

    ``try_enter`` takes a place (``False``: full, refuse the connection and count it);
    whoever got one gives it back with ``leave``.
    """

    limit: int
    # Invariant: 0 <= active <= limit
    active: int = 0
    refused: int = 0

    def try_enter(self) -> bool:
        if self.active >= self.limit:
            self.refused += 1
            return False
        self.active += 1
        return True

    def leave(self) -> None:
        self.active -= 1


@attrs.define(eq=False)
class Connections:
    """The open connections' outboxes and their subscriptions (see the module docstring)."""

    #: Market stream name -> the outboxes listening to it (dicts as ordered sets).
    by_stream: dict[str, dict[Outbox, None]] = attrs.field(factory=dict)
    #: Account -> the outboxes receiving its user data, with their subscription ids.
    by_account: dict[str, dict[Outbox, list[int]]] = attrs.field(factory=dict)
    _outboxes: dict[Outbox, None] = attrs.field(factory=dict)
    _next_label: int = 1
    # Invariant: set once _outboxes became empty; replaced only when it stops being empty
    # (so a waiter never waits on an event nobody will set).
    _all_closed: trio.Event = attrs.field(factory=trio.Event)

    def __len__(self) -> int:
        return len(self._outboxes)

    def __iter__(self) -> Iterator[Outbox]:
        """The open connections' outboxes, oldest first."""
        return iter(list(self._outboxes))

    def open(self, *, combined: bool, capacity: int, ws_api: bool = False) -> Outbox:
        """A new connection's outbox, listening to nothing yet."""
        outbox = Outbox(f"conn-{self._next_label}", combined, capacity, ws_api=ws_api)
        self._next_label += 1
        if not self._outboxes:  # 0 -> 1: a new wait; never replace an event being waited on
            self._all_closed = trio.Event()
        self._outboxes[outbox] = None
        return outbox

    def subscribe(self, outbox: Outbox, streams: Iterable[str]) -> None:
        if outbox.is_closed:
            return
        for name in streams:
            self.by_stream.setdefault(name, {})[outbox] = None

    def unsubscribe(self, outbox: Outbox, streams: Iterable[str]) -> None:
        for name in streams:
            subscribers = self.by_stream.get(name)
            if subscribers is not None:
                subscribers.pop(outbox, None)
                if not subscribers:
                    del self.by_stream[name]

    def set_user_subscriptions(self, outbox: Outbox, wanted: list[tuple[str, int]]) -> None:
        """Make ``outbox`` receive exactly the (account, subscriptionId) pairs ``wanted``."""
        if wanted == outbox.user_subscriptions:
            return
        self._drop_user_subscriptions(outbox)
        outbox.user_subscriptions = list(wanted)
        for account, sub_id in wanted:
            self.by_account.setdefault(account, {}).setdefault(outbox, []).append(sub_id)

    def close(self, outbox: Outbox, reason: str) -> None:
        """Stop feeding a connection; its writer drains what is queued, then ends."""
        if outbox.reason is None:
            outbox.reason = reason
        outbox.stop()
        self.unsubscribe(outbox, [n for n, subs in self.by_stream.items() if outbox in subs])
        self._drop_user_subscriptions(outbox)
        outbox.user_subscriptions = []

    def _drop_user_subscriptions(self, outbox: Outbox) -> None:
        for account, _ in outbox.user_subscriptions:
            subscribers = self.by_account.get(account)
            if subscribers is not None:
                subscribers.pop(outbox, None)
                if not subscribers:
                    del self.by_account[account]

    def forget(self, outbox: Outbox) -> None:
        """The connection is gone (its handler ended): close it and stop counting it."""
        self.close(outbox, outbox.reason or "closed")
        self._outboxes.pop(outbox, None)
        if not self._outboxes:
            self._all_closed.set()

    async def wait_all_closed(self) -> None:
        """Return once no connection is open."""
        if self._outboxes:
            await self._all_closed.wait()
