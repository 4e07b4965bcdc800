"""The bot's Prometheus metrics: every DESIGN.md §7 metric, one registry per bot, /metrics."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import attrs
import httpx
import prometheus_client
import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families
from status_kit import quoting_symbol, sample_status

from mmbot.bot.metrics import (
    BREAKER_STATE_CODES,
    LIVE_ORDER_STATES,
    UNKNOWN_BREAKER_STATE,
    BotMetrics,
    OrderAction,
    breaker_state_code,
    parse_listen,
    serve_metrics,
    state_families,
)
from mmbot.bot.status import BotStatus, SymbolState
from mmbot.errors import ListenError
from mmbot.model import Outcome
from mmbot.quoting.pipeline import StageTimings
from mmbot.resilience.breaker_core import BreakerState, BreakerTransition, Trigger

#: DESIGN.md §7 and issue 13: name (as the parser names the family) -> (type, labels).
EXPECTED: dict[str, tuple[str, set[str]]] = {
    "mmbot_stage_seconds": ("histogram", {"symbol", "stage"}),
    "mmbot_tick_to_order_seconds": ("histogram", {"symbol"}),
    "mmbot_quote_cycle_seconds": ("histogram", {"symbol"}),
    "mmbot_request_seconds": ("histogram", {"endpoint", "outcome"}),
    "mmbot_breaker_state": ("gauge", {"breaker"}),
    "mmbot_breaker_transitions": ("counter", {"breaker", "from", "to"}),
    "mmbot_retries": ("counter", {"endpoint"}),
    "mmbot_restarts": ("counter", {"child"}),
    "mmbot_orders": ("counter", {"symbol", "action", "outcome"}),
    "mmbot_position": ("gauge", {"symbol"}),
    "mmbot_pnl": ("gauge", {"symbol"}),
    "mmbot_net_bps": ("gauge", {"symbol"}),
    "mmbot_slippage_bps": ("gauge", {"symbol"}),
    "mmbot_taker_share": ("gauge", {"symbol"}),
    "mmbot_book_age_seconds": ("gauge", {"symbol"}),
    "mmbot_config_info": ("gauge", {"hash", "version"}),
    "mmbot_quote_uptime_ratio": ("gauge", {"symbol"}),
    "mmbot_open_orders": ("gauge", {"symbol", "state"}),
    "mmbot_markout_bps": ("gauge", {"symbol", "horizon", "liquidity"}),
    "mmbot_supervisor_intensity_headroom": ("gauge", {"supervisor"}),
    "mmbot_halted": ("gauge", {"symbol", "reason"}),
    "mmbot_symbol_state": ("gauge", {"symbol", "state"}),
    "mmbot_fills": ("counter", {"symbol"}),
    "mmbot_volume": ("counter", {"symbol"}),
    "mmbot_decisions": ("counter", {"symbol"}),
    "mmbot_order_budget_short": ("gauge", {"symbol"}),
    "mmbot_calibration_a": ("gauge", {"symbol"}),
    "mmbot_calibration_k": ("gauge", {"symbol"}),
    "mmbot_calibration_fit_r2": ("gauge", {"symbol"}),
    "mmbot_calibration_trades": ("gauge", {"symbol"}),
    "mmbot_calibration_adverse_bps": ("gauge", {"symbol"}),
    "mmbot_calibration_fallback": ("gauge", {"symbol"}),
}


def busy_metrics() -> BotMetrics:
    """Metrics of a bot that has done a bit of everything, reading the sample status."""
    metrics = BotMetrics(sample_status, symbols=["BTCUSDT"])
    metrics.set_config("a1b2c3d4e5f6", 1)
    metrics.observe_stages("BTCUSDT", StageTimings(("fair_value", "spread"), (3_000, 12_000)))
    metrics.observe_tick_to_order("BTCUSDT", 0.0009)
    metrics.observe_quote_cycle("BTCUSDT", 0.21)
    metrics.observe_request("order.place", Outcome.OK, 0.004)
    metrics.observe_request("order.place", Outcome.UNKNOWN, 5.0)
    metrics.count_order("BTCUSDT", OrderAction.PLACE, Outcome.OK)
    metrics.count_retry("depth")
    metrics.count_restart("symbols/BTCUSDT/quoter")
    metrics.on_breaker_transition(
        BreakerTransition("orders", BreakerState.CLOSED, BreakerState.OPEN, Trigger.TRIP, 1.0)
    )
    return metrics


async def scrape_over_http(metrics: BotMetrics, path: str = "/metrics") -> httpx.Response:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, metrics, "127.0.0.1", 0)
        async with httpx.AsyncClient(trust_env=False) as http:
            response = await http.get(f"http://127.0.0.1:{port}{path}")
        nursery.cancel_scope.cancel()
    return response


def families(text: str) -> dict[str, prometheus_client.Metric]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(metrics: BotMetrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """One metric's samples from a scrape, keyed by their sorted labels."""
    found = {}
    for family in text_string_to_metric_families(metrics.scrape().decode()):
        for s in family.samples:
            if s.name == name:
                found[tuple(sorted(s.labels.items()))] = s.value
    return found


