"""Order requests over the WebSocket API (``ws_api_orders.py``), against the fake exchange
in-process (mock clock) and against scripted connections for the ways a request can end."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import trio
import trio.testing

from mmbot.errors import VenueUnavailable
from mmbot.model import OrderType, Outcome, Side
from mmbot.resilience.ratelimit import RateLimiter
from mmbot.resilience.ratelimit_core import RateLimiterConfig, counts_as_headers
from mmbot.sim.history import EntryKind, RequestRecord
from mmbot.testing import open_rig
from mmbot.venue.base import CancelReplaceRequest, OrderRef, PlaceRequest
from mmbot.venue.binance.rest_endpoints import PLACE, Endpoint, EndpointClass
from mmbot.venue.binance.rest_http import RestConfig, ServerClock
from mmbot.venue.binance.venue import BinanceVenueConfig
from mmbot.venue.binance.ws import WsConnection
from mmbot.venue.binance.ws_api_orders import WsApiOrdersConfig, WsApiSender

WS_ORDERS = BinanceVenueConfig(ws_api_orders=WsApiOrdersConfig())


def _bid(cid: str, price: str = "1000", quantity: str = "0.01") -> PlaceRequest:
    return PlaceRequest(
        "BTCUSDT", Side.BUY, OrderType.LIMIT_MAKER, Decimal(quantity), cid, price=Decimal(price)
    )


def _requests(exchange: object, transport: str) -> list[str]:
    """The methods (WebSocket API) or paths (REST) of the requests the exchange answered."""
    out = []
    for entry in exchange.history.entries(EntryKind.REQUEST):  # type: ignore[attr-defined]
        record = entry.payload
        assert isinstance(record, RequestRecord)
        if record.transport == transport:
            out.append(record.path)
    return out


async def test_orders_travel_as_websocket_api_frames_and_everything_else_over_rest(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig(config=WS_ORDERS) as rig:
        placed = await rig.venue.place(_bid("ws-1"))
        assert placed.outcome is Outcome.OK and placed.value is not None
        queried = await rig.venue.query_order(OrderRef("BTCUSDT", client_order_id="ws-1"))
        assert queried.outcome is Outcome.OK
        cancelled = await rig.venue.cancel(OrderRef("BTCUSDT", client_order_id="ws-1"))
        assert cancelled.outcome is Outcome.OK
        open_now = await rig.venue.open_orders("BTCUSDT")
        assert open_now.outcome is Outcome.OK and open_now.value == ()
        ws = _requests(rig.exchange, "ws_api")
        assert {"order.place", "order.status", "order.cancel"} <= set(ws)
        rest = _requests(rig.exchange, "rest")
        assert not any(path.endswith("/api/v3/order") for path in rest)
        assert any(path.endswith("/api/v3/openOrders") for path in rest)


async def test_a_rejected_order_is_failed_with_the_venues_code(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig(config=WS_ORDERS) as rig:
        book = rig.venue.market_streams  # the book tells where a bid would cross
        streams = await book("BTCUSDT")
        ask = streams.book("BTCUSDT").asks[0].price
        crossing = await rig.venue.place(_bid("ws-cross", price=str(ask * 2)))
        assert crossing.outcome is Outcome.FAILED
        assert crossing.code == -2010


async def test_cancel_replace_errors_with_parts_are_answers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig(config=WS_ORDERS) as rig:
        request = CancelReplaceRequest(
            cancel=OrderRef("BTCUSDT", client_order_id="never-placed"),
            new=_bid("ws-new"),
        )
        result = await rig.venue.cancel_replace(request)
        assert result.outcome is Outcome.OK and result.value is not None
        assert result.value.cancel.outcome is Outcome.FAILED
        assert "order.cancelReplace" in _requests(rig.exchange, "ws_api")


async def test_a_lost_answer_is_unknown_and_the_order_is_found_by_its_client_id(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def lose_place_answers(resource: str, frame: str | bytes) -> bool:
        body = json.loads(frame)
        return (
            isinstance(body.get("result"), dict)
            and body["result"].get("clientOrderId") == "ws-lost"
            and "fills" in body["result"]
        )

    async with open_rig(config=WS_ORDERS) as rig:
        rig.tap.drop = lose_place_answers
        placed = await rig.venue.place(_bid("ws-lost"))
        assert placed.outcome is Outcome.UNKNOWN
        assert "no answer" in (placed.reason or "")
        rig.tap.drop = None
        found = await rig.venue.query_order(OrderRef("BTCUSDT", client_order_id="ws-lost"))
        assert found.outcome is Outcome.OK  # it was placed: the tracker would resolve it so


async def test_a_connection_that_dies_mid_request_is_unknown_and_the_next_request_reconnects(
    autojump_clock: trio.testing.MockClock,
) -> None:
    killed = trio.Event()

    def hold_place_answers(resource: str, frame: str | bytes) -> bool:
        body = json.loads(frame)
        return not killed.is_set() and isinstance(body.get("result"), dict)

    async with open_rig(config=WS_ORDERS) as rig:
        assert rig.venue.rest.ws_api is not None
        await rig.venue.place(_bid("ws-warm"))  # the order connection is open
        before = rig.venue.rest.ws_api.connections
        rig.tap.drop = hold_place_answers
        async with trio.open_nursery() as nursery:
            outcome: list[Outcome] = []

            async def place() -> None:
                outcome.append((await rig.venue.place(_bid("ws-dies"))).outcome)

            nursery.start_soon(place)
            await trio.sleep(0.1)
            await rig.tap.kill("/ws-api")
            killed.set()
        assert outcome == [Outcome.UNKNOWN]
        again = await rig.venue.place(_bid("ws-after"))
        assert again.outcome is Outcome.OK
        assert rig.venue.rest.ws_api.connections == before + 1


async def test_no_connection_means_failed_and_nothing_sent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig(config=WS_ORDERS) as rig:
        assert rig.venue.rest.ws_api is not None
        await rig.venue.place(_bid("ws-warm"))
        rig.tap.refuse = lambda resource: resource.startswith("/ws-api")
        await rig.tap.kill("/ws-api")
        await trio.sleep(0.1)
        placed = await rig.venue.place(_bid("ws-refused"))
        assert placed.outcome is Outcome.FAILED
        assert "cannot connect" in (placed.reason or "")
        engine = rig.exchange.engine
        assert "ws-refused" not in {
            o.client_order_id for o in engine.open_orders(rig.exchange.config.account)
        }


async def test_the_connection_is_replaced_once_its_lifetime_has_passed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = BinanceVenueConfig(ws_api_orders=WsApiOrdersConfig(max_connection_s=60.0))
    async with open_rig(config=config) as rig:
        sender = rig.venue.rest.ws_api
        assert sender is not None
        assert (await rig.venue.place(_bid("ws-a"))).outcome is Outcome.OK
        await trio.sleep(61)
        assert (await rig.venue.place(_bid("ws-b"))).outcome is Outcome.OK
        assert sender.connections == 2
        assert rig.tap.opened("/ws-api") >= 3  # the user stream's, and the two of orders


# -- scripted connections ----------------------------------------------------------------


class Scripted:
    """A connector whose connections answer each request with ``answer(frame)`` (None: no
    answer); ``opened`` and ``closed`` count its connections."""

    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.sent: list[dict[str, object]] = []
        self.links: list[ScriptedLink] = []

    @property
    def opened(self) -> int:
        return len(self.links)

    @property
    def closed(self) -> int:
        return sum(1 for link in self.links if link.closed)

    async def connect(self, nursery: trio.Nursery, resource: str) -> WsConnection:
        await trio.lowlevel.checkpoint()
        link = ScriptedLink(self)
        self.links.append(link)
        return link  # type: ignore[return-value]


class ScriptedLink:
    def __init__(self, script: Scripted) -> None:
        self.script = script
        self.closed = False
        self.inbox_send, self.inbox = trio.open_memory_channel[str](100)

    async def get_message(self) -> str:
        try:
            return await self.inbox.receive()
        except trio.EndOfChannel:  # closed by us: as trio-websocket, a closed connection
            raise trio.ClosedResourceError("closed") from None

    async def send_message(self, message: str | bytes) -> None:
        frame = json.loads(message)
        self.script.sent.append(frame)
        reply = self.script.answer(frame)  # type: ignore[operator]
        if reply is not None:
            await self.inbox_send.send(json.dumps(reply))

    async def ping(self, payload: bytes | None = None) -> None:
        await trio.lowlevel.checkpoint()

    async def aclose(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = True
        await self.inbox_send.aclose()


def _sender(script: Scripted, limiter: RateLimiter | None = None) -> WsApiSender:
    from mmbot.venue.binance.rest_http import ApiCredentials

    return WsApiSender(
        WsApiOrdersConfig(),
        script,  # type: ignore[arg-type]
        rest=RestConfig(request_timeout=1.0),
        clock=ServerClock(lambda: 1_700_000_000_000, 300.0),
        limiter=limiter or RateLimiter(RateLimiterConfig()),
        credentials=ApiCredentials("key-123", "secret-456"),
    )


#: An unsigned request (the lifetime test needs no credentials).
UNSIGNED = Endpoint("time", "GET", "/api/v3/time", EndpointClass.MARKET_DATA)

PLACE_PARAMS = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "1"}


async def test_a_request_is_signed_over_its_sorted_parameters_and_never_shows_the_secret(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.venue.binance.signing import sign, ws_signing_payload

    script = Scripted(lambda f: {"id": f["id"], "status": 200, "result": {"ok": True}})
    sender = _sender(script)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        answer = await sender.send(PLACE, PLACE_PARAMS)
        nursery.cancel_scope.cancel()
    assert answer.status == 200 and answer.body == {"ok": True}
    (frame,) = script.sent
    params = frame["params"]
    assert isinstance(params, dict)
    assert frame["method"] == "order.place"
    assert params["apiKey"] == "key-123" and params["timestamp"] == "1700000000000"
    assert params["signature"] == sign("secret-456", ws_signing_payload(params))
    assert "secret-456" not in json.dumps(frame) and "secret-456" not in repr(sender)


async def test_the_answers_rate_limits_keep_the_limiter_in_step(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limits = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": 6000, "count": 4321},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
         "limit": 50, "count": 7},
    ]  # fmt: skip
    script = Scripted(lambda f: {"id": f["id"], "status": 200, "result": {}, "rateLimits": limits})
    limiter = RateLimiter(RateLimiterConfig())
    sender = _sender(script, limiter)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        await sender.send(PLACE, PLACE_PARAMS)
        nursery.cancel_scope.cancel()
    used = {rule.kind.value + str(rule.interval): n for rule, n in limiter.statistics().used}
    assert used["REQUEST_WEIGHT60"] == 4321 and used["ORDERS10"] == 7


def test_rate_limits_read_as_the_headers_rest_would_carry() -> None:
    entries = [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
         "limit": 6000, "count": 70},
        {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1,
         "limit": 160000, "count": 3},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
         "limit": 61000, "count": 9},
        {"rateLimitType": "SOMETHING_NEW", "interval": "MINUTE", "count": 1},
        "garbage",
    ]  # fmt: skip
    assert counts_as_headers(entries) == {
        "x-mbx-used-weight-1m": "70",
        "x-mbx-order-count-1d": "3",
    }
    assert counts_as_headers(None) == {}


@pytest.mark.parametrize(
    ("answer", "outcome_error"),
    [
        ({"status": 400, "error": {"code": -2010, "msg": "insufficient"}}, "VenueRejected"),
        ({"status": 503, "error": {"code": -1000, "msg": "unknown"}}, "VenueUnknown"),
        ({"status": 400, "error": {"code": -1007, "msg": "timeout"}}, "VenueUnknown"),
        ({"status": 429, "error": {"code": -1003, "msg": "slow down",
          "data": {"serverTime": 1000, "retryAfter": 3000}}}, "RateLimited"),
    ],
)  # fmt: skip
async def test_error_answers_map_as_rest_does(
    autojump_clock: trio.testing.MockClock, answer: dict[str, object], outcome_error: str
) -> None:
    script = Scripted(lambda f: {"id": f["id"], **answer})
    limiter = RateLimiter(RateLimiterConfig())
    sender = _sender(script, limiter)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        with pytest.raises(Exception) as raised:
            await sender.send(PLACE, PLACE_PARAMS)
        nursery.cancel_scope.cancel()
    assert type(raised.value).__name__ == outcome_error
    if outcome_error == "RateLimited":
        assert getattr(raised.value, "retry_after", None) == 2.0
        assert limiter.statistics().blocked_until is not None


async def test_no_answer_in_time_is_unknown_and_a_late_answer_is_ignored(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Scripted(lambda f: None)
    sender = _sender(script)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        with pytest.raises(Exception, match="no answer within") as raised:
            await sender.send(PLACE, PLACE_PARAMS)
        assert type(raised.value).__name__ == "VenueUnknown"
        await script.links[0].inbox_send.send(json.dumps({"id": 1, "status": 200, "result": {}}))
        await trio.sleep(0.1)  # nothing waits for it: dropped
        assert script.links[0].closed  # a connection that did not answer is not reused
        script.answer = lambda f: {"id": f["id"], "status": 200, "result": {}}
        assert (await sender.send(PLACE, PLACE_PARAMS)).status == 200
        assert sender.connections == 2
        nursery.cancel_scope.cancel()


async def test_a_server_shutdown_sends_new_requests_to_a_new_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Scripted(lambda f: {"id": f["id"], "status": 200, "result": {}})
    sender = _sender(script)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        await sender.send(PLACE, PLACE_PARAMS)
        await script.links[0].inbox_send.send(
            json.dumps({"event": {"e": "serverShutdown", "E": 1}})
        )
        await trio.sleep(0.1)
        await sender.send(PLACE, PLACE_PARAMS)
        nursery.cancel_scope.cancel()
    assert sender.connections == 2 and script.opened == 2
    assert script.links[0].closed  # its answers were in: closed


async def test_a_sender_that_is_not_running_sends_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Scripted(lambda f: {"id": f["id"], "status": 200, "result": {}})
    with pytest.raises(VenueUnavailable, match="not running"):
        await _sender(script).send(PLACE, PLACE_PARAMS)
    assert script.sent == []


async def test_a_rate_limited_cancel_replace_is_rate_limited_not_an_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.errors import RateLimited
    from mmbot.venue.binance.rest_endpoints import CANCEL_REPLACE

    error = {"code": -1003, "msg": "Too many requests.",
             "data": {"serverTime": 1000, "retryAfter": 4000}}  # fmt: skip
    script = Scripted(lambda f: {"id": f["id"], "status": 429, "error": error})
    limiter = RateLimiter(RateLimiterConfig())
    sender = _sender(script, limiter)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        with pytest.raises(RateLimited) as raised:
            await sender.send(CANCEL_REPLACE, PLACE_PARAMS)
        nursery.cancel_scope.cancel()
    assert raised.value.retry_after == 3.0
    assert limiter.statistics().blocked_until is not None


async def test_cancel_replace_parts_in_an_error_are_an_answer(
    autojump_clock: trio.testing.MockClock,
) -> None:
    from mmbot.venue.binance.rest_endpoints import CANCEL_REPLACE

    error = {"code": -2022, "msg": "Order cancel-replace failed.",
             "data": {"cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                      "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
                      "newOrderResponse": None}}  # fmt: skip
    script = Scripted(lambda f: {"id": f["id"], "status": 400, "error": error})
    sender = _sender(script)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        answer = await sender.send(CANCEL_REPLACE, PLACE_PARAMS)
        nursery.cancel_scope.cancel()
    assert answer.status == 400 and answer.body == error


async def test_a_retired_connection_keeps_answering_what_waits_on_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    held: list[dict[str, object]] = []

    def answer(frame: dict[str, object]) -> dict[str, object] | None:
        if not held:
            held.append(frame)  # the first request's answer comes later
            return None
        return {"id": frame["id"], "status": 200, "result": {"n": len(held)}}

    script = Scripted(answer)
    sender = _sender(script)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        first: list[object] = []

        async def send_first() -> None:
            first.append((await sender.send(PLACE, PLACE_PARAMS)).body)

        nursery.start_soon(send_first)
        await trio.sleep(0.1)
        old = script.links[0]
        await old.inbox_send.send(json.dumps({"event": {"e": "serverShutdown", "E": 1}}))
        await trio.sleep(0.1)
        assert (await sender.send(PLACE, PLACE_PARAMS)).status == 200  # on a new connection
        assert script.opened == 2 and not old.closed  # the old one still has a waiter
        await old.inbox_send.send(json.dumps({"id": held[0]["id"], "status": 200,
                                              "result": {"late": True}}))  # fmt: skip
        await trio.sleep(0.1)
        assert first == [{"late": True}]
        assert old.closed  # its last answer is in: closed
        nursery.cancel_scope.cancel()


async def test_a_connection_past_its_lifetime_is_closed_once_its_answers_are_in(
    autojump_clock: trio.testing.MockClock,
) -> None:
    script = Scripted(lambda f: {"id": f["id"], "status": 200, "result": {}})
    sender = WsApiSender(
        WsApiOrdersConfig(max_connection_s=60.0),
        script,  # type: ignore[arg-type]
        rest=RestConfig(request_timeout=1.0),
        clock=ServerClock(lambda: 1_700_000_000_000, 300.0),
        limiter=RateLimiter(RateLimiterConfig()),
        credentials=None,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        await sender.send(UNSIGNED, {})
        await trio.sleep(61)
        assert not script.links[0].closed  # nothing asked for a new one yet
        await sender.send(UNSIGNED, {})
        await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    assert script.opened == 2 and script.links[0].closed and not script.links[1].closed
