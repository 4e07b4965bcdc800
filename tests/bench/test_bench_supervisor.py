"""``mmbot bench supervisor --quick`` runs and prints its figures (timing is never asserted)."""

from __future__ import annotations

import re

import pytest
import trio

from mmbot.bench import supervisor
from mmbot.cli import _bench_names


def test_quick_run_prints_crash_start_stop_memory_and_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert supervisor.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"crash -> running again .*median\s+[\d.]+ us\s+p99\s+[\d.]+ us", out)
    assert re.search(r"crash -> running again .*goal <= 50 us: (met|MISSED)", out)
    assert re.search(r"a log record \(NullHandler\)\s+median\s+[\d.]+ us", out)
    assert re.search(r"start a supervisor of 50 idle children\s+median\s+[\d.]+ ms", out)
    assert re.search(r"stop a supervisor of 50 idle children .*goal <= 100 ms: (met|MISSED)", out)
    assert re.search(r"memory per idle child \(tracemalloc\)\s+\d+ bytes", out)
    assert "machine" in out and "cpus" in out


def test_the_crash_loop_returns_one_sample_per_restart() -> None:
    samples = trio.run(supervisor.crash_to_running, 5)
    assert len(samples) == 5 and all(s > 0 for s in samples)


def test_mmbot_bench_lists_the_supervisor_bench() -> None:
    assert "supervisor" in _bench_names()
