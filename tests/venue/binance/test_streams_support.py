"""Helpers shared by the stream and user-stream tests (no tests here).

``RestStub`` is a minimal signed REST client over httpx for the calls the stream clients
need (depth, open orders, trades, query order, place), used until ``BinanceRest`` lands.
``TapConnector`` wraps a connector so a test can drop frames, silence or kill connections.
``exchange_book_at`` rebuilds the exchange's true book at an update id from its history.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import attrs
import httpx
import trio

from mmbot.clock import EpochClock
from mmbot.model import Fill, OrderType, Side, TimeInForce
from mmbot.sim.engine import BookDelta
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.history import EntryKind
from mmbot.venue.base import OrderInfo, OrderRef, PlaceAck, PlaceRequest, VenueResult, failed, ok
from mmbot.venue.binance.codec import (
    decode_depth_snapshot,
    decode_error,
    decode_my_trades,
    decode_order,
    decode_order_response,
    decode_orders,
    encode_order_ref,
    encode_place,
)
from mmbot.venue.binance.signing import sign
from mmbot.venue.binance.ws import WsConnection, WsConnector
from mmbot.venue.events import DepthSnapshot

API_KEY = "test-key"
API_SECRET = "test-secret"


def exchange_config(**kw: Any) -> ExchangeConfig:
    return ExchangeConfig(
        symbols=("BTCUSDT", "ETHUSDT"), api_key=API_KEY, api_secret=API_SECRET, **kw
    )


@attrs.define(eq=False)
class RestStub:
    client: httpx.AsyncClient
    clock: EpochClock
    calls: list[str] = attrs.field(factory=list)
    depth_calls: int = 0

    async def _get(self, path: str, params: dict[str, str], signed: bool) -> Any:
        return await self._send("GET", path, params, signed)

    async def resync_time(self) -> None:
        self.calls.append("resync_time")

    async def admit_stream_request(self, operation: str) -> None:
        self.calls.append(f"admit {operation}")

    def stream_throttled(self, status: int, retry_after: float | None) -> None:
        self.calls.append(f"throttled {status} {retry_after}")

    async def _send(self, method: str, path: str, params: dict[str, str], signed: bool) -> Any:
        self.calls.append(path)
        headers = {}
        if signed:
            params = {**params, "timestamp": str(self.clock.now_ms())}
            query = urlencode(params)
            query += "&signature=" + sign(API_SECRET, query)
            headers["X-MBX-APIKEY"] = API_KEY
        else:
            query = urlencode(params)
        response = await self.client.request(method, f"/api/v3/{path}?{query}", headers=headers)
        return response

    @staticmethod
    def _result(response: httpx.Response, decode: Callable[[str], Any]) -> VenueResult[Any]:
        if response.status_code != 200:
            code, msg = decode_error(response.text)
            return failed(code, msg, http_status=response.status_code)
        return ok(decode(response.text))

    async def depth(self, symbol: str, limit: int = 1000) -> VenueResult[DepthSnapshot]:
        self.depth_calls += 1
        r = await self._get("depth", {"symbol": symbol, "limit": str(limit)}, False)
        return self._result(r, lambda t: decode_depth_snapshot(t, symbol))

    async def open_orders(self, symbol: str | None = None) -> VenueResult[tuple[OrderInfo, ...]]:
        r = await self._get("openOrders", {"symbol": symbol} if symbol else {}, True)
        return self._result(r, decode_orders)

    async def trades(
        self, symbol: str, *, order_id: int | None = None, from_id: int | None = None,
        limit: int = 500,
    ) -> VenueResult[tuple[Fill, ...]]:  # fmt: skip
        params = {"symbol": symbol, "limit": str(limit)}
        if order_id is not None:
            params["orderId"] = str(order_id)
        if from_id is not None:
            params["fromId"] = str(from_id)
        r = await self._get("myTrades", params, True)
        return self._result(r, decode_my_trades)

    async def query_order(self, ref: OrderRef) -> VenueResult[OrderInfo]:
        r = await self._get("order", encode_order_ref(ref), True)
        return self._result(r, decode_order)

    async def place(self, request: PlaceRequest) -> VenueResult[PlaceAck]:
        r = await self._send("POST", "order", encode_place(request), True)
        return self._result(r, decode_order_response)


def limit_order(
    symbol: str,
    side: Side,
    price: Decimal,
    qty: Decimal,
    coid: str,
    tif: TimeInForce = TimeInForce.GTC,
) -> PlaceRequest:
    return PlaceRequest(symbol, side, OrderType.LIMIT, qty, coid, price=price, time_in_force=tif)


@attrs.define(eq=False)
class TapConnection:
    """A connection wrapper: drop frames by a predicate, go silent, or be killed."""

    inner: WsConnection
    tap: TapConnector
    silent: bool = False

    async def get_message(self) -> str | bytes:
        while True:
            if self.silent or self.tap.silent:
                await trio.sleep_forever()
            message = await self._next()
            self.tap.received += 1
            if self.tap.drop is not None and self.tap.drop(message):
                self.tap.dropped.append(message)
                continue
            return message

    async def _next(self) -> str | bytes:
        """The next frame from the socket, or one the test injected."""
        got: list[str | bytes] = []
        failed: list[BaseException] = []

        async def from_socket(scope: trio.CancelScope) -> None:
            try:
                got.append(await self.inner.get_message())
            except Exception as exc:  # re-raised below, outside the nursery
                failed.append(exc)
            scope.cancel()

        async def from_test(scope: trio.CancelScope) -> None:
            got.append(await self.tap.injected_receive.receive())
            scope.cancel()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(from_socket, nursery.cancel_scope)
            nursery.start_soon(from_test, nursery.cancel_scope)
        if got:
            return got[0]
        raise failed[0]

    async def send_message(self, message: str | bytes) -> None:
        self.tap.sent.append(message)
        await self.inner.send_message(message)

    async def ping(self, payload: bytes | None = None) -> None:
        if self.silent or self.tap.silent:
            await trio.sleep_forever()
        await self.inner.ping(payload)

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        await self.inner.aclose(code, reason)


@attrs.define(eq=False)
class TapConnector:
    inner: WsConnector
    drop: Callable[[str | bytes], bool] | None = None
    silent: bool = False
    refuse: bool = False
    connections: list[TapConnection] = attrs.field(factory=list)
    dropped: list[str | bytes] = attrs.field(factory=list)
    sent: list[str | bytes] = attrs.field(factory=list)
    received: int = 0
    attempts: int = 0
    opened: trio.Event = attrs.field(factory=trio.Event)
    injected_send: trio.MemorySendChannel[str] = attrs.field(init=False)
    injected_receive: trio.MemoryReceiveChannel[str] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.injected_send, self.injected_receive = trio.open_memory_channel[str](100)

    def inject(self, frame: str) -> None:
        """Deliver ``frame`` to the client as if the server had sent it."""
        self.injected_send.send_nowait(frame)

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        self.attempts += 1
        if self.refuse:
            raise OSError("connection refused (test)")
        connection = TapConnection(await self.inner.connect(nursery, resource), self)
        self.connections.append(connection)
        self.opened.set()
        self.opened = trio.Event()
        return connection

    async def kill_current(self) -> None:
        """Close the newest connection from under its client (the client's own cleanup
        stops the close handshake, so do not wait for it)."""
        with trio.move_on_after(0.5):
            await self.connections[-1].inner.aclose(4000, "killed by test")


def exchange_book_at(
    exchange: Exchange, symbol: str, update_id: int, depth: int
) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """The exchange's true book after update ``update_id`` (top ``depth`` per side)."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for entry in exchange.history.entries(EntryKind.BOOK_DELTA):
        delta = entry.payload
        assert isinstance(delta, BookDelta)
        if delta.symbol != symbol or delta.update_id > update_id:
            continue
        side = bids if delta.side is Side.BUY else asks
        if delta.quantity:
            side[delta.price] = delta.quantity
        else:
            side.pop(delta.price, None)
    top_bids = sorted(bids.items(), reverse=True)[:depth]
    top_asks = sorted(asks.items())[:depth]
    return top_bids, top_asks