# -- over real HTTP -------------------------------------------------------------------------


async def test_a_scrape_over_http_has_every_design_metric_with_its_type_and_labels() -> None:
    response = await scrape_over_http(busy_metrics())
    assert response.status_code == 200
    found = families(response.text)
    for name, (type_, labels) in EXPECTED.items():
        assert name in found, f"{name} missing from /metrics"
        family = found[name]
        assert family.type == type_, f"{name} is a {family.type}, not a {type_}"
        assert family.samples, f"{name} has no sample for a busy bot"
        for sample in family.samples:
            assert set(sample.labels) - {"le"} == labels, f"{name} labels {sample.labels}"


async def test_the_calibration_gauges_are_scraped_over_http_per_symbol() -> None:
    response = await scrape_over_http(busy_metrics())
    found = {
        (s.name, s.labels["symbol"]): s.value
        for f in families(response.text).values()
        for s in f.samples
        if s.name.startswith("mmbot_calibration_")
    }
    assert found == {
        # BTCUSDT: a usable fit
        ("mmbot_calibration_a", "BTCUSDT"): 1.8,
        ("mmbot_calibration_k", "BTCUSDT"): 0.45,
        ("mmbot_calibration_fit_r2", "BTCUSDT"): 0.93,
        ("mmbot_calibration_trades", "BTCUSDT"): 412.5,
        ("mmbot_calibration_adverse_bps", "BTCUSDT"): 0.3,
        ("mmbot_calibration_fallback", "BTCUSDT"): 0.0,
        # SOLUSDT: too few trades for a fit, falling back; ETHUSDT: no calibration stage
        ("mmbot_calibration_trades", "SOLUSDT"): 12.0,
        ("mmbot_calibration_fallback", "SOLUSDT"): 1.0,
    }


async def test_a_path_other_than_metrics_is_not_found() -> None:
    response = await scrape_over_http(busy_metrics(), "/")
    assert response.status_code == 404


async def test_a_busy_port_is_a_listen_error_naming_the_address() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ListenError) as caught:  # at once: before anything is served
            await serve_metrics(BotMetrics(), "127.0.0.1", port)
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "in use" in str(caught.value)
    assert (caught.value.host, caught.value.port) == ("127.0.0.1", port)


async def test_a_stopped_server_frees_its_port() -> None:
    metrics = BotMetrics()
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, metrics, "127.0.0.1", 0)
        nursery.cancel_scope.cancel()
    async with trio.open_nursery() as nursery:
        assert await nursery.start(serve_metrics, metrics, "127.0.0.1", port) == port
        nursery.cancel_scope.cancel()


def test_every_exported_metric_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text()
    for name, type_, _, _ in exposition(busy_metrics().scrape().decode()):
        if not name.endswith("_created"):
            assert f"`{name}`" in text, f"{name} ({type_}) is not in docs/metrics.md"


# -- the registry ---------------------------------------------------------------------------


