"""``mmbot chaos run``, ``fuzz`` and ``list``: the command line of the chaos harness.

What it is for: running scenario files (``chaos/*.toml``) in simulated mode (or, with ``--mode
live``, as processes: :mod:`mmbot.chaos.live`) and printing, for
each, its faults, every invariant's verdict (each violation with its time, symbol, orders and
history witnesses), the trace digest, and the command that replays a failure; ``--report
DIR`` also writes one JSON report per run and its timeline picture
(:mod:`mmbot.chaos.picture`). Exit 0 only if every invariant of every scenario
held; 1 if one did not; 2 for a scenario file that cannot run (named with its field, before
anything runs). ``mmbot chaos fuzz`` exits 1 when it found (and wrote) a failing schedule.

What it must never do: run a scenario it could not fully read, or report a pass it did not
check.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from mmbot.chaos.fuzz import FuzzSpace, fuzz, write_found
from mmbot.chaos.invariants import INVARIANTS, Violation
from mmbot.chaos.live import LiveRunError, run_live
from mmbot.chaos.picture import draw
from mmbot.chaos.runner import ChaosResult, bot_config, check_mode, run_scenario
from mmbot.chaos.scenario import (
    MODES,
    Scenario,
    ScenarioError,
    known_scenarios,
    load_scenario,
)
from mmbot.chaos.timeline import timeline

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_SCENARIO = 0, 1, 2
#: Where ``mmbot chaos list`` and ``nox -s chaos`` look for suites.
SUITE_FOLDER = Path("chaos")


def add_chaos_parser(sub: Any) -> None:
    chaos = sub.add_parser("chaos", help="the chaos harness: faults, invariants, replay")
    chaos_sub = chaos.add_subparsers(dest="chaos_command", metavar="SUBCOMMAND")
    run = chaos_sub.add_parser(
        "run",
        help="run scenarios in simulated mode and check their invariants",
        description="Run chaos scenarios (TOML files) in simulated mode, deterministically.",
    )
    run.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario file(s)")
    run.add_argument("--seed", type=int, help="run with this seed instead of the scenario's")
    run.add_argument("--report", metavar="DIR", help="write a JSON report per run here")
    run.add_argument(
        "--picture", choices=("png", "svg"), default="png", help="the timeline's format (png)"
    )
    run.add_argument(
        "--verbose", action="store_true", help="show the bots' warnings and errors (off: quiet)"
    )
    run.add_argument(
        "--mode",
        choices=MODES,
        default="sim",
        help="sim: one process, simulated time, deterministic (default); live: the fake "
        "exchange and the bot as processes on 127.0.0.1 in real time (the suites whose "
        "modes include it; the others are skipped)",
    )
    run.set_defaults(func=_cmd_run)
    fuzz_cmd = chaos_sub.add_parser(
        "fuzz",
        help="random fault schedules (swarm style); shrink the first that fails",
        description="Draw random fault schedules with hypothesis (each example enables a "
        "random subset of fault kinds), run each in simulated mode, and shrink the first "
        "that violates an invariant to a minimal scenario file.",
    )
    fuzz_cmd.add_argument("--examples", type=int, default=50, help="runs to try (default 50)")
    fuzz_cmd.add_argument("--seed", type=int, default=0, help="the fuzzer's seed (default 0)")
    fuzz_cmd.add_argument(
        "--max-faults", type=int, default=40, help="most faults in a schedule (default 40)"
    )
    fuzz_cmd.add_argument(
        "--out", default="chaos/found", help="where a minimal failing schedule is written"
    )
    fuzz_cmd.add_argument("--verbose", action="store_true", help="show the bots' warnings")
    fuzz_cmd.set_defaults(func=_cmd_fuzz)
    listing = chaos_sub.add_parser("list", help="the suites in chaos/ and what each exercises")
    listing.add_argument("--folder", default=str(SUITE_FOLDER), help="default: chaos/")
    listing.set_defaults(func=_cmd_list)


def _cmd_list(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    paths = known_scenarios(folder)
    if not paths:
        print(f"mmbot chaos list: no scenarios in {folder}/", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    for path in paths:
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            print(f"{path}: cannot run: {exc}")
            continue
        print(f"{path}: {scenario.description or scenario.name}")
        print(f"    faults: {scenario.describe_faults()}")
        print(f"    modes: {', '.join(scenario.modes)}")
    return EXIT_OK


def _cmd_run(args: argparse.Namespace) -> int:
    scenarios: list[Scenario] = []
    mode = getattr(args, "mode", "sim")
    for name in args.scenarios:  # every file is read and checked before any runs
        try:
            scenario = load_scenario(name)
            bot_config(scenario)
        except ScenarioError as exc:
            print(f"mmbot chaos run: {exc}", file=sys.stderr)
            return EXIT_BAD_SCENARIO
        try:
            check_mode(scenario, mode)
        except ScenarioError as exc:  # a suite of the other mode: said, not run
            print(f"skipped: {exc}", flush=True)
            continue
        scenarios.append(scenario)
    if not scenarios:
        print(f"mmbot chaos run: no scenario given runs in {mode} mode", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    report = Path(args.report) if args.report else None
    if not args.verbose:  # a killed bot's last words are noise here; the verdicts say it all
        logging.getLogger("mmbot").addHandler(logging.NullHandler())
    failed: list[ChaosResult] = []
    for scenario in scenarios:
        seed = scenario.seed if args.seed is None else args.seed
        print(
            f"chaos {scenario.name} (seed {seed}): {len(scenario.symbols)} symbols, "
            f"safety phase {scenario.duration:g} s + liveness phase {scenario.heal:g} s "
            + ("(live: processes in real time)" if mode == "live" else "(simulated)"),
            flush=True,
        )
        print(f"  faults: {scenario.describe_faults()}", flush=True)
        began = time.perf_counter()
        try:
            if mode == "live":
                where = None if report is None else report / f"{scenario.name}-seed{seed}-live"
                result = run_live(scenario, seed=seed, workdir=where, progress=_progress)
            else:
                result = run_scenario(scenario, seed=seed, progress=_progress)
        except ScenarioError as exc:
            print(f"mmbot chaos run: {exc}", file=sys.stderr)
            return EXIT_BAD_SCENARIO
        except LiveRunError as exc:
            print(f"  FAIL: {scenario.name} seed {seed}: the live run broke off: {exc}")
            failed.append(_broken(scenario, seed, str(exc)))
            continue
        _print_result(result, time.perf_counter() - began)
        if report is not None:
            report.mkdir(parents=True, exist_ok=True)
            out = report / f"{scenario.name}-seed{seed}.json"
            out.write_text(json.dumps(result.to_jsonable(), indent=2) + "\n")
            print(f"  report: {out}")
            if result.record is not None:
                series = timeline(result.record, scenario, seed, live=result.mode == "live")
                picture = draw(series, report / f"{scenario.name}-seed{seed}.{args.picture}")
                print(f"  timeline: {picture}")
        if not result.passed:
            failed.append(result)
    if failed:
        print(f"{len(failed)} of {len(scenarios)} scenario(s) failed; replay with:")
        for result in failed:
            print(f"  {result.replay_command()}")
        return EXIT_VIOLATED
    return EXIT_OK


def _cmd_fuzz(args: argparse.Namespace) -> int:
    if args.examples < 1 or args.max_faults < 1:
        print("mmbot chaos fuzz: --examples and --max-faults must be >= 1", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    if not args.verbose:
        logging.getLogger("mmbot").addHandler(logging.NullHandler())
    space = FuzzSpace(max_faults=args.max_faults)
    print(
        f"chaos fuzz: up to {args.examples} examples, seed {args.seed}, {len(space.symbols)} "
        f"symbols, safety phase {space.duration:g} s + liveness {space.heal:g} s, up to "
        f"{space.max_faults} faults of a random subset of {', '.join(space.kinds)}",
        flush=True,
    )
    outcome = fuzz(args.examples, args.seed, space, progress=_progress)
    if outcome.minimal is None or outcome.result is None:
        print(f"no failing schedule in {outcome.examples} runs")
        return EXIT_OK
    path = write_found(outcome, Path(args.out))
    print(
        f"shrunk to {len(outcome.minimal.faults.faults) + len(outcome.minimal.crashes)} "
        f"fault(s) in {outcome.examples} runs: {outcome.minimal.describe_faults()}"
    )
    for found in outcome.result.violations.values():
        for violation in found[:5]:
            print(f"  {violation.describe()}")
    print(f"written: {path}\nreplay:  mmbot chaos run {path}")
    return EXIT_VIOLATED


def _progress(text: str) -> None:
    print(f"  ... {text}", flush=True)


def _print_result(result: ChaosResult, wall_s: float) -> None:
    width = max(len(name) for name in INVARIANTS)
    for name, found in result.violations.items():
        if not found:
            print(f"  {name:<{width}}  ok")
            continue
        print(f"  {name:<{width}}  VIOLATED ({len(found)})")
        for violation in found[:10]:
            print(f"      {violation.describe()}")
        if len(found) > 10:
            print(f"      ... and {len(found) - 10} more (the JSON report has them all)")
    for name, why in result.skipped.items():
        print(f"  {name:<{width}}  skipped: {why}")
    replay = "" if result.replay_digest is None else " (replayed: same)"
    if result.replay_digest is not None and result.replay_digest != result.digest:
        replay = f" (replayed: {result.replay_digest[:16]})"
    print(
        f"  trace digest {result.digest[:16]}{replay}; {result.history_entries} history "
        f"entries, {result.orders} order actions, {result.fills} fills; {wall_s:.1f} s wall"
    )
    print(f"  {'PASS' if result.passed else 'FAIL'}: {result.scenario.name} seed {result.seed}")


def _broken(scenario: Scenario, seed: int, why: str) -> ChaosResult:
    """A live run that broke off (a process would not start or answer): failed, to rerun."""
    return ChaosResult(
        scenario=scenario,
        seed=seed,
        violations={"live_run": [Violation("live_run", None, None, why)]},
        digest="",
        replay_digest=None,
        history_entries=0,
        fills=0,
        orders=0,
        mode="live",
    )
