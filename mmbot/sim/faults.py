"""Faults the fake exchange injects: a plan it consults before answering a request (sans-IO).

What it is for: :class:`FaultPlan`, the seam through which the fake exchange misbehaves on
purpose (the audit's slow venue now; the chaos harness grows the kinds on the same seam).
The exchange shell asks the plan about every request it is about to answer, by operation
name (the WebSocket API's: ``order.place``, ``order.cancel``, ``order.cancelReplace``,
``openOrders.cancelAll``, ``depth``, ...) and the time, and does what it answers. The
request kinds:

- :class:`Latency`: hold a matching request for ``delay`` plus a jitter drawn uniformly in
  ``[0, jitter]`` before the exchange works on it, with ``probability``, while the fault
  is active (``start`` for ``duration`` seconds; None: for good). The shell sleeps that
  long on the trio clock, then answers, so the work lands late, as over a slow network.
  Several matching latencies add up.
- :class:`Error`: answer a matching request with an HTTP status and one of the dialect's
  error codes instead of working on it (429 and 418 with ``Retry-After``).
- :class:`LostAck`: work on a matching request, then lose its answer (never send it, or
  send 503 -1007, "execution status unknown").

The exchange-behaviour kinds, the venue misbehaving on its own terms:

- :class:`RateLimit`: the venue's own rate limiter with lower limits while active (real
  429s with ``Retry-After``; a client that keeps sending is banned, 418).
- :class:`ClockSkew`: the venue's clock steps and drifts against the clients' (its
  ``time`` and its ``recvWindow`` check; -1021 for a client that does not resync).
- :class:`Maintenance`: symbols BREAK or HALT, ``serverShutdown`` to every connection,
  TRADING again at the end.
- :class:`FlashMove`: the market's reference price jumps by a percentage at an instant.
- :class:`FillBeforeAck`: a placement is filled by a taker at once and its answer held
  after the fill's report.
- :class:`CancelFillRace`: the order a cancel names is filled first; the cancel is then
  answered as for a filled order (-2011).

The first four act at their own times (the exchange wakes for :meth:`FaultPlan.next_change`);
the races are per request, like the first three.

The transport faults (Toxiproxy's toxics, at message level and seeded) work on the
connection rather than the answer:

- :class:`Reset`: drop the connection a matching request came on without answering it,
  ``when = "before"`` the exchange works on it (nothing applied) or ``"after"``.
- :class:`Blackhole` (Toxiproxy's ``timeout``): accept a matching request and never answer
  it nor work on it; the connection stays open.
- :class:`Bandwidth`: write matching answers and pushed messages ``size / rate`` late, in
  order (:meth:`FaultPlan.delivery`, asked when a message's turn to be written comes).
- :class:`Slicer`: write them in pieces (WebSocket continuation frames, REST body chunks).

Pushed messages (market streams, user data) have no operation: a target matches them by
endpoint class (:data:`MARKET_STREAM` belongs to ``market_data``, :data:`USER_STREAM` to
``account``) or ``all``.

A fault aims at a :class:`Target`: every operation, an endpoint class as the client's
breakers group them (``orders``, ``market_data``, ``account``: :data:`ENDPOINT_CLASSES`), or
operations named one by one.

Stream faults act on the WebSocket side instead, aimed at stream classes
(:data:`STREAM_CLASSES`: ``market_streams``, ``user_data``, ``ws_api``) and optionally
symbols: :class:`WsDrop` (close matching connections at its start and every ``period``),
:class:`WsStall` (connections open but silent until its end), :class:`SeqGap` (drop depth
diffs), :class:`WsDupReorder` (duplicate or hold back messages), :class:`PacketLoss`
(Gilbert-Elliott loss bursts), and :class:`StaleSnapshot` (``depth`` answered with a past
book). The plan says which connections at which instants
(:meth:`FaultPlan.next_stream_instant`) and what happens to each message; the exchange's
``sim/stream_faults.py`` carries it out. Times are seconds since the exchange started running; the
randomness is the ``random.Random`` the shell passes in (the exchange derives it from its
seed), so a simulated run with faults stays deterministic.

What it must never do: I/O, read a clock or create randomness (``now`` and the RNG are
arguments); draw from the RNG for a request no fault matches (a plan that does not apply
leaves the exchange's random stream where it was).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar

import attrs

if TYPE_CHECKING:
    import random

    from mmbot.sim.dialect.limits import RateLimits

#: The dialect's operations by endpoint class, as the REST client's breakers group them
#: (``mmbot.venue.binance.rest_endpoints``); the WebSocket API's own session methods
#: (``session.*``, ``userDataStream.*``) belong to ``account``.
ENDPOINT_CLASSES: Mapping[str, frozenset[str]] = {
    "orders": frozenset(
        {"order.place", "order.cancel", "order.cancelReplace", "openOrders.cancelAll"}
        | {"order.amend.keepPriority", "order.test"}
    ),
    "market_data": frozenset(
        {
            "ping",
            "time",
            "exchangeInfo",
            "depth",
            "trades.recent",
            "trades.historical",
            "trades.aggregate",
            "klines",
            "uiKlines",
            "avgPrice",
            "ticker.24hr",
            "ticker.price",
            "ticker.book",
            "ticker.tradingDay",
            "ticker",
        }
    ),
    "account": frozenset(
        {
            "order.status",
            "openOrders.status",
            "account.status",
            "myTrades",
            "userDataStream.subscribe.signature",
            "userDataStream.unsubscribe",
            "userDataStream.subscribe",
            "session.logon",
            "session.status",
            "session.logout",
        }
        | {"allOrders", "account.commission", "account.rateLimits.orders"}
    ),
}
#: The order requests (what ``mmbot exchange serve --order-latency`` slows down).
ORDER_OPERATIONS = ENDPOINT_CLASSES["orders"]


def _operations(names: Iterable[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


@attrs.frozen
class Target:
    """Which requests a fault hits: ``operations`` by name (None: every request); for a
    stream fault, which connections and messages: ``streams`` by class
    (:data:`STREAM_CLASSES`; None: every class) and ``symbols`` (None: every symbol)."""

    name: str  # how the history and the banner name it: "all", "orders", "order.place"
    operations: frozenset[str] | None = attrs.field(default=None, converter=_operations)
    streams: frozenset[str] | None = attrs.field(default=None, converter=_operations)
    symbols: frozenset[str] | None = attrs.field(default=None, converter=_operations)

    @classmethod
    def all(cls) -> Target:
        return cls("all")

    @classmethod
    def endpoint_class(cls, name: str) -> Target:
        """``orders``, ``market_data`` or ``account`` (ValueError for anything else)."""
        if name not in ENDPOINT_CLASSES:
            raise ValueError(f"unknown endpoint class {name!r}: one of {sorted(ENDPOINT_CLASSES)}")
        return cls(name, ENDPOINT_CLASSES[name])

    @classmethod
    def orders(cls) -> Target:
        return cls.endpoint_class("orders")

    @classmethod
    def named(cls, *operations: str) -> Target:
        """These operations only (``Target.named("order.place", "order.cancel")``)."""
        if not operations:
            raise ValueError("name at least one operation")
        return cls(",".join(sorted(operations)), operations)

    def matches(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    @classmethod
    def stream_class(cls, *classes: str, symbols: Iterable[str] | None = None) -> Target:
        """Connections and messages of these stream classes (:data:`STREAM_CLASSES`), of
        ``symbols`` only if given (ValueError for an unknown class)."""
        unknown = sorted(set(classes) - set(STREAM_CLASSES))
        if not classes or unknown:
            raise ValueError(f"unknown stream class(es) {unknown}: of {list(STREAM_CLASSES)}")
        name = ",".join(sorted(set(classes)))
        return cls(name, streams=classes).for_symbols(symbols)

    def for_symbols(self, symbols: Iterable[str] | None) -> Target:
        """This target narrowed to ``symbols`` (None: unchanged)."""
        if symbols is None:
            return self
        chosen = frozenset(symbols)
        return attrs.evolve(self, name=f"{self.name} [{','.join(sorted(chosen))}]", symbols=chosen)

    def matches_stream(self, stream_class: str, symbol: str | None) -> bool:
        """Whether a message of ``stream_class`` about ``symbol`` (None: no symbol, as a
        balance event) is hit."""
        if self.streams is not None and stream_class not in self.streams:
            return False
        return self.symbols is None or symbol in self.symbols

    def matches_connection(self, classes: frozenset[str], symbols: frozenset[str]) -> bool:
        """Whether a connection carrying ``classes`` (:data:`STREAM_CLASSES`) of ``symbols``
        (its market streams' symbols; empty for a WebSocket API connection) is hit: a
        WebSocket API connection is never narrowed by ``symbols``."""
        if self.streams is not None and not (classes & self.streams):
            return False
        return self.symbols is None or not symbols or bool(symbols & self.symbols)


#: The classes of stream a stream fault may aim at: the market streams (``/ws``,
#: ``/stream``), the user-data events a WebSocket API session subscribed to, and the
#: WebSocket API connections themselves (requests and answers).
STREAM_CLASSES: tuple[str, ...] = ("market_streams", "user_data", "ws_api")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be a finite number >= 0, got {value!r}")


def _duration(
    instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"duration must be a finite number > 0 (or None), got {value!r}")


def _probability(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"probability must be within 0..1, got {value!r}")


def _active(start: float, duration: float | None, now: float) -> bool:
    """Whether a fault active from ``start`` for ``duration`` seconds (None: for good) is at
    ``now``."""
    return start <= now and (duration is None or now < start + duration)


@attrs.frozen
class Latency:
    """Hold matching requests ``delay`` + uniform(0, ``jitter``) seconds before answering."""

    delay: float = attrs.field(validator=_non_negative)
    jitter: float = attrs.field(default=0.0, validator=_non_negative)
    target: Target = attrs.field(factory=Target.orders)
    #: Active from ``start`` (seconds since the exchange started) for ``duration`` seconds.
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    #: The share of matching requests it hits (drawn per request when below 1).
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "latency"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def delay_for(self, operation: str, now: float, rng: random.Random) -> float:
        """Seconds to hold a request of ``operation`` arriving at ``now`` (0.0: not hit)."""
        if not self.target.matches(operation) or not self.active(now):
            return 0.0
        if self.probability < 1 and rng.random() >= self.probability:
            return 0.0
        jitter = rng.uniform(0.0, self.jitter) if self.jitter > 0 else 0.0
        return self.delay + jitter

    def describe(self) -> str:
        """``latency 200 ms + 0..50 ms on orders`` (and the window / probability if set)."""
        text = f"latency {self.delay * 1000:g} ms"
        if self.jitter > 0:
            text += f" + 0..{self.jitter * 1000:g} ms"
        text += f" on {self.target.name}"
        if self.start > 0 or self.duration is not None:
            end = "" if self.duration is None else f"{self.start + self.duration:g}"
            text += f", from {self.start:g} s to {end or 'the end'}{' s' if end else ''}"
        if self.probability < 1:
            text += f", {self.probability:.0%} of requests"
        return text


def _status(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not 400 <= value <= 599:
        raise ValueError(f"status must be an HTTP error status (400..599), got {value!r}")


#: What the venue says with each error code an ``error`` fault may answer, and how a
#: client must read it: every one of these means "not executed" except -1007.
ERROR_MESSAGES: Mapping[int, str] = {
    -1000: "An unknown error occurred while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too many requests queued.",
    -1007: (
        "Timeout waiting for response from backend server. Send status unknown; "
        "execution status unknown."
    ),
    -1008: "Server is currently overloaded with other requests. Please try again in a few minutes.",
    -1016: "This service is no longer available.",
}


@attrs.frozen
class Error:
    """Answer matching requests with HTTP ``status`` and the dialect's ``code`` instead of
    working on them (nothing is applied; a client reading -1007 must treat the outcome as
    unknown all the same). 429 and 418 carry ``Retry-After`` (``retry_after`` seconds)."""

    status: int = attrs.field(validator=_status)
    code: int = attrs.field()
    target: Target = attrs.field(factory=Target.orders)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)
    retry_after: float | None = None

    kind: ClassVar[str] = "error"

    def __attrs_post_init__(self) -> None:
        if self.status in (429, 418) and self.retry_after is None:
            raise ValueError(
                f"a {self.status} carries Retry-After, as Binance's always do: give retry_after"
            )

    @code.validator
    def _known_code(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value not in ERROR_MESSAGES:
            raise ValueError(f"code must be one of {sorted(ERROR_MESSAGES)}, got {value!r}")

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, operation: str, now: float, rng: random.Random) -> bool:
        return _hits(self, operation, now, rng)

    def describe(self) -> str:
        return _window(self, f"error {self.status} {self.code} on {self.target.name}")


@attrs.frozen
class LostAck:
    """Work on matching requests (the order is placed, cancelled, replaced), then lose the
    answer: ``mode = "drop"`` never answers (the client's deadline passes: the outcome is
    unknown to it), ``mode = "unknown"`` answers 503 -1007 ("execution status unknown")."""

    target: Target = attrs.field(factory=Target.orders)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)
    mode: str = attrs.field(default="drop")

    kind: ClassVar[str] = "lost_ack"

    @mode.validator
    def _known_mode(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("drop", "unknown"):
            raise ValueError(f"mode must be 'drop' or 'unknown', got {value!r}")

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, operation: str, now: float, rng: random.Random) -> bool:
        return _hits(self, operation, now, rng)

    def describe(self) -> str:
        return _window(self, f"lost ack ({self.mode}) on {self.target.name}")


def _hits(fault: _Striking, operation: str, now: float, rng: random.Random) -> bool:
    """Whether ``fault`` strikes this request (draws from ``rng`` only when it could)."""
    if not fault.target.matches(operation) or not fault.active(now):
        return False
    return fault.probability >= 1 or rng.random() < fault.probability


def _window(fault: _Windowed, text: str) -> str:
    if fault.start > 0 or fault.duration is not None:
        end = "" if fault.duration is None else f"{fault.start + fault.duration:g}"
        text += f", from {fault.start:g} s to {end or 'the end'}{' s' if end else ''}"
    if fault.probability < 1:
        text += f", {fault.probability:.0%} of requests"
    return text


# ---- stream faults: the market streams, user data and WebSocket API connections ---------


def _stream_window(fault: StreamFault, text: str) -> str:
    if fault.start > 0 or fault.duration is not None:
        end = "" if fault.duration is None else f"{fault.start + fault.duration:g}"
        text += f", from {fault.start:g} s to {end or 'the end'}{' s' if end else ''}"
    return text


def _period(
    instance: object, attribute: attrs.Attribute[float | None], value: float | None
) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"period must be a finite number > 0 (or None), got {value!r}")


def _market_streams() -> Target:
    return Target.stream_class("market_streams")


@attrs.frozen
class WsDrop:
    """Close the matching WebSocket connections at ``start`` (each with ``probability``),
    and again every ``period`` seconds while active (None: once): the client must
    reconnect and resync. A connection's classes are ``market_streams`` (a ``/ws`` or
    ``/stream`` connection, narrowed by the target's symbols), ``ws_api`` (a WebSocket API
    connection) and ``user_data`` (a WebSocket API connection subscribed to user data)."""

    target: Target = attrs.field(factory=_market_streams)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)
    period: float | None = attrs.field(default=None, validator=_period)

    kind: ClassVar[str] = "ws_drop"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def instants(self, after: float) -> float | None:
        """The first instant after ``after`` at which it drops (None: no more)."""
        if after < self.start:
            return self.start
        if self.period is None:
            return None
        step = math.floor((after - self.start) / self.period) + 1
        at = self.start + step * self.period
        if at <= after:  # float rounding put it on ``after`` itself: the one after
            at = self.start + (step + 1) * self.period
        return at if self.active(at) else None

    def strikes_at(self, now: float) -> bool:
        """Whether ``now`` is one of its drop instants (as :meth:`instants` gives them)."""
        if not self.active(now):
            return False
        if self.period is None:
            return math.isclose(now, self.start, abs_tol=1e-9)
        steps = (now - self.start) / self.period
        return math.isclose(steps, round(steps), abs_tol=1e-6)

    def describe(self) -> str:
        text = f"ws_drop of {self.target.name}"
        if self.period is not None:
            text += f" every {self.period:g} s"
        if self.probability < 1:
            text += f" ({self.probability:.0%} of connections)"
        return _stream_window(self, text)


@attrs.frozen
class WsStall:
    """Make the matching connections open at ``start`` (each with ``probability``) silent
    until the fault ends: no message is sent (they wait, as in a stuck TCP window: a full
    outbox drops the connection as a slow consumer), no ping is sent and no ping is
    answered. A stalled connection is released at the end, at a heal, or when the client
    closes it; connections opened meanwhile are not stalled."""

    target: Target = attrs.field(factory=_market_streams)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "ws_stall"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    @property
    def end(self) -> float:
        return math.inf if self.duration is None else self.start + self.duration

    def describe(self) -> str:
        text = f"ws_stall of {self.target.name}"
        if self.probability < 1:
            text += f" ({self.probability:.0%} of connections)"
        return _stream_window(self, text)


@attrs.frozen
class SeqGap:
    """Drop matching ``depthUpdate`` diffs (each with ``probability``) before any
    subscriber gets them: the ``U``/``u`` sequence shows a gap the client must detect and
    resync from a ``/depth`` snapshot."""

    target: Target = attrs.field(factory=_market_streams)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "seq_gap"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, symbol: str, now: float, rng: random.Random) -> bool:
        if not self.active(now) or not self.target.matches_stream("market_streams", symbol):
            return False
        return self.probability >= 1 or rng.random() < self.probability

    def describe(self) -> str:
        text = f"seq_gap on {self.target.name}"
        if self.probability < 1:
            text += f", {self.probability:.0%} of depth diffs"
        return _stream_window(self, text)


def _count(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _share(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"{attribute.name} must be within 0..1, got {value!r}")


@attrs.frozen
class WsDupReorder:
    """On each matching stream message (``probability`` of them): with ``reorder``, hold
    it back behind 1..``window`` later messages of its connection (held ones are sent at
    the fault's end or a heal at the latest); else send it, and with ``duplicate`` send it
    twice. Messages are market-stream messages and user-data events (not API answers)."""

    target: Target = attrs.field(factory=_market_streams)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)
    duplicate: float = attrs.field(default=0.0, validator=_share)
    reorder: float = attrs.field(default=0.0, validator=_share)
    window: int = attrs.field(default=1, validator=_count)

    kind: ClassVar[str] = "ws_dup_reorder"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    @property
    def end(self) -> float:
        return math.inf if self.duration is None else self.start + self.duration

    def matches(self, stream_class: str, symbol: str | None, now: float) -> bool:
        return self.active(now) and self.target.matches_stream(stream_class, symbol)

    def decide(self, rng: random.Random) -> tuple[int, bool]:
        """For a matching message: (how many later messages it waits behind, 0: none;
        whether it is sent twice)."""
        if self.probability < 1 and rng.random() >= self.probability:
            return 0, False
        if self.reorder > 0 and rng.random() < self.reorder:
            return rng.randint(1, self.window), False
        return 0, self.duplicate > 0 and rng.random() < self.duplicate

    def describe(self) -> str:
        parts = []
        if self.duplicate > 0:
            parts.append(f"{self.duplicate:.0%} duplicated")
        if self.reorder > 0:
            parts.append(f"{self.reorder:.0%} reordered within {self.window}")
        text = f"ws_dup_reorder on {self.target.name}: {', '.join(parts) or 'nothing'}"
        if self.probability < 1:
            text += f", of {self.probability:.0%} of messages"
        return _stream_window(self, text)


def _burst(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (value >= 1 and math.isfinite(value)):
        raise ValueError(f"burst must be a finite number >= 1 (messages), got {value!r}")


@attrs.frozen
class PacketLoss:
    """Correlated bursts of lost stream messages (a Gilbert–Elliott channel): each matching
    message a connection is sent while not in a burst starts one with ``probability``; a
    burst loses every message and ends after each with probability 1/``burst`` (so a burst
    is ``burst`` messages long on average). Per connection; the draws are the exchange's."""

    target: Target = attrs.field(factory=_market_streams)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=0.01, validator=_probability)
    burst: float = attrs.field(default=5.0, validator=_burst)

    kind: ClassVar[str] = "packet_loss"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def matches(self, stream_class: str, symbol: str | None, now: float) -> bool:
        return self.active(now) and self.target.matches_stream(stream_class, symbol)

    def step(self, in_burst: bool, rng: random.Random) -> bool:
        """Whether the connection is in a burst for this message (it is lost), given
        whether it was for the previous one."""
        if in_burst:
            return rng.random() >= 1 / self.burst
        return rng.random() < self.probability

    def describe(self) -> str:
        text = (
            f"packet_loss on {self.target.name}: bursts of {self.burst:g} messages on "
            f"average, {self.probability:.2%} of messages start one"
        )
        return _stream_window(self, text)


