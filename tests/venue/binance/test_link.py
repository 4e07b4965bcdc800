"""The connection life shared by the stream clients (mmbot/venue/binance/link.py)."""

from __future__ import annotations

import itertools
import random

import pytest
import trio
import trio.testing

from mmbot.venue.binance.link import keep_connected, reconnect_delay, serve_connection


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
