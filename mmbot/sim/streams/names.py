"""The names of the fake exchange's market streams: building and parsing them (sans-IO).

What it is for: :class:`StreamKind` (the streams served: diff depth at 100 ms and 1000 ms,
``bookTicker``, ``trade``, ``aggTrade``, partial depth ``depth<5|10|20>[@100ms]``,
``kline_<interval>``, ``ticker``, ``miniTicker``, ``avgPrice``, ``ticker_<1h|4h|1d>`` and
the all-market ``!miniTicker@arr`` and ``!ticker_<1h|4h|1d>@arr``), :func:`stream_name`
(``btcusdt@trade``), :func:`parse_stream` (a name as a :class:`StreamSpec`) and
:func:`parse_stream_name`, which the URL parser, the live ``SUBSCRIBE`` control and the
feed share, so a name means the same thing everywhere.

What it must never do: I/O; accept a name Binance would refuse (symbols are lowercase in a
stream name).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from mmbot.sim.market import KLINE_INTERVALS


class StreamKind(enum.Enum):
    """The market streams the fake exchange serves; the value is the name's suffix."""

    DEPTH_100MS = "depth@100ms"
    DEPTH_1000MS = "depth"
    BOOK_TICKER = "bookTicker"
    TRADE = "trade"
    AGG_TRADE = "aggTrade"
    TICKER = "ticker"
    MINI_TICKER = "miniTicker"
    AVG_PRICE = "avgPrice"
    #: The parametrised kinds: their value is a pattern, never a name's suffix itself.
    PARTIAL_DEPTH = "depth<levels>[@100ms]"
    KLINE = "kline_<interval>"
    ROLLING_TICKER = "ticker_<window>"
    ALL_MINI_TICKERS = "!miniTicker@arr"
    ALL_ROLLING_TICKERS = "!ticker_<window>@arr"


#: Depth window length (ms) of each diff-depth stream kind.
DEPTH_SPEEDS_MS = {StreamKind.DEPTH_100MS: 100, StreamKind.DEPTH_1000MS: 1000}

_SUFFIXES = {
    kind.value: kind for kind in StreamKind if "<" not in kind.value and "!" not in kind.value
}
#: Levels of the partial-depth streams; windows of the rolling-window ticker streams.
PARTIAL_DEPTH_LEVELS = (5, 10, 20)
ROLLING_WINDOWS = ("1h", "4h", "1d")
#: Kline intervals of the ``kline_<interval>`` streams (every one of ``/klines``).
KLINE_STREAM_INTERVALS = tuple(KLINE_INTERVALS)


@attrs.frozen
class StreamSpec:
    """What one stream name asks for: the symbol (None for an all-market stream), the kind,
    and its parameter: levels and speed of a partial depth, a kline interval, a window."""

    symbol: str | None
    kind: StreamKind
    levels: int = 0
    speed_ms: int = 1000
    interval: str = ""
    window: str = ""


def _parametrised(symbol: str, suffix: str) -> StreamSpec | None:
    if suffix.startswith("depth"):
        levels, _, speed = suffix.removeprefix("depth").partition("@")
        if levels not in ("5", "10", "20") or speed not in ("", "100ms", "1000ms"):
            return None
        speed_ms = 100 if speed == "100ms" else 1000
        return StreamSpec(symbol, StreamKind.PARTIAL_DEPTH, levels=int(levels), speed_ms=speed_ms)
    if suffix.startswith("kline_"):
        interval = suffix.removeprefix("kline_")
        if interval not in KLINE_STREAM_INTERVALS:
            return None
        return StreamSpec(symbol, StreamKind.KLINE, interval=interval)
    if suffix.startswith("ticker_"):
        window = suffix.removeprefix("ticker_")
        if window not in ROLLING_WINDOWS:
            return None
        return StreamSpec(symbol, StreamKind.ROLLING_TICKER, window=window)
    return None


def parse_stream(name: object, symbols: Iterable[str]) -> StreamSpec | None:
    """The :class:`StreamSpec` of a valid stream name (of a listed symbol), else ``None``.

    Symbols must be lowercase in the name, as on Binance.
    """
    if not isinstance(name, str) or "@" not in name or len(name) > 64:
        return None
    if name.startswith("!"):
        if name == "!miniTicker@arr":
            return StreamSpec(None, StreamKind.ALL_MINI_TICKERS)
        window = name.removeprefix("!ticker_").removesuffix("@arr")
        if name == f"!ticker_{window}@arr" and window in ROLLING_WINDOWS:
            return StreamSpec(None, StreamKind.ALL_ROLLING_TICKERS, window=window)
        return None
    symbol, _, suffix = name.partition("@")
    if symbol != symbol.lower() or symbol.upper() not in symbols:
        return None
    kind = _SUFFIXES.get(suffix)
    if kind is not None:
        return StreamSpec(symbol.upper(), kind)
    return _parametrised(symbol.upper(), suffix)


def stream_name(symbol: str, kind: StreamKind) -> str:
    """The wire name of a stream: lowercase symbol, ``@``, suffix (``btcusdt@trade``), for
    a kind without a parameter (a ValueError for the parametrised and all-market kinds)."""
    if "<" in kind.value or "!" in kind.value:
        raise ValueError(f"{kind.name} needs a parameter: build its name by hand")
    return f"{symbol.lower()}@{kind.value}"


def parse_stream_name(name: object, symbols: Iterable[str]) -> tuple[str, StreamKind] | None:
    """``(SYMBOL, kind)`` for a valid stream name of a listed symbol, else ``None`` (an
    all-market stream's symbol is ``""``; :func:`parse_stream` gives the parameters too).

    Symbols must be lowercase in the name, as on Binance.
    """
    spec = parse_stream(name, symbols)
    return None if spec is None else (spec.symbol or "", spec.kind)
