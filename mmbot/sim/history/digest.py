"""Canonical lines: the exact text the history's digest hashes for each entry (sans-IO).

What it is for: turning one stored history entry into one unambiguous line, fast, and
keeping the running sha256 over those lines (:class:`RunningDigest`), so a seeded run's
whole trace collapses to one fingerprint (``History.digest()``) that a replay must match.

What it must never do: I/O, read a clock, or change a line's format without reason (every
recorded digest would change): the line is seq, time, kind, payload type, then every
payload field in declaration order, separated by \x1f; strings are repr()'d, so the
encoding is unambiguous.

Theory of operation: each payload class gets a compiled formatter (one f-string built
from its attrs fields and their annotations), so a line costs about a microsecond; a value
that does not match its annotation falls back to the generic :func:`_fmt` path, which
gives the same text.
"""

from __future__ import annotations

import bisect
import enum
import hashlib
import operator
import typing
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import attrs

#: A stored entry: (seq, time_ms, kind, payload). ``kind`` is a ``log.EntryKind``; a
#: message's payload is kept as the raw (channel, event_type, size) tuple.
Row = tuple[int, int, enum.Enum, Any]
#: ``EntryKind.MESSAGE.value`` (the one kind stored as a raw tuple).
MESSAGE = "message"

_seq = operator.itemgetter(0)

_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def _fields_of(value: Any) -> tuple[Any, ...]:
    cls = type(value)
    getter = _GETTERS.get(cls)
    if getter is None:
        names = [f.name for f in attrs.fields(cls)]
        get = operator.attrgetter(*names)
        getter = (lambda v: (get(v),)) if len(names) == 1 else get
        _GETTERS[cls] = getter
    return getter(value)


def _fmt(value: Any) -> str:
    formatter = _FORMATTERS.get(type(value))
    if formatter is None:
        formatter = _formatter_for(type(value))
    return formatter(value)


def _formatter_for(cls: type) -> Callable[[Any], str]:
    formatter: Callable[[Any], str]
    if issubclass(cls, enum.Enum):
        formatter = _fmt_enum
    elif issubclass(cls, tuple):
        formatter = _fmt_tuple
    else:
        formatter = _compiled(cls, ",", cls.__name__ + "(", ")")
    _FORMATTERS[cls] = formatter
    return formatter


def _fmt_enum(value: enum.Enum) -> str:
    return str(value.value)


def _fmt_tuple(value: tuple[Any, ...]) -> str:
    return "(" + ",".join(map(_fmt, value)) + ")"


_FORMATTERS: dict[type, Callable[[Any], str]] = {
    str: repr,
    int: str,
    bool: str,
    Decimal: str,
    type(None): lambda _: "~",
}


def _field_code(name: str, hint: object) -> str:
    """An f-string part that renders field ``name`` exactly as :func:`_fmt` would.

    Fields annotated with a plain ``int``/``bool``/``Decimal``/``str`` or an enum type are
    formatted inline; anything else (optional, unions, tuples) goes through ``_fmt``.
    """
    if hint is int:
        return "{v." + name + "}"  # format(x, "") == str(x), also for a bool
    if hint in (bool, Decimal):
        return "{v." + name + "!s}"
    if hint is str:
        return "{v." + name + "!r}"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "{v." + name + "._value_}"
    return "{_fmt(v." + name + ")}"


def _compiled(cls: type, sep: str, head: str = "", tail: str = "") -> Callable[[Any], str]:
    """A compiled ``value -> head + fields joined by sep + tail`` for one attrs class."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations: the generic path for every field
        hints = {}
    parts = [_field_code(f.name, hints.get(f.name)) for f in attrs.fields(cls)]
    body = _escape(head) + _escape(sep).join(parts) + _escape(tail)
    source = f'def _format(v):\n    return f"{body}"\n'
    namespace: dict[str, Any] = {"_fmt": _fmt}
    exec(compile(source, f"<history canonical {cls.__name__}>", "exec"), namespace)
    formatter: Callable[[Any], str] = namespace["_format"]
    return formatter


def _escape(text: str) -> str:
    """``text`` as literal f-string source (class names and separators only)."""
    return text.encode("unicode_escape").decode("ascii").replace("{", "{{").replace("}", "}}")


def _payload_formatter(cls: type) -> Callable[[Any], str]:
    formatter = _PAYLOAD_FORMATTERS.get(cls)
    if formatter is None:
        formatter = _PAYLOAD_FORMATTERS[cls] = _compiled(cls, "\x1f")
    return formatter


_PAYLOAD_FORMATTERS: dict[type, Callable[[Any], str]] = {}


def canonical_line(row: Row) -> str:
    """The canonical line of one stored entry ``(seq, time_ms, kind, payload)``."""
    seq, time_ms, kind, payload = row
    kind_name = kind._value_
    if kind_name == MESSAGE:  # the raw (channel, event_type, size) of a MessageRecord
        channel, event_type, size = payload
        head = f"{seq}\x1f{time_ms}\x1fmessage\x1fMessageRecord\x1f"
        return f"{head}{channel!r}\x1f{event_type!r}\x1f{size}\n"
    cls = type(payload)
    formatter = _PAYLOAD_FORMATTERS.get(cls) or _payload_formatter(cls)
    try:
        fields = formatter(payload)
    except (AttributeError, TypeError):  # a value that does not match its annotation
        fields = "\x1f".join(map(_fmt, _fields_of(payload)))
    return f"{seq}\x1f{time_ms}\x1f{kind_name}\x1f{cls.__name__}\x1f{fields}\n"


class RunningDigest:
    """sha256 over the canonical lines of stored entries, absorbed in sequence order."""

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()
        self._hashed_seq = 0  # Invariant: every entry with seq <= this is in the hasher

    def absorb(self, rows: Sequence[Row]) -> None:
        """Hash every row of ``rows`` (sorted by seq) not hashed yet, in order.

        Rows must be absorbed before they are dropped, and never out of order.
        """
        if not rows or rows[-1][0] <= self._hashed_seq:
            return
        start = bisect.bisect_right(rows, self._hashed_seq, key=_seq)
        self._hasher.update("".join(map(canonical_line, rows[start:])).encode())
        self._hashed_seq = rows[-1][0]

    def hexdigest(self) -> str:
        return self._hasher.hexdigest()
