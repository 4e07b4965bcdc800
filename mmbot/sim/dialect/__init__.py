"""The fake exchange's Binance Spot dialect: REST, the WebSocket API and the admin API (sans-IO).

What it is for: the public face of ``sim/dialect/``: the gateway :class:`Dialect`
(``gateway.py``: the request steps every request goes through, as public methods), the two
paths made of those steps (``rest.py`` with :class:`RestRequest` / :class:`RestResponse`,
``ws_api.py`` with :class:`WsApiSession`), the routing table with every request weight
(``routes.py``), the operations over the engine (``operations.py``), request parameters
(``params.py``), the venue's rate limits (``limits.py``), response bodies (``bodies.py``),
what a request carries and the last-resort error answer (``request.py``), and the
``/_sim/`` admin API (``admin.py``).

What it must never do: I/O, read a clock or draw randomness (DESIGN.md §2); export a name
from anywhere but here.
"""

from mmbot.sim.dialect.admin import AdminApi as AdminApi
from mmbot.sim.dialect.admin import AdminControl as AdminControl
from mmbot.sim.dialect.gateway import DEFAULT_RECV_WINDOW_MS as DEFAULT_RECV_WINDOW_MS
from mmbot.sim.dialect.gateway import MAX_RECV_WINDOW_MS as MAX_RECV_WINDOW_MS
from mmbot.sim.dialect.gateway import Credentials as Credentials
from mmbot.sim.dialect.gateway import Dialect as Dialect
from mmbot.sim.dialect.limits import RateLimits as RateLimits
from mmbot.sim.dialect.limits import VenueLimits as VenueLimits
from mmbot.sim.dialect.request import MAX_BODY_BYTES as MAX_BODY_BYTES
from mmbot.sim.dialect.request import RequestInfo as RequestInfo
from mmbot.sim.dialect.request import error_body as error_body
from mmbot.sim.dialect.request import last_resort as last_resort
from mmbot.sim.dialect.rest import RestRequest as RestRequest
from mmbot.sim.dialect.rest import RestResponse as RestResponse
from mmbot.sim.dialect.rest import refuse_rest as refuse_rest
from mmbot.sim.dialect.ws_api import WsApiSession as WsApiSession
from mmbot.sim.dialect.ws_api import answer_ws_api_failure as answer_ws_api_failure
from mmbot.sim.dialect.ws_api import refuse_ws_api as refuse_ws_api
from mmbot.sim.dialect.ws_api import ws_api_method as ws_api_method

__all__ = [
    "DEFAULT_RECV_WINDOW_MS",
    "MAX_BODY_BYTES",
    "MAX_RECV_WINDOW_MS",
    "AdminApi",
    "AdminControl",
    "Credentials",
    "Dialect",
    "RateLimits",
    "RequestInfo",
    "RestRequest",
    "RestResponse",
    "VenueLimits",
    "WsApiSession",
    "answer_ws_api_failure",
    "error_body",
    "last_resort",
    "refuse_rest",
    "refuse_ws_api",
    "ws_api_method",
]
