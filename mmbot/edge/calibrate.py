"""``mmbot calibrate``: strategy parameters searched per symbol by successive halving (shell).

What it is for: ``mmbot calibrate CONFIG --grid spread.base_bps=0.5:3:6 ...`` finds, for
each symbol, the grid point with the highest mean ``net_bps`` under the constraints (taker
share, inventory variance), running backtests (:mod:`mmbot.edge.backtest`) of that symbol
alone — CONFIG with ``bot.symbols = [SYMBOL]``, the point's values as that symbol's
``[overrides.SYMBOL.<table>]`` — and cutting the losing points round by round
(:mod:`mmbot.edge.halving` decides; this module runs what it asks for). Each round's runs of
every symbol go out together through :func:`mmbot.parallel.map_unordered` (local processes
or a Dask cluster), a progress line per finished run. It writes the chosen config (CONFIG's
data plus the chosen override tables, with a header naming the mmbot version, the schema
version, the config's hash, the search and each symbol's figures with their 95 %
intervals), a picture (:mod:`mmbot.edge.halving_picture`) and a JSON report.

A grid path or value that does not make a valid config is found before anything runs (every
point of every symbol is built through :func:`mmbot.config.config_from_dict`): exit 2,
naming it. Exit 1 when a symbol had no feasible point (then no config is written) or a run
raised; 130 on Ctrl-C. What is chosen depends on CONFIG and the search's arguments only,
never on the workers (the header holds nothing else).

What it must never do: run a search it could not fully check, write a config that does not
load, or choose a point that broke a constraint while another did not.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

import mmbot
from mmbot.clock import perf_counter_ns
from mmbot.config import (
    CONFIG_VERSION,
    config_from_dict,
    config_hash,
    dumps_toml,
    normalized,
    read_toml,
)
from mmbot.edge.backtest import BacktestTask, run_task
from mmbot.edge.grid import GridError, parse_axis, single_symbol, with_point
from mmbot.edge.halving import (
    Axis,
    Constraint,
    Halving,
    Plan,
    Run,
    Score,
    grid,
    shown,
)
from mmbot.edge.stats import Estimate
from mmbot.errors import ConfigError
from mmbot.parallel import ParallelError, TaskResult, default_workers, map_unordered

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: The figures the header and the report give for a chosen point (with 95 % intervals).
REPORTED = (
    "net_bps",
    "taker_share",
    "inventory_variance",
    "inventory_notional_variance",
    "slippage_bps",
    "fills",
    "volume",
    "quote_uptime",
)


@attrs.frozen
class CalibrationTask:
    """One backtest a worker makes: plain values (they travel to workers)."""

    index: int
    symbol: str
    point: int
    seed: int
    label: str  # the point's values, for people
    config: Mapping[str, Any]  # normalized single-symbol config with the point applied
    duration: float

    def describe(self) -> str:
        return f"{self.symbol} {self.label} seed {self.seed}"


def run_calibration_task(task: CalibrationTask) -> dict[str, Any]:
    """One run's figures for its symbol (a worker's job; one run at a time per process)."""
    logger = logging.getLogger("mmbot")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())  # a stopping bot's warnings are noise here
    backtest = BacktestTask(task.index, task.label, task.config, task.seed, task.duration)
    result = run_task(backtest)
    return {
        "figures": result["symbols"][task.symbol],
        "wall_s": result["wall_s"],
        "digest": result["digest"],
        "orders_left": result["orders_left"],
    }


# -- the command --------------------------------------------------------------------------


def add_calibrate_parser(sub: Any) -> None:
    calibrate = sub.add_parser(
        "calibrate",
        help="search strategy parameters per symbol by successive halving",
        description="Search strategy parameters per symbol for the highest mean net_bps "
        "under constraints (taker share, inventory variance): every grid point is backtested "
        "on a few seeds, the worse ones are cut each round and the survivors get eta times "
        "the seeds, until one is left. Writes the chosen config, a picture and a report. "
        "See docs/backtesting.md.",
    )
    calibrate.add_argument("config", metavar="CONFIG", help="the bot config to start from")
    calibrate.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="PATH=VALUES",
        help="a strategy key and its values: spread.base_bps=1,2,3 or spread.base_bps=0.5:3:6 "
        "(lo:hi:n); give --grid once per parameter",
    )
    calibrate.add_argument(
        "--symbol", action="append", metavar="SYMBOL", help="calibrate these (default: all)"
    )
    calibrate.add_argument(
        "--seeds", type=int, default=2, help="each point's seeds in round 0 (default 2)"
    )
    calibrate.add_argument(
        "--eta", type=int, default=3, help="keep 1/eta of the points a round (default 3)"
    )
    calibrate.add_argument(
        "--rounds", type=int, help="at most this many rounds (default: until one is left)"
    )
    calibrate.add_argument("--seed", type=int, default=1, help="the first seed (default 1)")
    calibrate.add_argument(
        "--duration", type=float, default=600.0, help="simulated seconds per run (default 600)"
    )
    where = calibrate.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: the CPUs)")
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is here (tcp://HOST:8786); needs "
        "pip install 'mmbot[distributed]'",
    )
    calibrate.add_argument(
        "--max-taker-share",
        type=float,
        default=0.09,
        help="a point's mean taker share must be at most this (default 0.09)",
    )
    calibrate.add_argument(
        "--max-inventory-variance",
        type=float,
        metavar="X",
        help="... and its mean inventory variance (base units squared) at most this",
    )
    calibrate.add_argument(
        "--max-inventory-notional-variance",
        type=float,
        metavar="X",
        help="... and its mean inventory notional variance (quote units squared) at most this",
    )
    calibrate.add_argument(
        "--min-fills",
        type=float,
        metavar="N",
        help="... and its mean fills per run at least this (default: no floor)",
    )
    calibrate.add_argument("--out", metavar="FILE", help="write the chosen config here (TOML)")
    calibrate.add_argument(
        "--picture", metavar="FILE", help="draw net_bps per value (.png or .svg)"
    )
    calibrate.add_argument("--report", metavar="FILE", help="write every run and round (JSON)")
    calibrate.set_defaults(func=main)


@attrs.frozen
class Search:
    """Everything checked before a run: the plan, and each symbol's task configs."""

    source: Path
    raw: Mapping[str, Any]
    axes: tuple[Axis, ...]
    plan: Plan
    symbols: tuple[str, ...]
    configs: Mapping[str, tuple[Mapping[str, Any], ...]]  # symbol -> normalized, per point
    duration: float


