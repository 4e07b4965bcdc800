"""The wire codec of the Binance Spot dialect (sans-IO): JSON in, typed values out, and back.

What it is for: decoding market streams, user events, WebSocket API frames and REST bodies
into the values of ``mmbot.venue``, and encoding order parameters and stream requests. Every
public decoder takes raw text/bytes or an already parsed JSON value. The modules, one per
part of the wire: ``primitives`` (the error and checked readers), ``levels`` (price levels,
the hot path), ``market`` (market streams and ``/depth``), ``user_events``, ``ws_api``,
``failures`` (error answers: FAILED or UNKNOWN), ``rest`` (REST answers) and ``params``
(order parameters). Import the names below from here.

What it must never do: I/O, read a clock, or let a ``KeyError``/``TypeError``/
``InvalidOperation`` escape: malformed input raises :class:`CodecError` and nothing else.
Numbers on the wire are strings and become ``Decimal`` exactly; a float is never money.
"""

from mmbot.venue.binance.codec.failures import UNKNOWN_CODES as UNKNOWN_CODES
from mmbot.venue.binance.codec.failures import classify_failure as classify_failure
from mmbot.venue.binance.codec.failures import decode_error as decode_error
from mmbot.venue.binance.codec.failures import failure_result as failure_result
from mmbot.venue.binance.codec.market import MarketMessage as MarketMessage
from mmbot.venue.binance.codec.market import ServerShutdown as ServerShutdown
from mmbot.venue.binance.codec.market import StreamAck as StreamAck
from mmbot.venue.binance.codec.market import combined_stream_path as combined_stream_path
from mmbot.venue.binance.codec.market import decode_depth_snapshot as decode_depth_snapshot
from mmbot.venue.binance.codec.market import decode_market_message as decode_market_message
from mmbot.venue.binance.codec.market import decode_market_wire as decode_market_wire
from mmbot.venue.binance.codec.market import depth_stream as depth_stream
from mmbot.venue.binance.codec.market import encode_subscribe as encode_subscribe
from mmbot.venue.binance.codec.params import decode_place_params as decode_place_params
from mmbot.venue.binance.codec.params import encode_cancel_replace as encode_cancel_replace
from mmbot.venue.binance.codec.params import encode_order_ref as encode_order_ref
from mmbot.venue.binance.codec.params import encode_place as encode_place
from mmbot.venue.binance.codec.primitives import CodecError as CodecError
from mmbot.venue.binance.codec.rest import decode_account as decode_account
from mmbot.venue.binance.codec.rest import decode_cancel_replace as decode_cancel_replace
from mmbot.venue.binance.codec.rest import decode_exchange_info as decode_exchange_info
from mmbot.venue.binance.codec.rest import decode_my_trades as decode_my_trades
from mmbot.venue.binance.codec.rest import decode_order as decode_order
from mmbot.venue.binance.codec.rest import decode_order_response as decode_order_response
from mmbot.venue.binance.codec.rest import decode_orders as decode_orders
from mmbot.venue.binance.codec.rest import decode_server_time as decode_server_time
from mmbot.venue.binance.codec.user_events import decode_user_event as decode_user_event
from mmbot.venue.binance.codec.user_events import event_from_report as event_from_report
from mmbot.venue.binance.codec.ws_api import UserEventMessage as UserEventMessage
from mmbot.venue.binance.codec.ws_api import WsApiResponse as WsApiResponse
from mmbot.venue.binance.codec.ws_api import decode_ws_api_message as decode_ws_api_message
from mmbot.venue.binance.codec.ws_api import encode_ws_request as encode_ws_request

__all__ = [
    "UNKNOWN_CODES",
    "CodecError",
    "MarketMessage",
    "ServerShutdown",
    "StreamAck",
    "UserEventMessage",
    "WsApiResponse",
    "classify_failure",
    "combined_stream_path",
    "decode_account",
    "decode_cancel_replace",
    "decode_depth_snapshot",
    "decode_error",
    "decode_exchange_info",
    "decode_market_message",
    "decode_market_wire",
    "decode_my_trades",
    "decode_order",
    "decode_order_response",
    "decode_orders",
    "decode_place_params",
    "decode_server_time",
    "decode_user_event",
    "decode_ws_api_message",
    "depth_stream",
    "encode_cancel_replace",
    "encode_order_ref",
    "encode_place",
    "encode_subscribe",
    "encode_ws_request",
    "event_from_report",
    "failure_result",
]
