"""The loopback benchmarks (audit, scaling, reaction, throughput, loopback) run and print
figures of the expected shape: tiny runs over real 127.0.0.1 sockets, never timed."""

from __future__ import annotations

import re

import pytest

from mmbot.bench import audit, loopback, reaction, scaling, throughput

PERCENTILES = r"P50 [\d,.]+ ms  P95 [\d,.]+ ms  P99 [\d,.]+ ms  \(n=\d+\)"
MACHINE = re.compile(r"^  machine: +CPython|^  machine: +\w+", re.M)


@pytest.mark.slow
def test_audit_prints_ours_the_sequential_baseline_the_goal_and_the_ratio(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert audit.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"ours: +({PERCENTILES}|no sample)", out)
    assert re.search(r"goal: P95 <= 1.15 x 200 ms = 230 ms: (met|NOT met)", out)
    assert re.search(rf"sequential: +({PERCENTILES}|no sample)", out)
    assert "the audit saw the predecessor at ~1,400 ms" in out
    assert re.search(r"ratio: +sequential P95 / ours P95 = ([\d.]+|nan)x", out)
    assert "limits are not what is measured" in out and MACHINE.search(out)


@pytest.mark.slow
def test_scaling_prints_each_size_and_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    assert scaling.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"^ +\d+ symbols: quote cycle ", out, re.M)) == 2
    ratio = r"P95\(2\) / P95\(1\) = ([\d.]+|nan) \(goal: at most 1.2: (met|NOT met)\)"
    assert re.search(ratio, out)
    assert "limits are not what is measured" in out and MACHINE.search(out)


@pytest.mark.slow
def test_reaction_prints_tick_to_order_percentiles_and_the_goal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert reaction.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "tick to order: book change received -> order request started" in out
    assert re.search(rf"    ({PERCENTILES}\n    goal: P99 <= 2 ms: (met|NOT met)|no sample)", out)
    assert re.search(r"bot process cpu \d+%", out) and MACHINE.search(out)


@pytest.mark.slow
def test_throughput_prints_rates_and_the_goal(capsys: pytest.CaptureFixture[str]) -> None:
    assert throughput.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"decisions: +[\d,.]+/s", out)
    assert re.search(r"actions: +[\d,.]+/s \(goal: >= 1,000/s: (met|NOT met); the audit", out)
    assert re.search(r"per decision: [\d.]+ actions", out) and MACHINE.search(out)


@pytest.mark.slow
def test_loopback_prints_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert loopback.main(["--quick", "--order-latency", "50"]) == 0
    out = capsys.readouterr().out
    for label in ("quote cycle, ours:", "tick to order, ours:",
                  "decisions/s", "exchange:", "429s 0", "limits:"):  # fmt: skip
        assert label in out, label
    assert MACHINE.search(out)


def test_generic_symbols_are_symbols_the_fake_exchange_makes_instruments_for() -> None:
    from mmbot.sim.market import default_market

    symbols = loopback.generic_symbols(64)
    assert symbols[0] == "SYM01USDT" and symbols[-1] == "SYM64USDT"
    instruments, _ = default_market(symbols)
    assert [i.symbol for i in instruments] == list(symbols)
