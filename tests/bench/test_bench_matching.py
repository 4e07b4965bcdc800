"""``mmbot bench matching --quick`` runs and prints its figures in the expected shape."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import matching


def test_quick_run_prints_throughput_latencies_and_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert matching.main(["--quick", "--gc", "default"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^machine: .+ cpus$", out, re.M)
    assert re.search(r"^run 1 \(default gc\): [\d,]+ ops/s \(engine CPU time\)", out, re.M)
    for op in ("place", "cancel", "cross"):
        assert re.search(rf"^  {op} +n= *\d+  median +[\d.]+ us  p99 +[\d.]+ us$", out, re.M)
    assert re.search(r"^best of 1 \(default gc\): [\d,]+ ops/s", out, re.M)
