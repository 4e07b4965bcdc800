"""``mmbot bench soak --quick`` runs and prints a row per period that parses (never timing)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import soak


def test_bench_soak_quick_prints_a_row_per_period(capsys: pytest.CaptureFixture[str]) -> None:
    assert soak.main(["--quick", "--load-hours", "2", "--idle-hours", "1"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(
        r"^ +(\d+)s +(start|load|idle) +([\d.]+) +([+-][\d.]+)? +(\d+) +(\d+) +(\d+) +(\d+)$",
        out,
        re.MULTILINE,
    )
    assert [(after, phase) for after, phase, *_ in rows] == [
        ("0", "start"), ("60", "load"), ("120", "load"), ("180", "idle"),
    ]  # fmt: skip
    requests = [int(row[-1]) for row in rows]
    assert requests[1] > 0 and requests[2] > requests[1] and requests[3] == requests[2]
    assert re.search(r"after warm-up \(row 1 to the last\): [+-][\d.]+ MB RSS", out)
    assert re.search(r"machine: +\w+", out)


def test_bench_soak_refuses_a_run_without_load() -> None:
    with pytest.raises(SystemExit):
        soak.main(["--load-hours", "0"])