def _lag(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"lag must be an integer >= 1 (book updates), got {value!r}")


def _age(instance: object, attribute: attrs.Attribute[float | None], value: float | None) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(f"age must be a finite number > 0 (seconds), got {value!r}")


@attrs.frozen
class StaleSnapshot:
    """Answer matching ``depth`` requests (REST and WebSocket API; each with
    ``probability``) with the book as it was ``lag`` book updates ago (``lastUpdateId``
    that much behind the stream), or ``age`` seconds ago: a true past book, so a client
    that buffers the diffs and applies those after ``lastUpdateId`` ends right, and one
    that applies the snapshot and only the diffs after it ends wrong. As far back as the
    exchange recorded (from when the plan holding it was set)."""

    target: Target = attrs.field(factory=lambda: Target.endpoint_class("market_data"))
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)
    lag: int | None = attrs.field(default=None, validator=_lag)
    age: float | None = attrs.field(default=None, validator=_age)

    kind: ClassVar[str] = "stale_snapshot"

    def __attrs_post_init__(self) -> None:
        if (self.lag is None) == (self.age is None):
            raise ValueError("give exactly one of lag (book updates) and age (seconds)")
        if not self.target.matches("depth"):
            raise ValueError("a stale_snapshot answers depth requests: its target must hold depth")

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, symbol: str, now: float, rng: random.Random) -> bool:
        if not self.active(now) or not (
            self.target.symbols is None or symbol in self.target.symbols
        ):
            return False
        return self.probability >= 1 or rng.random() < self.probability

    def describe(self) -> str:
        behind = f"{self.lag} updates" if self.lag is not None else f"{self.age:g} s"
        text = f"stale_snapshot {behind} behind on {self.target.name}"
        if self.probability < 1:
            text += f", {self.probability:.0%} of depth requests"
        return _stream_window(self, text)