def prepare(args: argparse.Namespace) -> Search:
    """The search the arguments ask for; GridError / ConfigError / ValueError if it cannot run."""
    usage = _usage_problem(args)
    if usage:
        raise ValueError(usage)
    source = Path(args.config)
    raw = read_toml(source)
    base = config_from_dict(raw, base_dir=source.parent)
    axes = tuple(parse_axis(spec) for spec in args.grid)
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        raise GridError("--grid: a strategy key is searched twice")
    symbols = tuple(dict.fromkeys(args.symbol or base.bot.symbols))
    for symbol in symbols:
        if symbol not in base.bot.symbols:
            raise ValueError(
                f"--symbol {symbol}: not one of bot.symbols ({', '.join(base.bot.symbols)})"
            )
    constraints = [Constraint("taker_share", at_most=args.max_taker_share)]
    if args.min_fills is not None:
        constraints.append(Constraint("fills", at_least=args.min_fills))
    if args.max_inventory_variance is not None:
        constraints.append(Constraint("inventory_variance", at_most=args.max_inventory_variance))
    if args.max_inventory_notional_variance is not None:
        constraints.append(
            Constraint("inventory_notional_variance", at_most=args.max_inventory_notional_variance)
        )
    plan = Plan(
        grid(axes),
        eta=args.eta,
        first_seeds=args.seeds,
        max_rounds=args.rounds,
        seed=args.seed,
        constraints=tuple(constraints),
    )
    configs = {}
    for symbol in symbols:
        alone = single_symbol(raw, symbol)
        built = []
        for point in plan.points:
            try:
                config = config_from_dict(
                    with_point(alone, symbol, point.params), base_dir=source.parent
                )
            except ConfigError as exc:
                raise GridError(
                    f"--grid {point.describe()} for {symbol}: " + "; ".join(exc.problems)
                ) from None
            built.append(normalized(config))
        configs[symbol] = tuple(built)
    return Search(source, raw, axes, plan, symbols, configs, args.duration)


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.seeds < 1:
        return "--seeds must be at least 1"
    if args.eta < 2:
        return "--eta must be at least 2"
    if args.rounds is not None and args.rounds < 1:
        return "--rounds must be at least 1"
    if not (math.isfinite(args.duration) and args.duration > 0):
        return "--duration must be more than 0 simulated seconds"
    if args.workers is not None and args.workers < 1:
        return "--workers must be at least 1"
    if not (0 <= args.max_taker_share <= 1):
        return "--max-taker-share must be within 0..1"
    for flag, value in (
        ("--max-inventory-variance", args.max_inventory_variance),
        ("--max-inventory-notional-variance", args.max_inventory_notional_variance),
        ("--min-fills", args.min_fills),
    ):
        if value is not None and not (math.isfinite(value) and value >= 0):
            return f"{flag} must be a number >= 0"
    if args.picture and Path(args.picture).suffix.lower() not in (".png", ".svg"):
        return f"--picture {args.picture}: the file's suffix picks the format: .png or .svg"
    return None


