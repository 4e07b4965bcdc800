"""The quoting packages' public faces: curated, each name exported from one place only.

In trio's manner (``_tests/test_exports.py``): every name in a package's ``__all__`` is
defined in exactly one module of that package (not a sub-package's), no ``__all__`` names
what another one does, no module but an ``__init__`` re-exports a sibling's name
(``from .x import Y as Y``), and no module imports or reaches for another module's private
(``_name``) names.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import mmbot.quoting

QUOTING = Path(mmbot.quoting.__file__).parent
PACKAGES = ["mmbot.quoting", "mmbot.quoting.orders", "mmbot.quoting.stages"]
# namedtuple's own API is spelled with a leading underscore to keep clear of field names
NAMEDTUPLE_API = {"_replace", "_make", "_fields", "_asdict", "_field_defaults"}

EXPECTED = {
    "mmbot.quoting": {
        "DEFAULT_STAGES", "EXACT", "FRESH_STATE", "MARKOUT_HORIZONS", "NO_RISK",
        "CalibrationParams", "CalibrationState", "DepthCounts", "Intensity", "IntensityFit",
        "Decision", "DraftQuote", "Drafts", "EwmaState", "Exposure", "FairValue",
        "FairValueParams", "GuardParams", "HalfSpread", "Ledger", "LedgerStatistics",
        "LedgerView", "Markout", "Pull", "QuoteInputs", "QuotePipeline", "Reservation",
        "RiskDecision", "RiskEngine", "RiskFlags", "RiskLimits", "RiskState",
        "RoundingParams", "SizingParams", "SkewParams", "SpreadParams", "Stage",
        "StageOutput", "StageTimings", "StrategyConfig", "StrategyState", "SymbolLimits",
        "TradeTick", "VarianceState", "Volatility", "VolatilityParams", "apply_output",
        "build_pipeline", "pull_code", "resolve_stage", "stage_list_problems",
        "strategy_problems",
    },
    "mmbot.quoting.orders": {
        "DEFAULT_RECV_WINDOW_S", "MAX_CLIENT_ORDER_ID_LENGTH", "NOT_FOUND_MARGIN_S",
        "Action", "Cancel", "CancelReplace", "ClientIdFactory", "TrackerEvent", "OrderIntent",
        "OrderState", "OrderTracker", "OrderTransition", "Place", "Slot", "Tolerances",
        "TrackedOrder", "TrackerStatistics", "make_run_id", "parse_client_order_id",
        "parse_slot", "reconcile", "within",
    },
    "mmbot.quoting.stages": {
        "BUILTIN_STAGES", "PULL_CODES", "calibration", "fair_value", "guards", "pull_reason",
        "rounding", "sizing", "skew", "spread", "volatility",
    },
}  # fmt: skip


def modules() -> list[Path]:
    return sorted(QUOTING.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(QUOTING.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def defined_names(path: Path) -> set[str]:
    """Names a module binds at its top level by def, class or assignment."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Assign):
            found.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found.add(node.target.id)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_all_is_the_curated_surface(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == EXPECTED[package]
    assert len(module.__all__) == len(set(module.__all__))
    assert all(hasattr(module, name) for name in module.__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_public_name_is_defined_in_exactly_one_module_of_its_package(package: str) -> None:
    folder = QUOTING.parent.parent.joinpath(*package.split("."))
    own = list(folder.glob("*.py"))  # its __init__ may define a name too (a registry)
    for name in importlib.import_module(package).__all__:
        homes = [p.name for p in own if name in defined_names(p)]
        assert len(homes) == 1, f"{package}.{name} is defined in {homes}"