#: The stream faults (:class:`FaultPlan` asks them about connections and messages).
StreamFault = WsDrop | WsStall | SeqGap | WsDupReorder | PacketLoss | StaleSnapshot
STREAM_FAULTS = (WsDrop, WsStall, SeqGap, WsDupReorder, PacketLoss, StaleSnapshot)


# ---- transport faults: resets, black holes, bandwidth, sliced frames -----------------------

#: The pseudo-operations a fault's target matches pushed messages by: market-stream
#: messages (and the replies to their control frames) belong to ``market_data``, the
#: user-data events a WebSocket API connection carries to ``account``; ``all`` matches both.
MARKET_STREAM = "<market stream>"
USER_STREAM = "<user data>"
_PUSHED_CLASS = {MARKET_STREAM: "market_data", USER_STREAM: "account"}


def _matches_traffic(target: Target, traffic: str) -> bool:
    """Whether ``target`` covers ``traffic``: an operation's answer, or a pushed message
    (:data:`MARKET_STREAM`, :data:`USER_STREAM`: hit by ``all`` or their endpoint class)."""
    endpoint_class = _PUSHED_CLASS.get(traffic)
    if endpoint_class is None:
        return target.matches(traffic)
    ops = target.operations
    return ops is None or ENDPOINT_CLASSES[endpoint_class] <= ops


