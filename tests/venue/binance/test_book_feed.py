"""Published books and their conflated channels (``book_feed.py``): the listener that wakes
a consumer as a book is published, and ``receive_nowait``."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from mmbot.testing import sample_book
from mmbot.venue.binance.book_feed import BookChannel, PublishedBook


class Feed:
    """One symbol's :class:`PublishedBook` as :class:`BookChannel` reads it."""

    def __init__(self) -> None:
        self.book = PublishedBook(sample_book(10_000))

    def published(self, symbol: str) -> PublishedBook:
        return self.book

    async def wait_for_update(self, symbol: str, seen: int) -> tuple[int, object]:
        return await self.book.wait_newer(seen)


async def test_the_listener_hears_every_publish_and_receive_nowait_conflates(
    autojump_clock: trio.testing.MockClock,
) -> None:
    feed = Feed()
    heard: list[int] = []
    channel = BookChannel(feed, "BTCUSDT", on_update=lambda: heard.append(feed.book.version))  # type: ignore[arg-type]
    first = channel.receive_nowait()  # the current book first
    assert first is feed.book.latest
    with pytest.raises(trio.WouldBlock):
        channel.receive_nowait()
    newer = [sample_book(10_001), sample_book(10_002)]
    for book in newer:
        feed.book.publish(book)
    assert heard == [1, 2]  # called synchronously, by the producer, after each publish
    assert channel.receive_nowait() is newer[-1]  # the newest only
    with pytest.raises(trio.WouldBlock):
        channel.receive_nowait()
    await channel.aclose()
    feed.book.publish(sample_book(10_003))
    assert heard == [1, 2]  # closing the channel stops the listener
    with pytest.raises(trio.ClosedResourceError):
        channel.receive_nowait()


async def test_a_closed_feed_ends_the_channel(autojump_clock: trio.testing.MockClock) -> None:
    feed = Feed()
    channel = BookChannel(feed, "BTCUSDT")  # type: ignore[arg-type]
    channel.receive_nowait()
    feed.book.close()
    with pytest.raises(trio.EndOfChannel):
        channel.receive_nowait()
