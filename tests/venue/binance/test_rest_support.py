"""Helpers shared by the REST client tests (no tests here).

``rest_on_exchange`` opens a :class:`BinanceRest` on an in-process fake exchange (run it
under ``MockClock``); ``Scripted`` is an httpx transport answering from a function, so a
test can play any error the venue or the network can produce; ``LoseResponse`` forwards a
request to a real transport and then loses the answer.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import attrs
import httpx
import trio

from mmbot.clock import SIM_EPOCH_MS, EpochClock
from mmbot.model import OrderType, Side, TimeInForce
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.history import EntryKind
from mmbot.sim.inprocess import InProcessExchange
from mmbot.venue.base import PlaceRequest
from mmbot.venue.binance.rest import BinanceRest
from mmbot.venue.binance.rest_http import RestConfig

API_KEY = "rest-test-key"
API_SECRET = "rest-test-secret-0123456789"
BASE = "http://exchange.sim"


def exchange_config(**changes: object) -> ExchangeConfig:
    return attrs.evolve(
        ExchangeConfig(symbols=("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET), **changes
    )


def maker_bid(coid: str, price: str = "50000", qty: str = "0.001") -> PlaceRequest:
    """A LIMIT_MAKER buy far below the market (BTCUSDT trades near 60000): it rests."""
    return PlaceRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT_MAKER, Decimal(qty), coid, price=Decimal(price)
    )


def taker_buy(coid: str, price: str = "70000", qty: str = "0.001") -> PlaceRequest:
    """A LIMIT IOC buy above the market: it trades at once."""
    return PlaceRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT, Decimal(qty), coid,
        price=Decimal(price), time_in_force=TimeInForce.IOC,
    )  # fmt: skip


def new_rest(
    transport: httpx.AsyncBaseTransport,
    *,
    now_ms: Callable[[], int] | None = None,
    secret: str = API_SECRET,
    **config: object,
) -> BinanceRest:
    clock = now_ms if now_ms is not None else EpochClock(SIM_EPOCH_MS).now_ms
    return BinanceRest.create(
        attrs.evolve(RestConfig(base_url=BASE), **config),
        now_ms=clock, api_key=API_KEY, api_secret=secret, transport=transport,
    )  # fmt: skip


@asynccontextmanager
async def running_exchange(exchange: Exchange) -> AsyncIterator[InProcessExchange]:
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        yield InProcessExchange(exchange)
        nursery.cancel_scope.cancel()


@asynccontextmanager
async def rest_on_exchange(
    *, skew_ms: int = 0, wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport]
    | None = None, **config: object,
) -> AsyncIterator[tuple[BinanceRest, Exchange]]:  # fmt: skip
    """A started client on an in-process exchange whose clock runs ``skew_ms`` ahead."""
    exchange = Exchange.create(exchange_config(), clock=EpochClock(SIM_EPOCH_MS, skew_ms))
    async with running_exchange(exchange) as inproc:
        transport = inproc.transport()
        async with new_rest(wrap(transport) if wrap else transport, **config) as rest:
            yield rest, exchange


def request_codes(exchange: Exchange, path_suffix: str) -> list[int | None]:
    """The error codes (None: success) of the requests the exchange answered on a path."""
    return [
        e.payload.error_code
        for e in exchange.history.entries(EntryKind.REQUEST)
        if e.payload.path.endswith(path_suffix)
    ]


# ---- scripted transports --------------------------------------------------------------

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def reply(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers=headers or {})


def error(status: int, code: int, msg: str, **headers: str) -> httpx.Response:
    return reply(status, {"code": code, "msg": msg}, headers)


ORDER_BODY = {
    "symbol": "BTCUSDT", "orderId": 7, "orderListId": -1, "clientOrderId": "c-1",
    "transactTime": SIM_EPOCH_MS, "price": "50000", "origQty": "0.001", "executedQty": "0",
    "cummulativeQuoteQty": "0", "status": "NEW", "timeInForce": "GTC", "type": "LIMIT_MAKER",
    "side": "BUY", "workingTime": SIM_EPOCH_MS, "fills": [],
}  # fmt: skip


@attrs.define
class Scripted(httpx.AsyncBaseTransport):
    """Answers ``/api/v3/time`` itself and every other request through ``handler``.

    ``requests`` records (trio time, method, path) of every non-time request it received.
    """

    handler: Handler
    now_ms: Callable[[], int] = attrs.field(factory=lambda: EpochClock(SIM_EPOCH_MS).now_ms)
    requests: list[tuple[float, str, str]] = attrs.field(factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await trio.lowlevel.checkpoint()
        if request.url.path == "/api/v3/time":
            return reply(200, {"serverTime": self.now_ms()})
        self.requests.append((trio.current_time(), request.method, request.url.path))
        return await self.handler(request)

    def count(self, path_suffix: str) -> int:
        return sum(1 for _, _, path in self.requests if path.endswith(path_suffix))


def sequence(*steps: httpx.Response | BaseException) -> Handler:
    """A handler answering (or raising) each step in turn, then repeating the last one."""
    queue = list(steps)

    async def handle(request: httpx.Request) -> httpx.Response:
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, BaseException):
            raise step
        return step

    return handle


async def hang(request: httpx.Request) -> httpx.Response:
    await trio.sleep_forever()
    raise AssertionError("unreachable")


@attrs.define
class LoseResponse(httpx.AsyncBaseTransport):
    """Forwards to ``inner``; for requests matching ``lose`` the answer is lost on the way
    back (the exchange did the work; the client sees a ReadError)."""

    inner: httpx.AsyncBaseTransport
    lose: Callable[[httpx.Request], bool]
    lost: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.lose(request):
            self.lost += 1
            await response.aclose()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response
