"""``mmbot bench book --quick`` runs and prints its figures (timing is never asserted)."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import book


def test_quick_run_prints_median_p99_throughput_and_machine(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert book.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "20 levels changed" in out
    assert re.search(r"decode\+apply\s+median\s+[\d.]+ us\s+p99\s+[\d.]+ us", out)
    assert re.search(r"throughput\s+[\d,]+ messages/s", out)
    assert "machine" in out and "cpus" in out
