"""The fake exchange's market streams and user-data events, without the sockets (sans-IO).

What it is for: the public face of ``sim/streams/``: stream names (``names.py``), the feed
that turns engine events into stream messages (``feed.py``, with its depth windows and book
mirror in ``depth.py``), what each message looks like (``payloads.py``) and the live
``SUBSCRIBE`` control of one connection (``control.py``). The trio shell
(``sim/exchange.py``, ``sim/ws_app.py``) does the waiting, the fan-out and the I/O.

What it must never do: I/O, read a clock or draw randomness (DESIGN.md §2); export a name
from anywhere but here.
"""

from mmbot.sim.streams.control import MAX_STREAMS_PER_CONNECTION as MAX_STREAMS_PER_CONNECTION
from mmbot.sim.streams.control import SERVER_SHUTDOWN_STREAM as SERVER_SHUTDOWN_STREAM
from mmbot.sim.streams.control import ControlOutcome as ControlOutcome
from mmbot.sim.streams.control import StreamSession as StreamSession
from mmbot.sim.streams.control import control_error as control_error
from mmbot.sim.streams.control import (
    event_stream_terminated_frame as event_stream_terminated_frame,
)
from mmbot.sim.streams.control import server_shutdown_frame as server_shutdown_frame
from mmbot.sim.streams.depth import DepthWindow as DepthWindow
from mmbot.sim.streams.depth import TopOfBook as TopOfBook
from mmbot.sim.streams.feed import EVERYTHING as EVERYTHING
from mmbot.sim.streams.feed import MarketFeed as MarketFeed
from mmbot.sim.streams.feed import StreamMessage as StreamMessage
from mmbot.sim.streams.feed import UserMessage as UserMessage
from mmbot.sim.streams.names import DEPTH_SPEEDS_MS as DEPTH_SPEEDS_MS
from mmbot.sim.streams.names import StreamKind as StreamKind
from mmbot.sim.streams.names import parse_stream_name as parse_stream_name
from mmbot.sim.streams.names import stream_name as stream_name
from mmbot.sim.streams.payloads import account_position_payload as account_position_payload
from mmbot.sim.streams.payloads import balance_update_payload as balance_update_payload
from mmbot.sim.streams.payloads import dumps as dumps
from mmbot.sim.streams.payloads import execution_report_payload as execution_report_payload
from mmbot.sim.streams.payloads import fmt as fmt
from mmbot.sim.streams.payloads import server_shutdown_payload as server_shutdown_payload
from mmbot.sim.streams.payloads import trade_payload as trade_payload
from mmbot.sim.streams.payloads import trade_text as trade_text

__all__ = [
    "DEPTH_SPEEDS_MS",
    "EVERYTHING",
    "MAX_STREAMS_PER_CONNECTION",
    "SERVER_SHUTDOWN_STREAM",
    "ControlOutcome",
    "DepthWindow",
    "MarketFeed",
    "StreamKind",
    "StreamMessage",
    "StreamSession",
    "TopOfBook",
    "UserMessage",
    "account_position_payload",
    "balance_update_payload",
    "control_error",
    "dumps",
    "event_stream_terminated_frame",
    "execution_report_payload",
    "fmt",
    "parse_stream_name",
    "server_shutdown_frame",
    "server_shutdown_payload",
    "stream_name",
    "trade_payload",
    "trade_text",
]
