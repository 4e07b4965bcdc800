"""The quote pipeline: pure stages over frozen inputs, each adding what it decides (sans-IO).

What it is for: one quote decision, in three kinds of value and one runner.

- :class:`QuoteInputs`: what the decision is about (symbol, instrument, ``now``, book,
  parameters, position, recent trades, open orders, risk flags, free balances). Frozen:
  the shell builds it once per decision and nothing copies or changes it.
- :class:`Decision`: what the stages have worked out so far (fair value, volatility,
  taker intensity, half-spread, reservation price, draft quotes, the final
  :class:`~mmbot.model.QuoteSet` or the reason quotes were pulled) and the filter state,
  starting from the state the last decision left. One per decision, written only by the
  runner; the pipeline's result.
- The stage outputs: a stage returns only what it decides, as one small value
  (:class:`FairValue`, :class:`Volatility`, :class:`Intensity`, :class:`HalfSpread`,
  :class:`Reservation`, :class:`Drafts`, the final ``QuoteSet``), :class:`Pull` to stop
  quoting, or None to change nothing.

A stage is a pure function ``(inputs, so_far) -> output | None`` (:data:`Stage`): it reads
its two arguments and writes neither. :class:`QuotePipeline` runs the stages in order,
writes each output into the decision (:func:`apply_output`: the output's fields go to the
decision's fields of the same names; a field given as None leaves the decision's value as
it was), times each stage (its output written in) with the timer the caller passes in (the
shell passes ``time.perf_counter_ns``), and stops at the first :class:`Pull`. Nothing is
copied per stage: the inputs are shared, and each output is a value of one or two fields.

What it must never do: read a clock, do I/O, copy the inputs or the decision per stage,
or keep state between decisions. Stateful signals (EWMAs) carry their state in the
decision: the shell passes the state the last decision left to :meth:`QuotePipeline.run`,
a stage reads ``so_far.state`` and returns the updated state in its output, and the shell
keeps the result's ``state`` for the next one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

import attrs

from mmbot.model import ZERO, BookSnapshot, Instrument, Order, QuoteSet, Side
from mmbot.quoting.params import StrategyConfig

# -- the values a decision is made of -----------------------------------------------------


class TradeTick(NamedTuple):
    """One public trade on the symbol: trio time (s), price, quantity, aggressor side."""

    time: float
    price: Decimal
    qty: Decimal
    side: Side


class DraftQuote(NamedTuple):
    """A quote before rounding: float price and size (strategy math), slot (side, level)."""

    side: Side
    level: int
    price: float
    qty: float


class EwmaState(NamedTuple):
    """A time-decayed average: its value and the time it was last updated."""

    value: float
    time: float


class VarianceState(NamedTuple):
    """Decayed sums of squared returns and elapsed seconds since the last observed price.

    Variance per second is ``sum_r2 / sum_dt`` (with a prior, see the volatility stage).
    """

    last_price: float
    last_time: float
    sum_r2: float = 0.0
    sum_dt: float = 0.0


class DepthCounts(NamedTuple):
    """Public trades counted by their distance from the mid, and the fit made of them.

    ``counts[j]``: trades at ``bucket_bps * j <= delta < bucket_bps * (j + 1)`` (the last
    bucket also holds every farther trade), each weighted ``exp((t - ref) / window)``: a
    count decays with time without being touched, ``count * exp(-(now - ref) / window)``
    being its weight at ``now`` (the calibration stage). ``total`` is their sum, and
    ``unfitted`` the part of it folded since the last fit. The fit
    ``C(delta) = c0_share * total * exp(-k * delta)`` of the cumulative counts (``r2``: its
    weighted R^2, ``points``: the distances it used) has ``c0_share``, ``k`` and ``r2`` None
    until ``points`` reached the configured minimum.
    """

    ref: float  # the time the weights are relative to (s)
    last_trade_time: float  # the newest trade folded (older ones are skipped as late)
    counts: tuple[float, ...]
    total: float
    unfitted: float = 0.0
    points: int = 0
    c0_share: float | None = None  # the fitted count at delta = 0, as a share of ``total``
    k: float | None = None  # per bps
    r2: float | None = None


class AdverseMoves(NamedTuple):
    """How far the mid moved in each taker's direction ``horizon`` seconds after its trade
    (bps of the mid before it): the trades still waiting for their horizon, and the
    time-decayed sum and weight of the moves measured (decayed to ``time``)."""

    pending: tuple[tuple[float, float, float], ...] = ()  # (time, +1 buy / -1 sell, mid)
    time: float = 0.0
    moves: float = 0.0  # decayed sum of the moves, bps
    weight: float = 0.0  # decayed number of them


class CalibrationState(NamedTuple):
    """The calibration stage's state: the mid the next trades are measured against, the
    time exposure started, the counted trades (a new ``depths`` only when one is folded),
    and the takers' adverse moves."""

    last_mid: float
    start: float  # seconds: the elapsed time is measured from here
    depths: DepthCounts
    adverse: AdverseMoves = AdverseMoves()