@attrs.frozen
class Reset:
    """Close the connection a matching request came on, without an answer: ``when =
    "before"`` the exchange never works on it (nothing is applied), ``when = "after"`` it
    works on it first (the order is placed, cancelled, replaced) and the answer is lost
    with the connection. Over REST the HTTP connection is dropped (the client reads a
    "server disconnected" protocol error); on the WebSocket API the WebSocket connection
    ends at once, without a close handshake, with the request unanswered."""

    target: Target = attrs.field(factory=Target.orders)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)
    when: str = attrs.field(default="before")

    kind: ClassVar[str] = "reset"

    @when.validator
    def _known_when(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in ("before", "after"):
            raise ValueError(f"when must be 'before' or 'after', got {value!r}")

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, operation: str, now: float, rng: random.Random) -> bool:
        return _hits(self, operation, now, rng)

    def describe(self) -> str:
        return _window(self, f"reset ({self.when}) on {self.target.name}")


@attrs.frozen
class Blackhole:
    """Accept a matching request and never answer it, nor work on it (unlike a dropped
    ``lost_ack``, nothing is applied): the connection stays open, silent for that request,
    until the client gives up (a REST request is held at most ``WITHHELD_S`` of the REST
    app, then its connection is dropped). Toxiproxy calls it ``timeout``."""

    target: Target = attrs.field(factory=Target.orders)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "blackhole"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, operation: str, now: float, rng: random.Random) -> bool:
        return _hits(self, operation, now, rng)

    def describe(self) -> str:
        return _window(self, f"blackhole on {self.target.name}")


