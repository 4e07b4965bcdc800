"""Fixtures shared by the matching engine's tests."""

from __future__ import annotations

import pytest
from matching_kit import BTC, ETH, FEES, START

from mmbot.sim.engine import MatchingEngine


@pytest.fixture
def engine() -> MatchingEngine:
    e = MatchingEngine([BTC, ETH], FEES)
    for account in ("alice", "bob", "carol"):
        e.open_account(account, dict(START))
    return e
