"""The bot's Prometheus metrics: one registry per bot, and ``/metrics`` served from trio.

What it is for: :class:`BotMetrics` holds every metric of DESIGN.md §7 in the bot's own
``CollectorRegistry`` (two bots in one process never collide). Two kinds live there:

- event-driven instruments the bot updates as things happen (histograms of stage,
  tick-to-order, quote-cycle and request times; counters of orders, retries, restarts and breaker
  transitions; the config's identity), through the typed methods of :class:`BotMetrics`;
- state gauges computed at scrape time from a ``Callable[[], BotStatus]`` by a custom
  collector, so they are never stale and cost nothing between scrapes. The mapping from a
  status to samples is the pure function :func:`state_families` (no trio, no I/O).

:func:`serve_metrics` serves ``/metrics`` through hypercorn's trio worker and
``prometheus_client.make_asgi_app``. Every name, type, label and unit is listed in
``docs/metrics.md`` ("Prometheus metrics").

What it must never do: export a secret (label values are symbols, stage, endpoint,
breaker and child names, state names, halt reasons and the config hash: never a key, a
signature or a client's credentials); serve from prometheus_client's thread server
(``start_http_server``) or register anything in its global ``REGISTRY``; block the trio
loop (a scrape reads one status snapshot and formats text; nothing in it waits).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import trio
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
    make_asgi_app,
)
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from mmbot.bot.histograms import LoopHistogram
from mmbot.bot.status import BotStatus, SymbolState, horizon_name
from mmbot.model import Outcome
from mmbot.quoting.orders import OrderState
from mmbot.quoting.pipeline import StageTimings
from mmbot.resilience.breaker_core import BreakerState, BreakerTransition
from mmbot.serving import answer_lifespan, bind_tcp, bound_port, host_for_url, serve_asgi

_log = logging.getLogger(__name__)
#: hypercorn's own messages ("Running on ... (CTRL + C to quit)") stay below the bot's log
#: level; its warnings and errors go through the bot's logging like any other record.

#: A pipeline stage takes microseconds; a slow one a few milliseconds.
STAGE_BUCKETS: tuple[float, ...] = (
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
)  # fmt: skip
#: Book change received -> order request written: the goal is P99 under 2 ms.
TICK_TO_ORDER_BUCKETS: tuple[float, ...] = (
    5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.25, 1.0,
)  # fmt: skip
#: Book received -> every action of that decision answered: one venue round trip (the
#: audit's goal: at most 1.15 x 200 ms with 200 ms of order latency), or a few.
QUOTE_CYCLE_BUCKETS: tuple[float, ...] = (
    1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.2, 0.23, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
#: A venue request: sub-millisecond on loopback, hundreds of ms to a real exchange.
REQUEST_BUCKETS: tuple[float, ...] = (
    5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


class OrderAction(enum.Enum):
    """What an order request asked for (the ``action`` label of ``mmbot_orders_total``)."""

    PLACE = "place"
    CANCEL = "cancel"
    CANCEL_REPLACE = "cancel_replace"
    QUERY = "query"


#: ``mmbot_breaker_state``'s value for each breaker state (documented in docs/metrics.md).
BREAKER_STATE_CODES: Mapping[BreakerState, int] = {
    BreakerState.CLOSED: 0,
    BreakerState.OPEN: 1,
    BreakerState.HALF_OPEN: 2,
    BreakerState.FORCED_OPEN: 3,
    BreakerState.DISABLED: 4,
    BreakerState.METRICS_ONLY: 5,
}
#: ... and for a state name the bot reported that is none of those (a bug to look at).
UNKNOWN_BREAKER_STATE = -1

#: Order states that are live (not terminal): always exported, zero when there are none,
#: so that ``mmbot_open_orders{state="unresolved"} > 0`` can be alerted on.
LIVE_ORDER_STATES: tuple[str, ...] = tuple(s.value for s in OrderState if not s.is_terminal)

#: How the ledger's markouts are split by liquidity today: not at all (see docs/metrics.md).
MARKOUT_LIQUIDITY = "all"


# -- state gauges: the pure mapping from a status to samples ---------------------------------


@attrs.frozen
class StateMetric:
    """One metric computed at scrape time from the bot's status."""

    name: str  # as exposed (counters end in _total)
    type: str  # "gauge" or "counter"
    labels: tuple[str, ...]
    help: str

    def family(self) -> GaugeMetricFamily | CounterMetricFamily:
        """An empty family of this metric (samples are added by :func:`state_families`)."""
        if self.type == "counter":
            return CounterMetricFamily(self.name, self.help, labels=self.labels)
        return GaugeMetricFamily(self.name, self.help, labels=self.labels)


