"""The fake exchange's truth log and its digest (sans-IO).

What it is for: the public face of ``sim/history/``: :class:`History` (``log.py``: every
request, engine event, message sent and fault, in order, optionally bounded) and the
records it keeps; its trace digest is computed over canonical lines (``digest.py``), the
fingerprint a deterministic replay must match.

What it must never do: I/O, read a clock (times are given), hold a secret (DESIGN.md §2);
export a name from anywhere but here.
"""

from mmbot.sim.history.log import ACCOUNT_KINDS as ACCOUNT_KINDS
from mmbot.sim.history.log import BULK_KINDS as BULK_KINDS
from mmbot.sim.history.log import Entry as Entry
from mmbot.sim.history.log import EntryKind as EntryKind
from mmbot.sim.history.log import FaultRecord as FaultRecord
from mmbot.sim.history.log import History as History
from mmbot.sim.history.log import MessageRecord as MessageRecord
from mmbot.sim.history.log import Payload as Payload
from mmbot.sim.history.log import RequestRecord as RequestRecord
from mmbot.sim.history.log import from_jsonable as from_jsonable
from mmbot.sim.history.log import to_jsonable as to_jsonable

__all__ = [
    "ACCOUNT_KINDS",
    "BULK_KINDS",
    "Entry",
    "EntryKind",
    "FaultRecord",
    "History",
    "MessageRecord",
    "Payload",
    "RequestRecord",
    "from_jsonable",
    "to_jsonable",
]
