"""Successive halving (``mmbot.edge.halving``), driven with made-up figures: no backtest runs.

Which runs a round wants, who survives it, and what is chosen: the survivors shrink by η
a round, infeasible points go first, the choice is feasible whenever a feasible point is
there to choose, and neither the order results arrive in nor anything but the figures
changes it."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.edge.halving import (
    Axis,
    Constraint,
    Figures,
    Halving,
    Plan,
    Run,
    by_value,
    grid,
    run_search,
)

TAKER = Constraint("taker_share", 0.09)


def figures(net: float | None, taker: float | None = 0.0, **more: float | None) -> Figures:
    return {"net_bps": net, "taker_share": taker, **more}


def points(n: int) -> Plan:
    return Plan(grid([Axis("spread.base_bps", tuple(float(i) for i in range(n)))]))


def by_point(table: dict[int, Figures]) -> Callable[[Run], Figures | None]:
    return lambda run: table[run.point]


# -- the grid and the plan


def test_the_grid_is_every_combination_the_last_axis_fastest() -> None:
    found = grid([Axis("spread.base_bps", (1.0, 2.0)), Axis("skew.mode", ("none", "linear"))])
    assert [p.index for p in found] == [0, 1, 2, 3]
    assert [p.params for p in found] == [
        (("spread.base_bps", 1.0), ("skew.mode", "none")),
        (("spread.base_bps", 1.0), ("skew.mode", "linear")),
        (("spread.base_bps", 2.0), ("skew.mode", "none")),
        (("spread.base_bps", 2.0), ("skew.mode", "linear")),
    ]
    assert found[1].value("skew.mode") == "linear"
    assert found[1].describe() == 'spread.base_bps=1.0 skew.mode="linear"'


def test_round_k_runs_r0_times_eta_to_the_k_seeds_from_the_first_seed() -> None:
    plan = Plan(points(4).points, eta=3, first_seeds=2, seed=10)
    assert plan.seeds(0) == (10, 11)
    assert plan.seeds(1) == tuple(range(10, 16))
    assert plan.seeds(2) == tuple(range(10, 28))


def test_nine_points_eta_three_two_rounds_and_fifteen_runs() -> None:
    plan = Plan(points(9).points, eta=3, first_seeds=1)
    assert plan.schedule() == ((9, 1), (3, 3))  # the one left after round 1 is the choice
    assert plan.total_runs() == 9 * 1 + 3 * 2  # survivors run only their new seeds


def test_the_rounds_can_run_out_before_one_point_is_left() -> None:
    plan = Plan(points(27).points, eta=3, first_seeds=1, max_rounds=2)
    assert plan.schedule() == ((27, 1), (9, 3))
    state = run_search(plan, lambda run: figures(float(run.point)))
    assert state.finished and len(state.closed) == 2
    assert state.choice().point.index == 26  # the best of the 9 in the last round


def test_a_plan_refuses_what_cannot_be_searched() -> None:
    with pytest.raises(ValueError, match="eta"):
        Plan(points(2).points, eta=1)
    with pytest.raises(ValueError, match="seed"):
        Plan(points(2).points, first_seeds=0)
    with pytest.raises(ValueError, match="round"):
        Plan(points(2).points, max_rounds=0)
    with pytest.raises(ValueError, match="points"):
        Plan(())


# -- one round at a time


def test_a_survivor_runs_only_its_new_seeds() -> None:
    plan = Plan(points(4).points, eta=2, first_seeds=1, seed=5)
    state = Halving.start(plan)
    assert state.wanted() == tuple(Run(p, 5) for p in range(4))
    for run in state.wanted():
        state = state.record(run, figures(float(run.point)))
    state = state.advance()
    assert state.round == 1 and state.alive == (3, 2)
    assert state.wanted() == (Run(3, 6), Run(2, 6))


def test_a_run_not_wanted_or_a_round_not_complete_is_refused() -> None:
    state = Halving.start(points(2))
    with pytest.raises(ValueError, match="not a run"):
        state.record(Run(0, 99), figures(1.0))
    state = state.record(Run(0, 1), figures(1.0))
    with pytest.raises(ValueError, match="not a run"):
        state.record(Run(0, 1), figures(2.0))  # already in
    with pytest.raises(ValueError, match="still wants"):
        state.advance()


def test_an_infeasible_point_is_cut_first_however_well_it_earns() -> None:
    table = {
        0: figures(1.0, taker=0.0),
        1: figures(9.0, taker=0.5),  # earns most, mostly by taking
        2: figures(2.0, taker=0.05),
    }
    plan = Plan(points(3).points, eta=2, first_seeds=1, constraints=(TAKER,))
    state = run_search(plan, by_point(table))
    first = state.closed[0]
    assert [s.point.index for s in first.ranking] == [2, 0, 1]
    assert first.ranking[-1].violations == ("taker_share 0.5 > 0.09",)
    assert state.choice().point.index == 2 and state.choice().feasible


def test_an_inventory_variance_bound_cuts_too() -> None:
    table = {
        0: figures(1.0, inventory_variance=1e-6),
        1: figures(5.0, inventory_variance=1e-3),
    }
    plan = Plan(points(2).points, eta=2, constraints=(Constraint("inventory_variance", 1e-4),))
    assert run_search(plan, by_point(table)).choice().point.index == 0


def test_a_point_whose_run_failed_is_infeasible() -> None:
    plan = Plan(points(2).points, eta=2)
    state = run_search(plan, lambda run: None if run.point == 1 else figures(-3.0))
    assert state.choice().point.index == 0
    loser = state.closed[0].ranking[1]
    assert loser.failed == 2 and loser.violations == ("2 run(s) failed",)


def test_a_point_with_a_run_that_made_no_trade_is_infeasible() -> None:
    # point 0 earns 9 bps on the one seed it traded on, and nothing on the other
    nets = {(0, 1): 9.0, (0, 2): None, (1, 1): 1.0, (1, 2): 1.5}
    plan = Plan(points(2).points, eta=2, first_seeds=2)
    state = run_search(plan, lambda run: figures(nets[(run.point, run.seed)]))
    assert state.choice().point.index == 1
    lucky = state.closed[0].ranking[1]
    assert lucky.violations == ("no net_bps in 1 of 2 run(s)",)
    assert lucky.mean("net_bps") == 9.0  # the mean over the run that traded, shown, not used


def test_a_floor_on_a_figure_cuts_a_point_below_it() -> None:
    table = {0: figures(1.0, fills=40.0), 1: figures(9.0, fills=3.0)}
    fills = Constraint("fills", at_least=10)
    assert fills.describe() == "fills >= 10"
    assert Constraint("taker_share", at_most=0.09, at_least=0).describe() == (
        "taker_share <= 0.09 and >= 0"
    )
    state = run_search(Plan(points(2).points, eta=2, constraints=(fills,)), by_point(table))
    assert state.choice().point.index == 0
    assert state.closed[0].ranking[1].violations == ("fills 3 < 10",)


def test_the_score_is_the_mean_over_seeds_with_its_interval() -> None:
    state = run_search(Plan(points(1).points, first_seeds=3), lambda run: figures(float(run.seed)))
    chosen = state.choice()
    estimate = chosen.figures["net_bps"]
    assert estimate is not None and chosen.seeds == 3
    assert estimate.mean == 2.0 and estimate.low is not None and estimate.low < 2.0


def test_by_value_pools_every_run_of_every_point_with_that_value() -> None:
    axes = [Axis("spread.base_bps", (1.0, 2.0)), Axis("skew.gamma", (0.1, 0.2))]
    plan = Plan(grid(axes), eta=4, first_seeds=2)
    no_trade = Run(3, 2)
    state = run_search(
        plan, lambda run: figures(None if run == no_trade else 10.0 * run.point + run.seed)
    )
    rows = by_value(state, "spread.base_bps")
    assert [r.value for r in rows] == [1.0, 2.0]
    low = rows[0].objective
    assert low is not None and low.n == rows[0].runs == 4  # points 0 and 1, two seeds each
    assert low.mean == pytest.approx((1 + 2 + 11 + 12) / 4)
    assert [s.point.index for s in rows[1].points] == [2, 3]
    high = rows[1].objective
    assert high is not None and (high.n, rows[1].runs) == (3, 4)  # the run with no trade


# -- properties


@st.composite
def searches(draw: st.DrawFn) -> tuple[Plan, dict[int, tuple[float, bool]], list[float]]:
    """A plan, each point's (net, feasible) and per-seed noise (the same for every point)."""
    n = draw(st.integers(1, 30))
    plan = Plan(
        points(n).points,
        eta=draw(st.integers(2, 4)),
        first_seeds=draw(st.integers(1, 3)),
        max_rounds=draw(st.none() | st.integers(1, 4)),
        seed=draw(st.integers(0, 100)),
        constraints=(TAKER,),
    )
    nets = st.floats(-10, 10, allow_nan=False).map(lambda x: round(x, 3))
    table = {i: (draw(nets), draw(st.booleans())) for i in range(n)}
    noise = draw(st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=7))
    return plan, table, noise


