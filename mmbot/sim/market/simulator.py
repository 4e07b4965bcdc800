"""The fake exchange's seeded market: a moving reference, background makers, takers (sans-IO).

What it is for: making the fake exchange's books move and trade like a real venue's. Per
symbol it keeps a *reference price* (a random walk in ticks with occasional jumps), a
background maker account that keeps a ladder of depth around the reference, and Poisson
taker flow that sends aggressive IOC orders through the engine, so takers trade against
whatever rests in the book, the bot's orders included. A configurable share of takers is
*informed*: the next reference move is drawn in advance and they trade in its direction, so a
market maker's fills carry real adverse selection.

What it must never do: I/O, read a clock or create randomness (sans-IO core, DESIGN.md §2).
Time enters as ``now_ms`` and randomness as a ``random.Random`` passed in; same seed and same
calls give the same engine event sequence. Engine rejections (filters, balance, halts) are
counted, never raised.

Theory of operation: the background market acts on a time grid of ``time_step_ms``
(100 ms by default, the cadence of ``depth@100ms``): reference updates (nominally every
``reference_interval_ms``) and Poisson taker arrivals (nominal times at the configured
rate) each happen at the first grid time at or after their nominal time, so the rates are
exact and everything due on one grid time is processed together (one exchange wake-up, one
batch of stream messages). ``time_step_ms=1`` gives millisecond resolution.
All state is in integer ticks and lots. Ladder prices sit on a grid of
``level_spacing_ticks`` (best bid = the grid line at or below ``reference - half_spread``),
so a small reference move leaves the ladder as it is and a move across a grid line changes
only the levels at its ends; the maker re-quotes only levels that are missing, consumed
below ``refill_fraction`` or too close to the reference; levels that drift up to
``_SLACK_LEVELS`` beyond the far end are kept, so the book holds ``levels`` to
``levels + 2`` levels a side. The maker learns about fills from its own place
results, by querying the levels its own takers traded at, and from a full
``engine.open_orders`` every ``_RECONCILE_EVERY`` updates (foreign takers, halts).

The exchange's faults act through it: :meth:`MarketSimulator.flash_move` jumps a
reference price and requotes the ladder at once; :meth:`MarketSimulator.take` has a taker
trade through a price (the races that fill an order first); a status change asks for a
reconciliation at the next update (:meth:`MarketSimulator.reconcile_soon`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from mmbot.model import Instrument, OrderType, Side, TimeInForce
from mmbot.sim.engine import EngineProtocol, OrderRequest, PlaceResult
from mmbot.sim.market.config import MarketConfig
from mmbot.venue.binance.errors import DialectError

if TYPE_CHECKING:
    import random

MAKER_ACCOUNT = "sim-maker"
TAKER_ACCOUNT = "sim-taker"  # uninformed takers
INFORMED_ACCOUNT = "sim-informed"  # informed takers (know the sign of the next move)
#: The background market's own accounts (their private events are internal to the simulator).
SIMULATOR_ACCOUNTS = frozenset({MAKER_ACCOUNT, TAKER_ACCOUNT, INFORMED_ACCOUNT})
_HUGE = Decimal(10) ** 12  # simulator balances per asset: never the limiting factor
_RECONCILE_EVERY = 20  # reference updates between full maker reconciliations (foreign fills)
_SLACK_LEVELS = 2  # far levels kept beyond ``levels`` so an oscillating walk re-quotes less
_PRICE_CACHE_MAX = 4096  # cached price conversions per symbol
_REFERENCE, _TAKER = 0, 1  # event kinds; the value breaks ties at equal times


@attrs.frozen
class MarketStatistics:
    reference_updates: int
    jumps: int
    taker_orders: int
    informed_orders: int
    taker_fills: int
    maker_places: int
    maker_cancels: int
    rejections: int


def _on_grid(nominal_ms: int, state: _Symbol) -> int:
    """The first multiple of the symbol's market time step at or after ``nominal_ms``."""
    step = state.cfg.time_step_ms
    return -(-nominal_ms // step) * step


# ---- the simulator ------------------------------------------------------------------------


class _Resting:
    """One maker order the simulator believes is resting; quantities in lots."""

    __slots__ = ("order_id", "remaining", "target")

    def __init__(self, order_id: int, target: int, remaining: int) -> None:
        self.order_id = order_id
        self.target = target
        self.remaining = remaining


@attrs.define(eq=False)
class _Symbol:
    cfg: MarketConfig
    tick: Decimal
    step: Decimal
    min_notional: Decimal
    ref: int  # reference price in ticks
    move_scale: float  # σ of one update's return
    jump_chance: float  # probability of a jump per update
    level_lots: list[int]
    taker_lots: tuple[int, int]
    pending: int = 0  # the next reference move in ticks, drawn in advance (informed takers)
    pending_jump: bool = False
    bids: dict[int, _Resting] = attrs.Factory(dict)  # price ticks -> order
    asks: dict[int, _Resting] = attrs.Factory(dict)
    grid: tuple[int, int] = (0, 0)  # best bid and ask ticks at the last refresh
    dirty: bool = True  # a foreign order may have traded against the maker: reconcile all
    quiet_updates: int = 0
    suspects: list[tuple[Side, int]] = attrs.Factory(list)  # maker levels our takers hit
    # Nominal times (ms) of the next reference update and taker arrival; each happens at
    # the first multiple of cfg.time_step_ms at or after its nominal time.
    next_reference: int = 0
    next_taker: int = 0
    # price ticks -> (price as Decimal, least lots meeting min_notional): a pure cache
    prices: dict[int, tuple[Decimal, int]] = attrs.Factory(dict)


class MarketSimulator:
    """Drives the background market of every configured symbol through an engine."""

    def __init__(
        self, engine: EngineProtocol, configs: Sequence[MarketConfig], rng: random.Random
    ) -> None:
        if not configs:
            raise ValueError("MarketSimulator needs at least one MarketConfig")
        self._engine = engine
        self._rng = rng
        self._states: list[_Symbol] = []
        self._index: dict[str, int] = {}
        self._assets: set[str] = set()
        for cfg in configs:
            inst = engine.instrument(cfg.symbol)
            if inst is None:
                raise ValueError(f"engine has no instrument {cfg.symbol!r}")
            if cfg.symbol in self._index:
                raise ValueError(f"duplicate market config for {cfg.symbol!r}")
            self._assets.update((inst.base_asset, inst.quote_asset))
            self._index[cfg.symbol] = len(self._states)
            self._states.append(self._new_state(cfg, inst))
        self._heap: list[tuple[int, int, int]] = []
        self._started = False
        self._next_id = 0
        self._counts = dict.fromkeys(attrs.fields_dict(MarketStatistics), 0)

    @staticmethod
    def _new_state(cfg: MarketConfig, inst: Instrument) -> _Symbol:
        step = inst.step_size if inst.step_size > 0 else Decimal("0.00000001")
        tick = inst.tick_size if inst.tick_size > 0 else Decimal("0.00000001")
        base_lots = max(1, int(cfg.level_base_qty / step))
        growth = 1.0 + cfg.level_size_growth
        dt_s = cfg.reference_interval_ms / 1000
        return _Symbol(
            cfg=cfg,
            tick=tick,
            step=step,
            min_notional=inst.min_notional,
            ref=max(1, int(cfg.initial_price / tick)),
            move_scale=cfg.volatility_bps / 1e4 * math.sqrt(dt_s),
            jump_chance=min(1.0, cfg.jump_probability_per_s * dt_s),
            level_lots=[max(1, round(base_lots * growth**k)) for k in range(cfg.levels)],
            taker_lots=(
                max(1, int(cfg.taker_min_qty / step)),
                max(1, int(cfg.taker_max_qty / step)),
            ),
        )

    # ---- public face ----------------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        return [s.cfg.symbol for s in self._states]

    def reference_price(self, symbol: str) -> Decimal:
        state = self._states[self._index[symbol]]
        return state.ref * state.tick

    def statistics(self) -> MarketStatistics:
        return MarketStatistics(**self._counts)

    # ---- what the exchange's faults make the market do ------------------------------------

    def flash_move(self, symbol: str, percent: float, now_ms: int) -> None:
        """The reference price jumps by ``percent`` now (at least to one tick), and the
        maker's ladder moves with it at once: its orders across the new price are
        cancelled, the new levels placed, so anything resting across them is run over."""
        state = self._states[self._index[symbol]]
        state.ref = max(1, round(state.ref * (1.0 + percent / 100.0)))
        state.dirty = True
        self._refresh(state, now_ms)

    def take(self, symbol: str, side: Side, price: Decimal, now_ms: int) -> int:
        """A taker trades through ``price`` against the ``side`` of the book: every order
        resting there at ``price`` or better is filled (an order of ours named by a
        ``cancel_fill_race`` or ``fill_before_ack`` fault among them). The fills made."""
        state = self._states[self._index[symbol]]
        depth = self._engine.depth(symbol, 5000)
        if side is Side.BUY:
            qty = sum((q for p, q in depth.bids if p >= price), Decimal(0))
        else:
            qty = sum((q for p, q in depth.asks if p <= price), Decimal(0))
        lots = int(qty / state.step)
        if lots <= 0:
            return 0
        ticks = int(price / state.tick)
        state.dirty = True  # the maker's own levels were taken too: reconcile them
        result = self._place(
            state, TAKER_ACCOUNT, side.opposite, ticks, lots, TimeInForce.IOC, now_ms
        )
        return 0 if result is None else len(result.fills)

    def reconcile_soon(self, symbol: str) -> None:
        """The maker's orders may have changed behind its back (a status change expired
        them): look at every one at the next update."""
        self._states[self._index[symbol]].dirty = True

    def start(self, now_ms: int) -> None:
        """Open the simulator's accounts, draw the first moves and place the first ladders."""
        if self._started:
            raise RuntimeError("MarketSimulator already started")
        self._started = True
        balances = dict.fromkeys(sorted(self._assets), _HUGE)
        for account in (MAKER_ACCOUNT, TAKER_ACCOUNT, INFORMED_ACCOUNT):
            self._engine.open_account(account, dict(balances))
        for i, state in enumerate(self._states):
            self._draw_move(state)
            self._refresh(state, now_ms)
            state.next_reference = now_ms + state.cfg.reference_interval_ms
            heapq.heappush(self._heap, (_on_grid(state.next_reference, state), i, _REFERENCE))
            if state.cfg.taker_rate_per_s > 0:
                state.next_taker = now_ms + self._gap_ms(state)
                heapq.heappush(self._heap, (_on_grid(state.next_taker, state), i, _TAKER))

    def next_event_ms(self) -> int:
        """When the next scheduled market event is due (exchange epoch ms)."""
        if not self._started:
            raise RuntimeError("MarketSimulator not started")
        return self._heap[0][0]

    def advance(self, now_ms: int) -> None:
        """Process, in time order, every market event due at or before ``now_ms``."""
        if not self._started:
            raise RuntimeError("MarketSimulator not started")
        heap = self._heap
        while heap[0][0] <= now_ms:
            at, i, kind = heap[0]
            state = self._states[i]
            if kind == _REFERENCE:
                self._move_reference(state, at)
                state.next_reference += state.cfg.reference_interval_ms
                heapq.heapreplace(heap, (_on_grid(state.next_reference, state), i, kind))
            else:
                self._taker(state, at)
                state.next_taker += self._gap_ms(state)
                heapq.heapreplace(heap, (_on_grid(state.next_taker, state), i, kind))

    # ---- reference ------------------------------------------------------------------------

    def _draw_move(self, state: _Symbol) -> None:
        rng = self._rng
        move = round(rng.gauss(0.0, 1.0) * state.ref * state.move_scale)
        state.pending_jump = rng.random() < state.jump_chance
        if state.pending_jump:
            size = round(state.ref * state.cfg.jump_size_bps / 1e4)
            move += size if rng.random() < 0.5 else -size
        state.pending = max(move, 1 - state.ref)  # the reference stays >= one tick

    def _move_reference(self, state: _Symbol, now_ms: int) -> None:
        state.ref += state.pending
        self._counts["reference_updates"] += 1
        if state.pending_jump:
            self._counts["jumps"] += 1
        self._draw_move(state)
        self._refresh(state, now_ms)

    # ---- maker ladder ---------------------------------------------------------------------

    def _refresh(self, state: _Symbol, now_ms: int) -> None:
        cfg = state.cfg
        spacing = cfg.level_spacing_ticks
        best_bid = (state.ref - cfg.half_spread_ticks) // spacing * spacing
        best_ask = -((-(state.ref + cfg.half_spread_ticks)) // spacing) * spacing
        state.quiet_updates += 1
        if state.quiet_updates >= _RECONCILE_EVERY:
            state.dirty = True
        if not state.dirty and not state.suspects and state.grid == (best_bid, best_ask):
            return
        if state.dirty:
            self._reconcile(state, now_ms)
        elif state.suspects:
            self._check_suspects(state)
        state.grid = (best_bid, best_ask)
        reach = (cfg.levels - 1 + _SLACK_LEVELS) * spacing
        self._cancel_unwanted(state, state.bids, best_bid - reach, best_bid, now_ms)
        self._cancel_unwanted(state, state.asks, best_ask, best_ask + reach, now_ms)
        bids, asks = state.bids, state.asks
        for level in range(cfg.levels):  # best first on each side
            price = best_bid - level * spacing
            if price > 0 and price not in bids:
                self._place_level(state, Side.BUY, price, level, now_ms)
        for level in range(cfg.levels):
            price = best_ask + level * spacing
            if price not in asks:
                self._place_level(state, Side.SELL, price, level, now_ms)

    def _reconcile(self, state: _Symbol, now_ms: int) -> None:
        """Bring the maker's view of its orders up to date with the engine's."""
        state.dirty = False
        state.quiet_updates = 0
        state.suspects.clear()
        live = {v.order_id: v for v in self._engine.open_orders(MAKER_ACCOUNT, state.cfg.symbol)}
        for book in (state.bids, state.asks):
            for price, resting in list(book.items()):
                view = live.pop(resting.order_id, None)
                if view is None:
                    del book[price]
                else:
                    resting.remaining = int((view.orig_qty - view.executed_qty) / state.step)
        for order_id in sorted(live):  # not tracked (should not happen): do not leak depth
            self._cancel(state, order_id, now_ms)

    def _check_suspects(self, state: _Symbol) -> None:
        """Query just the maker orders at the prices our own takers traded at."""
        for side, price in dict.fromkeys(state.suspects):
            book = state.bids if side is Side.BUY else state.asks
            resting = book.get(price)
            if resting is None:
                continue  # a foreign order was hit there
            view = self._engine.query(MAKER_ACCOUNT, state.cfg.symbol, order_id=resting.order_id)
            if isinstance(view, DialectError) or not view.status.is_open:
                del book[price]
            else:
                resting.remaining = int((view.orig_qty - view.executed_qty) / state.step)
        state.suspects.clear()

    def _cancel_unwanted(
        self, state: _Symbol, book: dict[int, _Resting], low: int, high: int, now_ms: int
    ) -> None:
        """Cancel orders priced outside ``low..high`` ticks or consumed below the refill mark."""
        refill = state.cfg.refill_fraction
        for price in [
            p for p, r in book.items() if not low <= p <= high or r.remaining < refill * r.target
        ]:
            self._cancel(state, book.pop(price).order_id, now_ms)

    def _cancel(self, state: _Symbol, order_id: int, now_ms: int) -> None:
        self._counts["maker_cancels"] += 1
        result = self._engine.cancel(MAKER_ACCOUNT, state.cfg.symbol, now_ms, order_id=order_id)
        if isinstance(result, DialectError):  # already filled or expired: nothing to do
            self._counts["rejections"] += 1

    def _place_level(self, state: _Symbol, side: Side, price: int, level: int, now_ms: int) -> None:
        jitter = state.cfg.size_jitter
        lots = state.level_lots[level]
        if jitter:
            lots = max(1, round(lots * (1.0 + jitter * (2.0 * self._rng.random() - 1.0))))
        result = self._place(state, MAKER_ACCOUNT, side, price, lots, TimeInForce.GTC, now_ms)
        self._counts["maker_places"] += 1
        if result is None or not result.order.status.is_open:
            state.grid = (0, 0)  # refused or filled at once: place the level again next update
        else:
            done = int(result.order.executed_qty / state.step)
            book = state.bids if side is Side.BUY else state.asks
            book[price] = _Resting(result.order.order_id, lots, lots - done)

    def _place(
        self,
        state: _Symbol,
        account: str,
        side: Side,
        price: int,
        lots: int,
        tif: TimeInForce,
        now_ms: int,
    ) -> PlaceResult | None:
        cached = state.prices.get(price)
        if cached is None:
            price_d = price * state.tick
            floor_lots = 0
            if state.min_notional:
                floor_lots = int(state.min_notional / (price_d * state.step)) + 1
            cached = state.prices[price] = (price_d, floor_lots)
            if len(state.prices) > _PRICE_CACHE_MAX:  # a long trending walk: start afresh
                state.prices = {price: cached}
        price_d, floor_lots = cached
        lots = max(lots, floor_lots)
        self._next_id += 1
        request = OrderRequest(
            account=account,
            symbol=state.cfg.symbol,
            side=side,
            type=OrderType.LIMIT,
            client_order_id=f"sim{self._next_id}",
            quantity=lots * state.step,
            price=price_d,
            time_in_force=tif,
        )
        result = self._engine.place(request, now_ms)
        if isinstance(result, PlaceResult):
            return result
        self._counts["rejections"] += 1
        return None

    # ---- takers ---------------------------------------------------------------------------

    def _gap_ms(self, state: _Symbol) -> int:
        return max(1, round(self._rng.expovariate(state.cfg.taker_rate_per_s) * 1000))

    def _taker(self, state: _Symbol, now_ms: int) -> None:
        rng = self._rng
        cfg = state.cfg
        informed = rng.random() < cfg.informed_share
        coin = rng.random() < 0.5
        if informed and state.pending:
            side = Side.BUY if state.pending > 0 else Side.SELL
        else:
            side = Side.BUY if coin else Side.SELL
        low, high = state.taker_lots
        lots = max(1, round(low * (high / low) ** rng.random()))
        reach = max(1, math.ceil(state.ref * cfg.taker_max_slippage_bps / 1e4))
        price = state.ref + reach if side is Side.BUY else max(1, state.ref - reach)
        account = INFORMED_ACCOUNT if informed else TAKER_ACCOUNT
        self._counts["taker_orders"] += 1
        self._counts["informed_orders"] += informed
        result = self._place(state, account, side, price, lots, TimeInForce.IOC, now_ms)
        if result is not None and result.fills:
            self._counts["taker_fills"] += len(result.fills)
            maker_side = side.opposite
            state.suspects.extend((maker_side, int(f.price / state.tick)) for f in result.fills)
