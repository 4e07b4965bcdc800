"""``mmbot chaos swarm``: schedules drawn from their own seeds, run in parallel (a local pool
of processes, a Dask ``LocalCluster`` on 127.0.0.1), the same findings whatever ran them,
failures shrunk here and written as files ``mmbot chaos run`` replays.

A planted bug (an unknown placement believed failed, as in ``test_fuzz.py``) reaches the
worker processes through a ``sitecustomize`` module on ``PYTHONPATH``: every interpreter
of the swarm, parent and spawned workers alike, runs it at start-up."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from mmbot.chaos.fuzz import FuzzSpace
from mmbot.chaos.runner import run_scenario
from mmbot.chaos.scenario import load_scenario, scenario_from_dict
from mmbot.chaos.swarm import RunVerdict, plan, run_task, shrink_failure, swarm_digest
from mmbot.model import Outcome
from mmbot.parallel import map_unordered
from mmbot.quoting.orders import OrderTracker

ROOT = Path(__file__).parents[2]
#: Short schedules of two kinds (in KINDS' order, as the CLI puts --kinds): tenths of a second.
SPACE = FuzzSpace(duration=5.0, kinds=("latency", "lost_ack"))
SHORT = ["--duration", "5", "--kinds", "lost_ack,latency"]

PLANT = """\
from mmbot.model import Outcome
from mmbot.quoting.orders import OrderTracker

_real = OrderTracker.on_place_outcome


def _forgetful(self, cid, outcome, *args, **kw):
    return _real(self, cid, Outcome.FAILED if outcome is Outcome.UNKNOWN else outcome, *args, **kw)


OrderTracker.on_place_outcome = _forgetful
"""


def mmbot(
    *args: str, planted: Path | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if planted is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(planted), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "mmbot", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False, env=env,
    )  # fmt: skip


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    folder = tmp_path / "plant"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(PLANT)
    return folder


@pytest.fixture
def forgetful(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same planted bug, in this process."""
    real = OrderTracker.on_place_outcome

    def forget(self: OrderTracker, cid: str, outcome: Outcome, *args: Any, **kw: Any) -> Any:
        return real(
            self, cid, Outcome.FAILED if outcome is Outcome.UNKNOWN else outcome, *args, **kw
        )

    monkeypatch.setattr(OrderTracker, "on_place_outcome", forget)


def square_or_fail(n: int) -> int:
    """A task for the Dask workers (they import this module by name, as a pool's do)."""
    if n == 3:
        raise ValueError(f"boom on {n}")
    return n * n


def digest_line(out: str) -> str:
    match = re.search(r"^swarm digest ([0-9a-f]{16})", out, re.MULTILINE)
    assert match, out
    return match.group(1)


# -- the plan: each schedule a function of its own seed


def test_schedule_i_depends_on_the_swarm_seed_and_i_only() -> None:
    five, three = plan(5, 9, SPACE), plan(3, 9, SPACE)
    assert five[:3] == three
    assert len({t.seed for t in five}) == 5 and [t.index for t in five] == list(range(5))
    assert plan(3, 10, SPACE) != three
    for task in five:  # each a scenario the harness runs, named after its seed
        scenario = scenario_from_dict(task.table, source="<test>")
        assert scenario.name == f"swarm-{task.seed}" and scenario.duration == 5.0


def test_a_worker_s_verdict_is_the_run_s_and_the_digest_ignores_the_order() -> None:
    tasks = plan(2, 4, SPACE)
    verdicts = [run_task(t) for t in tasks]
    for task, verdict in zip(tasks, verdicts, strict=True):
        result = run_scenario(scenario_from_dict(task.table, source="<test>"))
        assert verdict.digest == result.digest and verdict.passed == result.passed
        assert (verdict.index, verdict.seed) == (task.index, task.seed)
    assert swarm_digest(verdicts) == swarm_digest(reversed(verdicts))
    other = RunVerdict(0, verdicts[0].seed, ("clean_exit",), (), verdicts[0].digest, 0, 0, 0)
    assert swarm_digest([other, verdicts[1]]) != swarm_digest(verdicts)


