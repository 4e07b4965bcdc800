"""TrackedOrder's fast copy (``changed``): the same as ``attrs.evolve``."""

from __future__ import annotations

from decimal import Decimal

import attrs

from mmbot.model import OrderType, Side
from mmbot.quoting.orders.states import OrderState
from mmbot.quoting.orders.values import TrackedOrder


def test_changed_is_evolve_for_every_field_it_changes_and_keeps_the_rest() -> None:
    order = TrackedOrder(
        "mm-1", "BTCUSDT", Side.SELL, 2, Decimal("101.5"), Decimal("3"),
        OrderState.OPEN, 42, Decimal("1"), Decimal("2"), OrderType.LIMIT, 7.5,
    )  # fmt: skip
    # ``changed`` lists the fields positionally: a new field must be added there too.
    assert [f.name for f in attrs.fields(TrackedOrder) if f.init] == [
        "client_order_id", "symbol", "side", "level", "price", "quantity", "state",
        "order_id", "fills_qty", "reported_qty", "type", "placed_at",
    ]  # fmt: skip
    assert order.changed() == order
    assert order.changed(state=OrderState.PENDING_CANCEL) == attrs.evolve(
        order, state=OrderState.PENDING_CANCEL
    )
    fresh = attrs.evolve(order, order_id=None, placed_at=None)
    expected = attrs.evolve(fresh, order_id=7, placed_at=1.0)
    assert fresh.changed(order_id=7, placed_at=1.0) == expected
    assert order.changed(state=OrderState.FILLED).filled == order.filled == Decimal("2")
