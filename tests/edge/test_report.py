"""Summaries over seeds, paired comparisons and the regression check."""

from __future__ import annotations

from typing import Any

import pytest

from mmbot.edge.report import (
    Tolerance,
    baseline_means,
    compare,
    comparison_text,
    regressions,
    summarize,
    text,
)


def _run(label: str, seed: int, net: float, taker: float) -> dict[str, Any]:
    figures = {"net_bps": net, "taker_share": taker, "volume": 100.0}
    return {"label": label, "seed": seed, "symbols": {"BTCUSDT": figures}, "total": figures}


T = Tolerance

RUNS = [
    _run("fixed", 1, 1.0, 0.0),
    _run("fixed", 2, 2.0, 0.0),
    _run("adaptive", 1, 1.5, 0.0),
    _run("adaptive", 2, 2.6, 0.0),
]


def test_summaries_are_per_label_scope_and_figure() -> None:
    summary = summarize(RUNS)
    est = summary["fixed"]["total"]["net_bps"]
    assert est is not None and est.mean == pytest.approx(1.5) and est.n == 2
    assert set(summary["adaptive"]) == {"BTCUSDT", "total"}
    assert "fixed:" in text(summary, 2, 60.0)


def test_the_comparison_is_paired_by_seed() -> None:
    diff = compare(RUNS, "fixed", "adaptive")
    assert diff["net_bps"] is not None and diff["net_bps"].mean == pytest.approx(0.55)
    assert "adaptive - fixed" in comparison_text("fixed", "adaptive", diff)


def test_a_drop_beyond_tolerance_is_a_regression_in_the_figures_good_direction() -> None:
    baseline = {"fixed": {"total": {"net_bps": 1.6, "taker_share": -0.01}}}
    found = regressions(summarize(RUNS), baseline, {"net_bps": T(0.05), "taker_share": T(0.005)})
    described = [r.describe() for r in found]
    assert [r.figure for r in found] == ["net_bps", "taker_share"]
    assert "fell from 1.6 to 1.5" in described[0]
    assert "rose" in described[1]


def test_within_tolerance_or_better_is_no_regression() -> None:
    baseline = {"fixed": {"total": {"net_bps": 1.52, "taker_share": 0.01}}}
    assert regressions(summarize(RUNS), baseline, {"net_bps": T(0.05), "taker_share": T(0.0)}) == []


def test_a_figure_gone_missing_is_a_regression() -> None:
    baseline = {"gone": {"total": {"net_bps": 1.0}}}
    assert [r.label for r in regressions(summarize(RUNS), baseline, {"net_bps": T(1.0)})] == [
        "gone"
    ]


def test_a_relative_tolerance_scales_with_the_baseline() -> None:
    baseline = {"fixed": {"total": {"net_bps": 1.6}}}
    assert regressions(summarize(RUNS), baseline, {"net_bps": T(0.1, relative=True)}) == []
    (found,) = regressions(summarize(RUNS), baseline, {"net_bps": T(0.05, relative=True)})
    assert "(tolerance 5%)" in found.describe()


def test_baseline_means_round_trip_through_the_check() -> None:
    summary = summarize(RUNS)
    assert regressions(summary, baseline_means(summary), {"net_bps": T(0.0)}) == []
