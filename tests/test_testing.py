"""``mmbot.testing``: importable without pytest, and its sample values are what they say."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
import trio
import trio.testing

from mmbot.model import BookSnapshot
from mmbot.sim.exchange import Exchange
from mmbot.testing import (
    RIG_SYMBOLS,
    RealClockError,
    Rig,
    open_rig,
    rig_exchange_config,
    running_exchange,
    sample_book,
    sample_instrument,
)


def test_it_imports_without_pytest_or_hypothesis() -> None:
    code = (
        "import sys; sys.modules['pytest'] = None; sys.modules['hypothesis'] = None; "
        "import mmbot.testing"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- sample market values ----------------------------------------------------------------


def test_the_sample_book_straddles_its_mid_on_the_instrument_s_ticks() -> None:
    inst = sample_instrument()
    book = sample_book(6_500_000, spread_ticks=4, depth=3, received_at=2.0)
    assert (book.best_bid, book.best_ask) == (Decimal("64999.98"), Decimal("65000.02"))
    assert book.is_valid and book.received_at == 2.0 and len(book.bids) == len(book.asks) == 3
    assert all(level.price % inst.tick_size == 0 for level in book.bids + book.asks)
    assert [level.price for level in book.bids] == sorted(
        (lv.price for lv in book.bids), reverse=True
    )


# -- rigs ----------------------------------------------------------------------------------


async def test_open_rig_connects_a_venue_to_a_running_exchange(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig() as rig:
        for symbol in RIG_SYMBOLS:
            book = await _valid_book(rig, symbol)
            assert book.bids and book.asks
        assert rig.tap.opened("/stream") == 1 and rig.http.lost == 0


async def _valid_book(rig: Rig, symbol: str) -> BookSnapshot:
    async with rig.venue.book_stream(symbol) as books:
        async for book in books:
            if book.is_valid:
                return book
    raise AssertionError("the book stream ended")


def test_running_exchange_refuses_the_real_clock() -> None:
    async def main() -> None:
        async with running_exchange(Exchange.simulated(rig_exchange_config())):
            raise AssertionError("ran on the real clock")  # pragma: no cover

    with pytest.raises(RealClockError):
        trio.run(main)