_S = StateMetric
#: Every scrape-time metric, in exposition order.
STATE_METRICS: tuple[StateMetric, ...] = (
    _S("mmbot_position", "gauge", ("symbol",), "Position in the base asset, signed."),
    _S(
        "mmbot_pnl", "gauge", ("symbol",), "Net PnL in the quote asset, marked to mid, net of fees."
    ),
    _S("mmbot_net_bps", "gauge", ("symbol",), "Net PnL per traded notional, in basis points."),
    _S(
        "mmbot_slippage_bps",
        "gauge",
        ("symbol",),
        "Fill price vs the mid at placement, notional-weighted, in basis points (+ = cost).",
    ),
    _S("mmbot_taker_share", "gauge", ("symbol",), "Share of traded notional filled as taker."),
    _S(
        "mmbot_book_age_seconds",
        "gauge",
        ("symbol",),
        "Time since the symbol's last book update.",
    ),
    _S(
        "mmbot_quote_uptime_ratio",
        "gauge",
        ("symbol",),
        "Share of time with a two-sided quote inside the max spread.",
    ),
    _S(
        "mmbot_open_orders",
        "gauge",
        ("symbol", "state"),
        "Live orders by tracker state (unresolved included).",
    ),
    _S(
        "mmbot_markout_bps",
        "gauge",
        ("symbol", "horizon", "liquidity"),
        "Notional-weighted markout of the fills whose horizon has passed, in basis points.",
    ),
    _S(
        "mmbot_supervisor_intensity_headroom",
        "gauge",
        ("supervisor",),
        "Restarts a supervisor may still take within its period before it escalates.",
    ),
    _S("mmbot_halted", "gauge", ("symbol", "reason"), "1 for each halted symbol, with its reason."),
    _S(
        "mmbot_breaker_state",
        "gauge",
        ("breaker",),
        "Circuit breaker state: 0 closed, 1 open, 2 half_open, 3 forced_open, 4 disabled, "
        "5 metrics_only, -1 unknown.",
    ),
    _S(
        "mmbot_symbol_state",
        "gauge",
        ("symbol", "state"),
        "1 for the symbol's current quoter state, 0 for the others.",
    ),
    _S(
        "mmbot_order_budget_short",
        "gauge",
        ("symbol",),
        "1 while the shared order budget holds the symbol back (wider tolerances).",
    ),
    _S(
        "mmbot_calibration_a",
        "gauge",
        ("symbol",),
        "Fitted taker arrival intensity at the mid, A in lambda(d) = A exp(-k d), per second.",
    ),
    _S(
        "mmbot_calibration_k",
        "gauge",
        ("symbol",),
        "Fitted decay k of the taker arrival intensity with distance from the mid, per bps.",
    ),
    _S(
        "mmbot_calibration_fit_r2",
        "gauge",
        ("symbol",),
        "Weighted R^2 of the taker intensity fit (0..1).",
    ),
    _S(
        "mmbot_calibration_trades",
        "gauge",
        ("symbol",),
        "Effective (time-decayed) number of public trades behind the intensity fit.",
    ),
    _S(
        "mmbot_calibration_adverse_bps",
        "gauge",
        ("symbol",),
        "Mean move of the mid in the takers' direction after their trades (bps).",
    ),
    _S(
        "mmbot_calibration_fallback",
        "gauge",
        ("symbol",),
        "1 while the intensity fit is not used and the configured spread applies.",
    ),
    _S("mmbot_fills_total", "counter", ("symbol",), "Fills booked by the ledger."),
    _S(
        "mmbot_volume_total",
        "counter",
        ("symbol",),
        "Traded notional in the quote asset.",
    ),
    _S("mmbot_decisions_total", "counter", ("symbol",), "Quote decisions (pipeline runs)."),
)
del _S


