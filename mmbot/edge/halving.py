"""Successive halving over a grid of strategy parameters: which runs next, who survives (sans-IO).

What it is for: choosing, per symbol, the grid point (a set of strategy parameter values)
with the highest mean ``net_bps`` under constraints, without spending the whole budget on
points that are plainly worse. Theory of operation:

- A :class:`Plan` holds the points (the Cartesian product of the axes, :func:`grid`), the
  reduction factor η, the seeds a point gets in round 0 (``r0``), the most rounds, the
  first seed and the constraints (a figure's mean at most a bound).
- Round ``k`` evaluates every surviving point on seeds ``seed … seed + r0·η^k − 1``: the
  seeds of earlier rounds are kept, so a survivor only runs the new ones, and every point
  of a round runs on the same seeds (the same market paths: common random numbers, so the
  comparison is not drowned in market noise).
- When a round's runs are all in, its points are ranked: feasible ones first (a point is
  infeasible when a run of it failed, when a run has no objective — ``net_bps`` is unknown
  for a run that made no trade, and a mean over the other runs would flatter the point —
  or when the mean of a constrained figure is past its bound), then by mean objective,
  highest first, then by point index (ties never depend on anything else). The best
  ``max(1, ⌊n/η⌋)`` go on; the search ends when one is left or the rounds run out, and the
  choice is the best of the last round.
- :class:`Halving` is the state, a frozen value: :meth:`Halving.wanted` names the runs the
  round still needs, :meth:`Halving.record` returns the state with one more result,
  :meth:`Halving.advance` closes a complete round. Results are kept by (point, seed) and
  read in seed order, so the order they arrive in changes nothing.

What it must never do: run anything, read a clock, draw randomness, or let the order of
results (or anything but the plan and the figures) change a ranking.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from mmbot.edge.stats import Estimate, estimate

#: A grid value: a TOML scalar (a strategy key's number, word or flag).
Value = float | int | str | bool
#: One run's figures (``EdgeMetrics.figures()`` of the symbol): None where unknown.
Figures = Mapping[str, float | None]

OBJECTIVE = "net_bps"


@attrs.frozen
class Axis:
    """One searched parameter: a strategy key (``spread.base_bps``) and its values."""

    path: str
    values: tuple[Value, ...]


@attrs.frozen
class Point:
    """One grid point: a value for each axis, in the axes' order."""

    index: int
    params: tuple[tuple[str, Value], ...]

    def value(self, path: str) -> Value:
        return dict(self.params)[path]

    def describe(self) -> str:
        return " ".join(f"{path}={shown(value)}" for path, value in self.params)


def shown(value: Value) -> str:
    """A value as TOML writes it (``1.5``, ``"linear"``, ``true``)."""
    return json.dumps(value)


def grid(axes: Sequence[Axis]) -> tuple[Point, ...]:
    """Every combination of the axes' values, the last axis varying fastest."""
    combos = itertools.product(*(axis.values for axis in axes))
    return tuple(
        Point(i, tuple((axis.path, v) for axis, v in zip(axes, combo, strict=True)))
        for i, combo in enumerate(combos)
    )


@attrs.frozen
class Constraint:
    """A figure whose mean over a point's runs must be at most ``at_most`` (and, when
    given, at least ``at_least``)."""

    figure: str
    at_most: float | None = None
    at_least: float | None = None

    def describe(self) -> str:
        bounds = [f"<= {self.at_most:g}"] if self.at_most is not None else []
        bounds += [f">= {self.at_least:g}"] if self.at_least is not None else []
        return f"{self.figure} {' and '.join(bounds)}"

    def broken(self, mean: float) -> str | None:
        """Why ``mean`` breaks this constraint, or None."""
        if self.at_most is not None and mean > self.at_most:
            return f"{self.figure} {mean:.4g} > {self.at_most:g}"
        if self.at_least is not None and mean < self.at_least:
            return f"{self.figure} {mean:.4g} < {self.at_least:g}"
        return None


@attrs.frozen
class Run:
    """One backtest the search wants: a point on a seed."""

    point: int
    seed: int