def test_two_bots_in_one_process_keep_separate_metrics() -> None:
    first, second = BotMetrics(), BotMetrics()
    first.count_retry("depth")
    assert samples(first, "mmbot_retries_total") == {(("endpoint", "depth"),): 1.0}
    assert samples(second, "mmbot_retries_total") == {}
    assert prometheus_client.REGISTRY.get_sample_value("mmbot_retries_total") is None


def test_a_declared_symbol_has_every_order_counter_at_zero() -> None:
    metrics = BotMetrics(symbols=["BTCUSDT"])
    orders = samples(metrics, "mmbot_orders_total")
    assert len(orders) == len(OrderAction) * len(Outcome)
    assert set(orders.values()) == {0.0}


def test_stage_times_are_recorded_in_seconds_per_symbol_and_stage() -> None:
    metrics = BotMetrics()
    metrics.observe_stages("BTCUSDT", StageTimings(("spread",), (2_500,)))
    sums = samples(metrics, "mmbot_stage_seconds_sum")
    assert sums == {(("stage", "spread"), ("symbol", "BTCUSDT")): pytest.approx(2.5e-6)}


def test_stage_buckets_resolve_one_microsecond_to_ten_milliseconds() -> None:
    metrics = BotMetrics()
    metrics.observe_stages("BTCUSDT", StageTimings(("spread",), (1_000,)))
    buckets = samples(metrics, "mmbot_stage_seconds_bucket")
    bounds = sorted(float(dict(labels)["le"]) for labels in buckets)
    assert bounds[0] == 1e-6 and 1e-2 in bounds
    assert buckets[(("le", "1e-06"), ("stage", "spread"), ("symbol", "BTCUSDT"))] == 1.0


def test_a_breaker_transition_is_counted_by_breaker_from_and_to() -> None:
    metrics = BotMetrics()
    opened = BreakerTransition(
        "orders", BreakerState.HALF_OPEN, BreakerState.OPEN, Trigger.PROBES_FAILED, 3.0
    )
    metrics.on_breaker_transition(opened)
    metrics.on_breaker_transition(opened)
    assert samples(metrics, "mmbot_breaker_transitions_total") == {
        (("breaker", "orders"), ("from", "half_open"), ("to", "open")): 2.0
    }


def test_the_config_info_names_only_the_running_config() -> None:
    metrics = BotMetrics()
    metrics.set_config("aaaaaaaaaaaa", 1)
    metrics.set_config("bbbbbbbbbbbb", 2)
    assert samples(metrics, "mmbot_config_info") == {
        (("hash", "bbbbbbbbbbbb"), ("version", "2")): 1.0
    }


def test_state_gauges_are_read_from_the_status_at_each_scrape() -> None:
    positions = iter(["1", "2"])

    def status_source() -> BotStatus:
        symbol = attrs.evolve(quoting_symbol(), position=Decimal(next(positions)))
        return sample_status(symbols=(symbol,))

    metrics = BotMetrics(status_source)
    assert samples(metrics, "mmbot_position") == {(("symbol", "BTCUSDT"),): 1.0}
    assert samples(metrics, "mmbot_position") == {(("symbol", "BTCUSDT"),): 2.0}


def test_without_a_status_source_the_state_families_are_there_but_empty() -> None:
    found = families(BotMetrics().scrape().decode())
    assert "mmbot_position" in found and found["mmbot_position"].samples == []


def test_a_status_source_that_raises_fails_the_scrape() -> None:
    def broken() -> BotStatus:
        raise RuntimeError("status is broken")

    with pytest.raises(RuntimeError, match="status is broken"):
        BotMetrics(broken).scrape()


# -- the mapping from a status to samples (pure) ------------------------------------------


def state_samples(name: str) -> dict[tuple[tuple[str, str], ...], float]:
    (family,) = [f for f in state_families(sample_status()) if f.name == name]
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def btc(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"symbol": "BTCUSDT", **labels}.items()))


