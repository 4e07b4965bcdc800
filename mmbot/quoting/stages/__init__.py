"""The built-in quoting stages, one module each, and their registry by name (sans-IO).

What it is for: :data:`BUILTIN_STAGES` maps the names a strategy config uses ("guards",
"fair_value", "volatility", "calibration", "spread", "skew", "sizing", "rounding") to the
pure ``(inputs, so_far) -> output`` functions (:data:`~mmbot.quoting.pipeline.Stage`). A user's
own stage is named in config as ``"package.module:function"`` and imported by
``mmbot.quoting.strategy``, never here.

What it must never do: import a module by name, read a clock, or do I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mmbot.quoting.pipeline import Stage
from mmbot.quoting.stages.calibration import calibration as calibration
from mmbot.quoting.stages.fair_value import fair_value as fair_value
from mmbot.quoting.stages.guards import PULL_CODES as PULL_CODES
from mmbot.quoting.stages.guards import guards as guards
from mmbot.quoting.stages.guards import pull_reason as pull_reason
from mmbot.quoting.stages.rounding import rounding as rounding
from mmbot.quoting.stages.sizing import sizing as sizing
from mmbot.quoting.stages.skew import skew as skew
from mmbot.quoting.stages.spread import spread as spread
from mmbot.quoting.stages.volatility import volatility as volatility

BUILTIN_STAGES: Mapping[str, Stage] = MappingProxyType(
    {
        "guards": guards,
        "fair_value": fair_value,
        "volatility": volatility,
        "calibration": calibration,
        "spread": spread,
        "skew": skew,
        "sizing": sizing,
        "rounding": rounding,
    }
)

__all__ = [
    "BUILTIN_STAGES",
    "PULL_CODES",
    "calibration",
    "fair_value",
    "guards",
    "pull_reason",
    "rounding",
    "sizing",
    "skew",
    "spread",
    "volatility",
]
