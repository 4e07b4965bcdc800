"""Shared rig for the tests that run the whole exchange shell (no tests here).

:func:`running_exchange` runs an :class:`Exchange` in a nursery for the body of an
``async with`` and refuses to run on the real clock: pytest-trio uses only the clock the
*test function* takes as an argument, so a fixture that asks for ``autojump_clock`` does not
put its test on the mock clock. Tests using a ``running`` fixture take ``autojump_clock``
themselves; the guard makes forgetting it a failure instead of a slow, flaky test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.lowlevel
import trio.testing

from mmbot.sim.exchange import Exchange

REAL_CLOCK = (
    "this test runs the exchange on the real clock: the test function must take "
    "`autojump_clock` itself (pytest-trio uses only the clock a test function takes as an "
    "argument, not one a fixture asks for)"
)


def require_mock_clock() -> None:
    """Fail the current test unless it runs under ``trio.testing.MockClock``."""
    if not isinstance(trio.lowlevel.current_clock(), trio.testing.MockClock):
        pytest.fail(REAL_CLOCK)


@asynccontextmanager
async def running_exchange(exchange: Exchange) -> AsyncIterator[tuple[Exchange, trio.Nursery]]:
    """``exchange`` running (its market loop started) in a nursery, on the mock clock."""
    require_mock_clock()
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        yield exchange, nursery
        nursery.cancel_scope.cancel()
