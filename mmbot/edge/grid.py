"""The search space of ``mmbot calibrate``: grid axes, and the config of each point (sans-IO).

What it is for: :func:`parse_axis` reads one ``--grid PATH=VALUES`` (a comma list of TOML
scalars, a bare word a string, or ``lo:hi:n`` evenly spaced) against the strategy's keys
(:func:`strategy_keys`); :func:`single_symbol` makes CONFIG's data trade one symbol alone and
:func:`with_point` sets a point's values as that symbol's ``[overrides.SYMBOL.<table>]``.
:mod:`mmbot.edge.calibrate` checks every point's config before anything runs.

What it must never do: I/O, or accept a path that is not a strategy key (a
:class:`GridError` names it).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from mmbot.edge.halving import Axis, Value
from mmbot.quoting.params import StrategyConfig


class GridError(ValueError):
    """A ``--grid`` that cannot be searched (its message names it)."""


# -- the grid -----------------------------------------------------------------------------


def strategy_keys() -> dict[str, type]:
    """Every searchable strategy key (``table.key``) and its type."""
    out: dict[str, type] = {}
    for table in attrs.fields(attrs.resolve_types(StrategyConfig)):
        if isinstance(table.type, type) and attrs.has(table.type):
            for key in attrs.fields(attrs.resolve_types(table.type)):
                out[f"{table.name}.{key.name}"] = key.type
    return out


def parse_axis(spec: str) -> Axis:
    """``PATH=VALUES``: VALUES a comma list of TOML scalars (a bare word is a string) or
    ``lo:hi:n``, n values evenly spaced from lo to hi."""
    path, sep, values = spec.partition("=")
    path = path.strip()
    if not sep or not path or not values.strip():
        raise GridError(f"--grid {spec!r}: expected PATH=VALUES, e.g. spread.base_bps=1,2,3")
    if path not in strategy_keys():
        tables = sorted({k.split(".")[0] for k in strategy_keys()})
        raise GridError(
            f"--grid {spec!r}: {path!r} is not a strategy key (TABLE.KEY, a table of "
            f"{', '.join(tables)}: see docs/strategy.md)"
        )
    ranged = ":" in values and "," not in values
    found = _spaced(spec, values.split(":")) if ranged else _listed(spec, values)
    if len(set(found)) != len(found):  # 1 and 1.0 are one value
        raise GridError(f"--grid {spec!r}: a value is given twice")
    return Axis(path, tuple(found))


def _listed(spec: str, values: str) -> list[Value]:
    out = []
    for token in (t.strip() for t in values.split(",")):
        if not token:
            raise GridError(f"--grid {spec!r}: an empty value")
        out.append(_scalar(token))
    return out


def _scalar(token: str) -> Value:
    """A TOML scalar (1, 1.5, true, "x"), or the token itself as a string (a bare word)."""
    try:
        value = tomllib.loads(f"v = {token}")["v"]
    except tomllib.TOMLDecodeError:
        return token
    return value if isinstance(value, bool | int | float | str) else token


def _spaced(spec: str, parts: Sequence[str]) -> list[Value]:
    if len(parts) != 3:
        raise GridError(f"--grid {spec!r}: a range is lo:hi:n (n values from lo to hi)")
    lo, hi, n = (_scalar(p.strip()) for p in parts)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lo, hi))
    if not numbers or isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise GridError(f"--grid {spec!r}: lo:hi:n needs two numbers and a count n >= 1")
    assert isinstance(lo, int | float) and isinstance(hi, int | float)
    if n == 1:
        return [lo]
    steps = [lo + (hi - lo) * i / (n - 1) for i in range(n)]
    out: list[Value] = [float(f"{v:.12g}") for v in steps]  # 0.3, not 0.30000000000000004
    if isinstance(lo, int) and isinstance(hi, int) and all(float(v).is_integer() for v in out):
        out = [int(v) for v in out]  # 1:3:3 is 1, 2, 3 (an integer key takes them)
    return out


# -- configs ------------------------------------------------------------------------------


def single_symbol(raw: Mapping[str, Any], symbol: str) -> dict[str, Any]:
    """CONFIG's data trading ``symbol`` alone: ``bot.symbols = [symbol]``, its overrides
    kept (the other symbols' dropped: they would name symbols no longer traded)."""
    data = copy.deepcopy(dict(raw))
    data["bot"] = {**data.get("bot", {}), "symbols": [symbol]}
    overrides = data.get("overrides", {})
    data["overrides"] = {symbol: overrides[symbol]} if symbol in overrides else {}
    return data


def with_point(
    data: Mapping[str, Any], symbol: str, point: Sequence[tuple[str, Value]]
) -> dict[str, Any]:
    """``data`` with each ``table.key = value`` set in ``[overrides.SYMBOL.table]``."""
    out = copy.deepcopy(dict(data))
    over = out.setdefault("overrides", {}).setdefault(symbol, {})
    for path, value in point:
        table, key = path.split(".", 1)
        over.setdefault(table, {})[key] = value
    return out
