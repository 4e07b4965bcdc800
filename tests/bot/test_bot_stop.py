"""What a stop and a start leave on the exchange when the network misbehaves (mock clock)."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import trio
import trio.lowlevel
import trio.testing
from bot_kit import SYMBOLS, config, open_orders, running

from mmbot.bot.bot import Bot
from mmbot.errors import ChildStartError
from mmbot.model import OrderType, Side
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.venue.base import PlaceRequest
from mmbot.venue.binance.ws import WsConnection, WsConnector
from mmbot.venue.connect import VenueSpec, connect_venue


class LateDelivery(httpx.AsyncBaseTransport):
    """Delivers the next placement ``late`` seconds after it was sent, after the client
    has given up on it (the request is already on the wire: it lands anyway)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, network: trio.Nursery) -> None:
        self.inner = inner
        self.network = network
        self.armed = False
        self.late = 0.8
        self.sent: str | None = None
        self.on_wire = trio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.armed and request.method == "POST" and request.url.path == "/api/v3/order":
            self.armed = False
            self.sent = request.url.params.get("newClientOrderId")
            body = await request.aread()

            async def deliver() -> None:
                await trio.sleep(self.late)
                again = httpx.Request(
                    request.method, request.url, headers=request.headers, content=body
                )
                answer = await self.inner.handle_async_request(again)
                await answer.aread()

            self.network.start_soon(deliver)
            self.on_wire.set()
            await trio.sleep_forever()  # the answer never comes back
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class LateFrames:
    """The WebSocket API version of :class:`LateDelivery`: a connector whose connections
    deliver the next ``order.place`` frame ``late`` seconds after it was sent (the client
    has given up on it by then; it lands anyway)."""

    def __init__(self, inner: WsConnector, network: trio.Nursery) -> None:
        self.inner = inner
        self.network = network
        self.armed = False
        self.late = 0.8
        self.sent: str | None = None
        self.on_wire = trio.Event()

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        return _LateConnection(await self.inner.connect(nursery, resource), self)


class _LateConnection:
    def __init__(self, inner: WsConnection, late: LateFrames) -> None:
        self.inner = inner
        self.late = late
        self.held: str | bytes | None = None

    async def get_message(self) -> str | bytes:
        return await self.inner.get_message()

    async def send_message(self, message: str | bytes) -> None:
        late = self.late
        frame = json.loads(message)
        if late.armed and frame.get("method") == "order.place":
            late.armed = False
            late.sent = frame["params"]["newClientOrderId"]
            self.held = message

            async def deliver() -> None:
                await trio.sleep(late.late)
                await self.flush()

            late.network.start_soon(deliver)
            late.on_wire.set()
            return
        await self.inner.send_message(message)

    async def flush(self) -> None:
        held, self.held = self.held, None
        if held is not None:
            await self.inner.send_message(held)

    async def ping(self, payload: bytes | None = None) -> None:
        await self.inner.ping(payload)

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        await self.flush()  # on the wire before the close frame: it lands first
        await self.inner.aclose(code, reason)


@pytest.mark.parametrize("transport", ["rest", "ws_api"])
async def test_a_placement_that_lands_after_the_stop_began_is_found_and_cancelled(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=1))
    taps: list[LateDelivery | LateFrames] = []
    async with trio.open_nursery() as network:
        await network.start(exchange.run)

        def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
            tap = LateDelivery(inner, network)
            if transport == "rest":
                taps.append(tap)
            return tap

        def wrap_ws(inner: WsConnector) -> WsConnector:
            tap = LateFrames(inner, network)
            if transport == "ws_api":
                taps.append(tap)
            return tap

        bot = Bot(
            config(venue={"request_timeout": 0.3, "order_transport": transport}),
            mode="sim",
            seed=5,
            exchange=exchange,
            wrap_transport=wrap,
            wrap_connector=wrap_ws,
        )
        async with trio.open_nursery() as nursery:
            handle = await nursery.start(bot.run)
            handle.halt("ETHUSDT", "test")
            await trio.sleep(2)
            taps[0].armed = True
            handle.resume("ETHUSDT")  # its next placement goes out late
            await taps[0].on_wire.wait()
            await handle.stop()  # stopping while that placement is still on its way
        assert taps[0].sent is not None
        assert bot.stop_report is not None and bot.stop_report.clean
        await trio.sleep(5)
        assert open_orders(exchange) == []  # it landed during the stop, and was cancelled
        network.cancel_scope.cancel()


async def _place(exchange: Exchange, *client_ids: str) -> None:
    async with connect_venue(VenueSpec.in_process(("BTCUSDT",)), exchange=exchange) as venue:
        for cid in client_ids:
            placed = await venue.place(
                PlaceRequest(
                    "BTCUSDT", Side.BUY, OrderType.LIMIT_MAKER, Decimal("0.001"), cid,
                    price=Decimal("50000"),
                )
            )  # fmt: skip
            assert placed.is_ok, placed


async def test_an_order_that_only_looks_like_ours_is_never_touched(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=1))
    async with trio.open_nursery() as network:
        await network.start(exchange.run)
        await _place(exchange, "mm-manual-hedge")  # "mm-" but not <prefix>-<run>-<seq>
        bot = Bot(config(), mode="sim", seed=6, exchange=exchange)
        async with running(bot) as handle:
            assert handle.status().foreign_orders == 1
        assert open_orders(exchange) == ["mm-manual-hedge"]  # left alone by the stop too
        network.cancel_scope.cancel()


class RefuseCancels(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE" and request.url.path == "/api/v3/order":
            raise httpx.ConnectError("refused (test)", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class SwallowCancels:
    """A WebSocket connector whose connections never deliver a cancel frame."""

    def __init__(self, inner: WsConnector) -> None:
        self.inner = inner

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        late = LateFrames(self.inner, nursery)
        return _SwallowingConnection(await self.inner.connect(nursery, resource), late)


class _SwallowingConnection(_LateConnection):
    async def send_message(self, message: str | bytes) -> None:
        if json.loads(message).get("method") in ("order.cancel", "openOrders.cancelAll"):
            await trio.lowlevel.checkpoint()
            return
        await self.inner.send_message(message)


@pytest.mark.parametrize("transport", ["rest", "ws_api"])
async def test_a_start_that_cannot_cancel_an_earlier_runs_order_fails_instead_of_quoting(
    autojump_clock: trio.testing.MockClock, transport: str
) -> None:
    exchange = Exchange.simulated(ExchangeConfig(symbols=SYMBOLS, seed=1))
    async with trio.open_nursery() as network:
        await network.start(exchange.run)
        await _place(exchange, "mm-oldrun-1")
        bot = Bot(
            config(venue={"order_transport": transport}),
            mode="sim",
            seed=7,
            exchange=exchange,
            wrap_transport=RefuseCancels,
            wrap_connector=SwallowCancels,
        )
        with pytest.RaisesGroup(
            pytest.RaisesExc(ChildStartError, match="mm-oldrun-1"), flatten_subgroups=True
        ):
            async with trio.open_nursery() as nursery:
                await nursery.start(bot.run)
        assert open_orders(exchange) == ["mm-oldrun-1"]  # and nothing of this run beside it
        network.cancel_scope.cancel()
