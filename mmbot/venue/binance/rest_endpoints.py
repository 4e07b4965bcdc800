"""The Binance Spot dialect's REST endpoints as data: path, breaker class, retry rule (sans-IO).

What it is for: one table (VENUE_DIALECT.md) that the REST client reads to sign, rate-limit,
guard and retry each call: which breaker (:class:`EndpointClass`) guards it, what it costs
in request weight when it succeeds (from the one weights table, ``weights.py``, by the
endpoint's operation name) and order count, whether it may be retried (idempotent) or only
resent when known not to have been sent (placements).

What it must never do: I/O or policy; a weight that depends on parameters is computed by
``weights.request_weight`` from the request's parameters, not guessed by callers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from mmbot.venue.binance.weights import weight_if_successful

API = "/api/v3"


class EndpointClass(enum.Enum):
    """Which breaker guards an endpoint (DESIGN.md §4.7)."""

    ORDERS = "orders"
    MARKET_DATA = "market_data"
    ACCOUNT = "account"


@attrs.frozen
class Endpoint:
    """One REST endpoint of the dialect: where, what it costs, how it may be retried.

    ``name`` is the operation's name in the WebSocket API (and in the weights table).
    """

    name: str
    method: str
    path: str
    kind: EndpointClass
    signed: bool = False
    orders: int = 0  # new orders it counts against the ORDERS limits
    idempotent: bool = True  # False: never blindly resent (call_non_idempotent)
    #: cancel-replace: an error answer with a ``data`` block (409 -2021, 400 -2022) carries
    #: the per-part results, so it is an answer, not an error.
    parts_in_errors: bool = False

    def weight(self, params: Mapping[str, str]) -> int:
        """Request weight of a successful call with ``params``
        (``weights.weight_if_successful``: 0 for placements and cancels since 2026-04-02;
        what a failure costs comes back in the ``X-MBX-USED-WEIGHT-1M`` header)."""
        return weight_if_successful(self.name, params.get)


_K = EndpointClass

TIME = Endpoint("time", "GET", f"{API}/time", _K.MARKET_DATA)
EXCHANGE_INFO = Endpoint("exchangeInfo", "GET", f"{API}/exchangeInfo", _K.MARKET_DATA)
DEPTH = Endpoint("depth", "GET", f"{API}/depth", _K.MARKET_DATA)
PLACE = Endpoint(
    "order.place", "POST", f"{API}/order", _K.ORDERS, signed=True, orders=1, idempotent=False
)
CANCEL = Endpoint("order.cancel", "DELETE", f"{API}/order", _K.ORDERS, signed=True)
CANCEL_REPLACE = Endpoint(
    "order.cancelReplace", "POST", f"{API}/order/cancelReplace", _K.ORDERS,
    signed=True, orders=1, idempotent=False, parts_in_errors=True,
)  # fmt: skip
CANCEL_ALL = Endpoint("openOrders.cancelAll", "DELETE", f"{API}/openOrders", _K.ORDERS, signed=True)
QUERY_ORDER = Endpoint("order.status", "GET", f"{API}/order", _K.ACCOUNT, signed=True)
OPEN_ORDERS = Endpoint("openOrders.status", "GET", f"{API}/openOrders", _K.ACCOUNT, signed=True)
ACCOUNT = Endpoint("account.status", "GET", f"{API}/account", _K.ACCOUNT, signed=True)
MY_TRADES = Endpoint("myTrades", "GET", f"{API}/myTrades", _K.ACCOUNT, signed=True)
