"""``mmbot bench venue --quick`` prints the issue's figures in the expected shape (not timed)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import venue


def test_quick_run_prints_book_and_placement_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert venue.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ")
    assert re.search(r"^  decode\+apply  median +[\d.]+ us +p99 +[\d.]+ us$", out, re.M)
    for name in ("bare httpx POST /order", "through breaker\\+retry\\+limiter"):
        assert re.search(rf"^  {name} +median +[\d.]+ ms +p99 +[\d.]+ ms +n=10$", out, re.M)
    assert re.search(r"^  overhead +median +[+-][\d.]+ ms +p99 +[+-][\d.]+ ms$", out, re.M)