def main(args: argparse.Namespace) -> int:
    try:
        search = prepare(args)
    except ConfigError as exc:
        print(f"mmbot calibrate: invalid configuration {args.config}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:  # GridError too
        print(f"mmbot calibrate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    plan = search.plan
    where = (
        f"the Dask cluster at {args.scheduler}"
        if args.scheduler
        else f"{args.workers or default_workers()} local worker process(es)"
    )
    total = plan.total_runs() * len(search.symbols)
    print(
        f"calibrate: {', '.join(search.symbols)}; {len(plan.points)} point(s) "
        f"({describe_grid(search.axes)}); {_describe_rounds(plan)}; {total} runs of "
        f"{search.duration:g} simulated s on {where}",
        flush=True,
    )
    began = perf_counter_ns()
    try:
        states, errors = _search(search, args)
    except ParallelError as exc:
        print(f"mmbot calibrate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: the runs not started are cancelled; nothing written")
        return EXIT_INTERRUPTED
    wall_s = (perf_counter_ns() - began) / 1e9
    print(f"calibrate: {total} runs in {wall_s:.1f} s wall ({total / wall_s * 60:.0f} runs/min)")
    code = EXIT_OK
    for result in errors:
        print(f"raised: {result.task.describe()}:\n{result.error}")
        code = EXIT_FAILED
    infeasible = [s for s in search.symbols if not states[s].choice().feasible]
    for symbol in search.symbols:
        print(describe_choice(symbol, states[symbol].choice(), plan))
        for note in edge_notes(search.axes, states[symbol].choice()):
            print(f"  note: {note}")
    if args.picture:
        from mmbot.edge.halving_picture import draw

        print(f"picture: {draw(states, Path(args.picture), title=_title(search))}")
    if args.report:
        path = Path(args.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report(search, states, errors, wall_s), indent=2) + "\n")
        print(f"report: {path}")
    if infeasible:
        print(
            f"no point met the constraints for {', '.join(infeasible)}: no config written "
            "(loosen the constraints or search elsewhere)"
        )
        return EXIT_FAILED
    if args.out:
        out = Path(args.out)
        text, digest = chosen_config(search, states, out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"chosen config: {out} (hash {digest}); check it with `mmbot config check {out}`")
    else:
        print("(give --out FILE to write the chosen config)")
    return code


def _search(
    search: Search, args: argparse.Namespace
) -> tuple[dict[str, Halving], list[TaskResult[CalibrationTask, dict[str, Any]]]]:
    """Every symbol's search, a round of all of them at a time, on the workers."""
    states = {symbol: Halving.start(search.plan) for symbol in search.symbols}
    errors: list[TaskResult[CalibrationTask, dict[str, Any]]] = []
    done = [0]
    total = search.plan.total_runs() * len(search.symbols)
    while not all(state.finished for state in states.values()):
        wanted = [(symbol, run) for symbol, state in states.items() for run in state.wanted()]
        tasks = [
            CalibrationTask(
                index=i,
                symbol=symbol,
                point=run.point,
                seed=run.seed,
                label=search.plan.points[run.point].describe(),
                config=search.configs[symbol][run.point],
                duration=search.duration,
            )
            for i, (symbol, run) in enumerate(wanted)
        ]

        def progress(result: TaskResult[CalibrationTask, dict[str, Any]], _d: int, _t: int) -> None:
            done[0] += 1
            print(f"  ... [{done[0]}/{total}] {_outcome(result, states)}", flush=True)

        for result in map_unordered(
            run_calibration_task,
            tasks,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=progress,
        ):
            task = result.task
            figures = result.value["figures"] if result.value is not None else None
            if figures is None:
                errors.append(result)
            states[task.symbol] = states[task.symbol].record(Run(task.point, task.seed), figures)
        for symbol, state in states.items():
            if not state.finished:
                states[symbol] = state.advance()
                print(describe_round(symbol, states[symbol]), flush=True)
    return states, errors


# -- what is said and written -------------------------------------------------------------


def describe_grid(axes: Sequence[Axis]) -> str:
    return "; ".join(f"{a.path} = {', '.join(shown(v) for v in a.values)}" for a in axes)


def _describe_rounds(plan: Plan) -> str:
    rounds = ", ".join(f"{points}x{seeds}" for points, seeds in plan.schedule())
    return f"eta {plan.eta}, rounds (points x seeds) {rounds}, first seed {plan.seed}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def describe_estimate(estimate: Estimate | None) -> str:
    if estimate is None:
        return "none"
    if estimate.low is None or estimate.high is None:
        return f"{_fmt(estimate.mean)} (n={estimate.n})"
    return f"{_fmt(estimate.mean)} [{_fmt(estimate.low)}, {_fmt(estimate.high)}] (n={estimate.n})"


def _outcome(
    result: TaskResult[CalibrationTask, dict[str, Any]], states: Mapping[str, Halving]
) -> str:
    task = result.task
    head = f"round {states[task.symbol].round} {task.describe()}"
    if result.value is None:
        return f"{head}: RAISED {result.describe_error()}"
    figures = result.value["figures"]
    return (
        f"{head}: net_bps {_fmt(figures.get('net_bps'))}, taker_share "
        f"{_fmt(figures.get('taker_share'))}, fills {_fmt(figures.get('fills'))} "
        f"({result.value['wall_s']:.1f} s)"
    )


def describe_round(symbol: str, state: Halving) -> str:
    closed = state.closed[-1]
    lines = [
        f"round {closed.index} {symbol} ({closed.seeds} seed(s) a point): kept {closed.kept} "
        f"of {len(closed.ranking)}"
    ]
    for place, s in enumerate(closed.ranking):
        mark = "kept" if place < closed.kept else "cut "
        why = f" INFEASIBLE: {'; '.join(s.violations)}" if s.violations else ""
        lines.append(
            f"  {mark} {s.point.describe()}: net_bps {describe_estimate(s.figures['net_bps'])}{why}"
        )
    return "\n".join(lines)


def describe_choice(symbol: str, chosen: Score, plan: Plan) -> str:
    state = "" if chosen.feasible else f" (INFEASIBLE: {'; '.join(chosen.violations)})"
    return f"chosen for {symbol}: {chosen.point.describe()}{state}; " + ", ".join(
        f"{name} {describe_estimate(chosen.figures.get(name))}"
        for name in dict.fromkeys([plan.objective, *(c.figure for c in plan.constraints)])
    )


def edge_notes(axes: Sequence[Axis], chosen: Score) -> list[str]:
    """A chosen number at either end of its axis (of 3 values or more): the best may lie
    beyond the grid."""
    notes = []
    for axis in axes:
        numbers = [v for v in axis.values if isinstance(v, int | float) and not isinstance(v, bool)]
        if len(numbers) < 3 or len(numbers) != len(axis.values):
            continue
        value = chosen.point.value(axis.path)
        if value in (min(numbers), max(numbers)):
            notes.append(
                f"{axis.path} = {shown(value)} is at the edge of its grid: the best may lie beyond"
            )
    return notes


def _title(search: Search) -> str:
    constraints = ", ".join(c.describe() for c in search.plan.constraints)
    return (
        f"mmbot calibrate {search.source.name}: {describe_grid(search.axes)}\n"
        f"{search.duration:g} simulated s a run; {_describe_rounds(search.plan)}\n"
        f"constraints: {constraints}"
    )


def chosen_figures(state: Halving) -> Score:
    """The chosen point judged on all its seeds, with every reported figure."""
    chosen = state.choice()
    return state.scores([chosen.point.index], figures=REPORTED)[0]


def chosen_data(search: Search, states: Mapping[str, Halving], out: Path) -> dict[str, Any]:
    """CONFIG's data with each symbol's chosen values as its override tables (a strategy
    file CONFIG names by a relative path is named relative to ``out``'s folder)."""
    data = copy.deepcopy(dict(search.raw))
    strategy = data.get("strategy")
    if isinstance(strategy, dict) and isinstance(strategy.get("file"), str):
        named = Path(strategy["file"])
        if not named.is_absolute():
            where = os.path.relpath(search.source.parent / named, out.parent)
            strategy["file"] = Path(where).as_posix()
    for symbol, state in states.items():
        data = with_point(data, symbol, state.choice().point.params)
    return data


def chosen_config(search: Search, states: Mapping[str, Halving], out: Path) -> tuple[str, str]:
    """The chosen config's TOML text (header, then data) and its hash, as it loads from
    ``out``: the text is checked by loading it before it is returned."""
    data = chosen_data(search, states, out)
    body = dumps_toml(data)
    digest = config_hash(config_from_dict(tomllib.loads(body), base_dir=out.parent))
    return header(search, states, digest) + body, digest


def header(search: Search, states: Mapping[str, Halving], digest: str) -> str:
    plan = search.plan
    lines = [
        f"Chosen by `mmbot calibrate` (mmbot {mmbot.__version__}, config schema version "
        f"{CONFIG_VERSION}) from {search.source.name}.",
        f"Config hash {digest} (as `mmbot config check` prints it for this file).",
        f"Search: successive halving over {describe_grid(search.axes)};",
        f"  {plan.first_seeds} seed(s) a point in round 0, eta {plan.eta} (round k: "
        f"{plan.first_seeds}*{plan.eta}^k seeds), rounds (points x seeds) "
        + ", ".join(f"{p}x{s}" for p, s in plan.schedule())
        + f", first seed {plan.seed};",
        f"  {search.duration:g} simulated s a run, each symbol alone; constraints: "
        + ", ".join(c.describe() for c in plan.constraints)
        + ".",
        "Chosen (mean [95 % interval] (n seeds)), as [overrides.SYMBOL.*] below:",
    ]
    for symbol, state in states.items():
        chosen = chosen_figures(state)
        lines.append(f"  {symbol}: {chosen.point.describe()}")
        lines += [f"    {name} {describe_estimate(chosen.figures.get(name))}" for name in REPORTED]
        lines += [f"    note: {note}" for note in edge_notes(search.axes, chosen)]
    lines.append(f"The rest is {search.source.name}'s own data (its comments are not kept).")
    return "".join(f"# {line}\n" for line in lines) + "\n"


def _score_json(s: Score) -> dict[str, Any]:
    return {
        "point": s.point.index,
        "params": dict(s.point.params),
        "seeds": s.seeds,
        "failed": s.failed,
        "feasible": s.feasible,
        "violations": list(s.violations),
        "figures": {
            name: e.to_jsonable() if e is not None else None for name, e in s.figures.items()
        },
    }


def report(
    search: Search,
    states: Mapping[str, Halving],
    errors: Sequence[TaskResult[CalibrationTask, dict[str, Any]]],
    wall_s: float,
) -> dict[str, Any]:
    """Everything the search did, as JSON-able data."""
    plan = search.plan
    return {
        "config": str(search.source),
        "mmbot_version": mmbot.__version__,
        "config_version": CONFIG_VERSION,
        "grid": {a.path: list(a.values) for a in search.axes},
        "eta": plan.eta,
        "first_seeds": plan.first_seeds,
        "max_rounds": plan.max_rounds,
        "first_seed": plan.seed,
        "duration_s": search.duration,
        "constraints": [attrs.asdict(c) for c in plan.constraints],
        "wall_s": wall_s,
        "symbols": {
            symbol: {
                "chosen": _score_json(chosen_figures(state)),
                "notes": edge_notes(search.axes, state.choice()),
                "rounds": [
                    {
                        "round": r.index,
                        "seeds": r.seeds,
                        "kept": r.kept,
                        "ranking": [_score_json(s) for s in r.ranking],
                    }
                    for r in state.closed
                ],
                "runs": [
                    {"point": p, "seed": seed, "figures": figures}
                    for (p, seed), figures in sorted(state.results.items())
                ],
            }
            for symbol, state in states.items()
        },
        "errors": [{"run": r.task.describe(), "error": r.error} for r in errors],
    }
