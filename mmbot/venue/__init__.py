"""mmbot.venue: the seam between the bot and an exchange, and how to connect to one.

The ``Venue`` protocol and its frozen values (``base.py``: requests, answers, three-valued
``VenueResult``; ``events.py``: market data and user events), the local order book
(``book.py``, sans-IO), and ``connect.py``, the one place that knows whether the venue is
Binance, its testnet, the fake exchange on loopback or in-process. The Binance Spot dialect
adapter is the sub-package ``mmbot.venue.binance``. See docs/venues.md.

Import the names below from here; inside the package, modules import from the module that
defines a name.
"""

from mmbot.venue.base import CancelOutcome as CancelOutcome
from mmbot.venue.base import CancelReplaceMode as CancelReplaceMode
from mmbot.venue.base import CancelReplaceOutcome as CancelReplaceOutcome
from mmbot.venue.base import CancelReplaceRequest as CancelReplaceRequest
from mmbot.venue.base import CancelReplaceResult as CancelReplaceResult
from mmbot.venue.base import OrderInfo as OrderInfo
from mmbot.venue.base import OrderRef as OrderRef
from mmbot.venue.base import PlaceAck as PlaceAck
from mmbot.venue.base import PlaceOutcome as PlaceOutcome
from mmbot.venue.base import PlaceRequest as PlaceRequest
from mmbot.venue.base import Venue as Venue
from mmbot.venue.base import VenueResult as VenueResult
from mmbot.venue.base import failed as failed
from mmbot.venue.base import from_exception as from_exception
from mmbot.venue.base import ok as ok
from mmbot.venue.base import unknown as unknown
from mmbot.venue.book import BookAction as BookAction
from mmbot.venue.book import BookState as BookState
from mmbot.venue.book import BookStatistics as BookStatistics
from mmbot.venue.book import LocalBook as LocalBook
from mmbot.venue.book import WireDiff as WireDiff
from mmbot.venue.connect import VenueSpec as VenueSpec
from mmbot.venue.connect import VenueUrls as VenueUrls
from mmbot.venue.connect import connect_venue as connect_venue
from mmbot.venue.connect import credentials_from_env as credentials_from_env
from mmbot.venue.events import Balance as Balance
from mmbot.venue.events import BalanceChanged as BalanceChanged
from mmbot.venue.events import BalanceDelta as BalanceDelta
from mmbot.venue.events import BookTicker as BookTicker
from mmbot.venue.events import DepthSnapshot as DepthSnapshot
from mmbot.venue.events import DepthUpdate as DepthUpdate
from mmbot.venue.events import ExecutionReport as ExecutionReport
from mmbot.venue.events import Level as Level
from mmbot.venue.events import OrderAccepted as OrderAccepted
from mmbot.venue.events import OrderCancelled as OrderCancelled
from mmbot.venue.events import OrderEvent as OrderEvent
from mmbot.venue.events import OrderExpired as OrderExpired
from mmbot.venue.events import OrderFilled as OrderFilled
from mmbot.venue.events import OrderGone as OrderGone
from mmbot.venue.events import OrderRejected as OrderRejected
from mmbot.venue.events import PublicTrade as PublicTrade
from mmbot.venue.events import Resynced as Resynced
from mmbot.venue.events import StreamGap as StreamGap
from mmbot.venue.events import UserEvent as UserEvent
from mmbot.venue.events import VenueReset as VenueReset

__all__ = [
    "Balance",
    "BalanceChanged",
    "BalanceDelta",
    "BookAction",
    "BookState",
    "BookStatistics",
    "BookTicker",
    "CancelOutcome",
    "CancelReplaceMode",
    "CancelReplaceOutcome",
    "CancelReplaceRequest",
    "CancelReplaceResult",
    "DepthSnapshot",
    "DepthUpdate",
    "ExecutionReport",
    "Level",
    "LocalBook",
    "OrderAccepted",
    "OrderCancelled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderGone",
    "OrderInfo",
    "OrderRef",
    "OrderRejected",
    "PlaceAck",
    "PlaceOutcome",
    "PlaceRequest",
    "PublicTrade",
    "Resynced",
    "StreamGap",
    "UserEvent",
    "Venue",
    "VenueReset",
    "VenueResult",
    "VenueSpec",
    "VenueUrls",
    "WireDiff",
    "connect_venue",
    "credentials_from_env",
    "failed",
    "from_exception",
    "ok",
    "unknown",
]
