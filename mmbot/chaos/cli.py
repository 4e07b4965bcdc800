"""``mmbot chaos run``, ``fuzz`` and ``list``: the command line of the chaos harness.

What it is for: running scenario files (``chaos/*.toml``) in simulated mode (or, with ``--mode
live``, as processes: :mod:`mmbot.chaos.live`) and printing, for
each, its faults, every invariant's verdict (each violation with its time, symbol, orders and
history witnesses), the trace digest, and the command that replays a failure; ``--report
DIR`` also writes one JSON report per run and its timeline picture
(:mod:`mmbot.chaos.picture`). Exit 0 only if every invariant of every scenario
held; 1 if one did not; 2 for a scenario file that cannot run (named with its field, before
anything runs). ``mmbot chaos fuzz`` exits 1 when it found (and wrote) a failing schedule.
``mmbot chaos swarm`` runs many random schedules on local processes or a Dask cluster
(:mod:`mmbot.chaos.swarm`, :mod:`mmbot.parallel`), shrinks each failure here and writes it
out: exit 1 when one failed, 2 for a usage error or an unreachable cluster, 130 on Ctrl-C.

What it must never do: run a scenario it could not fully read, or report a pass it did not
check.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from mmbot.chaos.fuzz import KINDS, FuzzSpace, fuzz, scenario_toml, write_found
from mmbot.chaos.invariants import INVARIANTS
from mmbot.chaos.live import LiveRunError, run_live
from mmbot.chaos.picture import draw
from mmbot.chaos.record import Violation
from mmbot.chaos.runner import ChaosResult, bot_config, check_mode, run_scenario
from mmbot.chaos.scenario import (
    MODES,
    Scenario,
    ScenarioError,
    known_scenarios,
    load_scenario,
)
from mmbot.chaos.swarm import RunVerdict, SwarmTask, plan, run_task, shrink_failure, swarm_digest
from mmbot.chaos.timeline import timeline
from mmbot.parallel import ParallelError, TaskResult, default_workers, map_unordered

EXIT_OK, EXIT_VIOLATED, EXIT_BAD_SCENARIO = 0, 1, 2
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as a shell reports it
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
    _add_swarm_parser(chaos_sub)
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


# ``mmbot chaos swarm`` (mmbot.chaos.swarm, mmbot.parallel)


def _add_swarm_parser(chaos_sub: Any) -> None:
    defaults = FuzzSpace()
    swarm = chaos_sub.add_parser(
        "swarm",
        help="many random fault schedules in parallel (local processes or a Dask cluster)",
        description="Run N independent random fault schedules (each a random subset of the "
        "fault kinds, as chaos fuzz draws them) in parallel, on local worker processes or on "
        "a Dask cluster; shrink each failure here and write it as a replayable scenario file. "
        "What a swarm finds depends on --seeds and --seed only, never on the workers.",
    )
    swarm.add_argument("--seeds", type=int, required=True, help="how many schedules to run")
    swarm.add_argument("--seed", type=int, default=0, help="the swarm's seed (default 0)")
    where = swarm.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, help="local worker processes (default: the CPUs usable here)"
    )
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster whose scheduler is here (tcp://HOST:8786); needs "
        "pip install 'mmbot[distributed]'",
    )
    swarm.add_argument(
        "--duration",
        type=float,
        default=defaults.duration,
        help=f"each schedule's safety phase, simulated seconds (default {defaults.duration:g}; "
        "at least 4)",
    )
    swarm.add_argument(
        "--heal",
        type=float,
        default=defaults.heal,
        help=f"each schedule's liveness phase, simulated seconds (default {defaults.heal:g})",
    )
    swarm.add_argument(
        "--max-faults",
        type=int,
        default=defaults.max_faults,
        help=f"most faults in a schedule (default {defaults.max_faults})",
    )
    swarm.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"the fault kinds a schedule draws a subset of (default: {','.join(KINDS)})",
    )
    swarm.add_argument(
        "--shrink-runs",
        type=int,
        default=100,
        help="the most runs shrinking one failure may take (default 100; 0: no shrinking)",
    )
    swarm.add_argument(
        "--out", default="chaos/found", help="where failing schedules are written (chaos/found)"
    )
    swarm.add_argument("--report", metavar="DIR", help="write a JSON report (and pictures) here")
    swarm.add_argument(
        "--picture", choices=("png", "svg"), default="png", help="the timelines' format (png)"
    )
    swarm.add_argument("--verbose", action="store_true", help="show the bots' warnings")
    swarm.set_defaults(func=_cmd_swarm)


def _swarm_usage_error(args: argparse.Namespace) -> str | None:
    kinds = [k for k in args.kinds.split(",") if k]
    if args.seeds < 1:
        return "--seeds must be at least 1"
    if args.workers is not None and args.workers < 1:
        return "--workers must be at least 1"
    if args.max_faults < 1 or args.shrink_runs < 0:
        return "--max-faults must be at least 1 and --shrink-runs at least 0"
    if not (args.duration >= 4 and args.heal > 0):
        return "--duration must be at least 4 simulated seconds and --heal more than 0"
    if not kinds or set(kinds) - set(KINDS):
        return f"--kinds: a comma-separated subset of {','.join(KINDS)}, got {args.kinds!r}"
    return None


def _swarm_kinds(args: argparse.Namespace) -> tuple[str, ...]:
    """The kinds asked for, in KINDS' order (the order the schedules are drawn in: the
    default is ``FuzzSpace()``'s, however ``--kinds`` lists them)."""
    asked = set(args.kinds.split(","))
    return tuple(kind for kind in KINDS if kind in asked)


