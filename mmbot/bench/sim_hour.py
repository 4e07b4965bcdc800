"""``mmbot bench sim_hour``: an hour of ``mmbot run --mode sim`` in how much wall time.

What it is for: timing the very command ``mmbot run --mode sim --duration 3600`` (4
symbols, the default config, seed 1, its default logging, no dashboard, no ``/metrics``
listener) as a child process: wall seconds (goal: at most 60), the speed-up over real
time, the child's CPU time, and what the hour held (decisions, order actions, fills, from
``--summary-json``), so a speed-up can be read against the work that produced it. The
exchange alone (``mmbot bench sim``) is part of the hour; the rest is the bot.

What it must never do: assert on time (it prints figures); read the wall clock except
through ``mmbot.clock.perf_counter_ns`` (``resource.getrusage`` measures CPU only).
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from mmbot.bench import machine
from mmbot.clock import perf_counter_ns

GOAL_WALL_S = 60.0
HOUR_S = 3600.0
#: The longest the child may take (a run far off the goal still ends).
CHILD_TIMEOUT_S = 600.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mmbot bench sim_hour", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--duration", type=float, default=HOUR_S, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="a tiny run (60 simulated s)")
    args = parser.parse_args(argv)
    duration = 60.0 if args.quick else args.duration
    with tempfile.TemporaryDirectory() as folder:
        summary_path = Path(folder) / "summary.json"
        command = [
            sys.executable, "-m", "mmbot", "run", "--mode", "sim",
            "--duration", f"{duration:g}", "--seed", str(args.seed), "--no-dashboard",
            "--metrics-listen", "", "--summary-json", str(summary_path),
        ]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = perf_counter_ns()
        done = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
        wall_s = (perf_counter_ns() - started) / 1e9
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            print(f"bench sim_hour: the run failed ({done.returncode}):\n{done.stderr[-2000:]}")
            return 1
        summary = json.loads(summary_path.read_text())
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    symbols = summary["symbols"]
    decisions = sum(s["decisions"] for s in symbols.values())
    actions = sum(s["actions"] for s in symbols.values())
    if duration == HOUR_S:
        verdict = "met" if wall_s <= GOAL_WALL_S else "NOT met"
    else:
        verdict = f"not judged: {duration:g} simulated s, not an hour"
    print(f"bench sim_hour: {shlex.join(['mmbot', *command[3:-2]])}")
    print(f"  simulated:   {duration:g} s, {len(symbols)} symbols ({', '.join(symbols)})")
    print(f"  wall time:   {wall_s:.1f} s (goal: <= {GOAL_WALL_S:g} s for an hour: {verdict})")
    print(f"  speed-up:    {duration / wall_s:.0f}x real time")
    print(f"  cpu time:    {cpu_s:.1f} s (the child process)")
    print(
        f"  the run:     {decisions:,} decisions, {actions:,} order actions, "
        f"{summary['total']['fills']} fills"
    )
    print(f"  machine:     {machine()}")
    return 0
