"""The connection life shared by the stream clients (mmbot/venue/binance/link.py)."""

from __future__ import annotations

import itertools
import random

import pytest
import trio
import trio.testing

from mmbot.venue.binance.link import (
    LiveMessages,
    keep_connected,
    open_live_messages,
    reconnect_delay,
    serve_connection,
)


def test_reconnect_delay_is_equal_jitter_within_half_and_all_of_the_capped_exponential() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        full = min(30.0, 0.5 * 2 ** (attempt - 1))
        delay = reconnect_delay(attempt, 0.5, 30.0, rng)
        assert full / 2 <= delay <= full


async def _run_sessions(
    ends: list[tuple[str, bool, float]], hold: float = 0.0
) -> tuple[list[float], list[str]]:
    """Run keep_connected over scripted sessions (reason, planned, how long it lasts)."""
    starts: list[float] = []
    ended: list[str] = []
    script = iter(ends)

    async def session() -> tuple[str, bool]:
        starts.append(trio.current_time())
        try:
            reason, planned, lasts = next(script)
        except StopIteration:
            await trio.sleep_forever()
        await trio.sleep(lasts)
        return reason, planned

    async def on_end(reason: str, planned: bool) -> None:
        ended.append(reason)

    with trio.move_on_after(10_000):
        await keep_connected(
            session,
            on_end,
            base_s=1.0,
            cap_s=8.0,
            stable_after_s=60.0,
            rng=random.Random(3),
            hold=lambda: hold,
        )
    return starts, ended


async def test_planned_ends_reconnect_at_once(autojump_clock: trio.testing.MockClock) -> None:
    starts, ended = await _run_sessions([("reopen", True, 5.0), ("reopen", True, 5.0)])
    assert starts == [0.0, 5.0, 10.0]
    assert ended == ["reopen", "reopen"]


