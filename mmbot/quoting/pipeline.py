"""The quote pipeline: an ordered list of pure stages over one frozen context (sans-IO).

What it is for: :class:`QuoteContext` carries one quote decision's inputs (book, recent
trades, position, open orders, risk flags, parameters, ``now``, filter state) and the
stages' outputs (fair value, volatility, half-spread, reservation price, draft quotes, the
final :class:`~mmbot.model.QuoteSet` or the reason quotes were pulled).
:class:`QuotePipeline` runs the stages in order, timing each with a timer the caller
passes in (the shell passes ``time.perf_counter_ns``), and stops at the first stage that
pulls quotes. :func:`evolve` (any fields) and :func:`replacer` (a fixed set, for stages)
copy a context for a stage's output far cheaper than ``attrs.evolve``, with the same value.

What it must never do: read a clock, do I/O, or keep state between decisions. Stateful
signals (EWMAs) carry their state in ``ctx.state``: the state a decision starts from goes
in, the state after it comes out on the returned context, and the shell keeps it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from mmbot.model import ZERO, BookSnapshot, Instrument, Order, QuoteSet, Side

if TYPE_CHECKING:
    from mmbot.quoting.params import StrategyConfig


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


class StrategyState(NamedTuple):
    """The filter state the stateful stages carry from one decision to the next."""

    fair_value: EwmaState | None = None
    mid_variance: VarianceState | None = None
    trade_variance: VarianceState | None = None


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


_FRESH_STATE = StrategyState()
_NO_RISK = RiskFlags()


@attrs.frozen(slots=False)  # dict-backed: see ``evolve`` below
class QuoteContext:
    """One quote decision: inputs first, then what the stages have worked out so far.

    Prices in the outputs are floats (strategy math); only ``quotes`` holds exact money.
    Units: ``volatility`` in bps of price per sqrt(second); ``half_spread_bps`` in bps of
    the reservation price; ``fair_value`` and ``reservation`` in quote currency per base.
    """

    # inputs
    symbol: str
    instrument: Instrument
    now: float  # trio time, seconds
    book: BookSnapshot
    params: StrategyConfig
    state: StrategyState = _FRESH_STATE  # in: the last decision's; out: the next one's
    position: Decimal = ZERO  # base units, signed
    # Recent public trades, oldest first. Windows may overlap between decisions: trades at
    # or before the last one folded (``state.trade_variance.last_time``) are skipped.
    trades: tuple[TradeTick, ...] = ()
    open_orders: tuple[Order, ...] = ()
    risk: RiskFlags = _NO_RISK
    base_free: Decimal | None = None  # base balance available to sell (None: no limit)
    quote_free: Decimal | None = None  # quote balance available to buy (None: no limit)
    # outputs
    fair_value: float | None = None
    volatility: float | None = None
    half_spread_bps: float | None = None
    reservation: float | None = None
    drafts: tuple[DraftQuote, ...] = ()
    quotes: QuoteSet | None = None
    pulled: str | None = None  # "code: detail" when quotes are pulled

    def pull(self, reason: str) -> QuoteContext:
        """This decision becomes "no quotes", with ``reason`` (pipeline stops here)."""
        return evolve(self, pulled=reason, quotes=QuoteSet(self.symbol, reason=reason), drafts=())

    @property
    def decision(self) -> QuoteSet:
        """The desired quotes (empty when no stage produced any)."""
        if self.quotes is not None:
            return self.quotes
        return QuoteSet(self.symbol, reason=self.pulled)


_CONTEXT_FIELDS = frozenset(field.name for field in attrs.fields(QuoteContext))
_N_FIELDS = len(_CONTEXT_FIELDS)


def evolve(ctx: QuoteContext, **changes: Any) -> QuoteContext:
    """A copy of ``ctx`` with fields changed: ``attrs.evolve`` semantics, ~5x cheaper.

    Every stage copies the context once per decision, and ``attrs.evolve`` walks the
    fields and calls ``__init__`` with keywords each time. The context is a dict-backed
    frozen class with no validators or converters, so a copy of its ``__dict__``, updated,
    becomes the new instance's ``__dict__`` and gives the same value (a test checks it
    against ``attrs.evolve``). A context's ``__dict__`` holds exactly its fields, so an
    unknown name shows as one key too many.
    """
    fields = ctx.__dict__.copy()
    fields.update(changes)
    if len(fields) != _N_FIELDS:
        raise TypeError(f"QuoteContext has no field {sorted(changes.keys() - _CONTEXT_FIELDS)}")
    new = _new_object(QuoteContext)
    _set_fields(new, fields)
    return new


def replacer(*names: str) -> Callable[..., QuoteContext]:
    """A function ``(ctx, *values) -> ctx`` that sets ``names`` to ``values``: a fixed evolve.

    For stages that set the same fields on every decision: the names are checked once,
    here, and each call skips building and checking a keyword dict (``evolve(ctx,
    volatility=v)`` is ``replacer("volatility")(ctx, v)``; a test checks they agree).
    """
    unknown = sorted(set(names) - _CONTEXT_FIELDS)
    if unknown or not names or len(set(names)) != len(names):
        raise TypeError(f"replacer needs distinct QuoteContext fields, got {list(names)}")
    if len(names) == 1:
        (name,) = names

        def replace_one(ctx: QuoteContext, value: Any) -> QuoteContext:
            fields = ctx.__dict__.copy()
            fields[name] = value
            new = _new_object(QuoteContext)
            _set_fields(new, fields)
            return new

        return replace_one
    if len(names) == 2:
        first, second = names

        def replace_two(ctx: QuoteContext, value: Any, other: Any) -> QuoteContext:
            fields = ctx.__dict__.copy()
            fields[first] = value
            fields[second] = other
            new = _new_object(QuoteContext)
            _set_fields(new, fields)
            return new

        return replace_two

    def replace(ctx: QuoteContext, *values: Any) -> QuoteContext:
        if len(values) != len(names):
            raise TypeError(f"expected {len(names)} values for {list(names)}, got {len(values)}")
        return evolve(ctx, **dict(zip(names, values, strict=True)))

    return replace


_new_object = object.__new__
#: Sets an instance's ``__dict__`` (the class's own descriptor: past the frozen class's
#: refusing ``__setattr__``, without ``object.__setattr__``'s look-up on each call).
_set_fields: Callable[[QuoteContext, dict[str, Any]], None] = vars(QuoteContext)["__dict__"].__set__


def pull_code(reason: str) -> str:
    """The stable code at the front of a pull reason ("book_stale: age 3 s" -> "book_stale")."""
    return reason.partition(":")[0]


#: A stage: a pure function from one context to the next.
Stage = Callable[[QuoteContext], QuoteContext]


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

    Short-circuit rule: after a stage returns a context with ``pulled`` set, no further
    stage runs; the returned context carries ``quotes == QuoteSet(symbol, reason=...)``.
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

    def run(self, ctx: QuoteContext, timer: Callable[[], int]) -> tuple[QuoteContext, StageTimings]:
        """Run the stages on ``ctx``; ``timer`` returns nanoseconds (perf_counter_ns)."""
        stages = self._stages
        reads: list[int] = []  # timer reads: stage i ran between reads i and i + 1
        read = reads.append
        context_type = QuoteContext
        read(timer())
        for stage in stages:
            ctx = stage(ctx)
            read(timer())
            if type(ctx) is not context_type:
                name = self.names[len(reads) - 2]
                raise TypeError(f"stage {name!r} returned {type(ctx).__name__}, not QuoteContext")
            if ctx.pulled is not None:
                break
        ran = len(reads) - 1
        durations = tuple([reads[i + 1] - reads[i] for i in range(ran)])
        names = self.names if ran == len(stages) else self.names[:ran]
        return ctx, StageTimings(names, durations)
