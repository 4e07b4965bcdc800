"""mmbot.supervision: Erlang/OTP supervision trees for any trio program (DESIGN.md §4.6).

``Supervisor`` runs children (``ChildSpec``) with OTP's restart strategies, restart types,
per-supervisor restart intensity, ``auto_shutdown`` and ordered start and stop, plus
optional jittered backoff; it escalates with one ``SupervisorEscalation`` carrying the failure
history. The decisions live in a sans-IO core (``policy.py``); ``supervisor.py`` and
``child.py`` are the trio shell. See docs/supervision.md and docs/embedding.md.
"""

from mmbot.errors import ChildStartError as ChildStartError
from mmbot.errors import SupervisorEscalation as SupervisorEscalation
from mmbot.supervision.child import ChildContext as ChildContext
from mmbot.supervision.child import ChildSpec as ChildSpec
from mmbot.supervision.child import current_child as current_child
from mmbot.supervision.events import EventKind as EventKind
from mmbot.supervision.events import EventStream as EventStream
from mmbot.supervision.events import SupervisionEvent as SupervisionEvent
from mmbot.supervision.policy import CHILD_TRANSITIONS as CHILD_TRANSITIONS
from mmbot.supervision.policy import AutoShutdown as AutoShutdown
from mmbot.supervision.policy import Backoff as Backoff
from mmbot.supervision.policy import ChildFailure as ChildFailure
from mmbot.supervision.policy import ChildState as ChildState
from mmbot.supervision.policy import ChildStatus as ChildStatus
from mmbot.supervision.policy import Restart as Restart
from mmbot.supervision.policy import Strategy as Strategy
from mmbot.supervision.policy import SupervisorPolicy as SupervisorPolicy
from mmbot.supervision.policy import SupervisorState as SupervisorState
from mmbot.supervision.policy import SupervisorStatus as SupervisorStatus
from mmbot.supervision.supervisor import ChildCounts as ChildCounts
from mmbot.supervision.supervisor import ChildInfo as ChildInfo
from mmbot.supervision.supervisor import Supervisor as Supervisor
from mmbot.supervision.supervisor import SupervisorHandle as SupervisorHandle

__all__ = [
    "CHILD_TRANSITIONS",
    "AutoShutdown",
    "Backoff",
    "ChildContext",
    "ChildCounts",
    "ChildFailure",
    "ChildInfo",
    "ChildSpec",
    "ChildStartError",
    "ChildState",
    "ChildStatus",
    "EventKind",
    "EventStream",
    "Restart",
    "Strategy",
    "SupervisionEvent",
    "Supervisor",
    "SupervisorEscalation",
    "SupervisorHandle",
    "SupervisorPolicy",
    "SupervisorState",
    "SupervisorStatus",
    "current_child",
]
