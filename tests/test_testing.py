"""``mmbot.testing``: importable without pytest, and its sample values are what they say."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

from mmbot.testing import sample_book, sample_instrument


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