@attrs.frozen
class Plan:
    """What is searched and how (see the module)."""

    points: tuple[Point, ...] = attrs.field()
    eta: int = attrs.field(default=3)
    first_seeds: int = attrs.field(default=2)  # r0: each point's seeds in round 0
    max_rounds: int | None = None  # None: until one point is left
    seed: int = 1  # the first seed; round k uses seed .. seed + r0*eta**k - 1
    constraints: tuple[Constraint, ...] = ()
    objective: str = OBJECTIVE

    @points.validator
    def _check_points(self, _: object, points: tuple[Point, ...]) -> None:
        if not points or [p.index for p in points] != list(range(len(points))):
            raise ValueError("a plan needs points indexed 0 .. n-1")

    @eta.validator
    def _check_eta(self, _: object, eta: int) -> None:
        if eta < 2:
            raise ValueError(f"eta must be at least 2, got {eta}")

    @first_seeds.validator
    def _check_first_seeds(self, _: object, first_seeds: int) -> None:
        if first_seeds < 1:
            raise ValueError(f"the first round needs at least 1 seed, got {first_seeds}")

    def __attrs_post_init__(self) -> None:
        if self.max_rounds is not None and self.max_rounds < 1:
            raise ValueError(f"at least 1 round, got {self.max_rounds}")

    def seeds(self, round_: int) -> tuple[int, ...]:
        """The seeds every point of round ``round_`` is evaluated on (earlier ones kept)."""
        return tuple(range(self.seed, self.seed + self.first_seeds * self.eta**round_))

    def kept(self, count: int) -> int:
        """How many of ``count`` ranked points go on to the next round."""
        return max(1, count // self.eta)

    def schedule(self) -> tuple[tuple[int, int], ...]:
        """(points, seeds per point) of each round the search will run, known in advance."""
        rounds, count, k = [], len(self.points), 0
        while True:
            rounds.append((count, len(self.seeds(k))))
            if self.last_round(k, count):
                return tuple(rounds)
            count, k = self.kept(count), k + 1

    def last_round(self, round_: int, count: int) -> bool:
        """Whether round ``round_`` of ``count`` points ends the search."""
        return count == 1 or self.kept(count) == 1 or round_ + 1 == self.max_rounds

    def total_runs(self) -> int:
        """Every backtest the search makes (a survivor runs only its new seeds)."""
        total, before = 0, 0
        for count, seeds in self.schedule():
            total += count * (seeds - before)
            before = seeds
        return total


@attrs.frozen
class Score:
    """A point judged on the seeds it has run: its figures' means and intervals."""

    point: Point
    seeds: int  # runs that came back with figures
    failed: int  # runs that raised
    figures: Mapping[str, Estimate | None]
    violations: tuple[str, ...]  # each broken constraint, or the failed runs

    @property
    def feasible(self) -> bool:
        return not self.violations

    def mean(self, figure: str) -> float | None:
        found = self.figures.get(figure)
        return found.mean if found is not None else None


def score(
    plan: Plan, point: Point, runs: Sequence[Figures | None], *, figures: Iterable[str] = ()
) -> Score:
    """``point`` judged on ``runs`` (one per seed, in seed order; None: the run failed).
    Estimates are made for the objective, every constrained figure and ``figures``."""
    done = [r for r in runs if r is not None]
    names = dict.fromkeys([plan.objective, *(c.figure for c in plan.constraints), *figures])
    estimates = {name: estimate(_known(done, name)) for name in names}
    violations = []
    failed = len(runs) - len(done)
    if failed:
        violations.append(f"{failed} run(s) failed")
    unknown = len(done) - len(_known(done, plan.objective))
    if unknown:  # net_bps: a run that made no trade; its mean would speak for the others only
        violations.append(f"no {plan.objective} in {unknown} of {len(done)} run(s)")
    for constraint in plan.constraints:
        found = estimates[constraint.figure]
        why = constraint.broken(found.mean) if found is not None else None
        if why is not None:
            violations.append(why)
    return Score(point, len(done), failed, estimates, tuple(violations))


def _known(runs: Sequence[Figures], name: str) -> list[float]:
    return [v for r in runs if (v := r.get(name)) is not None and math.isfinite(v)]


def rank_key(plan: Plan, s: Score) -> tuple[bool, bool, float, int]:
    """Feasible first, then the highest mean objective (none: last), then the index."""
    mean = s.mean(plan.objective)
    return (not s.feasible, mean is None, -(mean or 0.0), s.point.index)


@attrs.frozen
class Round:
    """A closed round: its points ranked best first, and how many went on."""

    index: int
    seeds: int
    ranking: tuple[Score, ...]
    kept: int


@attrs.frozen
class Halving:
    """The search's state (a value: each step returns a new one)."""

    plan: Plan
    round: int = 0
    alive: tuple[int, ...] = ()  # the points evaluated this round, by index
    # Invariant: every key is a (point, seed) some round wanted; None: that run failed.
    results: Mapping[tuple[int, int], Figures | None] = attrs.field(factory=dict)
    closed: tuple[Round, ...] = ()
    finished: bool = False

    @classmethod
    def start(cls, plan: Plan) -> Halving:
        return cls(plan, alive=tuple(p.index for p in plan.points))

    def wanted(self) -> tuple[Run, ...]:
        """The runs this round still needs (none once finished), point by point."""
        if self.finished:
            return ()
        seeds = self.plan.seeds(self.round)
        return tuple(Run(p, s) for p in self.alive for s in seeds if (p, s) not in self.results)

    def record(self, run: Run, figures: Figures | None) -> Halving:
        """The state with ``run``'s figures in (None: the run failed). A run no round
        wanted, or one already recorded, is a ValueError (a bug in the caller)."""
        wanted = (
            not self.finished
            and run.point in self.alive
            and run.seed in self.plan.seeds(self.round)
            and (run.point, run.seed) not in self.results
        )
        if not wanted:
            raise ValueError(f"{run} is not a run this round wants")
        return attrs.evolve(self, results={**self.results, (run.point, run.seed): figures})

    def scores(self, points: Iterable[int], *, figures: Iterable[str] = ()) -> list[Score]:
        """Each point judged on every seed it has run so far."""
        names = tuple(figures)
        out = []
        for index in points:
            runs = [f for (p, _s), f in sorted(self.results.items()) if p == index]
            out.append(score(self.plan, self.plan.points[index], runs, figures=names))
        return out

    def ranking(self, *, figures: Iterable[str] = ()) -> list[Score]:
        """This round's points, best first."""
        return sorted(
            self.scores(self.alive, figures=figures), key=lambda s: rank_key(self.plan, s)
        )

    def advance(self) -> Halving:
        """Close a complete round: keep the best, start the next round or finish."""
        if self.finished:
            raise ValueError("the search is finished")
        if self.wanted():
            raise ValueError(f"round {self.round} still wants {len(self.wanted())} run(s)")
        ranking = self.ranking()
        kept = self.plan.kept(len(ranking))
        closed = (
            *self.closed,
            Round(self.round, len(self.plan.seeds(self.round)), tuple(ranking), kept),
        )
        survivors = tuple(s.point.index for s in ranking[:kept])
        if self.plan.last_round(self.round, len(ranking)):
            return attrs.evolve(self, closed=closed, alive=survivors, finished=True)
        return attrs.evolve(self, round=self.round + 1, alive=survivors, closed=closed)

    def choice(self) -> Score:
        """The chosen point: the best of the last round (the search must be finished)."""
        if not self.finished:
            raise ValueError("the search is not finished")
        return self.closed[-1].ranking[0]

    def evaluated(self) -> list[Score]:
        """Every point that ran, judged on all its seeds (cut ones on the seeds they had)."""
        return self.scores(sorted({p for p, _s in self.results}))


def run_search(plan: Plan, evaluate: Callable[[Run], Figures | None]) -> Halving:
    """The whole search with ``evaluate`` run in turn (tests; the CLI runs rounds in
    parallel through the same steps)."""
    state = Halving.start(plan)
    while not state.finished:
        for run in state.wanted():
            state = state.record(run, evaluate(run))
        state = state.advance()
    return state


@attrs.frozen
class ValueSummary:
    """One value of one searched parameter, over every run whose point had it."""

    value: Value
    objective: Estimate | None  # over every evaluated (point, seed) with this value
    points: tuple[Score, ...]  # the points with this value that ran
    runs: int  # their runs (a run that failed, or made no trade, is not in ``objective``)


def by_value(state: Halving, path: str) -> list[ValueSummary]:
    """For the picture: each value of ``path`` (the axis' order), the objective over every
    run of every point with that value, and those points' own scores."""
    scores = state.evaluated()
    values = list(dict.fromkeys(p.value(path) for p in state.plan.points))
    out = []
    for value in values:
        points = tuple(s for s in scores if s.point.value(path) == value)
        indexes = {s.point.index for s in points}
        runs = [f for (p, _s), f in sorted(state.results.items()) if p in indexes]
        done = [f for f in runs if f is not None]
        objective = estimate(_known(done, state.plan.objective))
        out.append(ValueSummary(value, objective, points, len(runs)))
    return out
