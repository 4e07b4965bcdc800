"""How the terminal dashboard and the exit summary write figures (sans-IO).

What it is for: one way to show each kind of figure to a person: money and prices as exact
decimals, basis points, shares as percentages, ages and durations, latencies. A figure
that is not known yet (``None``) is shown as :data:`MISSING`, never as a made-up zero.

What it must never do: turn money into a float (a Decimal is shown exactly, grouped by
thousands, never rounded except where a function says so), read a clock, or do I/O.
"""

from __future__ import annotations

from decimal import Decimal

#: What an unknown figure shows as.
MISSING = "-"


def money(value: Decimal | None, places: int = 2) -> str:
    """Quote-currency amounts: ``12,345.68`` (rounded half-even to ``places``)."""
    if value is None:
        return MISSING
    return f"{value:,.{places}f}"


def price(value: Decimal | None) -> str:
    """A price or quantity, exact, without the trailing zeros of its tick (``64999.5``)."""
    if value is None:
        return MISSING
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def bps(value: float | Decimal | None) -> str:
    """Basis points with a sign: ``+1.75``, ``-0.80``."""
    return MISSING if value is None else f"{float(value):+.2f}"


def share(value: float | Decimal | None) -> str:
    """A ratio in [0, 1] as a percentage: ``97.0%``."""
    return MISSING if value is None else f"{float(value) * 100:.1f}%"


def age(seconds: float | None) -> str:
    """A short age: ``42ms``, ``7.5s``, ``3m05s``."""
    if seconds is None:
        return MISSING
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    return duration(seconds)


def duration(seconds: float) -> str:
    """A run's length: ``42s``, ``3m05s``, ``1h02m00s``."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def micros(value: float | None) -> str:
    """A latency given in microseconds: ``41.5µs``, ``1.25ms``."""
    if value is None:
        return MISSING
    if value < 1000:
        return f"{value:.1f}µs"
    return f"{value / 1000:.2f}ms"
