"""What a simulated market looks like: per-symbol settings and built-in instruments (sans-IO).

What it is for: :class:`MarketConfig` (volatility, jumps, the maker ladder, taker flow) and
:func:`default_market`, which turns symbol names into exchange instruments with Binance-like
filters plus "default market activity" configs. ``simulator.py`` runs the market.

What it must never do: I/O, read a clock or draw randomness (sans-IO core); hold a float
that reaches an order (sizes and prices here are Decimal; ladders are in integer ticks).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

import attrs

from mmbot.model import Instrument

_POSITIVE = (
    "initial_price",
    "reference_interval_ms",
    "levels",
    "level_spacing_ticks",
    "half_spread_ticks",
    "level_base_qty",
    "taker_min_qty",
    "taker_max_qty",
    "taker_max_slippage_bps",
    "time_step_ms",
)


@attrs.frozen
class MarketConfig:
    """How one symbol's simulated market behaves; the defaults are "default market activity".

    ``volatility_bps`` is the standard deviation of the reference's return over one second,
    in basis points (per square-root second: 1 bp/√s ≈ 59 % annualised, ×5615). Jumps happen
    with ``jump_probability_per_s`` per second and move the reference by ``jump_size_bps``
    with a random sign. The maker ladder has ``levels`` per side, ``level_spacing_ticks``
    apart, the best ones at least ``half_spread_ticks`` from the reference; level ``k`` rests
    ``level_base_qty * (1 + level_size_growth) ** k`` (±``size_jitter``). Takers arrive as a
    Poisson process of ``taker_rate_per_s``; their size is log-uniform within
    ``[taker_min_qty, taker_max_qty]`` and their IOC limit is ``taker_max_slippage_bps`` away
    from the reference; ``informed_share`` of them trade in the direction of the next move.
    Reference updates and taker arrivals happen on a grid of ``time_step_ms`` (each at the
    first grid time at or after its nominal time; the rates are unchanged).
    """

    symbol: str
    initial_price: Decimal
    volatility_bps: float = 1.0
    jump_probability_per_s: float = 1 / 600
    jump_size_bps: float = 25.0
    reference_interval_ms: int = 250
    levels: int = 10
    level_spacing_ticks: int = 1
    half_spread_ticks: int = 1
    level_base_qty: Decimal = Decimal(1)
    level_size_growth: float = 0.25
    size_jitter: float = 0.2
    refill_fraction: float = 0.5
    taker_rate_per_s: float = 2.0
    informed_share: float = 0.2
    taker_min_qty: Decimal = Decimal("0.01")
    taker_max_qty: Decimal = Decimal(1)
    taker_max_slippage_bps: float = 25.0
    time_step_ms: int = 100

    def __attrs_post_init__(self) -> None:
        for name in _POSITIVE:
            if not getattr(self, name) > 0:
                raise ValueError(f"{self.symbol}: {name} must be > 0")
        for name in ("volatility_bps", "jump_size_bps", "level_size_growth", "taker_rate_per_s"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{self.symbol}: {name} must be >= 0")
        for name in ("jump_probability_per_s", "size_jitter", "refill_fraction", "informed_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{self.symbol}: {name} must be within 0..1")
        if self.taker_min_qty > self.taker_max_qty:
            raise ValueError(f"{self.symbol}: taker_min_qty must be <= taker_max_qty")


# ---- built-in instruments -----------------------------------------------------------------

# symbol: (price, tick, step, min_notional, volatility bps/√s)
_BUILTIN: dict[str, tuple[str, str, str, str, float]] = {
    "BTCUSDT": ("60000", "0.01", "0.00001", "5", 1.0),
    "ETHUSDT": ("3000", "0.01", "0.0001", "5", 1.3),
    "SOLUSDT": ("150", "0.01", "0.001", "5", 2.0),
    "BNBUSDT": ("600", "0.01", "0.001", "5", 1.2),
    "ETHBTC": ("0.05", "0.00001", "0.0001", "0.0001", 1.0),
}
# quote asset: generic (price, tick, step, min_notional, quote units per USD)
_QUOTES: dict[str, tuple[str, str, str, str, str]] = {
    "USDT": ("100", "0.01", "0.01", "5", "1"),
    "USDC": ("100", "0.01", "0.01", "5", "1"),
    "FDUSD": ("100", "0.01", "0.01", "5", "1"),
    "BTC": ("0.002", "0.0000001", "0.01", "0.0001", "0.00001666"),
    "ETH": ("0.03", "0.000001", "0.01", "0.001", "0.000333"),
    "BNB": ("0.2", "0.00001", "0.01", "0.01", "0.001666"),
}
_SYMBOL_RE = re.compile(r"[A-Z0-9]{2,20}")


def split_symbol(symbol: str) -> tuple[str, str]:
    """``"BTCUSDT"`` → ``("BTC", "USDT")``; a clear ValueError for anything else."""
    if _SYMBOL_RE.fullmatch(symbol):
        for quote in sorted(_QUOTES, key=len, reverse=True):
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return symbol[: -len(quote)], quote
    raise ValueError(
        f"unknown symbol format {symbol!r}: expected BASE+QUOTE in upper case "
        f"with QUOTE one of {', '.join(_QUOTES)} (e.g. BTCUSDT)"
    )


def default_market(symbols: Sequence[str]) -> tuple[list[Instrument], list[MarketConfig]]:
    """Realistic instruments and default-activity market configs for ``symbols``."""
    instruments: list[Instrument] = []
    configs: list[MarketConfig] = []
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"duplicate symbols in {list(symbols)!r}")
    for symbol in symbols:
        base, quote = split_symbol(symbol)
        g_price, g_tick, g_step, g_notional, per_usd = _QUOTES[quote]
        price, tick, step, notional, vol = _BUILTIN.get(
            symbol, (g_price, g_tick, g_step, g_notional, 1.5)
        )
        p, t, s = Decimal(price), Decimal(tick), Decimal(step)
        instruments.append(
            Instrument(
                symbol=symbol,
                base_asset=base,
                quote_asset=quote,
                tick_size=t,
                step_size=s,
                min_price=t,
                max_price=p * 1000,
                min_qty=s,
                max_qty=Decimal(9000) if p >= 1000 else Decimal(9_000_000),
                min_notional=Decimal(notional),
            )
        )
        usd = Decimal(per_usd)  # quote units worth one US dollar

        def qty(notional_usd: int, p: Decimal = p, s: Decimal = s, usd: Decimal = usd) -> Decimal:
            return max(s, (notional_usd * usd / p / s).to_integral_value() * s)

        def ticks(bps: float, p: Decimal = p, t: Decimal = t) -> int:
            return max(1, round(float(p / t) * bps / 1e4))

        configs.append(
            MarketConfig(
                symbol=symbol,
                initial_price=p,
                volatility_bps=vol,
                level_spacing_ticks=ticks(1.0),
                half_spread_ticks=ticks(1.0),
                level_base_qty=qty(3000),
                taker_min_qty=qty(20),
                taker_max_qty=qty(5000),
            )
        )
    return instruments, configs