def test_a_failure_is_shrunk_here_and_still_fails(forgetful: None) -> None:
    task = plan(4, 1, SPACE)[2]  # 19 lost_ack faults; the planted bug duplicates an order
    verdict = run_task(task)
    assert verdict.violated == ("no_duplicate_orders",) and len(task.table["faults"]) > 10
    lines: list[str] = []
    shrunk = shrink_failure(task, max_runs=60, progress=lines.append)
    assert len(shrunk.table["faults"]) <= 3 and not shrunk.result.passed
    assert shrunk.result.violations["no_duplicate_orders"]
    assert shrunk.table["seed"] == task.table["seed"]  # the run's seed is kept: a replay
    assert lines and all(line.startswith("shrink 2, run ") for line in lines)
    assert shrunk.runs == len(lines) + 1


# -- the command, as a user runs it


@pytest.mark.slow
def test_the_findings_do_not_depend_on_the_number_of_workers(
    planted: Path, tmp_path: Path, forgetful: None
) -> None:
    runs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"found-{workers}"
        done = mmbot(
            "chaos", "swarm", "--seeds", "4", "--seed", "1", "--workers", workers, *SHORT,
            "--shrink-runs", "0", "--out", str(out), planted=planted,
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"on {workers} local worker process(es)" in done.stdout
        assert "2 passed, 2 failed, 0 raised, of 4 schedules" in done.stdout
        runs[workers] = (digest_line(done.stdout), sorted(p.name for p in out.iterdir()))
        files = {p.name: p.read_text() for p in out.iterdir()}
        runs[workers] += (files,)
        # one line per finished run, as it finishes, each saying what it was
        assert len(re.findall(r"^  \.\.\. \[\d/4\] schedule \d", done.stdout, re.M)) == 4
    assert runs["1"] == runs["2"]
    digest, names, _files = runs["1"]
    assert len(names) == 2 and all(n.startswith("swarm-") for n in names)
    # and the same as this process finds, running the same plan one by one
    assert digest == swarm_digest(run_task(t) for t in plan(4, 1, SPACE))[:16]


@pytest.mark.slow
def test_a_failure_is_shrunk_written_and_replays(planted: Path, tmp_path: Path) -> None:
    out, report = tmp_path / "found", tmp_path / "report"
    done = mmbot(
        "chaos", "swarm", "--seeds", "4", "--seed", "3", "--workers", "2", *SHORT,
        "--out", str(out), "--report", str(report), planted=planted,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 passed, 1 failed, 0 raised, of 4 schedules" in done.stdout
    assert "failed: schedule 3 (seed 402498000)" in done.stdout
    assert "no_duplicate_orders" in done.stdout and "shrunk to " in done.stdout
    written = out / "swarm-402498000.toml"
    assert f"replay:  mmbot chaos run {written}" in done.stdout
    assert done.stdout.rstrip().endswith(f"mmbot chaos run {written}")  # the summary's list
    data = json.loads((report / "swarm-seed3.json").read_text())
    assert data["seeds"] == 4 and data["failed"] == 1 and data["passed"] == 3
    heal = FuzzSpace().heal
    assert data["space"] == {
        "duration": 5.0, "heal": heal, "max_faults": 40, "kinds": ["latency", "lost_ack"]
    }  # fmt: skip
    assert data["digest"][:16] == digest_line(done.stdout)
    assert [r["index"] for r in data["runs"]] == [0, 1, 2, 3]
    (failure,) = data["failures"]
    assert failure["file"] == str(written) and failure["violated"] == ["no_duplicate_orders"]
    assert any(path.endswith(".png") for path in failure["reports"])
    # the file replays the failure with the bug, and the bot as built passes it
    assert load_scenario(written).name == "swarm-402498000"
    assert mmbot("chaos", "run", str(written), planted=planted).returncode == 1
    assert mmbot("chaos", "run", str(written)).returncode == 0


@pytest.mark.slow
def test_a_swarm_that_finds_nothing_exits_0(tmp_path: Path) -> None:
    done = mmbot(
        "chaos", "swarm", "--seeds", "4", "--seed", "4", "--workers", "2", *SHORT,
        "--max-faults", "6", "--out", str(tmp_path / "found"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed, 0 failed, 0 raised, of 4 schedules" in done.stdout
    assert not (tmp_path / "found").exists()


@pytest.mark.slow
def test_ctrl_c_cancels_the_schedules_not_started_and_exits_130(tmp_path: Path) -> None:
    # Ctrl-C's SIGINT at its default disposition, even where this process ignores it (a
    # command started in the background by a non-interactive shell inherits SIG_IGN)
    default_sigint = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.executable, [sys.executable, '-m', 'mmbot', *sys.argv[1:]])"
    )
    swarm = subprocess.Popen(
        [sys.executable, "-c", default_sigint, "chaos", "swarm", "--seeds", "40", "--seed", "1",
         "--workers", "2", *SHORT, "--shrink-runs", "0", "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )  # fmt: skip
    assert swarm.stdout is not None
    watchdog = threading.Timer(120, os.killpg, (swarm.pid, signal.SIGKILL))  # a bounded wait
    watchdog.start()
    lines = []
    try:
        for line in swarm.stdout:  # until the first run has finished
            lines.append(line)
            if line.startswith("  ... [1/40]"):
                break
        os.killpg(swarm.pid, signal.SIGINT)  # Ctrl-C reaches the whole group, workers too
        rest, _ = swarm.communicate(timeout=120)
    finally:
        watchdog.cancel()
    out = "".join(lines) + rest
    assert swarm.returncode == 130, out
    assert re.search(r"interrupted after \d+ of 40 schedules: the rest cancelled", out)
    assert len(re.findall(r"^  \.\.\. \[", out, re.M)) < 40
    assert "Traceback" not in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--seeds", "0"], "--seeds must be at least 1"),
        (["--seeds", "2", "--kinds", "latency,meteor"], "--kinds: a comma-separated subset"),
        (["--seeds", "2", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed"),
    ],
)
def test_a_usage_error_exits_2_before_anything_runs(args: list[str], says: str) -> None:
    done = mmbot("chaos", "swarm", *args)
    assert done.returncode == 2
    assert says in done.stderr and "schedule 0" not in done.stdout


def test_a_scheduler_without_dask_installed_names_the_extra(tmp_path: Path) -> None:
    stub = tmp_path / "stub" / "distributed"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('no distributed here (a test stub)')\n")
    done = mmbot(
        "chaos", "swarm", "--seeds", "2", "--scheduler", "tcp://127.0.0.1:8786",
        planted=stub.parent,
    )  # fmt: skip
    assert done.returncode == 2
    assert "pip install 'mmbot[distributed]'" in done.stderr


# -- on a Dask cluster (its scheduler and two worker processes on 127.0.0.1: the `cluster`
# fixture of tests/conftest.py)


@pytest.mark.slow
def test_a_swarm_on_a_dask_cluster_finds_what_this_process_finds(cluster: Any) -> None:
    address = cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    done = mmbot(
        "chaos",
        "swarm",
        "--seeds",
        "4",
        "--seed",
        "4",
        "--scheduler",
        address,
        *SHORT,
        "--max-faults",
        "6",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"on the Dask cluster at {address}" in done.stdout
    assert "4 passed, 0 failed, 0 raised, of 4 schedules" in done.stdout
    few = FuzzSpace(duration=5.0, kinds=SPACE.kinds, max_faults=6)
    assert digest_line(done.stdout) == swarm_digest(run_task(t) for t in plan(4, 4, few))[:16]


def test_a_raising_task_on_dask_is_a_failed_result(cluster: Any) -> None:
    results = list(map_unordered(square_or_fail, [1, 3, 2], scheduler=cluster.scheduler_address))
    by_index = {r.index: r for r in results}
    assert by_index[0].value == 1 and by_index[2].value == 4
    assert not by_index[1].ok and "ValueError: boom on 3" in (by_index[1].error or "")
