"""Request parameters of the fake exchange's dialect: parsing and typed reading (sans-IO).

What it is for: turning a raw query string + form body (REST) or a JSON ``params`` object
(WebSocket API) into :class:`Params`, and reading typed values out of it with the dialect's
exact error codes and messages (-1100, -1101, -1102, -1106, -1111, -1115, -1116, -1117,
-1121, -1130). Every problem is raised as :class:`DialectFailure`, never a bare exception.

What it must never do: I/O, read a clock, or let a malformed input escape as anything but a
:class:`DialectFailure`; put a secret (``signature``) into an error message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import TypeVar
from urllib.parse import parse_qsl

from mmbot.model import Instrument, OrderType, Side, TimeInForce
from mmbot.venue.binance.errors import (
    MSG_INVALID_SYMBOL,
    Code,
    DialectError,
    illegal_param,
    missing_param,
)

#: Most parameters one request may carry (Binance answers -1101 beyond its own limits).
MAX_PARAMS = 64
#: Longest accepted value of one parameter, in characters.
MAX_VALUE_LEN = 1024
#: Decimal places accepted for prices and quantities (base/quote asset precision).
MAX_DECIMALS = 8

# Patterns are matched with ``fullmatch`` (never ``match`` with ``$``, which accepts a trailing
# newline) and spell digits ``[0-9]`` (never ``\d`` or ``str.isdigit``, which accept "²" or "١").
_DECIMAL_RE = re.compile(r"([0-9]{1,20})(\.[0-9]{1,20})?")
_DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_INT_RE = re.compile(r"-?[0-9]{1,19}")
_CLIENT_ID_RE = re.compile(r"[a-zA-Z0-9\-_]{1,36}")
_CLIENT_ID_RANGE = r"^[a-zA-Z0-9-_]{1,36}$"
_SYMBOL_RE = re.compile(r"[A-Z0-9\-_.]{1,20}")
#: Largest magnitude of a JSON integer parameter (Binance's LONG); beyond it: -1130.
MAX_JSON_INT = 2**63

E = TypeVar("E", Side, OrderType, TimeInForce)


class DialectFailure(Exception):
    """An error answer raised inside the dialect layer; ``data`` is an optional extra block."""

    def __init__(self, error: DialectError, data: object = None) -> None:
        super().__init__(f"{error.code} {error.msg}")
        self.error = error
        self.data = data


def fail(code: int, msg: str, http_status: int = 400) -> DialectFailure:
    return DialectFailure(DialectError(code, msg, http_status))


def illegal_chars(name: str, legal: str) -> DialectFailure:
    return fail(
        Code.ILLEGAL_CHARS,
        f"Illegal characters found in parameter '{name}'; legal range is '{legal}'.",
    )


def not_required(name: str) -> DialectFailure:
    return fail(Code.PARAM_NOT_REQUIRED, f"Parameter '{name}' sent when not required.")


def one_of_required(first: str, second: str) -> DialectFailure:
    return fail(
        Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Param '{first}' or '{second}' must be sent, but both were empty/null!",
    )


class Params:
    """The parameters of one request, by name; each name at most once."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        values: dict[str, str] = {}
        for name, value in items:
            if name in values:
                raise fail(Code.TOO_MANY_PARAMETERS, "Duplicate values for a parameter detected.")
            if len(values) >= MAX_PARAMS:
                raise fail(Code.TOO_MANY_PARAMETERS, "Too many parameters sent for this endpoint.")
            if len(value) > MAX_VALUE_LEN:
                raise DialectFailure(illegal_param(name[:40]))
            values[name] = value
        self._values = values

    @classmethod
    def from_rest(cls, raw_query: bytes, raw_body: bytes) -> Params:
        """Parameters of the query string followed by those of a form body."""
        items: list[tuple[str, str]] = []
        for raw in (raw_query, raw_body):
            if not raw:
                continue
            try:
                text = raw.decode("utf-8")
                pairs = parse_qsl(
                    text,
                    keep_blank_values=True,
                    errors="strict",
                    max_num_fields=MAX_PARAMS,
                )
            except UnicodeError as exc:
                raise fail(Code.ILLEGAL_CHARS, "Illegal characters found in a parameter.") from exc
            except ValueError as exc:
                raise fail(
                    Code.TOO_MANY_PARAMETERS, "Too many parameters sent for this endpoint."
                ) from exc
            items.extend(pairs)
        return cls(items)

    @classmethod
    def from_ws(cls, params: object) -> Params:
        """Parameters of a WebSocket API request's ``params`` object."""
        if params is None:
            return cls(())
        if not isinstance(params, Mapping):
            raise fail(Code.INVALID_PARAMETER, "Invalid data sent for a parameter.")
        items: list[tuple[str, str]] = []
        for name, value in params.items():
            if not isinstance(name, str):
                raise fail(Code.INVALID_PARAMETER, "Invalid data sent for a parameter.")
            items.append((name, ws_value(name, value)))
        return cls(items)

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def names(self) -> list[str]:
        return list(self._values)

    def raw(self, name: str) -> str | None:
        """The value as sent; ``None`` when absent. An empty value counts as absent."""
        value = self._values.get(name)
        return value if value else None

    def require(self, name: str) -> str:
        value = self.raw(name)
        if value is None:
            raise DialectFailure(missing_param(name))
        return value

    # ---- typed readers ------------------------------------------------------------------

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        text = self.require(name) if required else self.raw(name)
        if text is None:
            return None
        return parse_decimal(name, text)

    def integer(
        self, name: str, *, required: bool = False, low: int = 0, high: int = 2**63 - 1
    ) -> int | None:
        text = self.require(name) if required else self.raw(name)
        if text is None:
            return None
        if not _INT_RE.fullmatch(text):
            raise illegal_chars(name, "^[0-9]{1,20}$")
        value = int(text)
        if not low <= value <= high:
            raise DialectFailure(illegal_param(name))
        return value

    def enum(self, name: str, kind: type[E], code: int, msg: str) -> E | None:
        text = self.raw(name)
        if text is None:
            return None
        try:
            return kind(text)
        except ValueError as exc:
            raise fail(code, msg) from exc

    def side(self) -> Side:
        self.require("side")
        value = self.enum("side", Side, Code.INVALID_SIDE, "Invalid side.")
        assert value is not None
        return value

    def order_type(self) -> OrderType:
        self.require("type")
        value = self.enum("type", OrderType, Code.INVALID_ORDER_TYPE, "Invalid orderType.")
        assert value is not None
        return value

    def time_in_force(self) -> TimeInForce | None:
        return self.enum("timeInForce", TimeInForce, Code.INVALID_TIF, "Invalid timeInForce.")

    def client_order_id(self, name: str) -> str | None:
        if name not in self._values:
            return None
        text = self._values[name]
        if not text:
            if name == "newClientOrderId":
                raise fail(Code.EMPTY_NEW_CL_ORD_ID, "New client order ID was empty.")
            raise fail(Code.EMPTY_ORG_CL_ORD_ID, "Original client order ID was empty.")
        if not _CLIENT_ID_RE.fullmatch(text):
            raise illegal_chars(name, _CLIENT_ID_RANGE)
        return text

    def choice(self, name: str, allowed: tuple[str, ...], *, required: bool = False) -> str | None:
        text = self.require(name) if required else self.raw(name)
        if text is None:
            return None
        if text not in allowed:
            raise DialectFailure(illegal_param(name))
        return text


