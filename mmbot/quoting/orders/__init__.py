"""mmbot.quoting.orders: the bot's own orders, from intent to terminal state (sans-IO).

What it is for: one place for everything that follows the bot's orders (DESIGN.md §4.2,
``docs/orders.md``):

- :mod:`~mmbot.quoting.orders.states`: the state machine as data (states, events, table);
- :mod:`~mmbot.quoting.orders.values`: the frozen values the tracker takes and returns;
- :mod:`~mmbot.quoting.orders.tracker`: :class:`OrderTracker`, which applies the table;
- :mod:`~mmbot.quoting.orders.client_ids`: minting and parsing client order ids;
- :mod:`~mmbot.quoting.orders.reconcile`: desired quotes vs live orders -> fewest actions.

Imports go one way: states <- values <- client_ids, tracker, reconcile.

What it must never do: I/O, read a clock, or draw randomness: ``now`` and the run id come in
as arguments. The public names are re-exported here, once; the transition table itself
(``TRANSITIONS``, ``CONTRADICTIONS``, ``QUERY_EVENTS``) is read from ``states``.
"""

from mmbot.quoting.orders.client_ids import MAX_CLIENT_ORDER_ID_LENGTH as MAX_CLIENT_ORDER_ID_LENGTH
from mmbot.quoting.orders.client_ids import ClientIdFactory as ClientIdFactory
from mmbot.quoting.orders.client_ids import make_run_id as make_run_id
from mmbot.quoting.orders.client_ids import parse_client_order_id as parse_client_order_id
from mmbot.quoting.orders.client_ids import parse_slot as parse_slot
from mmbot.quoting.orders.reconcile import Action as Action
from mmbot.quoting.orders.reconcile import Cancel as Cancel
from mmbot.quoting.orders.reconcile import CancelReplace as CancelReplace
from mmbot.quoting.orders.reconcile import Place as Place
from mmbot.quoting.orders.reconcile import Tolerances as Tolerances
from mmbot.quoting.orders.reconcile import reconcile as reconcile
from mmbot.quoting.orders.reconcile import within as within
from mmbot.quoting.orders.states import OrderState as OrderState
from mmbot.quoting.orders.states import TrackerEvent as TrackerEvent
from mmbot.quoting.orders.tracker import OrderTracker as OrderTracker
from mmbot.quoting.orders.values import DEFAULT_RECV_WINDOW_S as DEFAULT_RECV_WINDOW_S
from mmbot.quoting.orders.values import NOT_FOUND_MARGIN_S as NOT_FOUND_MARGIN_S
from mmbot.quoting.orders.values import OrderIntent as OrderIntent
from mmbot.quoting.orders.values import OrderTransition as OrderTransition
from mmbot.quoting.orders.values import Slot as Slot
from mmbot.quoting.orders.values import TrackedOrder as TrackedOrder
from mmbot.quoting.orders.values import TrackerStatistics as TrackerStatistics

__all__ = [
    "DEFAULT_RECV_WINDOW_S",
    "MAX_CLIENT_ORDER_ID_LENGTH",
    "NOT_FOUND_MARGIN_S",
    "Action",
    "Cancel",
    "CancelReplace",
    "ClientIdFactory",
    "OrderIntent",
    "OrderState",
    "OrderTracker",
    "OrderTransition",
    "Place",
    "Slot",
    "Tolerances",
    "TrackedOrder",
    "TrackerEvent",
    "TrackerStatistics",
    "make_run_id",
    "parse_client_order_id",
    "parse_slot",
    "reconcile",
    "within",
]
