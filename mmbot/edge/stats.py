"""Means with 95 % confidence intervals over seeds, alone and paired (sans-IO).

What it is for: a backtest's figure over N seeds is reported as its mean and the 95 %
interval of that mean, Student's t with N − 1 degrees of freedom (the seeds are
independent runs of the same market, so their figures are i.i.d. draws); two strategies
run on the same seeds are compared by the mean of their per-seed differences and its
interval (a paired comparison: the market path each seed draws is common to both, so
most of its noise cancels). An interval "excludes zero" when both ends have one sign.

What it must never do: draw randomness, or report an interval from fewer than two values
(it is None then: one run says nothing about its spread).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import attrs

# Two-sided 95 % quantiles of Student's t, t(0.975; df), df = 1 .. 30.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t975(df: int) -> float:
    """t(0.975; df): the table to 30, then the normal quantile with the first two terms of
    its Cornish–Fisher expansion in 1/df (within 0.01 % of the exact value past 30)."""
    if df < 1:
        raise ValueError("degrees of freedom must be >= 1")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)


@attrs.frozen
class Estimate:
    """A mean over ``n`` values and its 95 % interval (None with fewer than two values)."""

    mean: float
    low: float | None
    high: float | None
    n: int

    @property
    def excludes_zero(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)

    def to_jsonable(self) -> dict[str, float | int | None]:
        return {"mean": self.mean, "ci95_low": self.low, "ci95_high": self.high, "n": self.n}


def estimate(values: Sequence[float]) -> Estimate | None:
    """The mean of ``values`` and its 95 % interval; None when there are none."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    mean = statistics.fmean(finite)
    if len(finite) < 2:
        return Estimate(mean, None, None, len(finite))
    half = t975(len(finite) - 1) * statistics.stdev(finite) / math.sqrt(len(finite))
    return Estimate(mean, mean - half, mean + half, len(finite))


def paired(first: Sequence[float | None], second: Sequence[float | None]) -> Estimate | None:
    """``second − first`` seed by seed (pairs where either is unknown are left out)."""
    if len(first) != len(second):
        raise ValueError("paired figures need the same seeds on both sides")
    return estimate(
        [b - a for a, b in zip(first, second, strict=True) if a is not None and b is not None]
    )
