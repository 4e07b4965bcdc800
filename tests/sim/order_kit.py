"""Order requests for the fault tests of the fake exchange (no tests here)."""

from __future__ import annotations

import json

from mmbot.sim.exchange import Exchange
from mmbot.venue.binance.signing import sign, ws_signing_payload


def resting_bid(exchange: Exchange, cid: str, below: int = 1000) -> dict[str, object]:
    """A LIMIT GTC bid for 0.01 BTCUSDT ``below`` under the best bid: it rests."""
    bid, _ = exchange.engine.best_bid_ask("BTCUSDT")
    assert bid is not None
    return {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.01", "price": str(bid - below), "newClientOrderId": cid,
    }  # fmt: skip


def ws_place_frame(
    exchange: Exchange, request_id: int, api_key: str, api_secret: str, cid: str
) -> str:
    """A signed WebSocket API ``order.place`` frame of :func:`resting_bid`."""
    params: dict[str, object] = {
        **resting_bid(exchange, cid), "apiKey": api_key, "timestamp": exchange.now_ms(),
    }  # fmt: skip
    params["signature"] = sign(api_secret, ws_signing_payload(params))
    return json.dumps({"id": request_id, "method": "order.place", "params": params})


def open_ids(exchange: Exchange) -> list[str]:
    """The client order ids open for the exchange's account, sorted."""
    return sorted(o.client_order_id for o in exchange.engine.open_orders(exchange.config.account))
