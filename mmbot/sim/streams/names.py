"""The names of the fake exchange's market streams: building and parsing them (sans-IO).

What it is for: :class:`StreamKind` (the streams served: diff depth at 100 ms and 1000 ms,
``bookTicker``, ``trade``), :func:`stream_name` (``btcusdt@trade``) and
:func:`parse_stream_name`, which the URL parser, the live ``SUBSCRIBE`` control and the
feed share, so a name means the same thing everywhere.

What it must never do: I/O; accept a name Binance would refuse (symbols are lowercase in a
stream name).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class StreamKind(enum.Enum):
    """The market streams the fake exchange serves; the value is the name's suffix."""

    DEPTH_100MS = "depth@100ms"
    DEPTH_1000MS = "depth"
    BOOK_TICKER = "bookTicker"
    TRADE = "trade"


#: Depth window length (ms) of each diff-depth stream kind.
DEPTH_SPEEDS_MS = {StreamKind.DEPTH_100MS: 100, StreamKind.DEPTH_1000MS: 1000}

_SUFFIXES = {kind.value: kind for kind in StreamKind}


def stream_name(symbol: str, kind: StreamKind) -> str:
    """The wire name of a stream: lowercase symbol, ``@``, suffix (``btcusdt@trade``)."""
    return f"{symbol.lower()}@{kind.value}"


def parse_stream_name(name: object, symbols: Iterable[str]) -> tuple[str, StreamKind] | None:
    """``(SYMBOL, kind)`` for a valid stream name of a listed symbol, else ``None``.

    Symbols must be lowercase in the name, as on Binance.
    """
    if not isinstance(name, str) or "@" not in name:
        return None
    symbol, _, suffix = name.partition("@")
    kind = _SUFFIXES.get(suffix)
    if kind is None or symbol != symbol.lower():
        return None
    upper = symbol.upper()
    return (upper, kind) if upper in symbols else None