class StrategyState(NamedTuple):
    """The filter state the stateful stages carry from one decision to the next."""

    fair_value: EwmaState | None = None
    mid_variance: VarianceState | None = None
    trade_variance: VarianceState | None = None
    calibration: CalibrationState | None = None


class IntensityFit(NamedTuple):
    """The taker arrival intensity ``lambda(delta) = a * exp(-k * delta)`` at one decision.

    ``a``: trades per second at any distance (``delta = 0``), ``k`` per bps of distance,
    ``r2`` the fit's (weighted) R^2: None while there is no fit. ``trades``: the effective
    (time-decayed) number of trades behind it. ``fallback_reason`` is ``"code: detail"``
    when the fit must not be used (too few trades, a poor fit, ``k`` out of bounds): the
    spread and skew stages then use their configured values. None: the fit is usable.
    """

    a: float | None
    k: float | None
    r2: float | None
    trades: float
    fallback_reason: str | None = None
    #: The mean move of the mid in the takers' direction ``calibration.adverse_horizon``
    #: seconds after their trades (bps): what a maker filled by them loses to what they
    #: knew. None until ``min_trades`` (decayed) moves were measured, or with no horizon.
    adverse_bps: float | None = None

    @property
    def usable(self) -> bool:
        return self.fallback_reason is None


@attrs.frozen
class RiskFlags:
    """What the risk layer says about this symbol now (from the risk module and the shell).

    ``halt_reason`` is why quoting is halted for this symbol (``RiskDecision.halt_reason``),
    or None; ``breaker_open``: an order breaker is open; ``kill_switch``: an operator's
    stop-everything switch, checked before anything else.
    """

    halt_reason: str | None = None
    breaker_open: bool = False
    kill_switch: bool = False


FRESH_STATE = StrategyState()
NO_RISK = RiskFlags()


@attrs.frozen
class QuoteInputs:
    """What one quote decision is about: given once by the shell, read by every stage."""

    symbol: str
    instrument: Instrument
    now: float  # trio time, seconds
    book: BookSnapshot
    params: StrategyConfig
    position: Decimal = ZERO  # base units, signed
    # Recent public trades, oldest first. Windows may overlap between decisions: trades at
    # or before the last one folded (``state.trade_variance.last_time``) are skipped.
    trades: tuple[TradeTick, ...] = ()
    open_orders: tuple[Order, ...] = ()
    risk: RiskFlags = NO_RISK
    base_free: Decimal | None = None  # base balance available to sell (None: no limit)
    quote_free: Decimal | None = None  # quote balance available to buy (None: no limit)


