"""The consumer side of the market streams: published book snapshots and conflated channels.

What it is for: :class:`PublishedBook` holds one symbol's newest published
:class:`~mmbot.model.BookSnapshot` with a version that grows by one per publish, and wakes
whoever waits for a newer one; :class:`BookChannel` turns that into the conflated receive
channel of ``Venue.book_stream``, whose ``on_update`` listener the producer calls as it
publishes (a consumer woken at once, not by a task of its own reading the channel: one trip
round the scheduler instead of three). :class:`~mmbot.venue.binance.streams.MarketStreams`
is the producer.

What it must never do: return an older snapshot than one already returned, make a producer
wait for a slow consumer (the newest snapshot wins), do I/O, or decide whether a book is
valid (the producer publishes it invalid first; this only carries it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import attrs
import trio
import trio.lowlevel

if TYPE_CHECKING:
    from mmbot.model import BookSnapshot


class BookUpdates(Protocol):
    """What a :class:`BookChannel` reads: ``MarketStreams``'s published books."""

    async def wait_for_update(self, symbol: str, seen_version: int) -> tuple[int, BookSnapshot]: ...

    def published(self, symbol: str) -> PublishedBook: ...


@attrs.define(eq=False)
class PublishedBook:
    """One symbol's newest published snapshot, its version, and a wake-up for waiters."""

    latest: BookSnapshot
    # Invariant: ``version`` grows by one per publish; ``_changed`` is set and replaced then.
    version: int = 0
    _changed: trio.Event = attrs.field(factory=trio.Event, init=False)
    _closed: bool = attrs.field(default=False, init=False)
    #: Called (synchronously, by the producer) after each publish: a consumer's wake-up.
    _listeners: list[Callable[[], None]] = attrs.field(factory=list, init=False)

    @property
    def closed(self) -> bool:
        return self._closed

    def publish(self, snapshot: BookSnapshot) -> None:
        self.latest = snapshot
        self.version += 1
        self._changed.set()
        self._changed = trio.Event()
        for listener in self._listeners:
            listener()

    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` after every publish (it must not block or raise); returns
        the function that stops it."""
        self._listeners.append(listener)

        def stop() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return stop

    def close(self) -> None:
        """No more publishes: wake the waiters, who get ``trio.EndOfChannel``."""
        self._closed = True
        self._changed.set()

    async def wait_newer(self, seen_version: int) -> tuple[int, BookSnapshot]:
        """Wait until the version is above ``seen_version``; the newest (version, snapshot).
        Raises ``trio.EndOfChannel`` once closed with nothing newer."""
        waited = False
        while self.version <= seen_version:
            if self._closed:
                raise trio.EndOfChannel
            await self._changed.wait()
            waited = True
        if not waited:  # a checkpoint either way, never two (each is a trip round the loop)
            await trio.lowlevel.checkpoint()
        return self.version, self.latest


class BookChannel(trio.abc.ReceiveChannel["BookSnapshot"]):
    """A conflated receive channel of one symbol's book: each ``receive`` returns the
    newest snapshot not yet returned (the current one first). Never returns an older
    snapshot than one already returned; an invalid snapshot is only ever skipped for a
    newer one. ``async with`` it to close it."""

    def __init__(
        self, streams: BookUpdates, symbol: str, on_update: Callable[[], None] | None = None
    ) -> None:
        self._streams = streams
        self._symbol = symbol
        self._seen = -1
        self._closed = False
        self._stop_listening = (
            None if on_update is None else streams.published(symbol).listen(on_update)
        )

    async def receive(self) -> BookSnapshot:
        if self._closed:
            raise trio.ClosedResourceError
        version, snapshot = await self._streams.wait_for_update(self._symbol, self._seen)
        self._seen = version
        return snapshot

    def receive_nowait(self) -> BookSnapshot:
        """The newest snapshot not yet returned, without waiting: ``trio.WouldBlock`` when
        there is none, ``trio.EndOfChannel`` when the streams have stopped."""
        if self._closed:
            raise trio.ClosedResourceError
        published = self._streams.published(self._symbol)
        if published.version <= self._seen:
            if published.closed:
                raise trio.EndOfChannel
            raise trio.WouldBlock
        self._seen = published.version
        return published.latest

    async def aclose(self) -> None:
        self._closed = True
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        await trio.lowlevel.checkpoint()
