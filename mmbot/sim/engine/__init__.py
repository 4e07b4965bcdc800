"""The fake exchange's matching engine and its contract (sans-IO).

What it is for: the public face of ``sim/engine/``: the contract every other part of the
fake exchange codes against (``contract.py``: commands, results, events and
:class:`EngineProtocol`) and its one implementation, :class:`MatchingEngine`. The modules
beside them are the engine's own parts: ``symbol.py`` (one symbol's book and order store),
``book.py`` (price-time priority in integers), ``admission.py`` (the checks before the
book), ``units.py`` and ``balances.py`` (exact money), ``reports.py`` (the contract's values
built from the engine's records).

What it must never do: I/O, read a clock, draw randomness (DESIGN.md §2); export a name
from anywhere but here.
"""

from mmbot.sim.engine.contract import AccountPosition as AccountPosition
from mmbot.sim.engine.contract import AmendResult as AmendResult
from mmbot.sim.engine.contract import AssetBalance as AssetBalance
from mmbot.sim.engine.contract import BalanceUpdate as BalanceUpdate
from mmbot.sim.engine.contract import BookDelta as BookDelta
from mmbot.sim.engine.contract import Depth as Depth
from mmbot.sim.engine.contract import EngineEvent as EngineEvent
from mmbot.sim.engine.contract import EngineProtocol as EngineProtocol
from mmbot.sim.engine.contract import Execution as Execution
from mmbot.sim.engine.contract import Fees as Fees
from mmbot.sim.engine.contract import OrderRequest as OrderRequest
from mmbot.sim.engine.contract import OrderView as OrderView
from mmbot.sim.engine.contract import PlaceResult as PlaceResult
from mmbot.sim.engine.contract import ReplaceMode as ReplaceMode
from mmbot.sim.engine.contract import ReplaceResult as ReplaceResult
from mmbot.sim.engine.contract import SymbolStatusChanged as SymbolStatusChanged
from mmbot.sim.engine.contract import TradePrint as TradePrint
from mmbot.sim.engine.contract import TradeView as TradeView
from mmbot.sim.engine.matching import FEE_ACCOUNT as FEE_ACCOUNT
from mmbot.sim.engine.matching import MAX_NUM_ORDER_AMENDS as MAX_NUM_ORDER_AMENDS
from mmbot.sim.engine.matching import MatchingEngine as MatchingEngine
from mmbot.sim.engine.reports import cancel_client_order_id as cancel_client_order_id

__all__ = [
    "FEE_ACCOUNT",
    "MAX_NUM_ORDER_AMENDS",
    "AccountPosition",
    "AmendResult",
    "AssetBalance",
    "BalanceUpdate",
    "BookDelta",
    "Depth",
    "EngineEvent",
    "EngineProtocol",
    "Execution",
    "Fees",
    "MatchingEngine",
    "OrderRequest",
    "OrderView",
    "PlaceResult",
    "ReplaceMode",
    "ReplaceResult",
    "SymbolStatusChanged",
    "TradePrint",
    "TradeView",
    "cancel_client_order_id",
]