def test_money_and_edge_gauges_carry_the_status_figures() -> None:
    assert state_samples("mmbot_position")[btc()] == 0.125
    assert state_samples("mmbot_pnl")[btc()] == 12.34
    assert state_samples("mmbot_net_bps")[btc()] == 1.75
    assert state_samples("mmbot_slippage_bps")[btc()] == -0.8
    assert state_samples("mmbot_taker_share")[btc()] == 0.05
    assert state_samples("mmbot_book_age_seconds")[btc()] == 0.042
    assert state_samples("mmbot_quote_uptime_ratio")[btc()] == 0.97


def test_an_unknown_figure_is_left_out_not_exported_as_zero() -> None:
    symbols_with_net_bps = {dict(k)["symbol"] for k in state_samples("mmbot_net_bps")}
    assert "ETHUSDT" not in symbols_with_net_bps  # halted before its first fill
    assert "ETHUSDT" not in {dict(k)["symbol"] for k in state_samples("mmbot_book_age_seconds")}


def test_open_orders_count_every_live_state_including_unresolved_and_zeros() -> None:
    orders = state_samples("mmbot_open_orders")
    assert orders[btc(state="open")] == 3
    assert orders[btc(state="unresolved")] == 1
    assert orders[btc(state="pending_new")] == 0
    assert {dict(k)["state"] for k in orders if dict(k)["symbol"] == "BTCUSDT"} == set(
        LIVE_ORDER_STATES
    )
    assert "unresolved" in LIVE_ORDER_STATES


def test_markouts_are_labelled_by_horizon_with_liquidity_all() -> None:
    markouts = state_samples("mmbot_markout_bps")
    assert markouts[btc(horizon="1s", liquidity="all")] == 0.5
    assert markouts[btc(horizon="10s", liquidity="all")] == -1.25
    assert markouts[btc(horizon="60s", liquidity="all")] == 2.0


def test_a_halted_symbol_is_one_with_its_reason() -> None:
    assert state_samples("mmbot_halted") == {
        (("reason", "restart_intensity"), ("symbol", "ETHUSDT")): 1.0
    }


def test_each_symbol_is_in_exactly_one_state() -> None:
    states = state_samples("mmbot_symbol_state")
    assert len(states) == 3 * len(SymbolState)
    assert states[btc(state="quoting")] == 1
    assert sum(v for k, v in states.items() if dict(k)["symbol"] == "BTCUSDT") == 1


def test_breaker_states_are_encoded_as_documented() -> None:
    assert state_samples("mmbot_breaker_state") == {
        (("breaker", "account"),): 1.0,
        (("breaker", "market_data"),): 2.0,
        (("breaker", "orders"),): 0.0,
    }


def test_every_breaker_state_has_its_own_code_and_any_case_is_read() -> None:
    assert set(BREAKER_STATE_CODES) == set(BreakerState)
    assert len(set(BREAKER_STATE_CODES.values())) == len(BreakerState)
    assert breaker_state_code("FORCED_OPEN") == breaker_state_code("forced_open") == 3
    assert breaker_state_code("melted") == UNKNOWN_BREAKER_STATE


def test_supervisor_headroom_and_the_ledger_counters() -> None:
    assert state_samples("mmbot_supervisor_intensity_headroom") == {
        (("supervisor", "root"),): 3.0,
        (("supervisor", "symbols/ETHUSDT"),): 0.0,
    }
    assert state_samples("mmbot_fills")[btc()] == 7
    assert state_samples("mmbot_volume")[btc()] == 70512.55


def test_parse_listen_reads_host_and_port() -> None:
    assert parse_listen("127.0.0.1:9108") == ("127.0.0.1", 9108)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("9108", "localhost:", ":9108", "h:99999", "h:x"):
        with pytest.raises(ValueError):
            parse_listen(bad)


# -- promtool's naming rules, checked without promtool -------------------------------------

