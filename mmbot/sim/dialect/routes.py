"""The dialect's routing table: which request reaches which operation, at what weight (sans-IO).

What it is for: :class:`Route` (one operation as a transport reaches it: signed or not, its
request weight, whether it places an order) and :class:`Routes`, the one table of the
dialect's operations by WebSocket API method name and by REST path and HTTP method. A
route's weight comes from the dialect's one weights table, which the venue adapter charges
its own rate limiter from too (``mmbot.venue.binance.weights``), so ``POST /order``,
``order.place`` and the client's estimate cannot weigh differently.

What it must never do: I/O, read a clock, or decide anything but which operation a request
names and what it weighs.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from mmbot.sim.dialect.market_data import MarketDataOperations
from mmbot.sim.dialect.operations import Operation, Operations
from mmbot.sim.dialect.order_operations import OrderOperations
from mmbot.sim.dialect.params import Params
from mmbot.venue.binance.weights import FREE_WHEN_SUCCESSFUL, request_weight

#: The REST paths live under this prefix; the table below is keyed by what follows it.
API_PREFIX = "/api/v3"


@attrs.frozen
class Route:
    """One operation as a transport reaches it: its weight, and whether it is signed."""

    name: str
    run: Operation
    signed: bool = False
    places_order: bool = False

    def weight(self, params: Params) -> int:
        """What this request costs: the dialect's one weights table (shared with the
        client, ``mmbot.venue.binance.weights``), read with the request's raw parameters."""
        return request_weight(self.name, params.raw)

    @property
    def free_when_successful(self) -> bool:
        """Whether a successful request costs no weight (``weights.FREE_WHEN_SUCCESSFUL``)."""
        return self.name in FREE_WHEN_SUCCESSFUL


@attrs.frozen
class Routes:
    """The dialect's operations by WebSocket API method and by REST path and method."""

    #: WebSocket API method name -> route.
    by_method: Mapping[str, Route]
    #: REST path below :data:`API_PREFIX` -> HTTP method -> route.
    by_path: Mapping[str, Mapping[str, Route]]
    #: REST-only routes outside the Spot API, by whole path (the one Wallet API endpoint
    #: ccxt's ``fetchTradingFees`` calls); never WebSocket API methods.
    other_paths: Mapping[str, Mapping[str, Route]] = attrs.field(factory=dict)

    def rest_methods(self, path: str) -> Mapping[str, Route] | None:
        """The routes of a REST path by HTTP method, None if the path names none."""
        if path.startswith(API_PREFIX + "/"):
            return self.by_path.get(path.removeprefix(API_PREFIX))
        return self.other_paths.get(path)

    def rest_route(self, method: str, path: str) -> Route | None:
        """The route a REST request names (``POST``, ``/api/v3/order``), None if none."""
        methods = self.rest_methods(path)
        return None if methods is None else methods.get(method.upper())

    @classmethod
    def over(
        cls,
        ops: Operations,
        order_ops: OrderOperations,
        market: MarketDataOperations | None = None,
    ) -> Routes:
        """The table of every operation of ``ops``, ``order_ops`` and ``market`` (the
        market-data ones), the same route for both transports."""
        routes = [
            Route("ping", ops.ping),
            Route("time", ops.time),
            Route("exchangeInfo", ops.exchange_info),
            Route("depth", ops.depth),
            Route("order.place", ops.new_order, signed=True, places_order=True),
            Route("order.cancel", ops.cancel_order, signed=True),
            Route("order.cancelReplace", ops.cancel_replace, signed=True, places_order=True),
            Route("order.status", ops.query_order, signed=True),
            Route("openOrders.status", ops.open_orders, signed=True),
            Route("openOrders.cancelAll", ops.cancel_all, signed=True),
            Route("account.status", ops.account, signed=True),
            Route("myTrades", ops.my_trades, signed=True),
            Route("allOrders", order_ops.all_orders, signed=True),
            Route("order.test", order_ops.test_order, signed=True),
            Route("order.amend.keepPriority", order_ops.amend_keep_priority, signed=True),
            Route("account.commission", order_ops.commission, signed=True),
            Route("account.rateLimits.orders", order_ops.order_rate_limits, signed=True),
            Route("userDataStream.subscribe.signature", ops.ping, signed=True),
            Route("userDataStream.unsubscribe", ops.ping),
            # WebSocket API only; answered by the session (``ws_api.py``), never run
            Route("session.logon", ops.ping, signed=True),
            Route("session.status", ops.ping),
            Route("session.logout", ops.ping),
            Route("userDataStream.subscribe", ops.ping),
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
            "/allOrders": {"GET": ws["allOrders"]},
            "/order/test": {"POST": ws["order.test"]},
            "/order/amend/keepPriority": {"PUT": ws["order.amend.keepPriority"]},
            "/account/commission": {"GET": ws["account.commission"]},
            "/rateLimit/order": {"GET": ws["account.rateLimits.orders"]},
        }
        if market is not None:
            for name, path, run in _market_data(market):
                ws[name] = Route(name, run)
                rest[path] = {"GET": ws[name]}
        trade_fee = Route("asset.tradeFee", order_ops.trade_fee, signed=True)
        return cls(ws, rest, {"/sapi/v1/asset/tradeFee": {"GET": trade_fee}})


def _market_data(market: MarketDataOperations) -> list[tuple[str, str, Operation]]:
    """The public market-data operations: WebSocket API method, REST path, operation."""
    return [
        ("trades.recent", "/trades", market.recent_trades),
        ("trades.historical", "/historicalTrades", market.historical_trades),
        ("trades.aggregate", "/aggTrades", market.agg_trades),
        ("klines", "/klines", market.klines),
        ("uiKlines", "/uiKlines", market.klines),
        ("avgPrice", "/avgPrice", market.avg_price),
        ("ticker.24hr", "/ticker/24hr", market.ticker_24hr),
        ("ticker.price", "/ticker/price", market.ticker_price),
        ("ticker.book", "/ticker/bookTicker", market.ticker_book),
        ("ticker.tradingDay", "/ticker/tradingDay", market.ticker_trading_day),
        ("ticker", "/ticker", market.ticker_rolling),
    ]