def _positive_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _non_negative_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be an integer >= 0, got {value!r}")


@attrs.frozen
class Bandwidth:
    """Limit matching answers and pushed messages to ``rate`` bytes per second: each is
    written ``size / rate`` seconds late, after whatever its connection was writing before
    it (in order, as through a narrow pipe: a burst queues up)."""

    rate: int = attrs.field(validator=_positive_int)
    target: Target = attrs.field(factory=Target.all)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "bandwidth"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, traffic: str, now: float, rng: random.Random) -> bool:
        """Whether it slows ``traffic`` (an operation, or :data:`MARKET_STREAM` /
        :data:`USER_STREAM`) at ``now`` (draws only when it could)."""
        return _shapes(self, traffic, now, rng)

    def describe(self) -> str:
        return _window(self, f"bandwidth {self.rate} B/s on {self.target.name}")


@attrs.frozen
class Slicer:
    """Split matching WebSocket messages into several frames (a text frame, then
    continuation frames) and REST answers' bodies into several chunks: pieces of ``size``
    bytes plus a uniform whole number of bytes in ``[-jitter, jitter]`` (at least 1), each
    after the previous one by ``delay`` seconds. A client must reassemble them."""

    size: int = attrs.field(validator=_positive_int)
    jitter: int = attrs.field(default=0, validator=_non_negative_int)
    delay: float = attrs.field(default=0.0, validator=_non_negative)
    target: Target = attrs.field(factory=Target.all)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "slicer"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, traffic: str, now: float, rng: random.Random) -> bool:
        """As :meth:`Bandwidth.hits`."""
        return _shapes(self, traffic, now, rng)

    def pieces(self, length: int, rng: random.Random) -> tuple[int, ...]:
        """The sizes of the pieces a message of ``length`` bytes is cut into (they add up
        to ``length``; one draw per piece when ``jitter`` is set)."""
        sizes: list[int] = []
        left = length
        while left > 0:
            size = self.size
            if self.jitter > 0:
                size = max(1, size + rng.randint(-self.jitter, self.jitter))
            size = min(size, left)
            sizes.append(size)
            left -= size
        return tuple(sizes) or (0,)

    def describe(self) -> str:
        text = f"slicer {self.size} B"
        if self.jitter > 0:
            text += f" +- {self.jitter} B"
        if self.delay > 0:
            text += f" every {self.delay * 1000:g} ms"
        return _window(self, f"{text} on {self.target.name}")


def _shapes(fault: Bandwidth | Slicer, traffic: str, now: float, rng: random.Random) -> bool:
    if not _matches_traffic(fault.target, traffic) or not fault.active(now):
        return False
    return fault.probability >= 1 or rng.random() < fault.probability


@attrs.frozen
class Delivery:
    """How one answer or pushed message is written (the transport faults' decision):
    ``sizes[i]`` bytes (characters of its JSON text) after waiting ``waits[i]`` seconds,
    piece by piece; one piece is the whole message, written late."""

    sizes: tuple[int, ...]
    waits: tuple[float, ...]
    #: The kinds that shaped it: ``("bandwidth",)``, ``("slicer",)`` or both.
    kinds: tuple[str, ...] = ()

    @property
    def total_wait(self) -> float:
        return sum(self.waits)

    def describe(self) -> str:
        """``812 B in 4 pieces over 0.406 s`` (a fault entry's detail)."""
        pieces = len(self.sizes)
        plural = "piece" if pieces == 1 else "pieces"
        return f"{sum(self.sizes)} B in {pieces} {plural} over {self.total_wait:.3f} s"


def delivery_for(
    faults: Iterable[Fault], traffic: str, length: int, now: float, rng: random.Random
) -> Delivery | None:
    """How a message of ``length`` bytes of ``traffic`` is written at ``now`` under the
    bandwidth and slicer faults among ``faults`` (None: at once, whole). The narrowest
    bandwidth that hits it paces it; the first slicer that hits it cuts it, each piece after
    the slicer's ``delay``."""
    rate: int | None = None
    slicer: Slicer | None = None
    for fault in faults:
        if isinstance(fault, Bandwidth) and fault.hits(traffic, now, rng):
            rate = fault.rate if rate is None else min(rate, fault.rate)
        elif isinstance(fault, Slicer) and slicer is None and fault.hits(traffic, now, rng):
            slicer = fault
    if rate is None and slicer is None:
        return None
    sizes = (length,) if slicer is None else slicer.pieces(length, rng)
    gap = 0.0 if slicer is None else slicer.delay
    waits = tuple(
        (gap if i > 0 else 0.0) + (0.0 if rate is None else size / rate)
        for i, size in enumerate(sizes)
    )
    kinds = tuple(k for k, hit in (("bandwidth", rate), ("slicer", slicer)) if hit is not None)
    return Delivery(sizes, waits, kinds)


