"""The dialect's routing table: which request reaches which operation, at what weight (sans-IO).

What it is for: :class:`Route` (one operation as a transport reaches it: signed or not, its
request weight, whether it places an order) and :class:`Routes`, the one table of the
dialect's operations by WebSocket API method name and by REST path and HTTP method. Every
request weight the fake exchange charges is written here, so ``POST /order`` and
``order.place`` cannot weigh differently.

What it must never do: I/O, read a clock, or decide anything but which operation a request
names and what it weighs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from mmbot.sim.dialect.operations import Operation, Operations
from mmbot.sim.dialect.params import Params, ascii_digits

#: The REST paths live under this prefix; the table below is keyed by what follows it.
API_PREFIX = "/api/v3"

Weight = Callable[[Params], int]


def fixed(weight: int) -> Weight:
    """A weight that does not depend on the parameters."""
    return lambda _: weight


#: The weight of most operations.
WEIGHT_ONE = fixed(1)


def depth_weight(params: Params) -> int:
    """Weight of /depth by ``limit``: 1-100 → 5, -500 → 25, -1000 → 50, more → 250."""
    limit = ascii_digits(params.raw("limit"), 9)
    if limit is None:
        limit = 100  # a malformed limit is refused later, at the default's weight
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def open_orders_weight(params: Params) -> int:
    return 6 if params.raw("symbol") else 80


def my_trades_weight(params: Params) -> int:
    return 5 if params.raw("orderId") else 20


@attrs.frozen
class Route:
    """One operation as a transport reaches it: its weight, and whether it is signed."""

    name: str
    run: Operation
    signed: bool = False
    weight: Weight = WEIGHT_ONE
    places_order: bool = False


@attrs.frozen
class Routes:
    """The dialect's operations by WebSocket API method and by REST path and method."""

    #: WebSocket API method name -> route.
    by_method: Mapping[str, Route]
    #: REST path below :data:`API_PREFIX` -> HTTP method -> route.
    by_path: Mapping[str, Mapping[str, Route]]

    @classmethod
    def over(cls, ops: Operations) -> Routes:
        """The table of every operation of ``ops`` (the same route for both transports)."""
        routes = [
            Route("ping", ops.ping),
            Route("time", ops.time),
            Route("exchangeInfo", ops.exchange_info, weight=fixed(20)),
            Route("depth", ops.depth, weight=depth_weight),
            Route("order.place", ops.new_order, signed=True, places_order=True),
            Route("order.cancel", ops.cancel_order, signed=True),
            Route("order.cancelReplace", ops.cancel_replace, signed=True, places_order=True),
            Route("order.status", ops.query_order, signed=True, weight=fixed(4)),
            Route("openOrders.status", ops.open_orders, signed=True, weight=open_orders_weight),
            Route("openOrders.cancelAll", ops.cancel_all, signed=True),
            Route("account.status", ops.account, signed=True, weight=fixed(20)),
            Route("myTrades", ops.my_trades, signed=True, weight=my_trades_weight),
            Route("userDataStream.subscribe.signature", ops.ping, signed=True, weight=fixed(2)),
            Route("userDataStream.unsubscribe", ops.ping, weight=fixed(2)),
        ]
        ws = {route.name: route for route in routes}
        rest = {
            "/ping": {"GET": ws["ping"]},
            "/time": {"GET": ws["time"]},
            "/exchangeInfo": {"GET": ws["exchangeInfo"]},
            "/depth": {"GET": ws["depth"]},
            "/order": {
                "POST": ws["order.place"],
                "DELETE": ws["order.cancel"],
                "GET": ws["order.status"],
            },
            "/order/cancelReplace": {"POST": ws["order.cancelReplace"]},
            "/openOrders": {"GET": ws["openOrders.status"], "DELETE": ws["openOrders.cancelAll"]},
            "/account": {"GET": ws["account.status"]},
            "/myTrades": {"GET": ws["myTrades"]},
        }
        return cls(ws, rest)
