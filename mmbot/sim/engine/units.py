"""Exact money units of the matching engine: Decimal <-> integers, and fee rates (sans-IO).

What it is for: converting an instrument's Decimal prices and quantities to integers
(price units and lots) and back (:class:`Units`), fee rates as exact fractions
(:class:`Rate`), and choosing the engine's one *atom* (``10**-dp`` of an asset, one ``dp``
for the whole engine, :func:`atom_decimals`) so that every notional and every fee is a
whole number of atoms and trades are exact integer arithmetic.

What it must never do: I/O, read a clock, draw randomness, round money or touch a float.
A value that cannot be represented exactly is refused (``None``), never rounded.
"""

from __future__ import annotations

from decimal import Decimal

from mmbot.model import Instrument

#: Decimal places Binance keeps for balances: the engine's atoms are never coarser.
BALANCE_DECIMALS = 8
#: Entries a conversion cache holds before it starts again (bounds memory: ~2.5 MB each).
_CACHE_LIMIT = 16_384
_MISSING = object()


def decimals(value: Decimal) -> int:
    """Digits after the point of ``value`` written without trailing zeros ("0.010" -> 2)."""
    if not value:
        return 0
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def to_scaled_int(value: Decimal, dp: int) -> int | None:
    """``value * 10**dp`` as an int, or ``None`` if that is not a whole number."""
    if not value.is_finite():
        return None
    scaled = value.scaleb(dp)
    integral = scaled.to_integral_value()
    if scaled != integral:
        return None
    return int(integral)


class Rate:
    """A fee rate as an exact fraction ``num / 10**dp``."""

    __slots__ = ("den", "dp", "num")

    def __init__(self, rate: Decimal) -> None:
        if rate < 0:
            raise ValueError(f"fee rate must be >= 0, got {rate}")
        self.dp = decimals(rate)
        self.den: int = 10**self.dp
        scaled = to_scaled_int(rate, self.dp)
        assert scaled is not None
        self.num = scaled

    def of(self, atoms: int) -> int:
        """The fee on ``atoms`` (exact when the engine's ``dp`` was chosen for this rate)."""
        return atoms * self.num // self.den


class _Decimals(dict[int, Decimal]):
    """int -> Decimal ``int * 10**-dp``, computed on a miss (a plain dict lookup on a hit)."""

    __slots__ = ("dp",)

    def __init__(self, dp: int) -> None:
        super().__init__()
        self.dp = dp

    def __missing__(self, key: int) -> Decimal:
        if len(self) > _CACHE_LIMIT:
            self.clear()
        value = self[key] = Decimal(key).scaleb(-self.dp)
        return value


class Units:
    """Integer price units and lots of one instrument, and their atom equivalents."""

    __slots__ = (
        "_price_in",
        "_qty_in",
        "atom_dp",
        "notional_scale",
        "notionals",
        "pdp",
        "prices",
        "qdp",
        "qty_scale",
        "qtys",
        "zero_notional",
        "zero_price",
        "zero_qty",
    )

    def __init__(self, instrument: Instrument, atom_dp: int) -> None:
        self.pdp = price_decimals(instrument)
        self.qdp = qty_decimals(instrument)
        self.atom_dp = atom_dp
        # atoms of quote for 1 price unit x 1 lot; atoms of base for 1 lot
        self.notional_scale: int = 10 ** (atom_dp - self.pdp - self.qdp)
        self.qty_scale: int = 10 ** (atom_dp - self.qdp)
        #: price units -> Decimal price; lots -> Decimal quantity (index them: ``prices[p]``)
        self.prices = _Decimals(self.pdp)
        self.qtys = _Decimals(self.qdp)
        self.notionals = _Decimals(self.pdp + self.qdp)  # price x qty in units x lots
        #: the zeros of each, as reports show them (``0E-8``, not ``0``)
        self.zero_price = self.prices[0]
        self.zero_qty = self.qtys[0]
        self.zero_notional = self.notionals[0]
        self._price_in: dict[Decimal, int | None] = {}
        self._qty_in: dict[Decimal, int | None] = {}

    def price_int(self, price: Decimal) -> int | None:
        found = self._price_in.get(price, _MISSING)
        if found is _MISSING:
            if len(self._price_in) > _CACHE_LIMIT:
                self._price_in.clear()
            found = self._price_in[price] = to_scaled_int(price, self.pdp)
        return found  # type: ignore[return-value]

    def qty_int(self, qty: Decimal) -> int | None:
        found = self._qty_in.get(qty, _MISSING)
        if found is _MISSING:
            if len(self._qty_in) > _CACHE_LIMIT:
                self._qty_in.clear()
            found = self._qty_in[qty] = to_scaled_int(qty, self.qdp)
        return found  # type: ignore[return-value]

    def price(self, units: int) -> Decimal:
        """Price units -> Decimal with the instrument's price decimals."""
        return self.prices[units]

    def qty(self, lots: int) -> Decimal:
        """Lots -> Decimal with the instrument's quantity decimals."""
        return self.qtys[lots]


def price_decimals(instrument: Instrument) -> int:
    tick = decimals(instrument.tick_size) if instrument.tick_size else BALANCE_DECIMALS
    return max(tick, decimals(instrument.min_price), decimals(instrument.max_price))


def qty_decimals(instrument: Instrument) -> int:
    step = decimals(instrument.step_size) if instrument.step_size else BALANCE_DECIMALS
    return max(step, decimals(instrument.min_qty), decimals(instrument.max_qty))


def atom_decimals(instruments: list[Instrument], rates: list[Rate]) -> int:
    """The one ``dp`` that makes every notional and every fee a whole number of atoms."""
    rate_dp = max((r.dp for r in rates), default=0)
    need = max(
        (price_decimals(i) + qty_decimals(i) for i in instruments),
        default=0,
    )
    return max(BALANCE_DECIMALS, need + rate_dp)