#: The faults that answer (or not) instead of the exchange: :meth:`FaultPlan.strike`'s.
STRIKING = (Error, LostAck, Reset, Blackhole)
#: The faults that change how answers and pushed messages are written.
SHAPING = (Bandwidth, Slicer)

# ---- exchange-behaviour faults (the chaos harness's venue misbehaving on its own terms) ------


def _symbols(names: Iterable[str] | None) -> frozenset[str] | None:
    return None if names is None else frozenset(names)


def _positive_limit(
    instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and (isinstance(value, bool) or value < 1):
        raise ValueError(f"{attribute.name} must be an integer >= 1, got {value!r}")


def _finite(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{attribute.name} must be a finite number, got {value!r}")


def _span(start: float, duration: float | None) -> str:
    end = "the end" if duration is None else f"{start + duration:g} s"
    return f"from {start:g} s to {end}"


def _on(symbols: frozenset[str] | None) -> str:
    return "every symbol" if symbols is None else ", ".join(sorted(symbols))


@attrs.frozen
class RateLimit:
    """The venue's own rate limiter with lower limits while active: a client that keeps
    sending gets the real 429s (``Retry-After`` to the window's end) and, failing to back
    off, the real 418 ban. Each limit given replaces the exchange's if lower (None: the
    exchange's own)."""

    request_weight_per_minute: int | None = attrs.field(default=None, validator=_positive_limit)
    orders_per_10s: int | None = attrs.field(default=None, validator=_positive_limit)
    orders_per_day: int | None = attrs.field(default=None, validator=_positive_limit)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)

    kind: ClassVar[str] = "rate_limit"

    def __attrs_post_init__(self) -> None:
        if (self.request_weight_per_minute, self.orders_per_10s, self.orders_per_day) == (
            None,
            None,
            None,
        ):
            raise ValueError(
                "give at least one limit: request_weight_per_minute, orders_per_10s or "
                "orders_per_day"
            )

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def lower(self, limits: RateLimits) -> RateLimits:
        """``limits`` with this fault's lower ones in their place."""

        def low(own: int | None, base: int) -> int:
            return base if own is None else min(own, base)

        return attrs.evolve(
            limits,
            request_weight_per_minute=low(
                self.request_weight_per_minute, limits.request_weight_per_minute
            ),
            orders_per_10s=low(self.orders_per_10s, limits.orders_per_10s),
            orders_per_day=low(self.orders_per_day, limits.orders_per_day),
        )

    def describe(self) -> str:
        parts = [
            f"{value} {label}"
            for value, label in (
                (self.request_weight_per_minute, "weight/min"),
                (self.orders_per_10s, "orders/10 s"),
                (self.orders_per_day, "orders/day"),
            )
            if value is not None
        ]
        return f"rate limit {', '.join(parts)}, {_span(self.start, self.duration)}"


@attrs.frozen
class ClockSkew:
    """The exchange's clock steps by ``step`` seconds (negative: behind) and drifts by
    ``drift`` milliseconds per second while active, against the clients' (trio's clock is
    untouched: the offset is the venue's notion of server time, which it answers ``time``
    with and checks signed requests' ``timestamp`` against, so a client that does not
    resync gets -1021)."""

    step: float = attrs.field(default=0.0, validator=_finite)
    drift: float = attrs.field(default=0.0, validator=_finite)
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)

    kind: ClassVar[str] = "clock_skew"

    def __attrs_post_init__(self) -> None:
        if self.step == 0 and self.drift == 0:
            raise ValueError("give a step (seconds) or a drift (ms per second), or both")

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def offset_ms(self, now: float) -> int:
        """How far the exchange's clock is ahead of the clients' at ``now`` (0: inactive)."""
        if not self.active(now):
            return 0
        return round(self.step * 1000 + self.drift * (now - self.start))

    def describe(self) -> str:
        parts = []
        if self.step:
            parts.append(f"step {self.step * 1000:+g} ms")
        if self.drift:
            parts.append(f"drift {self.drift:+g} ms/s")
        return f"clock skew {' '.join(parts)}, {_span(self.start, self.duration)}"


#: The symbol statuses a maintenance puts its symbols in.
MAINTENANCE_STATUSES = ("BREAK", "HALT")