@attrs.define
class Decision:
    """What the stages have decided so far, in the order they usually decide it.

    :meth:`QuotePipeline.run` makes one per decision and writes each stage's output into
    it; a stage only reads it (and returns its own output). It is mutable on purpose, the
    one mutable value here: writing a stage's output into the decision of the run replaces
    the frozen ~20-field context the pipeline used to copy seven times per decision (a
    property test checks that no built-in stage writes it). Prices are floats (strategy
    math); only ``quotes`` holds exact money. Units: ``volatility`` in bps of price per
    sqrt(second); ``intensity`` the calibration stage's :class:`IntensityFit` (``a`` per
    second, ``k`` per bps); ``half_spread_bps`` in bps of the reservation price; ``fair_value`` and
    ``reservation`` in quote currency per base. After a run, ``quotes`` is always set: the
    rounding stage's quotes, or, when a stage pulled, ``QuoteSet(symbol, reason=pulled)``.
    """

    # Invariant: only QuotePipeline.run and apply_output write these fields.
    state: StrategyState = FRESH_STATE  # in: the last decision's; out: the next one's
    fair_value: float | None = None
    volatility: float | None = None
    intensity: IntensityFit | None = None
    half_spread_bps: float | None = None
    reservation: float | None = None
    drafts: tuple[DraftQuote, ...] = ()
    quotes: QuoteSet | None = None
    pulled: str | None = None  # "code: detail" when quotes are pulled


# -- what a stage returns -------------------------------------------------------------------


class FairValue(NamedTuple):
    """The price the quotes are centred on; ``state``: the filters after this stage."""

    fair_value: float
    state: StrategyState | None = None  # None: the state is unchanged


class Volatility(NamedTuple):
    """Volatility in bps per sqrt(second); ``state``: the filters after this stage."""

    volatility: float
    state: StrategyState | None = None  # None: the state is unchanged


class Intensity(NamedTuple):
    """The fitted taker intensity; ``state``: the filters after this stage."""

    intensity: IntensityFit
    state: StrategyState | None = None  # None: the state is unchanged


class HalfSpread(NamedTuple):
    """The half-spread each side is quoted at, in bps of the reservation price."""

    half_spread_bps: float


class Reservation(NamedTuple):
    """The price both sides are quoted around, and the price it was moved from."""

    reservation: float
    fair_value: float | None = None  # None: the decision's fair value stands


class Drafts(NamedTuple):
    """Float quotes, inside level first on each side, for the rounding stage."""

    drafts: tuple[DraftQuote, ...]


class Pull(NamedTuple):
    """No quotes: ``reason`` is ``"code: detail"``. The pipeline stops at this stage."""

    reason: str


#: What a stage may return (None: it changes nothing).
StageOutput = (
    FairValue | Volatility | Intensity | HalfSpread | Reservation | Drafts | QuoteSet | Pull
)

#: A stage: a pure function of the inputs and the decision so far, returning what it decides.
Stage = Callable[[QuoteInputs, Decision], StageOutput | None]


def pull_code(reason: str) -> str:
    """The stable code at the front of a pull reason ("book_stale: age 3 s" -> "book_stale")."""
    return reason.partition(":")[0]


# -- writing an output into the decision ---------------------------------------------------
# One writer per output type: the output's fields go to the decision's fields of the same
# names; a field given as None leaves the decision's value as it was.


def _write_fair_value(decision: Decision, output: FairValue) -> None:
    decision.fair_value = output.fair_value
    if output.state is not None:
        decision.state = output.state


def _write_volatility(decision: Decision, output: Volatility) -> None:
    decision.volatility = output.volatility
    if output.state is not None:
        decision.state = output.state


def _write_intensity(decision: Decision, output: Intensity) -> None:
    decision.intensity = output.intensity
    if output.state is not None:
        decision.state = output.state


def _write_half_spread(decision: Decision, output: HalfSpread) -> None:
    decision.half_spread_bps = output.half_spread_bps


def _write_reservation(decision: Decision, output: Reservation) -> None:
    decision.reservation = output.reservation
    if output.fair_value is not None:
        decision.fair_value = output.fair_value


def _write_drafts(decision: Decision, output: Drafts) -> None:
    decision.drafts = output.drafts


def _write_quotes(decision: Decision, output: QuoteSet) -> None:
    decision.quotes = output


_WRITERS: dict[type[Any], Callable[[Decision, Any], None]] = {
    FairValue: _write_fair_value,
    Volatility: _write_volatility,
    Intensity: _write_intensity,
    HalfSpread: _write_half_spread,
    Reservation: _write_reservation,
    Drafts: _write_drafts,
    QuoteSet: _write_quotes,
}