def state_families(status: BotStatus) -> list[Metric]:
    """The scrape-time metrics of one status, as Prometheus metric families.

    A figure the status does not have yet (``None``: no fill, no book) is left out rather
    than exported as a made-up number; its family is still there, empty.
    """
    families = {spec.name: spec.family() for spec in STATE_METRICS}

    def put(name: str, labels: Sequence[str], value: float | None) -> None:
        if value is not None:
            families[name].add_metric(labels, float(value))

    for s in status.symbols:
        symbol = s.symbol
        put("mmbot_position", [symbol], float(s.position))
        put("mmbot_pnl", [symbol], float(s.pnl))
        put("mmbot_net_bps", [symbol], s.net_bps)
        put("mmbot_slippage_bps", [symbol], s.slippage_bps)
        put("mmbot_taker_share", [symbol], s.taker_share)
        put("mmbot_book_age_seconds", [symbol], s.book_age_s)
        put("mmbot_quote_uptime_ratio", [symbol], s.quote_uptime_ratio)
        orders = {state.lower(): count for state, count in s.orders.items()}
        for state in sorted(set(LIVE_ORDER_STATES) | set(orders)):
            put("mmbot_open_orders", [symbol, state], orders.get(state, 0))
        for markout in s.markouts:
            bps = None if markout.bps is None else float(markout.bps)
            put(
                "mmbot_markout_bps",
                [symbol, horizon_name(markout.horizon), MARKOUT_LIQUIDITY],
                bps,
            )
        if s.halt_reason is not None:
            put("mmbot_halted", [symbol, s.halt_reason], 1)
        for symbol_state in SymbolState:
            current = 1 if symbol_state is s.state else 0
            put("mmbot_symbol_state", [symbol, symbol_state.value], current)
        put("mmbot_order_budget_short", [symbol], 1 if s.budget_short else 0)
        fit = s.calibration
        if fit is not None:
            put("mmbot_calibration_a", [symbol], fit.a)
            put("mmbot_calibration_k", [symbol], fit.k)
            put("mmbot_calibration_fit_r2", [symbol], fit.r2)
            put("mmbot_calibration_trades", [symbol], fit.trades)
            put("mmbot_calibration_adverse_bps", [symbol], fit.adverse_bps)
            put("mmbot_calibration_fallback", [symbol], 0 if fit.usable else 1)
        put("mmbot_fills_total", [symbol], s.fills)
        put("mmbot_volume_total", [symbol], float(s.volume))
        put("mmbot_decisions_total", [symbol], s.decisions)
    for supervisor, headroom in sorted(status.intensity_headroom.items()):
        put("mmbot_supervisor_intensity_headroom", [supervisor], headroom)
    for breaker, state_name in sorted(status.breakers.items()):
        put("mmbot_breaker_state", [breaker], breaker_state_code(state_name))
    return list(families.values())


def breaker_state_code(state_name: str) -> int:
    """``mmbot_breaker_state``'s value for a state name (``"half_open"`` or ``"HALF_OPEN"``)."""
    try:
        return BREAKER_STATE_CODES[BreakerState(state_name.lower())]
    except ValueError:
        return UNKNOWN_BREAKER_STATE


class _StatusCollector:
    """Reads the bot's status at each scrape and yields :func:`state_families`.

    A status source that raises fails the scrape (HTTP 500, so Prometheus's ``up`` drops
    to 0): loud on purpose, never a silently partial scrape.
    """

    def __init__(self) -> None:
        self.source: Callable[[], BotStatus] | None = None

    def collect(self) -> Iterable[Metric]:
        if self.source is None:
            return [spec.family() for spec in STATE_METRICS]
        return state_families(self.source())

    def describe(self) -> Iterable[Metric]:
        return [spec.family() for spec in STATE_METRICS]


# -- the bot's metrics ------------------------------------------------------------------------