_DIGITS_RE = re.compile(r"[0-9]+")


def ascii_digits(text: str | None, max_len: int) -> int | None:
    """``text`` as a non-negative int when it is 1..``max_len`` ASCII digits, else ``None``."""
    if text is None or len(text) > max_len or not _DIGITS_RE.fullmatch(text):
        return None
    return int(text)


def parse_decimal(name: str, text: str) -> Decimal:
    """A non-negative plain decimal with at most :data:`MAX_DECIMALS` places."""
    match = _DECIMAL_RE.fullmatch(text)
    if match is None:
        raise illegal_chars(name, _DECIMAL_RANGE)
    fraction = (match.group(2) or ".")[1:].rstrip("0")
    if len(fraction) > MAX_DECIMALS:
        raise fail(Code.BAD_PRECISION, f"Parameter '{name}' has too much precision.")
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise illegal_chars(name, _DECIMAL_RANGE) from exc


def ws_value(name: str, value: object) -> str:
    """One WebSocket API parameter value as the text a REST client would have sent."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        if not -MAX_JSON_INT <= value < MAX_JSON_INT:
            raise DialectFailure(illegal_param(name))
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise DialectFailure(illegal_param(name))
        return repr(value)
    if isinstance(value, list) and name == "symbols":
        return json.dumps(value)
    raise DialectFailure(illegal_param(name))


def lookup_symbol(instruments: Mapping[str, Instrument], text: str) -> Instrument:
    instrument = instruments.get(text)
    if instrument is None:
        raise fail(Code.BAD_SYMBOL, MSG_INVALID_SYMBOL)
    return instrument


def parse_symbol_list(text: str) -> list[str]:
    """The ``symbols`` parameter: a JSON array of symbol names."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise fail(-1100, "Illegal characters found in parameter 'symbols'.") from exc
    if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
        raise DialectFailure(illegal_param("symbols"))
    for symbol in value:
        if not _SYMBOL_RE.fullmatch(symbol):
            raise fail(Code.BAD_SYMBOL, MSG_INVALID_SYMBOL)
    return list(value)
