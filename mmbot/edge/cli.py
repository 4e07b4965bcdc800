"""``mmbot backtest``: strategies on the seeded market over seeds, and the edge regression suite.

What it is for: the command line of :mod:`mmbot.edge`. ``mmbot backtest CONFIG...`` runs each
bot config on the same seeds (``--seeds N`` from ``--first-seed``) for ``--duration``
simulated seconds, in parallel (``mmbot.parallel``: local processes, or a Dask cluster with
``--scheduler``), shows a line per finished run, then prints each config's figures per
symbol and in total (mean ± 95 % interval) and, with several configs, each one's paired
difference from the first; ``--json FILE`` writes every run and the estimates.
``mmbot backtest --suite FILE`` runs a regression suite (a TOML file: configs, seeds,
duration, tolerances, baseline file) and compares the means with the committed baseline,
failing (exit 1) on a drop beyond a figure's tolerance; ``--update-baseline`` rewrites the
baseline deliberately, each config's hash recorded beside its figures.

Exit codes: 0 done (and no regression); 1 a regression, or a run failed; 2 a bad argument,
config or suite (nothing was run).

What it must never do: run anything before every config and the suite are checked; write a
baseline unless asked; judge a baseline made from other configs (a changed config hash is
reported, and the suite fails until the baseline is updated).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from mmbot.clock import perf_counter_ns
from mmbot.config import BotConfig, config_hash, load_config, normalized
from mmbot.edge.backtest import BacktestTask, run_task
from mmbot.edge.report import (
    DIRECTION,
    Tolerance,
    baseline_means,
    compare,
    comparison_text,
    regressions,
    summarize,
    text,
)
from mmbot.errors import ConfigError
from mmbot.parallel import ParallelError, TaskResult, default_workers, map_unordered

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class SuiteError(ValueError):
    """A regression suite file that cannot be run, with what is wrong in it."""


@attrs.frozen
class Suite:
    """A regression suite: what to run and how to judge it (paths resolved)."""

    path: Path
    configs: tuple[Path, ...]
    seeds: tuple[int, ...]
    duration: float
    baseline: Path
    tolerance: Mapping[str, Tolerance]
    symbols: tuple[str, ...] = ()  # run only these of each config's symbols (none: all)


def load_suite(path: Path) -> Suite:
    """Read and check a suite file (every problem named at once)."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SuiteError(f"{path}: {error}") from error
    problems: list[str] = []
    known = {"configs", "seeds", "duration", "baseline", "tolerance", "symbols"}
    problems += [
        f"{key}: unknown key (keys: {', '.join(sorted(known))})" for key in data.keys() - known
    ]
    configs = data.get("configs")
    if not (isinstance(configs, list) and configs and all(isinstance(c, str) for c in configs)):
        problems.append("configs: a list of bot config files (relative to the suite)")
        configs = []
    seeds = data.get("seeds")
    if not (isinstance(seeds, list) and seeds and all(type(s) is int for s in seeds)):
        problems.append("seeds: a list of integers")
        seeds = []
    duration = data.get("duration")
    if not (isinstance(duration, int | float) and 0 < duration < math.inf):
        problems.append("duration: simulated seconds, > 0")
        duration = 1.0
    baseline = data.get("baseline")
    if not isinstance(baseline, str):
        problems.append("baseline: the baseline file (relative to the suite)")
        baseline = ""
    tolerance = data.get("tolerance", {})
    if not isinstance(tolerance, dict):
        problems.append("tolerance: a table of figure = largest allowed drop")
        tolerance = {}
    tolerances: dict[str, Tolerance] = {}
    for name, value in tolerance.items():
        if name not in DIRECTION:
            problems.append(f"tolerance.{name}: not a judged figure ({', '.join(DIRECTION)})")
            continue
        parsed = _tolerance(value)
        if parsed is None:
            problems.append(f'tolerance.{name}: a number >= 0, or a share like "10%"')
        else:
            tolerances[name] = parsed
    symbols = data.get("symbols", [])
    if not (isinstance(symbols, list) and all(isinstance(s, str) for s in symbols)):
        problems.append("symbols: a list of symbols (each in every config)")
        symbols = []
    if problems:
        raise SuiteError("; ".join(f"{path}: {p}" for p in problems))
    here = path.parent
    return Suite(
        path=path,
        configs=tuple(here / c for c in configs),
        seeds=tuple(seeds),
        duration=float(duration),
        baseline=here / baseline,
        tolerance=tolerances,
        symbols=tuple(symbols),
    )


