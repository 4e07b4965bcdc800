"""The fake exchange's admin API under ``/_sim/``, beside the Binance dialect (sans-IO).

What it is for: letting tests, the chaos harness and a curious user read the exchange's
truth (history, an account's balances and open orders, a book) and credit an account.
Routes::

    GET  /_sim/history?since=N&kind=K&limit=L     history entries after sequence N
    GET  /_sim/accounts/<account>                 balances and open orders
    POST /_sim/accounts/<account>/credit          asset=A&amount=X (X may be negative)
    GET  /_sim/book/<symbol>?limit=L              the public book
    GET  /_sim/faults                             the fault plan now, and its clock
    PUT  /_sim/faults                             {"faults": [tables]}: the new plan
    DELETE /_sim/faults                           heal: an empty plan
    POST /_sim/faults/record                      {"name", "target", "detail"}: a fault the
                                                  caller struck itself (a bot killed), in the
                                                  history beside the exchange's own
    GET  /_sim/stats                              the history's extent and digest, counters

The fault and statistics routes answer where an :class:`AdminControl` is attached
(``serve_exchange`` attaches the exchange's, with the chaos scenarios' fault parser, so a
plan set here reads exactly as a scenario's ``[[faults]]`` tables do); elsewhere they
answer 404.

Only loopback clients are served; others get 403. It shares the REST request and response
values and the body formatting with the dialect, not its answers: a refusal is
``{"error": "<message>"}``, never a Binance error code. Bad input is a 4xx ``{"error"}``
naming the field and the reason.

What it must never do: I/O, read a clock; answer a non-loopback client; show credentials;
raise (bad parameters are 4xx ``{"error"}`` answers; an unexpected exception is logged with
its traceback and answered 400).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote

from mmbot.sim.dialect import bodies
from mmbot.sim.dialect.params import ascii_digits
from mmbot.sim.dialect.request import MAX_BODY_BYTES
from mmbot.sim.dialect.rest import RestRequest, RestResponse
from mmbot.sim.engine import EngineProtocol
from mmbot.sim.faults import FaultPlan
from mmbot.sim.history import EntryKind, to_jsonable

log = logging.getLogger(__name__)

PREFIX = "/_sim/"
MAX_HISTORY = 10_000
# fullmatch only, ASCII digits only: str.isdigit() and Decimal() accept "²", "١٢٣" or "5\n".
_ASSET_RE = re.compile(r"[A-Za-z0-9]{1,20}")
_FAULT_NAME_RE = re.compile(r"[a-z][a-z_]{0,39}")
_AMOUNT_RE = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,30})?")


class HistoryReader(Protocol):
    """What the admin API needs from the history (duck-typed)."""

    def entries(self, kind: Any, since_seq: int) -> Iterable[Any]: ...


class ControlledExchange(Protocol):
    """What the fault and statistics routes need of the exchange (``Exchange`` has it)."""

    @property
    def faults(self) -> FaultPlan: ...

    def set_faults(self, plan: FaultPlan) -> None: ...

    def seconds_since_start(self) -> float | None: ...

    def now_ms(self) -> int: ...

    def statistics(self) -> Any: ...


class ControlledHistory(Protocol):
    """What the statistics route reads of the history (``History`` has it)."""

    @property
    def last_seq(self) -> int: ...

    @property
    def dropped(self) -> int: ...

    def __len__(self) -> int: ...

    def digest(self) -> str: ...

    def append_fault(self, time_ms: int, name: str, target: str, detail: str = "") -> int: ...


#: ``[[faults]]`` tables (parsed JSON) -> a plan; a ValueError says which table and why.
FaultParser = Callable[[object], FaultPlan]


class AdminControl:
    """The fault and statistics routes' view of one exchange: the exchange, its history,
    and the parser a plan's tables go through (the chaos scenarios' own)."""

    def __init__(
        self, exchange: ControlledExchange, history: ControlledHistory, parse: FaultParser
    ) -> None:
        self.exchange = exchange
        self.history = history
        self.parse = parse


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_loopback(client: str) -> bool:
    if client == "localhost":
        return True
    try:
        return ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False


class AdminApi:
    """Answers ``/_sim/`` requests from loopback clients."""

    def __init__(self, engine: EngineProtocol, history: HistoryReader | None) -> None:
        self.engine = engine
        self.history = history
        #: The fault and statistics routes' exchange (None: they answer 404).
        self.control: AdminControl | None = None

    def handle(self, request: RestRequest, now_ms: int) -> RestResponse:
        if not is_loopback(request.client):
            return _error(403, "the admin API is served to loopback clients only")
        try:
            return RestResponse(200, self._route(request, now_ms))
        except _Refused as refused:
            return _error(refused.status, refused.message)
        except Exception:  # a bug: log it, answer in the admin API's shape, never a traceback
            log.exception("admin request %r failed unexpectedly", request.path[:256])
            return _error(400, "unexpected error in the admin API (see the exchange's log)")

    def _route(self, request: RestRequest, now_ms: int) -> object:
        parts = [unquote(p) for p in request.path.removeprefix(PREFIX).split("/")]
        params = _params(request)
        method = request.method.upper()
        match parts:
            case ["history"]:
                _expect(method, "GET")
                return self._history(params)
            case ["accounts", account]:
                _expect(method, "GET")
                return self._account(account)
            case ["accounts", account, "credit"]:
                _expect(method, "POST")
                return self._credit(account, params, now_ms)
            case ["book", symbol]:
                _expect(method, "GET")
                return self._book(symbol, params)
            case ["faults"]:
                return self._faults(method, request)
            case ["faults", "record"]:
                _expect(method, "POST")
                return self._record_fault(request)
            case ["stats"]:
                _expect(method, "GET")
                return self._stats()
        raise _Refused(404, f"no such admin resource: {request.path[:100]}")

    def _history(self, params: dict[str, str]) -> object:
        if self.history is None:
            raise _Refused(404, "this exchange keeps no history")
        since = _int(params, "since", 0)
        limit = min(_int(params, "limit", MAX_HISTORY), MAX_HISTORY)
        kind = None
        if params.get("kind"):
            try:
                kind = EntryKind(params["kind"])
            except ValueError as exc:
                names = ", ".join(k.value for k in EntryKind)
                raise _Refused(400, f"kind: expected one of {names}") from exc
        to_json = getattr(self.history, "to_jsonable", to_jsonable)
        out: list[object] = []
        for entry in self.history.entries(kind, since):
            if len(out) >= limit:
                break
            out.append(to_json(entry))
        return {"entries": out}

    def _account(self, account: str) -> object:
        return {
            "account": account,
            "balances": [
                {"asset": b.asset, "free": bodies.num(b.free), "locked": bodies.num(b.locked)}
                for b in self.engine.balances(account)
            ],
            "openOrders": [bodies.queried_order(o) for o in self.engine.open_orders(account)],
        }

    def _credit(self, account: str, params: dict[str, str], now_ms: int) -> object:
        asset = params.get("asset", "")
        if not _ASSET_RE.fullmatch(asset):
            raise _Refused(400, "asset: expected an asset name such as USDT")
        text = params.get("amount", "")
        if not _AMOUNT_RE.fullmatch(text):
            raise _Refused(400, "amount: expected a plain decimal number such as -12.5")
        amount = Decimal(text)
        if amount == 0 or abs(amount) >= Decimal("1e15"):
            raise _Refused(400, "amount: expected a non-zero decimal below 1e15")
        free = {b.asset: b.free for b in self.engine.balances(account)}.get(asset, Decimal(0))
        if free + amount < 0:
            raise _Refused(400, "amount: the debit exceeds the free balance")
        try:
            self.engine.adjust_balance(account, asset, amount, now_ms)
        except ValueError as exc:  # e.g. more decimal places than the ledger keeps
            raise _Refused(400, f"amount refused: {exc}") from exc
        return self._account(account)

    def _book(self, symbol: str, params: dict[str, str]) -> object:
        if self.engine.instrument(symbol) is None:
            raise _Refused(404, "unknown symbol")
        limit = min(max(_int(params, "limit", 100), 1), 5000)
        depth = self.engine.depth(symbol, limit)
        return {
            "symbol": symbol,
            "lastUpdateId": depth.last_update_id,
            "bids": [[bodies.num(p), bodies.num(q)] for p, q in depth.bids],
            "asks": [[bodies.num(p), bodies.num(q)] for p, q in depth.asks],
        }

    # ---- faults and statistics (live chaos runs) ------------------------------------------

    def _controlled(self) -> AdminControl:
        if self.control is None:
            raise _Refused(404, "fault control is served by `mmbot exchange serve` only")
        return self.control

    def _faults(self, method: str, request: RestRequest) -> object:
        control = self._controlled()
        if method == "PUT":
            tables = _json_body(request).get("faults")
            try:
                plan = control.parse(tables)
            except ValueError as exc:
                raise _Refused(400, str(exc)) from None
            control.exchange.set_faults(plan)
        elif method == "DELETE":
            control.exchange.set_faults(FaultPlan())
        elif method != "GET":
            raise _Refused(405, "use GET, PUT or DELETE")
        plan = control.exchange.faults
        return {
            "plan": plan.describe(),
            "faults": len(plan.faults),
            "clock_s": control.exchange.seconds_since_start(),
            "time_ms": control.exchange.now_ms(),
            "seq": control.history.last_seq,
        }

    def _record_fault(self, request: RestRequest) -> object:
        control = self._controlled()
        body = _json_body(request, "name")
        fields = {key: body.get(key, "") for key in ("name", "target", "detail")}
        if not _FAULT_NAME_RE.fullmatch(str(fields["name"])):
            raise _Refused(400, "name: expected a fault's name such as kill_bot")
        for key in ("target", "detail"):
            value = fields[key]
            if not isinstance(value, str) or len(value) > 200 or not value.isprintable():
                raise _Refused(400, f"{key}: expected printable text of at most 200 characters")
        now = control.exchange.now_ms()
        seq = control.history.append_fault(
            now, str(fields["name"]), str(fields["target"]), str(fields["detail"])
        )
        return {"seq": seq, "time_ms": now}

    def _stats(self) -> object:
        control = self._controlled()
        exchange, history = control.exchange, control.history
        stats = exchange.statistics()
        clock_s = exchange.seconds_since_start()
        now_ms = exchange.now_ms()
        return {
            "time_ms": now_ms,
            "clock_s": clock_s,
            "started_ms": None if clock_s is None else now_ms - round(clock_s * 1000),
            "last_seq": history.last_seq,
            "held": len(history),
            "dropped": history.dropped,
            "digest": history.digest(),
            "messages_sent": stats.messages_sent,
            "connections": stats.connections,
            "dropped_slow": stats.dropped_slow,
            "plan": exchange.faults.describe(),
        }


def _json_body(request: RestRequest, key: str = "faults") -> dict[str, Any]:
    """The request's body as a JSON object holding ``key`` (413 past the cap, 400 if it is
    not one)."""
    if len(request.raw_body) > MAX_BODY_BYTES:
        raise _Refused(413, "request too large")
    try:
        body = json.loads(request.raw_body.decode())
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _Refused(400, f"body: expected JSON ({exc})"[:300]) from None
    if not isinstance(body, dict) or key not in body:
        shape = '{"faults": [{"kind": ...}, ...]}' if key == "faults" else '{"name": ...}'
        raise _Refused(400, f"body: expected a JSON object {shape}")
    return body


def _expect(method: str, wanted: str) -> None:
    if method != wanted:
        raise _Refused(405, f"use {wanted}")


def _params(request: RestRequest) -> dict[str, str]:
    if len(request.raw_query) + len(request.raw_body) > MAX_BODY_BYTES:
        raise _Refused(413, "request too large")
    try:
        text = request.raw_query.decode() + "&" + request.raw_body.decode()
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=64))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise _Refused(400, "malformed parameters") from exc


def _int(params: dict[str, str], name: str, default: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    value = ascii_digits(text, 18)
    if value is None:
        raise _Refused(400, f"{name}: expected a non-negative integer")
    return value


def _error(status: int, message: str) -> RestResponse:
    return RestResponse(status, {"error": message})