def _write_pull(decision: Decision, symbol: str, reason: str) -> None:
    decision.pulled = reason
    decision.quotes = QuoteSet(symbol, reason=reason)
    decision.drafts = ()


def apply_output(decision: Decision, output: StageOutput | None, symbol: str) -> bool:
    """Write a stage's ``output`` into ``decision``, as the pipeline does; True on a pull.

    For tests of a stage in a chain: ``apply_output(so_far, my_stage(inputs, so_far),
    inputs.symbol)`` leaves ``so_far`` as the next stage would see it.
    """
    if output is None:
        return False
    if type(output) is Pull:
        _write_pull(decision, symbol, output.reason)
        return True
    write = _WRITERS.get(type(output))
    if write is None:
        raise TypeError(f"not a stage output: {type(output).__name__}")
    write(decision, output)
    return False


# -- the runner -------------------------------------------------------------------------------


@attrs.frozen
class StageTimings:
    """How long each stage that ran took, in nanoseconds, in pipeline order.

    Stages after a pull did not run and are absent.
    """

    names: tuple[str, ...]
    durations_ns: tuple[int, ...]

    @property
    def total_ns(self) -> int:
        return sum(self.durations_ns)

    def items(self) -> Iterator[tuple[str, int]]:
        return zip(self.names, self.durations_ns, strict=True)

    def seconds(self) -> dict[str, float]:
        """Per-stage seconds (the unit of ``mmbot_stage_seconds``)."""
        return {name: ns / 1e9 for name, ns in self.items()}


class QuotePipeline:
    """An ordered list of stages; ``run`` applies them and times each one.

    Short-circuit rule: after a stage returns :class:`Pull`, no further stage runs; the
    returned decision carries ``pulled`` and ``quotes == QuoteSet(symbol, reason=...)``.
    """

    __slots__ = ("_stages", "names")

    def __init__(self, stages: Sequence[Stage], names: Sequence[str] | None = None) -> None:
        if names is None:
            names = [getattr(s, "__name__", repr(s)) for s in stages]
        if len(names) != len(stages):
            raise ValueError("one name per stage")
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique: {list(names)}")
        self._stages: tuple[Stage, ...] = tuple(stages)
        self.names: tuple[str, ...] = tuple(names)

    def __repr__(self) -> str:
        return f"QuotePipeline({list(self.names)!r})"

    def run(
        self,
        inputs: QuoteInputs,
        timer: Callable[[], int],
        state: StrategyState = FRESH_STATE,
    ) -> tuple[Decision, StageTimings]:
        """Decide on ``inputs``, starting from the filter ``state`` the last decision left.

        ``timer`` returns nanoseconds (``perf_counter_ns``); each stage's time includes
        writing its output into the decision.
        """
        decision = Decision(state)
        writers = _WRITERS
        reads: list[int] = []  # timer reads: stage i ran between reads i and i + 1
        read = reads.append
        read(timer())
        for stage in self._stages:
            output = stage(inputs, decision)
            if output is not None:
                write = writers.get(type(output))
                if write is not None:
                    write(decision, output)
                elif type(output) is Pull:
                    _write_pull(decision, inputs.symbol, output.reason)
                    read(timer())
                    break
                else:
                    name = self.names[len(reads) - 1]
                    raise TypeError(
                        f"stage {name!r} returned {type(output).__name__}, not a stage output"
                        " (FairValue, Volatility, Intensity, HalfSpread, Reservation, Drafts,"
                        " QuoteSet, Pull or None)"
                    )
            read(timer())
        if decision.quotes is None:  # no stage made quotes: the decision is "none"
            decision.quotes = QuoteSet(inputs.symbol)
        ran = len(reads) - 1
        durations = tuple([reads[i + 1] - reads[i] for i in range(ran)])
        names = self.names if ran == len(self._stages) else self.names[:ran]
        return decision, StageTimings(names, durations)