def _tolerance(value: Any) -> Tolerance | None:
    if isinstance(value, str) and value.endswith("%"):
        try:
            share = float(value[:-1]) / 100
        except ValueError:
            return None
        return Tolerance(share, relative=True) if 0 <= share < math.inf else None
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < math.inf:
        return Tolerance(float(value))
    return None


def only(config: BotConfig, symbols: Sequence[str]) -> BotConfig:
    """``config`` quoting only ``symbols`` (each must be one of its own)."""
    missing = [s for s in symbols if s not in config.bot.symbols]
    if missing:
        raise ConfigError([f"bot.symbols: the suite runs {', '.join(missing)}, not quoted here"])
    return attrs.evolve(
        config,
        bot=attrs.evolve(config.bot, symbols=tuple(symbols)),
        overrides={s: o for s, o in config.overrides.items() if s in symbols},
    )


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "backtest",
        help="run strategies on the seeded market over seeds; the edge regression suite",
        description=__doc__.splitlines()[0].split(": ", 1)[1],
    )
    parser.add_argument("configs", nargs="*", metavar="CONFIG", help="bot config files")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    parser.add_argument("--first-seed", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument(
        "--duration", type=float, default=3600.0, help="simulated seconds per run (default 3600)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: the CPUs)")
    where.add_argument("--scheduler", help="a Dask scheduler's address (tcp://host:8786)")
    parser.add_argument("--json", type=Path, help="write every run and the estimates here")
    parser.add_argument("--suite", type=Path, help="run a regression suite file instead")
    parser.add_argument(
        "--update-baseline", action="store_true", help="with --suite: rewrite its baseline"
    )
    parser.set_defaults(func=main)


def _labels(paths: Sequence[Path]) -> list[str]:
    stems = [p.stem for p in paths]
    return stems if len(set(stems)) == len(stems) else [str(p) for p in paths]


def main(args: argparse.Namespace) -> int:
    try:
        suite = load_suite(args.suite) if args.suite else None
    except SuiteError as error:
        print(f"mmbot backtest: {error}", file=sys.stderr)
        return EXIT_USAGE
    if suite is None and args.update_baseline:
        print("mmbot backtest: --update-baseline needs --suite FILE", file=sys.stderr)
        return EXIT_USAGE
    if suite is not None and args.configs:
        print("mmbot backtest: give configs or --suite, not both", file=sys.stderr)
        return EXIT_USAGE
    paths = list(suite.configs) if suite else [Path(c) for c in args.configs]
    if not paths:
        print("mmbot backtest: name at least one config (or --suite FILE)", file=sys.stderr)
        return EXIT_USAGE
    if suite is None and (args.seeds < 1 or not 0 < args.duration < math.inf):
        print("mmbot backtest: --seeds must be >= 1 and --duration > 0 (finite)", file=sys.stderr)
        return EXIT_USAGE
    if args.workers is not None and args.workers < 1:
        print("mmbot backtest: --workers must be >= 1", file=sys.stderr)
        return EXIT_USAGE
    if args.json is not None and not args.json.parent.is_dir():
        print(f"mmbot backtest: --json: no folder {args.json.parent}", file=sys.stderr)
        return EXIT_USAGE
    configs = {}
    for label, path in zip(_labels(paths), paths, strict=True):
        try:
            configs[label] = load_config(path)
            if suite is not None and suite.symbols:
                configs[label] = only(configs[label], suite.symbols)
        except (ConfigError, OSError, tomllib.TOMLDecodeError) as error:
            problems = error.problems if isinstance(error, ConfigError) else [str(error)]
            print(f"mmbot backtest: {path}:", file=sys.stderr)
            for problem in problems:
                print(f"  {problem}", file=sys.stderr)
            return EXIT_USAGE
    seeds = (
        list(suite.seeds) if suite else list(range(args.first_seed, args.first_seed + args.seeds))
    )
    duration = suite.duration if suite else args.duration
    data = {label: normalized(config) for label, config in configs.items()}
    runs = [(label, table, seed) for label, table in data.items() for seed in seeds]
    tasks = [BacktestTask(i, *run, duration) for i, run in enumerate(runs)]
    workers = None if args.scheduler else (args.workers or min(default_workers(), len(tasks)))
    where = f"Dask at {args.scheduler}" if args.scheduler else f"{workers} local worker(s)"
    print(
        f"mmbot backtest: {len(configs)} config(s) x {len(seeds)} seed(s) x {duration:g} "
        f"simulated s = {len(tasks)} runs on {where}",
        flush=True,
    )
    started = perf_counter_ns()
    results: list[dict[str, Any]] = []
    failed: list[str] = []
    try:
        for result in map_unordered(
            run_task, tasks, workers=workers, scheduler=args.scheduler, progress=_progress
        ):
            if result.value is None:
                failed.append(f"{result.task.describe()}: {result.describe_error()}")
            else:
                results.append(result.value)
    except ParallelError as error:
        print(f"mmbot backtest: {error}", file=sys.stderr)
        return EXIT_USAGE
    wall = (perf_counter_ns() - started) / 1e9
    summary = summarize(results)
    print()
    print(text(summary, len(seeds), duration))
    labels = list(configs)
    comparisons = {}
    for other in labels[1:]:
        diff = compare(results, labels[0], other)
        comparisons[other] = diff
        print()
        print(comparison_text(labels[0], other, diff))
    left = [r for r in results if r["orders_left"]]
    print(f"\n{len(results)} run(s) in {wall:.1f} s wall")
    code = EXIT_OK
    for line in failed:
        print(f"FAILED {line}")
        code = EXIT_FAILED
    for run in left:
        print(f"ORDERS LEFT {run['label']} seed {run['seed']}: {run['orders_left']}")
        code = EXIT_FAILED
    if args.json:
        args.json.write_text(json.dumps(_report(results, summary, comparisons), indent=1) + "\n")
        print(f"json: {args.json}")
    if suite is not None and code == EXIT_OK:
        hashes = {label: config_hash(config) for label, config in configs.items()}
        code = _judge(suite, summary, hashes, update=args.update_baseline)
    return code


def _progress(result: TaskResult[BacktestTask, dict[str, Any]], done: int, total: int) -> None:
    value = result.value
    if value is None:
        outcome = f"RAISED {result.describe_error()}"
    else:
        figures = value["total"]
        net = figures["net_bps"]
        outcome = (
            f"net_bps {'-' if net is None else f'{net:+.3f}'}, "
            f"{figures['fills']:.0f} fills, {value['wall_s']:.1f} s"
        )
    print(f"  ... [{done}/{total}] {result.task.describe()}: {outcome}", flush=True)


def _report(
    results: Sequence[Mapping[str, Any]], summary: Any, comparisons: Mapping[str, Any]
) -> dict[str, Any]:
    def est(e: Any) -> Any:
        return None if e is None else e.to_jsonable()

    return {
        "runs": sorted(results, key=lambda r: (r["label"], r["seed"])),
        "estimates": {
            label: {scope: {n: est(e) for n, e in figs.items()} for scope, figs in scopes.items()}
            for label, scopes in summary.items()
        },
        "differences_from_first": {
            label: {n: est(e) for n, e in diff.items()} for label, diff in comparisons.items()
        },
    }


def _judge(suite: Suite, summary: Any, hashes: Mapping[str, str], *, update: bool) -> int:
    means = baseline_means(summary)
    if update:
        data = {
            "suite": suite.path.name,
            "seeds": list(suite.seeds),
            "duration_s": suite.duration,
            "configs": {
                label: {"config_hash": hashes[label], "figures": means[label]} for label in means
            },
        }
        suite.baseline.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"baseline written: {suite.baseline} (config hashes {', '.join(hashes.values())})")
        return EXIT_OK
    try:
        baseline = json.loads(suite.baseline.read_text())
    except (OSError, json.JSONDecodeError) as error:
        print(
            f"mmbot backtest: baseline {suite.baseline}: {error}; make one with --update-baseline"
        )
        return EXIT_FAILED
    stale = [
        f"{label}: config {hashes.get(label)} but the baseline was made with {entry['config_hash']}"
        for label, entry in baseline["configs"].items()
        if hashes.get(label) != entry["config_hash"]
    ] + [f"{label}: not in the baseline" for label in hashes if label not in baseline["configs"]]
    if (
        stale
        or baseline.get("seeds") != list(suite.seeds)
        or baseline.get("duration_s") != suite.duration
    ):
        print(
            "the baseline was made from another suite; "
            "if that is deliberate, rerun with --update-baseline:"
        )
        for line in stale or ["seeds or duration differ"]:
            print(f"  {line}")
        return EXIT_FAILED
    found = regressions(
        summary, {label: e["figures"] for label, e in baseline["configs"].items()}, suite.tolerance
    )
    if not found:
        print(
            f"edge regression suite: no figure dropped beyond its tolerance ({suite.baseline.name})"
        )
        return EXIT_OK
    print(f"edge regression suite: {len(found)} regression(s) against {suite.baseline.name}:")
    for regression in found:
        print(f"  {regression.describe()}")
    return EXIT_FAILED