class BotMetrics:
    """Every metric of one bot, in its own registry.

    The event-driven instruments are updated through the methods below (each is cheap and
    never waits); the state gauges are read from ``status_source`` at each scrape. The
    instruments are attributes too, for tests and for anything the methods do not cover.
    """

    def __init__(
        self,
        status_source: Callable[[], BotStatus] | None = None,
        *,
        symbols: Iterable[str] = (),
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.stage_seconds = LoopHistogram(
            "mmbot_stage_seconds",
            "Time one pipeline stage took in one quote decision.",
            ["symbol", "stage"],
            buckets=STAGE_BUCKETS,
            registry=r,
        )
        self.tick_to_order_seconds = LoopHistogram(
            "mmbot_tick_to_order_seconds",
            "Book change received -> order request written.",
            ["symbol"],
            buckets=TICK_TO_ORDER_BUCKETS,
            registry=r,
        )
        self.quote_cycle_seconds = LoopHistogram(
            "mmbot_quote_cycle_seconds",
            "Book received -> every order action of the decision on it answered.",
            ["symbol"],
            buckets=QUOTE_CYCLE_BUCKETS,
            registry=r,
        )
        self.request_seconds = LoopHistogram(
            "mmbot_request_seconds",
            "Time a venue request took, by endpoint and outcome (ok, failed, unknown).",
            ["endpoint", "outcome"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.breaker_transitions = Counter(
            "mmbot_breaker_transitions_total",
            "Circuit breaker state changes.",
            ["breaker", "from", "to"],
            registry=r,
        )
        self.retries = Counter(
            "mmbot_retries_total", "Retried venue requests.", ["endpoint"], registry=r
        )
        self.restarts = Counter(
            "mmbot_restarts_total",
            "Restarts of a supervised child, by its path in the tree.",
            ["child"],
            registry=r,
        )
        self.orders = Counter(
            "mmbot_orders_total",
            "Order requests by action (place, cancel, cancel_replace, query) and outcome "
            "(ok, failed, unknown).",
            ["symbol", "action", "outcome"],
            registry=r,
        )
        self.config_info = Gauge(
            "mmbot_config_info",
            "Always 1; its labels name the running config (hash and schema version).",
            ["hash", "version"],
            registry=r,
        )
        self._stage_children: dict[str, dict[str, Any]] = {}
        self._children: dict[tuple[object, ...], Any] = {}
        self._status = _StatusCollector()
        self._status.source = status_source
        r.register(self._status)
        for symbol in symbols:
            self.declare_symbol(symbol)

    def set_status_source(self, source: Callable[[], BotStatus]) -> None:
        """Read the state gauges from ``source`` at each scrape (``BotHandle.status``)."""
        self._status.source = source

    def declare_symbol(self, symbol: str) -> None:
        """Create the symbol's order counters at zero, so a rate over them starts at once."""
        for action in OrderAction:
            for outcome in Outcome:
                self.orders.labels(symbol, action.value, outcome.value)

    def set_config(self, config_hash: str, version: int) -> None:
        """``mmbot_config_info{hash,version} 1`` for the running config (replaces any other)."""
        self.config_info.clear()
        self.config_info.labels(config_hash, str(version)).set(1)

    def observe_stages(self, symbol: str, timings: StageTimings) -> None:
        """One decision's stage times (``QuotePipeline.run``'s timings, nanoseconds)."""
        children = self._stage_children.get(symbol)
        if children is None:
            children = self._stage_children[symbol] = {}
        for stage, ns in timings.items():
            child = children.get(stage)
            if child is None:
                child = children[stage] = self.stage_seconds.labels(symbol, stage)
            child.observe(ns / 1e9)

    def observe_tick_to_order(self, symbol: str, seconds: float) -> None:
        self._child(self.tick_to_order_seconds, symbol).observe(seconds)

    def observe_quote_cycle(self, symbol: str, seconds: float) -> None:
        """One decision's quote cycle (``Quoter``'s ``on_cycle``)."""
        self._child(self.quote_cycle_seconds, symbol).observe(seconds)

    def observe_request(self, endpoint: str, outcome: Outcome, seconds: float) -> None:
        """A venue request that ended with ``outcome`` after ``seconds``."""
        self._child(self.request_seconds, endpoint, outcome.value).observe(seconds)

    def count_order(self, symbol: str, action: OrderAction, outcome: Outcome) -> None:
        self._child(self.orders, symbol, action.value, outcome.value).inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, looked up once (the hot paths observe per decision
        and per request; prometheus-client's own lookup takes a lock and builds a key)."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def count_retry(self, endpoint: str) -> None:
        self.retries.labels(endpoint).inc()

    def count_restart(self, child: str) -> None:
        """A restart of ``child`` (its path in the tree: ``"symbols/BTCUSDT/quoter"``)."""
        self.restarts.labels(child).inc()

    def on_breaker_transition(self, transition: BreakerTransition) -> None:
        """A breaker listener (``CircuitBreaker.add_listener(metrics.on_breaker_transition)``)."""
        self.breaker_transitions.labels(
            transition.breaker, transition.from_state.value, transition.to_state.value
        ).inc()

    def scrape(self) -> bytes:
        """The text exposition ``/metrics`` serves (for tests and one-off dumps)."""
        return generate_latest(self.registry)


# -- /metrics ---------------------------------------------------------------------------------


def parse_listen(listen: str) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[::1]:9108"`` for IPv6) as ``(host, port)``; ValueError if not."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f'expected "HOST:PORT", got {listen!r}')
    return host.removeprefix("[").removesuffix("]"), int(port)


def metrics_app(registry: CollectorRegistry) -> Callable[..., Any]:
    """The ASGI app: ``GET /metrics`` from ``registry``; 404 elsewhere; lifespan answered."""
    prometheus = make_asgi_app(registry)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != "/metrics":
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": b"not found: try /metrics\n"})
            return
        await prometheus(scope, receive, send)

    return app


async def serve_metrics(
    metrics: BotMetrics,
    host: str = "127.0.0.1",
    port: int = 9108,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``metrics`` on ``http://host:port/metrics`` until cancelled.

    ``port = await nursery.start(serve_metrics, metrics, host, 0)`` gives the bound port.
    The address is bound before anything is served: a busy port (or a host this machine
    does not have) raises :class:`~mmbot.errors.ListenError` naming it, at once.
    """
    sock = await bind_tcp(host, port)
    port = bound_port(sock)
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_asgi, metrics_app(metrics.registry), sock)
        _log.info("serving /metrics", extra={"url": f"http://{host_for_url(host)}:{port}/metrics"})
        task_status.started(port)