def evaluator(table: dict[int, tuple[float, bool]], noise: list[float]) -> Callable[[Run], Figures]:
    def evaluate(run: Run) -> Figures:
        net, feasible = table[run.point]
        # feasibility is the point's, whatever the seed: taker share within or past 0.09
        taker = 0.01 if feasible else 0.5
        return figures(net + noise[(run.point * 7 + run.seed) % len(noise)], taker=taker)

    return evaluate


@given(searches())
def test_the_survivors_shrink_by_eta_each_round_as_planned(
    search: tuple[Plan, dict[int, tuple[float, bool]], list[float]],
) -> None:
    plan, table, noise = search
    evaluate = evaluator(table, noise)
    state, wanted = Halving.start(plan), []
    while not state.finished:
        wanted.append(len(state.wanted()))
        for run in state.wanted():
            state = state.record(run, evaluate(run))
        state = state.advance()
    counts = [len(r.ranking) for r in state.closed]
    assert counts[0] == len(plan.points)
    for before, after in itertools.pairwise(counts):
        assert after == max(1, before // plan.eta)
    assert [(len(r.ranking), r.seeds) for r in state.closed] == list(plan.schedule())
    assert sum(wanted) == plan.total_runs() == len(state.results)
    if plan.max_rounds is not None:
        assert len(state.closed) <= plan.max_rounds


@given(searches())
def test_the_choice_is_feasible_when_any_point_is(
    search: tuple[Plan, dict[int, tuple[float, bool]], list[float]],
) -> None:
    plan, table, noise = search
    chosen = run_search(plan, evaluator(table, noise)).choice()
    assert chosen.feasible == any(feasible for _net, feasible in table.values())


@given(searches())
def test_without_noise_the_choice_is_the_best_feasible_point(
    search: tuple[Plan, dict[int, tuple[float, bool]], list[float]],
) -> None:
    plan, table, _noise = search
    chosen = run_search(plan, evaluator(table, [0.0])).choice()
    feasible = [(net, -i) for i, (net, ok) in table.items() if ok]
    if feasible:  # the highest net, the lowest index among equals
        assert chosen.point.index == -max(feasible)[1]


@given(searches(), st.randoms(use_true_random=False))
def test_results_in_any_order_give_the_same_search(
    search: tuple[Plan, dict[int, tuple[float, bool]], list[float]], rng: random.Random
) -> None:
    plan, table, noise = search
    evaluate = evaluator(table, noise)
    in_order = run_search(plan, evaluate)
    state = Halving.start(plan)
    while not state.finished:
        runs = list(state.wanted())
        rng.shuffle(runs)
        for run in runs:
            state = state.record(run, evaluate(run))
        state = state.advance()
    assert state == in_order  # the same rounds, rankings, results and choice
    assert state.choice() == in_order.choice() == run_search(plan, evaluate).choice()
    estimate = state.choice().figures["net_bps"]
    assert estimate is not None and math.isfinite(estimate.mean)
