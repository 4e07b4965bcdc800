"""The REST ASGI app: what reaches the handler, what goes back, and that it never 500s."""

from __future__ import annotations

import httpx
import pytest
from dialect_kit import API_KEY, NOW, SECRET, Kit

from mmbot.sim.dialect import MAX_BODY_BYTES, RestRequest, RestResponse
from mmbot.sim.rest_app import build_rest_app
from mmbot.venue.binance.signing import sign


def client_for(handler: object) -> httpx.AsyncClient:
    app = build_rest_app(handler)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


async def test_handler_sees_raw_query_body_lowercased_headers_and_client() -> None:
    seen: list[RestRequest] = []

    def handler(request: RestRequest) -> RestResponse:
        seen.append(request)
        return RestResponse(200, {"ok": True}, (("X-MBX-USED-WEIGHT-1M", "3"),))

    async with client_for(handler) as client:
        response = await client.request(
            "DELETE",
            "/api/v3/order?b=2&a=1",
            content=b"symbol=BTCUSDT&x=%20",
            headers={"X-MBX-APIKEY": "k", "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert response.headers["x-mbx-used-weight-1m"] == "3"
    (request,) = seen
    assert (request.method, request.path) == ("DELETE", "/api/v3/order")
    assert request.raw_query == b"b=2&a=1" and request.raw_body == b"symbol=BTCUSDT&x=%20"
    assert request.headers["x-mbx-apikey"] == "k" and request.client == "127.0.0.1"


async def test_body_beyond_the_cap_is_cut_one_byte_past_it() -> None:
    sizes: list[int] = []

    def handler(request: RestRequest) -> RestResponse:
        sizes.append(len(request.raw_body))
        return RestResponse(200, {})

    async with client_for(handler) as client:
        await client.post("/api/v3/order", content=b"x" * (3 * MAX_BODY_BYTES))
    assert sizes == [MAX_BODY_BYTES + 1]


async def test_a_failing_handler_is_answered_400_with_a_generic_1000() -> None:
    def handler(request: RestRequest) -> RestResponse:
        raise RuntimeError("secret internals")

    async with client_for(handler) as client:
        response = await client.get("/api/v3/ping")
    assert response.status_code == 400
    assert response.json()["code"] == -1000
    assert "secret internals" not in response.text


async def test_a_signed_order_through_the_app_reaches_the_engine() -> None:
    kit = Kit()
    text = (
        f"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=100&timestamp={NOW}"
    )
    body = text + "&signature=" + sign(SECRET, text)
    async with client_for(lambda r: kit.dialect.handle_rest(r, NOW)) as client:
        response = await client.post(
            "/api/v3/order",
            content=body.encode(),
            headers={"X-MBX-APIKEY": API_KEY, "Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["price"] == "100.00000000"
    assert response.headers["x-mbx-order-count-10s"] == "1"
    assert len(kit.engine.open_orders("alice")) == 1


async def test_lifespan_startup_and_shutdown_are_acknowledged() -> None:
    app = build_rest_app(lambda r: RestResponse(200, {}))
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.parametrize("path", ["/api/v3/nothing", "/", "/api/v3/order/../../x"])
async def test_unknown_paths_through_the_app_are_404_in_the_dialect(path: str) -> None:
    kit = Kit()
    async with client_for(lambda r: kit.dialect.handle_rest(r, NOW)) as client:
        response = await client.get(path)
    assert response.status_code == 404 and response.json()["code"] == -1020