async def test_failed_sessions_back_off_more_each_time_up_to_the_cap(
    autojump_clock: trio.testing.MockClock,
) -> None:
    starts, _ = await _run_sessions([("refused", False, 0.0)] * 6)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    fulls = [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert all(full / 2 <= gap <= full for gap, full in zip(gaps, fulls, strict=True))


async def test_a_stable_session_resets_the_backoff(autojump_clock: trio.testing.MockClock) -> None:
    failures = [("refused", False, 0.0)] * 3
    starts, _ = await _run_sessions([*failures, ("dropped", False, 61.0), ("refused", False, 0.0)])
    after_stable = starts[4] - (starts[3] + 61.0)
    assert 0.5 <= after_stable <= 1.0  # attempt 1 again, not attempt 4


async def test_a_venue_hold_is_waited_out_when_longer_than_the_backoff(
    autojump_clock: trio.testing.MockClock,
) -> None:
    starts, _ = await _run_sessions([("rate limited", False, 0.0)], hold=45.0)
    assert starts[1] - starts[0] == pytest.approx(45.0)


class _Refusing:
    async def connect(self, nursery: trio.Nursery, resource: str) -> object:
        raise OSError("connection refused: wss://example.invalid/ws?secret=x")


async def test_a_failed_connect_is_an_unplanned_end_naming_only_the_error_type() -> None:
    calls: list[str] = []

    async def serve(ws: object) -> tuple[str, bool]:  # pragma: no cover - never connected
        raise AssertionError("not connected")

    end = await serve_connection(
        _Refusing(),  # type: ignore[arg-type]
        "/ws-api/v3",
        serve,  # type: ignore[arg-type]
        close_timeout_s=1.0,
        opened=lambda: calls.append("opened"),
        closed=lambda: calls.append("closed"),
    )
    assert end == ("connect failed: OSError", False)
    assert calls == []


class _ScriptedWs:
    """A connection whose messages arrive at scripted trio times, then which stays quiet
    (answering pings only if ``pongs``), or breaks (``breaks_at``)."""

    def __init__(
        self, messages: list[tuple[float, str]], *, pongs: bool, breaks_at: float | None = None
    ) -> None:
        self.messages = messages
        self.pongs = pongs
        self.breaks_at = breaks_at
        self.pings: list[float] = []

    async def get_message(self) -> str:
        if self.messages:
            at, text = self.messages.pop(0)
            await trio.sleep_until(at)
            return text
        if self.breaks_at is not None:
            await trio.sleep_until(self.breaks_at)
            raise trio.BrokenResourceError
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def ping(self, payload: bytes | None = None) -> None:
        self.pings.append(trio.current_time())
        if not self.pongs:
            await trio.sleep_forever()

    async def send_message(self, message: str | bytes) -> None:  # pragma: no cover - unused
        raise AssertionError("not sent")

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:  # pragma: no cover
        raise AssertionError("not closed")


async def _read_all(ws: _ScriptedWs, lifetime_s: float = 1_000.0) -> tuple[list[str], LiveMessages]:
    read: list[str] = []
    async with open_live_messages(
        ws,  # type: ignore[arg-type]
        lifetime_s=lifetime_s,
        silence_s=30.0,
        pong_timeout_s=10.0,
    ) as messages:
        async for raw in messages:
            read.append(str(raw))
    return read, messages


async def test_live_messages_yield_until_a_silent_connection_gives_no_pong(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ws = _ScriptedWs([(1.0, "a"), (2.0, "b")], pongs=False)
    read, messages = await _read_all(ws)
    assert read == ["a", "b"]
    assert messages.ended == ("stale: no message and no pong", False) and messages.stale
    assert ws.pings == [32.0] and trio.current_time() == pytest.approx(42.0)


async def test_a_quiet_connection_that_answers_pings_lives_until_its_lifetime(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ws = _ScriptedWs([(1.0, "a")], pongs=True)
    read, messages = await _read_all(ws, lifetime_s=100.0)
    assert read == ["a"]
    assert messages.ended == ("connection lifetime reached: reopening", True)
    assert not messages.stale and ws.pings == [31.0, 61.0, 91.0]
    assert trio.current_time() == pytest.approx(100.0)


async def test_a_broken_connection_ends_naming_only_the_error_type(
    autojump_clock: trio.testing.MockClock,
) -> None:
    read, messages = await _read_all(_ScriptedWs([(1.0, "a")], pongs=True, breaks_at=5.0))
    assert read == ["a"]
    assert messages.ended == ("connection closed: BrokenResourceError", False)


async def test_a_message_while_a_ping_waits_for_its_pong_keeps_the_connection_alive(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Silent from 1 s: ping at 31 s; no pong ever, but a message comes at 35 s (the reader
    # reads beside the watcher): alive. Silent again from 35 s: ping at 65 s, stale at 75 s.
    ws = _ScriptedWs([(1.0, "a"), (35.0, "b")], pongs=False)
    read, messages = await _read_all(ws)
    assert read == ["a", "b"]
    assert ws.pings == [31.0, 65.0]
    assert messages.stale and trio.current_time() == pytest.approx(75.0)


async def test_live_messages_refuse_to_be_read_without_their_watcher(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ws = _ScriptedWs([(1.0, "a")], pongs=True)
    unwatched = LiveMessages(ws, lifetime_s=100.0, silence_s=30.0, pong_timeout_s=10.0)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="without its watcher"):
        async for _ in unwatched:
            pass


async def test_the_body_ending_first_stops_the_watcher_and_a_return_inside_works(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ws = _ScriptedWs([(1.0, "a"), (2.0, "b")], pongs=False)

    async def first() -> str:
        async with open_live_messages(
            ws,  # type: ignore[arg-type]
            lifetime_s=100.0,
            silence_s=30.0,
            pong_timeout_s=10.0,
        ) as messages:
            async for raw in messages:
                return str(raw)
        raise AssertionError("unreachable")

    assert await first() == "a"
    assert ws.pings == [] and trio.current_time() == pytest.approx(1.0)
