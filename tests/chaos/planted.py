"""Planted bugs the chaos tests show the harness catches (no tests here)."""

from __future__ import annotations

from typing import Any

import pytest

from mmbot.model import Outcome
from mmbot.quoting.orders import OrderTracker


def unknown_taken_for_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot believes an order whose outcome is unknown was never placed, so its slot is
    quoted again while the order may rest at the exchange (``monkeypatch.undo()`` heals it)."""
    real = OrderTracker.on_place_outcome

    def guessing(self: OrderTracker, cid: str, outcome: Outcome, *args: Any, **kw: Any) -> Any:
        if outcome is Outcome.UNKNOWN:
            outcome = Outcome.FAILED
        return real(self, cid, outcome, *args, **kw)

    monkeypatch.setattr(OrderTracker, "on_place_outcome", guessing)
