"""mmbot.quoting: the quoting core, from a book to desired quotes to orders (sans-IO).

What it is for: everything that decides what to quote and keeps the books of what was
traded, as sans-IO cores the quoter (a trio shell, next: the bot issue) drives:

- :mod:`~mmbot.quoting.params`: the strategy's parameters (frozen values);
- :mod:`~mmbot.quoting.pipeline`: the decision's values (inputs, decision, stage outputs)
  and :class:`QuotePipeline`, which runs and times the stages;
- :mod:`~mmbot.quoting.stages`: the built-in stages, one module each;
- :mod:`~mmbot.quoting.strategy`: loading a strategy from TOML, building its pipeline;
- :mod:`~mmbot.quoting.orders`: the order tracker, its states, client ids, reconcile;
- :mod:`~mmbot.quoting.ledger` (with ``ledger_views``): fills in, positions, PnL and the
  edge metrics out; :mod:`~mmbot.quoting.risk`: limits and the drawdown halt.

Imports go one way: params <- pipeline <- stages <- strategy; orders, ledger and risk
stand apart (they import only :mod:`mmbot.model`).

What it must never do: import trio, httpx, websockets, socket, time, random or
prometheus_client (``tests/test_sans_io.py``), read a clock or draw randomness: ``now``,
the timer and the run id come in as arguments. The public names of this package's own
modules are re-exported here, once; those of the sub-packages ``orders`` and ``stages``
from theirs.
"""

from mmbot.quoting.ledger import EXACT as EXACT
from mmbot.quoting.ledger import Ledger as Ledger
from mmbot.quoting.ledger_views import MARKOUT_HORIZONS as MARKOUT_HORIZONS
from mmbot.quoting.ledger_views import LedgerStatistics as LedgerStatistics
from mmbot.quoting.ledger_views import LedgerView as LedgerView
from mmbot.quoting.ledger_views import Markout as Markout
from mmbot.quoting.params import DEFAULT_STAGES as DEFAULT_STAGES
from mmbot.quoting.params import CalibrationParams as CalibrationParams
from mmbot.quoting.params import FairValueParams as FairValueParams
from mmbot.quoting.params import GuardParams as GuardParams
from mmbot.quoting.params import RoundingParams as RoundingParams
from mmbot.quoting.params import SizingParams as SizingParams
from mmbot.quoting.params import SkewParams as SkewParams
from mmbot.quoting.params import SpreadParams as SpreadParams
from mmbot.quoting.params import StrategyConfig as StrategyConfig
from mmbot.quoting.params import VolatilityParams as VolatilityParams
from mmbot.quoting.pipeline import FRESH_STATE as FRESH_STATE
from mmbot.quoting.pipeline import NO_RISK as NO_RISK
from mmbot.quoting.pipeline import CalibrationState as CalibrationState
from mmbot.quoting.pipeline import Decision as Decision
from mmbot.quoting.pipeline import DepthCounts as DepthCounts
from mmbot.quoting.pipeline import DraftQuote as DraftQuote
from mmbot.quoting.pipeline import Drafts as Drafts
from mmbot.quoting.pipeline import EwmaState as EwmaState
from mmbot.quoting.pipeline import FairValue as FairValue
from mmbot.quoting.pipeline import HalfSpread as HalfSpread
from mmbot.quoting.pipeline import Intensity as Intensity
from mmbot.quoting.pipeline import IntensityFit as IntensityFit
from mmbot.quoting.pipeline import Pull as Pull
from mmbot.quoting.pipeline import QuoteInputs as QuoteInputs
from mmbot.quoting.pipeline import QuotePipeline as QuotePipeline
from mmbot.quoting.pipeline import Reservation as Reservation
from mmbot.quoting.pipeline import RiskFlags as RiskFlags
from mmbot.quoting.pipeline import Stage as Stage
from mmbot.quoting.pipeline import StageOutput as StageOutput
from mmbot.quoting.pipeline import StageTimings as StageTimings
from mmbot.quoting.pipeline import StrategyState as StrategyState
from mmbot.quoting.pipeline import TradeTick as TradeTick
from mmbot.quoting.pipeline import VarianceState as VarianceState
from mmbot.quoting.pipeline import Volatility as Volatility
from mmbot.quoting.pipeline import apply_output as apply_output
from mmbot.quoting.pipeline import pull_code as pull_code
from mmbot.quoting.risk import Exposure as Exposure
from mmbot.quoting.risk import RiskDecision as RiskDecision
from mmbot.quoting.risk import RiskEngine as RiskEngine
from mmbot.quoting.risk import RiskLimits as RiskLimits
from mmbot.quoting.risk import RiskState as RiskState
from mmbot.quoting.risk import SymbolLimits as SymbolLimits
from mmbot.quoting.strategy import build_pipeline as build_pipeline
from mmbot.quoting.strategy import resolve_stage as resolve_stage
from mmbot.quoting.strategy import stage_list_problems as stage_list_problems
from mmbot.quoting.strategy import strategy_problems as strategy_problems

__all__ = [
    "DEFAULT_STAGES",
    "EXACT",
    "FRESH_STATE",
    "MARKOUT_HORIZONS",
    "NO_RISK",
    "CalibrationParams",
    "CalibrationState",
    "Decision",
    "DepthCounts",
    "DraftQuote",
    "Drafts",
    "EwmaState",
    "Exposure",
    "FairValue",
    "FairValueParams",
    "GuardParams",
    "HalfSpread",
    "Intensity",
    "IntensityFit",
    "Ledger",
    "LedgerStatistics",
    "LedgerView",
    "Markout",
    "Pull",
    "QuoteInputs",
    "QuotePipeline",
    "Reservation",
    "RiskDecision",
    "RiskEngine",
    "RiskFlags",
    "RiskLimits",
    "RiskState",
    "RoundingParams",
    "SizingParams",
    "SkewParams",
    "SpreadParams",
    "Stage",
    "StageOutput",
    "StageTimings",
    "StrategyConfig",
    "StrategyState",
    "SymbolLimits",
    "TradeTick",
    "VarianceState",
    "Volatility",
    "VolatilityParams",
    "apply_output",
    "build_pipeline",
    "pull_code",
    "resolve_stage",
    "stage_list_problems",
    "strategy_problems",
]