def _cmd_swarm(args: argparse.Namespace) -> int:
    problem = _swarm_usage_error(args)
    if problem is not None:
        print(f"mmbot chaos swarm: {problem}", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    if not args.verbose:
        logging.getLogger("mmbot").addHandler(logging.NullHandler())
    space = FuzzSpace(
        duration=args.duration,
        heal=args.heal,
        max_faults=args.max_faults,
        kinds=_swarm_kinds(args),
    )
    tasks = plan(args.seeds, args.seed, space, verbose=args.verbose)
    where = (
        f"the Dask cluster at {args.scheduler}"
        if args.scheduler
        else f"{args.workers or default_workers()} local worker process(es)"
    )
    print(
        f"chaos swarm: {args.seeds} schedules, seed {args.seed}, on {where}; each "
        f"{len(space.symbols)} symbols, safety phase {space.duration:g} s + liveness "
        f"{space.heal:g} s, up to {space.max_faults} faults of a random subset of "
        f"{', '.join(space.kinds)}",
        flush=True,
    )
    began = time.perf_counter()
    verdicts: list[RunVerdict] = []
    errors: list[TaskResult[SwarmTask, RunVerdict]] = []
    try:
        for result in map_unordered(
            run_task,
            tasks,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=_swarm_progress,
        ):
            if result.value is not None:
                verdicts.append(result.value)
            else:
                errors.append(result)
    except ParallelError as exc:
        print(f"mmbot chaos swarm: {exc}", file=sys.stderr)
        return EXIT_BAD_SCENARIO
    except KeyboardInterrupt:  # the runs not started are cancelled by now
        failing = [v for v in verdicts if not v.passed]
        print(
            f"interrupted after {len(verdicts) + len(errors)} of {len(tasks)} schedules: the "
            f"rest cancelled; {len(failing) + len(errors)} failed so far (not shrunk)"
        )
        for verdict in sorted(failing, key=lambda v: v.index):
            print(f"  {tasks[verdict.index].describe()}: {', '.join(verdict.violated)}")
        return EXIT_INTERRUPTED
    wall_s = time.perf_counter() - began
    failed = sorted((v for v in verdicts if not v.passed), key=lambda v: v.index)
    print(
        f"swarm: {len(verdicts) - len(failed)} passed, {len(failed)} failed, {len(errors)} "
        f"raised, of {len(tasks)} schedules; {wall_s:.1f} s wall "
        f"({len(tasks) / wall_s * 60:.0f} schedules/min)"
    )
    print(f"swarm digest {swarm_digest(verdicts)[:16]} (the same on any workers)")
    replays = [_swarm_found(tasks[v.index], v, args) for v in failed] + [
        _swarm_raised(r, args) for r in sorted(errors, key=lambda r: r.index)
    ]
    if args.report:
        path = _swarm_report(args, tasks, verdicts, errors, replays)
        print(f"report: {path}")
    if not replays:
        return EXIT_OK
    print(f"{len(replays)} of {len(tasks)} schedule(s) failed; replay with:")
    for replay in replays:
        print(f"  {replay['replay']}")
    return EXIT_VIOLATED


def _swarm_progress(result: TaskResult[SwarmTask, RunVerdict], done: int, total: int) -> None:
    verdict = result.value
    if verdict is None:
        outcome = f"RAISED {result.describe_error()}"
    else:
        outcome = "ok" if verdict.passed else "FAIL " + ", ".join(verdict.violated)
    print(f"  ... [{done}/{total}] {result.task.describe()}: {outcome}", flush=True)


def _swarm_found(task: SwarmTask, verdict: RunVerdict, args: argparse.Namespace) -> dict[str, Any]:
    """Shrink one failure here, write it out, say how to replay it."""
    print(f"failed: {task.describe()}: {', '.join(verdict.violated)}")
    for detail in verdict.details:
        print(f"    {detail}")
    found: dict[str, Any] = {
        "index": task.index,
        "seed": task.seed,
        "violated": list(verdict.violated),
        "faults": len(task.table["faults"]),
    }
    table, minimal = task.table, False
    if args.shrink_runs:
        shrunk = shrink_failure(task, max_runs=args.shrink_runs, progress=_progress)
        if shrunk.result.passed:  # it failed in its worker and not here: say so, keep it whole
            print("  NOT reproduced here (a determinism bug?): written unshrunk")
        else:
            table, minimal = shrunk.table, True
            print(
                f"  shrunk to {len(table['faults'])} fault(s) in {shrunk.runs} runs: "
                f"{shrunk.scenario.describe_faults()}"
            )
            found["violated"] = [n for n, v in shrunk.result.violations.items() if v]
            found["faults"] = len(table["faults"])
            if args.report:
                found["reports"] = _write_run_report(shrunk.result, Path(args.report), args.picture)
    return {**found, **_swarm_write(task, table, Path(args.out), shrunk=minimal)}


def _swarm_raised(
    result: TaskResult[SwarmTask, RunVerdict], args: argparse.Namespace
) -> dict[str, Any]:
    """A schedule whose run raised: written whole (there is no verdict to shrink toward)."""
    print(f"raised: {result.task.describe()}:\n{result.error}")
    where = _swarm_write(result.task, result.task.table, Path(args.out), shrunk=False)
    return {"index": result.index, "seed": result.task.seed, "error": result.error, **where}


def _swarm_write(
    task: SwarmTask, table: Mapping[str, Any], folder: Path, *, shrunk: bool
) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"swarm-{task.seed}.toml"
    path.write_text(scenario_toml(table, path.stem, found_by="mmbot chaos swarm", shrunk=shrunk))
    replay = f"mmbot chaos run {path}"
    print(f"  written: {path}\n  replay:  {replay}")
    return {"file": str(path), "replay": replay}


def _swarm_report(
    args: argparse.Namespace,
    tasks: list[SwarmTask],
    verdicts: list[RunVerdict],
    errors: list[TaskResult[SwarmTask, RunVerdict]],
    found: list[dict[str, Any]],
) -> Path:
    folder = Path(args.report)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"swarm-seed{args.seed}.json"
    runs = {v.index: {"passed": v.passed, **attrs.asdict(v)} for v in verdicts}
    runs.update(
        {r.index: {"index": r.index, "seed": r.task.seed, "error": r.error} for r in errors}
    )
    body = {
        "seeds": args.seeds,
        "seed": args.seed,
        # what, with --seeds and --seed, makes every schedule again
        "space": {
            "duration": args.duration,
            "heal": args.heal,
            "max_faults": args.max_faults,
            "kinds": list(_swarm_kinds(args)),
        },
        "digest": swarm_digest(verdicts),
        "passed": sum(v.passed for v in verdicts),
        "failed": len(found),
        "runs": [
            {**runs[t.index], "kinds": list(t.kinds), "faults": len(t.table["faults"])}
            for t in tasks
        ],
        "failures": found,
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


def _write_run_report(result: ChaosResult, folder: Path, picture: str) -> list[str]:
    """One run's JSON report and timeline picture in ``folder`` (as ``chaos run --report``)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{result.scenario.name}-seed{result.seed}"
    out = folder / f"{stem}.json"
    out.write_text(json.dumps(result.to_jsonable(), indent=2) + "\n")
    written = [str(out)]
    if result.record is not None:
        series = timeline(result.record, result.scenario, result.seed)
        written.append(str(draw(series, folder / f"{stem}.{picture}")))
    return written
