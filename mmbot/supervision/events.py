"""Supervision events and the bounded streams that deliver them (``handle.events()``).

What it is for: a supervisor (and every supervisor below it) reports what happens to its
children as :class:`SupervisionEvent` values (started, exited with its reason, restarting at
T, stopped, escalated) so a bot can feed metrics and logs from them. Each reader gets its
own :class:`EventStream`, a buffer of at most ``capacity`` events: when a reader falls behind,
the *oldest* events are dropped and the reader gets one ``DROPPED`` event carrying the
count before the next event. A slow reader, or one that stopped reading, therefore costs at
most ``capacity`` events of memory and never slows the supervisor down.

What it must never do: block or raise into the supervisor (``publish`` is synchronous and
cannot fail), or keep an abandoned stream alive (streams are held weakly).
"""

from __future__ import annotations

import enum
import weakref
from collections import deque

import attrs
import trio


class EventKind(enum.Enum):
    STARTED = "started"  # a child is ready; with child=None: the supervisor is running
    START_FAILED = "start_failed"  # a start failed (exception) or timed out
    EXITED = "exited"  # a child ended on its own: exception, or None for a normal return
    RESTARTING = "restarting"  # a child will start again at restart_at
    STOPPED = "stopped"  # a child stopped when asked (overran: cancelled at its budget);
    # with child=None: the supervisor stopped
    ESCALATED = "escalated"  # the supervisor exceeded its intensity (child=None)
    DROPPED = "dropped"  # this reader fell behind: `dropped` older events were lost


@attrs.frozen
class SupervisionEvent:
    """One thing that happened in a supervision tree, at trio time ``at``.

    ``supervisor`` is the path of the supervisor it happened in (``"root/feeds"``);
    ``child`` is the child id, or ``None`` for an event of the supervisor itself.
    """

    kind: EventKind
    supervisor: str
    at: float
    child: str | None = None
    exception: BaseException | None = None
    restart_at: float | None = None
    overran: bool = False
    dropped: int = 0


class EventStream:
    """One reader's bounded view of a supervisor's events; iterate it with ``async for``.

    It ends after the supervisor it was opened on reports its own ``STOPPED`` or
    ``ESCALATED`` event: the end of the run it was opened during (or of the next run, if it
    was opened while the supervisor was not running).
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._events: deque[SupervisionEvent] = deque()
        self._dropped = 0
        self._closed = False
        self._waiter: trio.Event | None = None

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> SupervisionEvent:
        if self._events or self._dropped:
            await trio.lowlevel.checkpoint()
        while not self._events and not self._dropped:
            if self._closed:
                raise StopAsyncIteration
            waiter = self._waiter = trio.Event()
            await waiter.wait()
        if self._dropped:
            count, self._dropped = self._dropped, 0
            first = self._events[0] if self._events else None
            return SupervisionEvent(
                EventKind.DROPPED,
                first.supervisor if first is not None else "",
                at=first.at if first is not None else trio.current_time(),
                dropped=count,
            )
        return self._events.popleft()

    def _push(self, event: SupervisionEvent) -> None:
        if self._closed:
            return
        if len(self._events) >= self.capacity:
            self._events.popleft()
            self._dropped += 1
        self._events.append(event)
        self._wake()

    def _close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.set()


class EventHub:
    """The streams open on one supervisor; ``publish`` fans an event out to each.

    Streams are held by weak references, so one its reader dropped goes away by itself;
    ``readers`` being empty (nobody reading) is checked on the supervisor's hot path.
    """

    def __init__(self) -> None:
        #: the open streams, weakly; empty means nobody is reading (a hot-path check)
        self.readers: dict[int, weakref.ref[EventStream]] = {}

    def open(self, capacity: int) -> EventStream:
        stream = EventStream(capacity)
        key = id(stream)
        self.readers[key] = weakref.ref(stream, lambda _: self.readers.pop(key, None))
        return stream

    def _streams(self) -> list[EventStream]:
        return [s for s in (ref() for ref in tuple(self.readers.values())) if s is not None]

    def publish(self, event: SupervisionEvent) -> None:
        for stream in self._streams():
            stream._push(event)

    def finish(self, event: SupervisionEvent) -> None:
        """Publish the supervisor's last event of a run and end every open stream."""
        streams = self._streams()
        self.readers.clear()
        for stream in streams:
            stream._push(event)
            stream._close()
