"""The REST endpoints of the Binance Spot dialect as data: path, weight, breaker class, retry rule.

What it is for: one table (VENUE_DIALECT.md) that the REST client reads to sign, rate-limit,
guard and retry each call: which breaker (:class:`EndpointClass`) guards it, what it costs
in request weight and order count, whether it may be retried (idempotent) or only resent
when known not to have been sent (placements).

What it must never do: I/O or policy; a weight that depends on parameters is computed by a
function here (:func:`depth_weight`), not guessed by callers.
"""

from __future__ import annotations

import enum

import attrs

API = "/api/v3"


class EndpointClass(enum.Enum):
    """Which breaker guards an endpoint (DESIGN.md §4.7)."""

    ORDERS = "orders"
    MARKET_DATA = "market_data"
    ACCOUNT = "account"


@attrs.frozen
class Endpoint:
    """One REST endpoint of the dialect: where, what it costs, how it may be retried."""

    name: str
    method: str
    path: str
    kind: EndpointClass
    weight: int
    signed: bool = False
    orders: int = 0  # new orders it counts against the ORDERS limits
    idempotent: bool = True  # False: never blindly resent (call_non_idempotent)
    #: cancel-replace: an error answer with a ``data`` block (409 -2021, 400 -2022) carries
    #: the per-part results, so it is an answer, not an error.
    parts_in_errors: bool = False


_K = EndpointClass

TIME = Endpoint("time", "GET", f"{API}/time", _K.MARKET_DATA, 1)
EXCHANGE_INFO = Endpoint("exchangeInfo", "GET", f"{API}/exchangeInfo", _K.MARKET_DATA, 20)
DEPTH = Endpoint("depth", "GET", f"{API}/depth", _K.MARKET_DATA, 5)
PLACE = Endpoint(
    "order.place", "POST", f"{API}/order", _K.ORDERS, 1, signed=True, orders=1, idempotent=False
)
CANCEL = Endpoint("order.cancel", "DELETE", f"{API}/order", _K.ORDERS, 1, signed=True)
CANCEL_REPLACE = Endpoint(
    "order.cancelReplace", "POST", f"{API}/order/cancelReplace", _K.ORDERS, 1,
    signed=True, orders=1, idempotent=False, parts_in_errors=True,
)  # fmt: skip
CANCEL_ALL = Endpoint("openOrders.cancel", "DELETE", f"{API}/openOrders", _K.ORDERS, 1, signed=True)
QUERY_ORDER = Endpoint("order.status", "GET", f"{API}/order", _K.ACCOUNT, 4, signed=True)
OPEN_ORDERS = Endpoint("openOrders.status", "GET", f"{API}/openOrders", _K.ACCOUNT, 6, signed=True)
ACCOUNT = Endpoint("account", "GET", f"{API}/account", _K.ACCOUNT, 20, signed=True)
MY_TRADES = Endpoint("myTrades", "GET", f"{API}/myTrades", _K.ACCOUNT, 20, signed=True)


def depth_weight(limit: int) -> int:
    """Request weight of ``GET /depth`` by ``limit``."""
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
