"""The Binance dialect codec's error and checked readers of wire values (sans-IO).

What it is for: :class:`CodecError`, the :func:`decoder` wrapper that turns any failure while
decoding into it, and the small checked readers (:func:`as_int`, :func:`as_decimal`, ...)
every decoder of the codec package builds on.

What it must never do: I/O, read a clock, or let anything but :class:`CodecError` escape a
decoder for malformed input. A number on the wire is a string and becomes an exact,
finite ``Decimal``; a float is never money.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn, ParamSpec, TypeVar

from mmbot.venue.events import Balance

P = ParamSpec("P")
R = TypeVar("R")


class CodecError(ValueError):
    """Malformed or unexpected wire input; the message says what was being decoded."""


#: What reading malformed input raises before it becomes a :class:`CodecError`.
MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError)


def decoder(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Turn any failure while decoding ``what`` into a :class:`CodecError`."""

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def decode(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except CodecError:
                raise
            except (*MALFORMED, RecursionError) as exc:
                raise CodecError(f"malformed {what}: {type(exc).__name__}: {exc}") from exc

        return decode

    return wrap


def fail(msg: str) -> NoReturn:
    raise CodecError(msg)


#: The C scanner under ``json.loads``, for the hot path (see :func:`loads`).
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set by __init__; not in typeshed


def loads(text: str) -> Any:
    """``json.loads(text)``, minus its Python wrapper's cost when ``text`` is one JSON
    value with nothing around it (what the venue sends); anything else goes through
    ``json.loads`` itself, so the result or the error is always exactly its own."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def json_value(raw: object) -> Any:
    """Raw text or bytes parsed as JSON; anything else is taken as already parsed."""
    return json.loads(raw) if isinstance(raw, str | bytes | bytearray) else raw


def as_dict(v: object) -> dict[str, Any]:
    return v if type(v) is dict else fail(f"expected an object, got {type(v).__name__}")


def as_list(v: object) -> list[Any]:
    return v if type(v) is list else fail(f"expected a list, got {type(v).__name__}")


def as_decimal(v: object) -> Decimal:
    """A decimal string to an exact, finite Decimal (numbers, floats and NaN refused)."""
    if type(v) is not str:
        fail(f"expected a decimal string, got {type(v).__name__}")
    d = Decimal(v)
    return d if d.is_finite() else fail(f"not a finite number: {v!r}")


def opt_decimal(v: object) -> Decimal | None:
    return None if v is None else as_decimal(v)


def as_int(v: object) -> int:
    return v if type(v) is int else fail(f"expected an integer, got {type(v).__name__}")


def opt_int(v: object) -> int | None:
    return None if v is None else as_int(v)


def as_str(v: object) -> str:
    return v if type(v) is str else fail(f"expected a string, got {type(v).__name__}")


def as_bool(v: object) -> bool:
    return v if type(v) is bool else fail(f"expected a boolean, got {type(v).__name__}")


def read_balance(d: dict[str, Any], asset: str, free: str, locked: str) -> Balance:
    """One balance, whatever the keys the answer names its fields by (``a``/``f``/``l`` in
    ``outboundAccountPosition``, ``asset``/``free``/``locked`` in ``/account``)."""
    return Balance(as_str(d[asset]), as_decimal(d[free]), as_decimal(d[locked]))
