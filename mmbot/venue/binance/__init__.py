"""mmbot.venue.binance: the Binance Spot dialect behind the ``Venue`` protocol.

Sans-IO cores: ``signing.py`` (HMAC signatures), ``errors.py`` (the dialect's error codes),
``codec/`` (the wire codec, its own package), ``weights.py`` (request weights, the one
table), ``rest_endpoints.py`` (the REST endpoints as data), ``user_core.py`` (what the user
stream delivers). Trio shells: ``venue.py`` (``BinanceVenue``, composing the rest),
``rest.py`` and ``rest_http.py`` (REST through the resilience kit), ``streams.py`` and
``book_feed.py`` (market data and local books), ``user.py`` and ``user_reconcile.py`` (the
user-data stream), ``link.py`` (the reconnect and liveness loops both stream clients share),
``ws.py`` (the WebSocket connector seam). See docs/venues.md.

Import the names below from here (the codec's from ``mmbot.venue.binance.codec``); inside
the package, modules import from the module that defines a name.
"""

from mmbot.venue.binance.book_feed import BookChannel as BookChannel
from mmbot.venue.binance.errors import Code as Code
from mmbot.venue.binance.errors import DialectError as DialectError
from mmbot.venue.binance.rest import BinanceRest as BinanceRest
from mmbot.venue.binance.rest_endpoints import Endpoint as Endpoint
from mmbot.venue.binance.rest_endpoints import EndpointClass as EndpointClass
from mmbot.venue.binance.rest_http import LIVE_REST_URL as LIVE_REST_URL
from mmbot.venue.binance.rest_http import TESTNET_REST_URL as TESTNET_REST_URL
from mmbot.venue.binance.rest_http import ClientLayout as ClientLayout
from mmbot.venue.binance.rest_http import RestConfig as RestConfig
from mmbot.venue.binance.streams import DepthFromFunction as DepthFromFunction
from mmbot.venue.binance.streams import DepthSource as DepthSource
from mmbot.venue.binance.streams import MarketStreams as MarketStreams
from mmbot.venue.binance.streams import MarketStreamsConfig as MarketStreamsConfig
from mmbot.venue.binance.streams import MarketStreamsStatistics as MarketStreamsStatistics
from mmbot.venue.binance.user import UserStream as UserStream
from mmbot.venue.binance.user import UserStreamConfig as UserStreamConfig
from mmbot.venue.binance.user import UserStreamStatistics as UserStreamStatistics
from mmbot.venue.binance.user_core import UserDeliveryStatistics as UserDeliveryStatistics
from mmbot.venue.binance.user_core import UserStreamState as UserStreamState
from mmbot.venue.binance.user_reconcile import UserRest as UserRest
from mmbot.venue.binance.venue import BinanceVenue as BinanceVenue
from mmbot.venue.binance.venue import BinanceVenueConfig as BinanceVenueConfig
from mmbot.venue.binance.ws import FunctionConnector as FunctionConnector
from mmbot.venue.binance.ws import UrlConnector as UrlConnector
from mmbot.venue.binance.ws import WsConnection as WsConnection
from mmbot.venue.binance.ws import WsConnector as WsConnector

__all__ = [
    "LIVE_REST_URL",
    "TESTNET_REST_URL",
    "BinanceRest",
    "BinanceVenue",
    "BinanceVenueConfig",
    "BookChannel",
    "ClientLayout",
    "Code",
    "DepthFromFunction",
    "DepthSource",
    "DialectError",
    "Endpoint",
    "EndpointClass",
    "FunctionConnector",
    "MarketStreams",
    "MarketStreamsConfig",
    "MarketStreamsStatistics",
    "RestConfig",
    "UrlConnector",
    "UserDeliveryStatistics",
    "UserRest",
    "UserStream",
    "UserStreamConfig",
    "UserStreamState",
    "UserStreamStatistics",
    "WsConnection",
    "WsConnector",
]
