"""Events no subscriber takes are kept for the next one: a fill while the bot's account
service starts, or restarts, still reaches its ledger (found by the chaos fuzzer)."""

from __future__ import annotations

import random

import trio
import trio.testing

from mmbot.venue.binance.user import UserStream, UserStreamConfig
from mmbot.venue.events import StreamGap


def stream(buffer: int = 10) -> UserStream:
    config = UserStreamConfig(("BTCUSDT",), api_key="k", api_secret="s", subscriber_buffer=buffer)
    return UserStream(config, None, None, lambda: 1_000, random.Random(1))  # type: ignore[arg-type]


def gap(n: int) -> StreamGap:
    return StreamGap(f"event {n}", n)


async def test_events_before_the_first_subscriber_come_to_it_first_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    user = stream()
    await user._emit(gap(1))
    await user._emit(gap(2))
    channel = user.events()
    await user._emit(gap(3))
    assert [channel.receive_nowait().reason for _ in range(3)] == ["event 1", "event 2", "event 3"]


async def test_a_subscriber_that_left_does_not_swallow_the_next_events(
    autojump_clock: trio.testing.MockClock,
) -> None:
    user = stream()
    first = user.events()
    await user._emit(gap(1))
    assert first.receive_nowait().reason == "event 1"
    first.close()  # the account service restarts
    await user._emit(gap(2))
    await user._emit(gap(3))
    again = user.events()
    assert [again.receive_nowait().reason for _ in range(2)] == ["event 2", "event 3"]


async def test_too_many_unclaimed_events_become_a_gap_then_the_newest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    user = stream(buffer=4)
    for n in range(1, 8):
        await user._emit(gap(n))
    channel = user.events()
    reasons = []
    while True:
        try:
            reasons.append(channel.receive_nowait().reason)
        except trio.WouldBlock:
            break
    assert reasons[0] == "events came while nobody subscribed"
    assert reasons[1:] == ["event 5", "event 6", "event 7"]
