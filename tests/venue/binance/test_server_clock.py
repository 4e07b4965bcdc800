"""The server-time estimate: the midpoint of a short round trip, and never far ahead of the
venue's clock when one leg was slow (the venue refuses a timestamp 1,000 ms ahead)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmbot.venue.binance.rest_http import MAX_AHEAD_MS, ServerClock


def clock_at(local_ms: int) -> ServerClock:
    return ServerClock(lambda: local_ms, resync_interval=300.0)


def test_a_short_round_trip_is_read_at_its_midpoint() -> None:
    clock = clock_at(1_000)
    # sent at 1,000, answered at 1,040 (local); the server said 5,020 at the midpoint
    clock.update(5_020, 1_000, 1_040, at=0.0)
    assert clock.offset_ms == 4_000 and clock.syncs == 1


def test_a_request_held_on_its_way_does_not_put_the_clock_a_second_ahead() -> None:
    # The venue held the request 2 s, then read its clock and answered at once: the server
    # time is the local arrival time (offset 0). The midpoint would say +1,000 ms.
    clock = clock_at(3_000)
    clock.update(3_000, 1_000, 3_000, at=0.0)
    assert clock.offset_ms == MAX_AHEAD_MS
    assert clock.timestamp() - 3_000 < 1_000  # the venue takes it


@given(
    sent=st.integers(0, 10**9),
    rtt=st.integers(0, 20_000),
    read_at=st.floats(0, 1),  # where in the round trip the server read its clock
    offset=st.integers(-(10**6), 10**6),
)
def test_whatever_the_asymmetry_the_estimate_is_at_most_max_ahead_ahead(
    sent: int, rtt: int, read_at: float, offset: int
) -> None:
    received = sent + rtt
    server_ms = sent + round(rtt * read_at) + offset  # the true offset is ``offset``
    clock = clock_at(received)
    clock.update(server_ms, sent, received, at=0.0)
    error = clock.offset_ms - offset
    assert error <= MAX_AHEAD_MS + 1  # ahead: never more than the bound (+1 ms rounding)
    assert error >= -rtt - 1  # behind: at most the round trip
