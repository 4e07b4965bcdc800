"""The venue_rest benchmark runs and prints figures of the expected shape (not timed)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import venue_rest


def test_quick_run_prints_every_layout_and_the_overhead(capsys: pytest.CaptureFixture[str]) -> None:
    assert venue_rest.main(["--quick", "--tasks", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    rows = re.findall(
        r"^\((a|b|c)\) .* median +[\d.]+ ms +p99 +[\d.]+ ms +n=\d+ +\d+ req/s$", out, re.M
    )
    assert len(rows) == 10  # five layouts, against the canned server and the fake exchange
    assert len(re.findall(r"^BinanceRest\.place \(kit\) +median", out, re.M)) == 2
    assert len(re.findall(r"^overhead +median +[+-][\d.]+ ms +p99", out, re.M)) == 2