@attrs.frozen
class Maintenance:
    """The venue goes into maintenance while active: its ``symbols`` (None: all) take
    ``status`` (``BREAK``: new orders refused -1013 "Market is closed.", resting orders
    expired; ``HALT``: refused, resting orders left), and at the start every WebSocket
    connection is sent ``serverShutdown`` and closed (``shutdown``); at the end (or the
    heal) the symbols are TRADING again."""

    status: str = attrs.field(default="BREAK")
    symbols: frozenset[str] | None = attrs.field(default=None, converter=_symbols)
    shutdown: bool = True
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)

    kind: ClassVar[str] = "maintenance"

    @status.validator
    def _known_status(self, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in MAINTENANCE_STATUSES:
            raise ValueError(f"status must be one of {list(MAINTENANCE_STATUSES)}, got {value!r}")

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def covers(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols

    def describe(self) -> str:
        text = f"maintenance ({self.status}) on {_on(self.symbols)}"
        if not self.shutdown:
            text += ", connections kept"
        return f"{text}, {_span(self.start, self.duration)}"


@attrs.frozen
class FlashMove:
    """At ``start`` the market's reference price of its ``symbols`` (None: all) jumps by
    ``percent`` (negative: down); the background makers requote around the new price at
    once, so quotes left at the old one are run over."""

    percent: float = attrs.field()
    symbols: frozenset[str] | None = attrs.field(default=None, converter=_symbols)
    start: float = attrs.field(default=0.0, validator=_non_negative)

    kind: ClassVar[str] = "flash_move"

    @percent.validator
    def _sane(self, attribute: attrs.Attribute[float], value: float) -> None:
        if not (math.isfinite(value) and value != 0 and -90 <= value <= 1000):
            raise ValueError(f"percent must be non-zero, within -90..1000, got {value!r}")

    def covers(self, symbol: str) -> bool:
        return self.symbols is None or symbol in self.symbols

    def describe(self) -> str:
        return f"flash move {self.percent:+g}% on {_on(self.symbols)} at {self.start:g} s"


#: The operations a ``fill_before_ack`` can strike (a placement that may rest).
FILL_BEFORE_ACK_OPERATIONS = frozenset({"order.place"})
#: The operations a ``cancel_fill_race`` can strike (those that cancel a named order).
CANCEL_FILL_RACE_OPERATIONS = frozenset({"order.cancel", "order.cancelReplace"})


@attrs.frozen
class FillBeforeAck:
    """For matching placements: the order is placed, a taker fills it at once (the fill's
    execution report goes out on the user stream), and the placement's answer is held
    ``delay`` seconds after that, so the client learns of the fill before the ack."""

    delay: float = attrs.field(default=0.5, validator=_non_negative)
    target: Target = attrs.field(factory=lambda: Target.named("order.place"))
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "fill_before_ack"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, operation: str, now: float, rng: random.Random) -> bool:
        if operation not in FILL_BEFORE_ACK_OPERATIONS:
            return False
        return _hits(self, operation, now, rng)

    def describe(self) -> str:
        text = f"fill before ack (+{self.delay * 1000:g} ms) on {self.target.name}"
        return _window(self, text)


@attrs.frozen
class CancelFillRace:
    """For matching cancels (``order.cancel``, ``order.cancelReplace``): a taker fills the
    order first, then the cancel is worked on and answered as the venue answers a cancel
    of a filled order (-2011 "Unknown order sent."; a cancel-replace's -2022)."""

    target: Target = attrs.field(factory=lambda: Target.named(*CANCEL_FILL_RACE_OPERATIONS))
    start: float = attrs.field(default=0.0, validator=_non_negative)
    duration: float | None = attrs.field(default=None, validator=_duration)
    probability: float = attrs.field(default=1.0, validator=_probability)

    kind: ClassVar[str] = "cancel_fill_race"

    def active(self, now: float) -> bool:
        return _active(self.start, self.duration, now)

    def hits(self, operation: str, now: float, rng: random.Random) -> bool:
        if operation not in CANCEL_FILL_RACE_OPERATIONS:
            return False
        return _hits(self, operation, now, rng)

    def describe(self) -> str:
        return _window(self, f"cancel/fill race on {self.target.name}")


#: Every kind of fault a plan can hold (the chaos harness adds kinds here).
Fault = (
    Latency
    | Error
    | LostAck
    | WsDrop
    | WsStall
    | SeqGap
    | WsDupReorder
    | PacketLoss
    | StaleSnapshot
    | Reset
    | Blackhole
    | Bandwidth
    | Slicer
    | RateLimit
    | ClockSkew
    | Maintenance
    | FlashMove
    | FillBeforeAck
    | CancelFillRace
)
#: The per-request kinds that decide with :func:`_hits`, and those :func:`_window` describes.
_Striking = Error | LostAck | Reset | Blackhole | FillBeforeAck | CancelFillRace
_Windowed = (
    Error | LostAck | Reset | Blackhole | Bandwidth | Slicer | FillBeforeAck | CancelFillRace
)


#: The kinds the exchange acts on at their own times, not only when a request comes.
_SCHEDULED = (Maintenance, FlashMove, RateLimit, ClockSkew)


@attrs.frozen
class FaultPlan:
    """The faults the exchange injects (empty: none; see the module docstring)."""

    faults: tuple[Fault, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.faults)

    def delay_for(self, operation: str, now: float, rng: random.Random) -> float:
        """Seconds to hold a request of ``operation`` at ``now``: the sum over the latency
        faults that hit it (0.0 when none does)."""
        total = 0.0
        for fault in self.faults:
            if isinstance(fault, Latency):
                total += fault.delay_for(operation, now, rng)
        return total

    def strike(
        self, operation: str, now: float, rng: random.Random
    ) -> Error | LostAck | Reset | Blackhole | None:
        """The error, lost answer, reset or black hole that strikes a request of
        ``operation`` arriving at ``now`` (the first in the plan's order that hits it), or
        None."""
        for fault in self.faults:
            if isinstance(fault, STRIKING) and fault.hits(operation, now, rng):
                return fault
        return None

    @property
    def strikes(self) -> bool:
        """Whether the plan holds any fault :meth:`strike` may answer (else it is always
        None and need not be asked)."""
        return any(isinstance(f, STRIKING) for f in self.faults)

    def delivery(
        self, traffic: str, length: int, now: float, rng: random.Random
    ) -> Delivery | None:
        """How a message of ``length`` bytes of ``traffic`` (an operation's answer, or
        :data:`MARKET_STREAM` / :data:`USER_STREAM`) is written at ``now``: the bandwidth
        and slicer faults' :func:`delivery_for` (None: at once, whole)."""
        return delivery_for(self.faults, traffic, length, now, rng)

    @property
    def shapes(self) -> bool:
        """Whether the plan holds a bandwidth or slicer fault (else :meth:`delivery` is
        always None and need not be asked)."""
        return any(isinstance(f, SHAPING) for f in self.faults)

    def describe(self) -> str:
        """One line per fault, for a banner ("none" for an empty plan)."""
        return "; ".join(f.describe() for f in self.faults) or "none"

    @classmethod
    def order_latency(cls, delay: float, jitter: float = 0.0) -> FaultPlan:
        """``delay`` + uniform(0, ``jitter``) seconds on every order request (empty if both
        are 0): what ``mmbot exchange serve --order-latency`` builds."""
        if delay == 0 and jitter == 0:
            return cls()
        return cls((Latency(delay, jitter, Target.orders()),))

    # ---- stream faults ---------------------------------------------------------------

    @property
    def stream_faults(self) -> tuple[StreamFault, ...]:
        """The plan's stream faults (empty: the exchange's stream paths need not ask)."""
        return tuple(f for f in self.faults if isinstance(f, STREAM_FAULTS))

    def next_stream_instant(self, after: float) -> float | None:
        """The first time after ``after`` at which a stream fault acts on connections (a
        drop, a stall starting or ending, held messages released), or None."""
        times: list[float] = []
        for fault in self.faults:
            if isinstance(fault, WsDrop):
                at = fault.instants(after)
                if at is not None:
                    times.append(at)
            elif isinstance(fault, WsStall):
                times += [t for t in (fault.start, fault.end) if t > after]
            elif isinstance(fault, WsDupReorder) and fault.end > after:
                times.append(fault.end)
        return min(times, default=None)

    def drops_at(self, now: float) -> tuple[WsDrop, ...]:
        """The drops due at ``now`` (one of :meth:`next_stream_instant`'s instants)."""
        return tuple(f for f in self.faults if isinstance(f, WsDrop) and f.strikes_at(now))

    def stalls_from(self, now: float) -> tuple[WsStall, ...]:
        """The stalls starting at ``now``."""
        return tuple(
            f
            for f in self.faults
            if isinstance(f, WsStall) and f.active(now) and math.isclose(f.start, now, abs_tol=1e-9)
        )

    def active_connection_faults(self, now: float) -> tuple[WsDrop | WsStall, ...]:
        """The drops and stalls active at ``now`` (what a plan set at ``now`` applies at once)."""
        return tuple(f for f in self.faults if isinstance(f, WsDrop | WsStall) and f.active(now))

    def dup_reorder_ends(self, now: float) -> bool:
        """Whether a duplication / reordering ends at ``now`` (its held messages go out)."""
        return any(
            isinstance(f, WsDupReorder) and math.isclose(f.end, now, abs_tol=1e-9)
            for f in self.faults
        )

    def drops_diff(self, symbol: str, now: float, rng: random.Random) -> SeqGap | None:
        """The sequence gap that swallows ``symbol``'s depth diff at ``now``, or None."""
        for fault in self.faults:
            if isinstance(fault, SeqGap) and fault.hits(symbol, now, rng):
                return fault
        return None

    def loss(self, stream_class: str, symbol: str | None, now: float) -> PacketLoss | None:
        """The packet loss acting on a message of ``stream_class`` about ``symbol``."""
        for fault in self.faults:
            if isinstance(fault, PacketLoss) and fault.matches(stream_class, symbol, now):
                return fault
        return None

    def dup_reorder(self, stream_class: str, symbol: str | None, now: float) -> WsDupReorder | None:
        """The duplication / reordering acting on a message of ``stream_class``."""
        for fault in self.faults:
            if isinstance(fault, WsDupReorder) and fault.matches(stream_class, symbol, now):
                return fault
        return None

    def stale_snapshot(self, symbol: str, now: float, rng: random.Random) -> StaleSnapshot | None:
        """The stale snapshot that answers a ``depth`` request of ``symbol`` at ``now``."""
        for fault in self.faults:
            if isinstance(fault, StaleSnapshot) and fault.hits(symbol, now, rng):
                return fault
        return None

    # ---- exchange-behaviour faults ------------------------------------------------------

    def rate_limits(self, limits: RateLimits, now: float) -> RateLimits:
        """``limits`` lowered by every ``rate_limit`` fault active at ``now``."""
        for fault in self.faults:
            if isinstance(fault, RateLimit) and fault.active(now):
                limits = fault.lower(limits)
        return limits

    def clock_offset_ms(self, now: float) -> int:
        """How far the exchange's clock is ahead of the clients' at ``now``: the sum over
        the active ``clock_skew`` faults (0 when none)."""
        return sum(f.offset_ms(now) for f in self.faults if isinstance(f, ClockSkew))

    def maintenance(self, symbol: str, now: float) -> Maintenance | None:
        """The ``maintenance`` fault holding ``symbol`` at ``now`` (the first), or None."""
        for fault in self.faults:
            if isinstance(fault, Maintenance) and fault.active(now) and fault.covers(symbol):
                return fault
        return None

    def flash_moves(self) -> tuple[FlashMove, ...]:
        return tuple(f for f in self.faults if isinstance(f, FlashMove))

    def fill_before_ack(
        self, operation: str, now: float, rng: random.Random
    ) -> FillBeforeAck | None:
        """The ``fill_before_ack`` fault striking a request of ``operation`` (the first)."""
        for fault in self.faults:
            if isinstance(fault, FillBeforeAck) and fault.hits(operation, now, rng):
                return fault
        return None

    def cancel_fill_race(
        self, operation: str, now: float, rng: random.Random
    ) -> CancelFillRace | None:
        """The ``cancel_fill_race`` fault striking a request of ``operation`` (the first)."""
        for fault in self.faults:
            if isinstance(fault, CancelFillRace) and fault.hits(operation, now, rng):
                return fault
        return None

    @property
    def races(self) -> bool:
        """Whether the plan holds a ``fill_before_ack`` or ``cancel_fill_race`` fault."""
        return any(isinstance(f, FillBeforeAck | CancelFillRace) for f in self.faults)

    @property
    def scheduled(self) -> bool:
        """Whether the plan holds a fault that acts on its own time, not on a request
        (``maintenance``, ``flash_move``) or whose start and end the exchange records as
        they happen (``rate_limit``, ``clock_skew``): it wakes for :meth:`next_change`."""
        return any(isinstance(f, _SCHEDULED) for f in self.faults)

    def next_change(self, now: float) -> float | None:
        """The earliest time after ``now`` a scheduled fault starts or ends (None: none)."""
        times: list[float] = []
        for fault in self.faults:
            if isinstance(fault, Maintenance | RateLimit | ClockSkew):
                times.append(fault.start)
                if fault.duration is not None:
                    times.append(fault.start + fault.duration)
            elif isinstance(fault, FlashMove):
                times.append(fault.start)
        later = [t for t in times if t > now]
        return min(later) if later else None