#: Units in a name must be base units (promlint's lintMetricUnits, lintUnitAbbreviations).
NON_BASE_UNITS = {
    "milliseconds", "microseconds", "nanoseconds", "minutes", "hours", "days", "weeks",
    "millis", "micros", "nanos", "kilobytes", "megabytes", "gigabytes", "bits", "percent",
    "celsius", "fahrenheit",
}  # fmt: skip
ABBREVIATED_UNITS = {"ms", "us", "ns", "sec", "secs", "min", "mins", "hr", "kb", "mb", "gb", "pct"}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def exposition(text: str) -> Iterator[tuple[str, str, str, set[str]]]:
    """(name, type, help, label names) of each family in a text exposition."""
    helps: dict[str, str] = {}
    types: dict[str, str] = {}
    labels: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            helps[name] = help_
        elif line.startswith("# TYPE "):
            name, _, type_ = line[7:].partition(" ")
            types[name] = type_
            labels[name] = set()
        elif line and not line.startswith("#"):
            sample = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?", line)
            assert sample is not None, line
            family = next(
                (n for n in types if sample.group(1) in {n, *(n + s for s in _SUFFIXES)}),
                sample.group(1),
            )
            found = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', sample.group(3) or "")
            labels.setdefault(family, set()).update(found)
    for name, type_ in types.items():
        yield name, type_, helps.get(name, ""), labels[name]


_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def promtool_problems(text: str) -> list[str]:
    """What ``promtool check metrics`` would say about a text exposition (its naming rules)."""
    problems: list[str] = []
    for name, type_, help_, label_names in exposition(text):
        words = name.split("_")
        if not help_:
            problems.append(f"{name}: no help text")
        if not SNAKE.match(name):
            problems.append(f"{name}: metric names should be written in snake_case")
        if ":" in name:
            problems.append(f"{name}: metric names should not contain ':'")
        if not name.startswith("mmbot_") and not name.endswith("_created"):
            problems.append(f"{name}: every metric of ours is under mmbot_")
        if type_ == "counter" and not name.endswith("_total"):
            problems.append(f'{name}: counter metrics should have "_total" suffix')
        if type_ != "counter" and name.endswith("_total"):
            problems.append(f'{name}: non-counter metrics should not have "_total" suffix')
        if type_ not in {"histogram", "summary"} and name.endswith(("_bucket", "_count", "_sum")):
            problems.append(f"{name}: non-histogram and non-summary metrics should not have that")
        if set(words) & {"counter", "gauge", "histogram", "summary"}:
            problems.append(f"{name}: metric names should not include the metric type")
        for unit in set(words) & NON_BASE_UNITS:
            problems.append(f"{name}: use base units instead of {unit}")
        for unit in set(words) & ABBREVIATED_UNITS:
            problems.append(f"{name}: metric names should not contain abbreviated units ({unit})")
        for label in label_names:
            if not SNAKE.match(label) or label.startswith("__"):
                problems.append(f"{name}: label {label} is not snake_case or is reserved")
            if label == "le" and type_ != "histogram":
                problems.append(f'{name}: non-histogram metrics should not have "le" label')
            if label == "quantile" and type_ != "summary":
                problems.append(f'{name}: non-summary metrics should not have "quantile" label')
    return problems


def test_every_name_passes_promtools_naming_rules() -> None:
    assert promtool_problems(busy_metrics().scrape().decode()) == []


def test_the_naming_check_catches_what_promtool_would() -> None:
    bad = (
        "# HELP mmbot_latency_ms x\n# TYPE mmbot_latency_ms gauge\nmmbot_latency_ms 1\n"
        "# HELP mmbot_requests x\n# TYPE mmbot_requests counter\nmmbot_requests 1\n"
        "# HELP mmbot_up_total x\n# TYPE mmbot_up_total gauge\nmmbot_up_total 1\n"
        '# TYPE mmbot_wait_milliseconds gauge\nmmbot_wait_milliseconds{Symbol="A"} 1\n'
        '# HELP mmbot_size x\n# TYPE mmbot_size gauge\nmmbot_size{le="1"} 1\n'
    )
    problems = "\n".join(promtool_problems(bad))
    assert "abbreviated units (ms)" in problems
    assert 'counter metrics should have "_total"' in problems
    assert 'non-counter metrics should not have "_total"' in problems
    assert "base units instead of milliseconds" in problems
    assert "mmbot_wait_milliseconds: no help text" in problems
    assert "label Symbol" in problems
    assert '"le" label' in problems
