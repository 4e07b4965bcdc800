"""Market streams of the Binance dialect: messages in, stream names and requests out (sans-IO).

What it is for: decoding market-stream messages (``depthUpdate``, ``bookTicker``, ``trade``,
``serverShutdown``, SUBSCRIBE answers, the combined-stream wrapper) and ``/depth`` snapshots
into the values of ``mmbot.venue.events``, and naming streams and writing SUBSCRIBE
requests. :func:`decode_market_wire` is the stream client's form of
:func:`decode_market_message`: a ``depthUpdate`` becomes a :class:`~mmbot.venue.book.WireDiff`
(prices as Decimals from a memo, quantities left as validated wire texts, levels checked in
bulk rather than one by one); it accepts and refuses exactly the inputs
:func:`decode_market_message` does.

What it must never do: I/O, read a clock, or let anything but :class:`CodecError` escape.
The ``depthUpdate`` path is hot (a few µs per message): it uses ``json.loads`` once, no
cattrs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from mmbot.venue.binance.codec.failures import decode_error
from mmbot.venue.binance.codec.levels import read_levels, read_wire_levels
from mmbot.venue.binance.codec.primitives import (
    MALFORMED,
    CodecError,
    as_bool,
    as_decimal,
    as_dict,
    as_int,
    as_str,
    decoder,
    fail,
    json_value,
    loads,
)
from mmbot.venue.book import WireDiff
from mmbot.venue.events import BookTicker, DepthSnapshot, DepthUpdate, PublicTrade


@attrs.frozen
class StreamAck:
    """The answer to a SUBSCRIBE/UNSUBSCRIBE request: ``{"result": null, "id": n}``."""

    request_id: int | str | None
    error: tuple[int, str] | None = None


@attrs.frozen
class ServerShutdown:
    """``serverShutdown``: the server will close this connection soon; reconnect early."""

    event_time_ms: int


MarketMessage = DepthUpdate | BookTicker | PublicTrade | StreamAck | ServerShutdown


def _depth_update(d: dict[str, Any]) -> DepthUpdate:
    first, final = as_int(d["U"]), as_int(d["u"])
    if first > final:
        fail(f"depthUpdate with U {first} > u {final}")
    return DepthUpdate(
        as_str(d["s"]), first, final, as_int(d["E"]), read_levels(d["b"]), read_levels(d["a"])
    )  # fmt: skip


def _wire_diff(d: dict[str, Any]) -> WireDiff:
    first, final, symbol, event_time = d["U"], d["u"], d["s"], d["E"]
    if type(first) is not int or type(final) is not int or type(event_time) is not int:
        fail("depthUpdate ids and time must be integers")
    if type(symbol) is not str:
        fail("depthUpdate symbol must be a string")
    if first > final:
        fail(f"depthUpdate with U {first} > u {final}")
    bid_prices, bid_texts, ask_prices, ask_texts = read_wire_levels(d["b"], d["a"])
    return WireDiff(symbol, first, final, event_time, bid_prices, bid_texts, ask_prices, ask_texts)


def _book_ticker(d: dict[str, Any]) -> BookTicker:
    return BookTicker(
        as_str(d["s"]), as_int(d["u"]), as_decimal(d["b"]), as_decimal(d["B"]),
        as_decimal(d["a"]), as_decimal(d["A"]),
    )  # fmt: skip


def _trade(d: dict[str, Any]) -> PublicTrade:
    return PublicTrade(
        as_str(d["s"]), as_int(d["t"]), as_decimal(d["p"]), as_decimal(d["q"]), as_int(d["T"]),
        as_int(d["E"]), as_bool(d["m"]),
    )  # fmt: skip


def decode_market_message(raw: object) -> MarketMessage:
    """One message of a raw or combined (``{"stream", "data"}``) market stream."""
    try:  # inline rather than @decoder: this is the hot path
        return _market_message(
            json.loads(raw) if type(raw) is str else json_value(raw), _depth_update
        )
    except CodecError:
        raise
    except (*MALFORMED, RecursionError) as exc:
        raise CodecError(f"malformed market stream message: {type(exc).__name__}: {exc}") from exc


def decode_market_wire(raw: object) -> WireDiff | MarketMessage:
    """:func:`decode_market_message`, but a ``depthUpdate`` comes back as a
    :class:`~mmbot.venue.book.WireDiff` (what the stream client feeds its books)."""
    try:
        return _market_message(loads(raw) if type(raw) is str else json_value(raw), _wire_diff)
    except CodecError:
        raise
    except (*MALFORMED, RecursionError) as exc:
        raise CodecError(f"malformed market stream message: {type(exc).__name__}: {exc}") from exc


D = TypeVar("D", DepthUpdate, WireDiff)


def _market_message(d: Any, depth: Callable[[dict[str, Any]], D]) -> D | MarketMessage:
    if type(d) is not dict:
        fail("a market stream message must be an object")
    if "stream" in d:
        d = as_dict(d["data"])
    event = d.get("e")
    if event == "depthUpdate":
        return depth(d)
    if event == "trade":
        return _trade(d)
    if event is None and "B" in d and "A" in d:
        return _book_ticker(d)
    if event == "serverShutdown":
        return ServerShutdown(as_int(d["E"]))
    if "id" in d and ("result" in d or "error" in d):
        return StreamAck(d["id"], decode_error(d["error"]) if "error" in d else None)
    fail(f"unknown market message type {event!r}")


@decoder("/depth snapshot")
def decode_depth_snapshot(raw: object, symbol: str) -> DepthSnapshot:
    d = as_dict(json_value(raw))
    return DepthSnapshot(
        symbol, as_int(d["lastUpdateId"]), read_levels(d["bids"]), read_levels(d["asks"])
    )


# ---- stream names and requests ----------------------------------------------------------


def encode_subscribe(streams: Sequence[str], request_id: int, *, unsubscribe: bool = False) -> str:
    method = "UNSUBSCRIBE" if unsubscribe else "SUBSCRIBE"
    return json.dumps({"method": method, "params": list(streams), "id": request_id})


def depth_stream(symbol: str, *, speed_ms: int = 100) -> str:
    """The diff-depth stream name: ``btcusdt@depth@100ms`` (1000 ms: ``btcusdt@depth``)."""
    return f"{symbol.lower()}@depth" + ("@100ms" if speed_ms == 100 else "")


def combined_stream_path(streams: Sequence[str]) -> str:
    return "/stream?streams=" + "/".join(streams)
