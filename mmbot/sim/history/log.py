"""The fake exchange's truth log: every request, engine event, message sent and fault (sans-IO).

What it is for: one append-only record of what the exchange did and when, readable during a
run (the admin API pages through it with ``since_seq``) and after it (the chaos invariants
are checked against it; ``digest()`` is the deterministic-replay fingerprint).

What it must never do: I/O, read a clock (times are given as ``time_ms``), hold a secret
(requests are recorded by account name, never by key), drop an entry without handing it to
``on_drop`` first, or drop a request, a fault, a symbol status change, or an execution
report or balance event of an account outside ``bulk_accounts`` unless ``max_records``
bounds them too.

Theory of operation: entries get sequence numbers 1, 2, 3, ... in append order and are kept
in one list (sorted by ``seq``) plus one list per kind. Appending costs one tuple and two
list appends (an engine event is stored as it is; a message's frozen record is built only
when read); serialization happens only for ``to_jsonable`` and ``digest``. The digest is a
running sha256 over each entry's canonical line (``digest.py``: seq, time,
kind, type and every payload field), brought up to date lazily.

The bound: with ``max_bulk`` set, the bulk entries form a ring: messages, book deltas and
public trades (:data:`BULK_KINDS`), plus the private events (:data:`ACCOUNT_KINDS`) of the
``bulk_accounts`` (the background market's own accounts). Once more than ``2 * max_bulk``
of them are held, the oldest are dropped down to ``max_bulk`` (amortised O(1)); the digest
first absorbs every entry not yet hashed, so it still covers everything ever appended, and
sequence numbers keep counting (a gap shows what was dropped). Requests, faults, symbol
status changes and every other account's executions and balances (the *records*) are kept
for good, unless ``max_records`` bounds them the same way (a second ring: more than
``2 * max_records`` held, the oldest are dropped down to ``max_records``). Whatever a
trim drops is handed to ``on_drop`` first, oldest first, as :class:`Entry` values (the
exchange shell spills them to a JSONL file), so a bounded history loses nothing that
someone asked to keep.
"""

from __future__ import annotations

import bisect
import enum
import operator
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import attrs
import cattrs

from mmbot.model import ExecutionType, Fill
from mmbot.sim.engine import (
    AccountPosition,
    BalanceUpdate,
    BookDelta,
    EngineEvent,
    Execution,
    SymbolStatusChanged,
    TradePrint,
)
from mmbot.sim.history.digest import MESSAGE as MESSAGE_KIND
from mmbot.sim.history.digest import RunningDigest, canonical_line


class EntryKind(enum.Enum):
    REQUEST = "request"
    EXECUTION = "execution"
    ACCOUNT_POSITION = "account_position"
    BALANCE_UPDATE = "balance_update"
    PUBLIC_TRADE = "public_trade"
    BOOK_DELTA = "book_delta"
    SYMBOL_STATUS = "symbol_status"
    MESSAGE = MESSAGE_KIND  # the one kind stored as a raw tuple (digest.py knows it)
    FAULT = "fault"


#: The kinds a bounded history may drop (oldest first), whoever they concern.
BULK_KINDS = frozenset({EntryKind.MESSAGE, EntryKind.BOOK_DELTA, EntryKind.PUBLIC_TRADE})
#: The kinds that concern one account: bulk only when it is one of the ``bulk_accounts``.
ACCOUNT_KINDS = frozenset(
    {EntryKind.EXECUTION, EntryKind.ACCOUNT_POSITION, EntryKind.BALANCE_UPDATE}
)

_EVENT_KINDS: dict[type, EntryKind] = {
    Execution: EntryKind.EXECUTION,
    AccountPosition: EntryKind.ACCOUNT_POSITION,
    BalanceUpdate: EntryKind.BALANCE_UPDATE,
    TradePrint: EntryKind.PUBLIC_TRADE,
    BookDelta: EntryKind.BOOK_DELTA,
    SymbolStatusChanged: EntryKind.SYMBOL_STATUS,
}


@attrs.frozen
class RequestRecord:
    """One request the exchange answered, with its outcome (never its key or signature)."""

    transport: str  # "rest" or "ws_api"
    method: str  # HTTP method, or the WebSocket API method ("order.place")
    path: str  # REST path ("/api/v3/order"); the WS API method again for ws_api
    account: str | None  # None when unauthenticated or the key was unknown
    status: int  # HTTP status (the WS API's "status" field)
    error_code: int | None  # the dialect's code when it answered an error
    weight: int
    client_order_id: str | None = None
    symbol: str | None = None
    injected: bool = False  # answered by the fault plan (an ``error`` fault), not the dialect


@attrs.frozen
class MessageRecord:
    """One frame sent to a connection (market stream, user data or WS API answer)."""

    channel: str  # stream name ("btcusdt@trade"), "user:<account>", "ws-api", ...
    event_type: str
    size: int  # bytes of the frame's text


@attrs.frozen
class FaultRecord:
    """A fault the chaos harness injected (or healed)."""

    name: str
    target: str
    detail: str = ""


Payload = RequestRecord | MessageRecord | FaultRecord | EngineEvent


@attrs.frozen
class Entry:
    seq: int  # 1, 2, 3, ... in append order; never reused
    time_ms: int  # exchange epoch milliseconds
    kind: EntryKind
    payload: Payload


def _plain(value: Any) -> Any:
    """JSON-ready form: Decimals as strings, enums as values, attrs values as dicts."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if attrs.has(type(value)):
        return {f.name: _plain(getattr(value, f.name)) for f in attrs.fields(type(value))}
    return value


def to_jsonable(entry: Entry) -> dict[str, Any]:
    """An entry as plain JSON data (for the admin API)."""
    return {
        "seq": entry.seq,
        "time_ms": entry.time_ms,
        "kind": entry.kind.value,
        "type": type(entry.payload).__name__,
        "payload": _plain(entry.payload),
    }


#: The payload types an entry's ``"type"`` names (:func:`to_jsonable`'s inverse reads them).
_PAYLOAD_TYPES: dict[str, type] = {
    cls.__name__: cls for cls in (RequestRecord, MessageRecord, FaultRecord, *_EVENT_KINDS)
}
_converter = cattrs.Converter()
_converter.register_structure_hook(Decimal, lambda value, _: Decimal(value))
_converter.register_structure_hook(type(None), lambda value, _: None)


def from_jsonable(data: Any) -> Entry:
    """The entry :func:`to_jsonable` (the admin API, the history spill) made this from;
    ValueError for anything else."""
    try:
        kind = EntryKind(data["kind"])
        payload: Payload = _converter.structure(data["payload"], _PAYLOAD_TYPES[data["type"]])
        seq, time_ms = data["seq"], data["time_ms"]
        if not (isinstance(seq, int) and isinstance(time_ms, int)):
            raise TypeError("seq and time_ms must be integers")
    except (KeyError, TypeError, ValueError, cattrs.BaseValidationError) as exc:
        raise ValueError(f"not a history entry: {exc!r}"[:300]) from None
    return Entry(seq, time_ms, kind, payload)


# A stored entry: (seq, time_ms, kind, payload); a MESSAGE's payload is kept as the raw
# (channel, event_type, size) tuple and becomes a MessageRecord when read.
_Row = tuple[int, int, EntryKind, Any]
_seq = operator.itemgetter(0)


def _entry(row: _Row) -> Entry:
    seq, time_ms, kind, payload = row
    if kind is EntryKind.MESSAGE:
        payload = MessageRecord(*payload)
    return Entry(seq, time_ms, kind, payload)


class History:
    """The append-only truth log (see the module docstring)."""

    def __init__(
        self,
        *,
        max_bulk: int | None = None,
        bulk_accounts: Iterable[str] = (),
        max_records: int | None = None,
        on_drop: Callable[[list[Entry]], None] | None = None,
    ) -> None:
        if max_bulk is not None and max_bulk < 1:
            raise ValueError("max_bulk must be >= 1 (or None for unbounded)")
        if max_records is not None and max_records < 1:
            raise ValueError("max_records must be >= 1 (or None for unbounded)")
        self._max_bulk = max_bulk
        self._max_records = max_records
        self._bounded = max_bulk is not None or max_records is not None
        self._on_drop = on_drop
        self._bulk_accounts = frozenset(bulk_accounts)
        self._rows: list[_Row] = []  # Invariant: sorted by seq
        self._by_kind: dict[EntryKind, list[_Row]] = {kind: [] for kind in EntryKind}
        self._last_seq = 0
        self._bulk_held = 0  # bulk rows held (counted only when bounded)
        self._records_held = 0  # other rows held (counted only when bounded)
        self._dropped = 0
        self._digest = RunningDigest()  # Invariant: absorbed every row before it is dropped

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> History:
        """An unbounded history holding ``entries`` under their own sequence numbers (a
        history read back from the admin API or a spill file, for the chaos checkers; its
        ``digest()`` covers these entries only, not the exchange's whole trace)."""
        history = cls()
        for entry in sorted(entries, key=lambda e: e.seq):
            if entry.seq <= history._last_seq:
                raise ValueError(f"history entry #{entry.seq} given twice")
            payload: Any = entry.payload
            if entry.kind is EntryKind.MESSAGE:
                payload = (payload.channel, payload.event_type, payload.size)
            row = (entry.seq, entry.time_ms, entry.kind, payload)
            history._rows.append(row)
            history._by_kind[entry.kind].append(row)
            history._last_seq = entry.seq
        return history

    # ---- appending ------------------------------------------------------------------------

    def _append(self, time_ms: int, kind: EntryKind, payload: Any) -> int:
        self._last_seq = seq = self._last_seq + 1
        row = (seq, time_ms, kind, payload)
        self._rows.append(row)
        self._by_kind[kind].append(row)
        if self._bounded:
            if self._is_bulk(kind, payload):
                self._bulk_held += 1
                if self._max_bulk is not None and self._bulk_held > 2 * self._max_bulk:
                    self._trim()
            else:
                self._records_held += 1
                if self._max_records is not None and self._records_held > 2 * self._max_records:
                    self._trim()
        return seq

    def append_request(
        self,
        time_ms: int,
        *,
        transport: str,
        method: str,
        path: str,
        account: str | None,
        status: int,
        error_code: int | None = None,
        weight: int = 0,
        client_order_id: str | None = None,
        symbol: str | None = None,
        injected: bool = False,
    ) -> int:
        """Record one answered request; returns its sequence number."""
        record = RequestRecord(
            transport, method, path, account, status, error_code, weight, client_order_id,
            symbol, injected,
        )  # fmt: skip
        return self._append(time_ms, EntryKind.REQUEST, record)

    def append_events(self, time_ms: int, events: Iterable[EngineEvent]) -> None:
        """Record drained engine events in their order."""
        if self._bounded:
            for event in events:
                self._append(time_ms, _EVENT_KINDS[type(event)], event)
            return
        kinds, rows, by_kind = _EVENT_KINDS, self._rows, self._by_kind
        seq = self._last_seq
        for event in events:
            kind = kinds[type(event)]
            seq += 1
            row = (seq, time_ms, kind, event)
            rows.append(row)
            by_kind[kind].append(row)
        self._last_seq = seq

    def append_message(self, channel: str, event_type: str, size: int, time_ms: int) -> None:
        """Record one frame sent (argument order as the exchange shell calls it)."""
        self._append(time_ms, EntryKind.MESSAGE, (channel, event_type, size))

    def append_fault(self, time_ms: int, name: str, target: str, detail: str = "") -> int:
        """Record a fault; returns its sequence number."""
        return self._append(time_ms, EntryKind.FAULT, FaultRecord(name, target, detail))

    def _is_bulk(self, kind: EntryKind, payload: Any) -> bool:
        return kind in BULK_KINDS or (
            kind in ACCOUNT_KINDS and payload.account in self._bulk_accounts
        )

    def _trim(self) -> None:
        """Drop the oldest bulk rows down to ``max_bulk`` and the oldest records down to
        ``max_records`` (each ring only when it holds more than its bound), after the
        digest absorbed them and ``on_drop`` got them."""
        self._digest.absorb(self._rows)
        max_bulk, max_records = self._max_bulk, self._max_records
        drop_bulk = 0 if max_bulk is None else max(0, self._bulk_held - max_bulk)
        drop_records = 0 if max_records is None else max(0, self._records_held - max_records)
        self._dropped += drop_bulk + drop_records
        self._bulk_held -= drop_bulk
        self._records_held -= drop_records
        kept: list[_Row] = []
        dropped: list[_Row] = []
        by_kind: dict[EntryKind, list[_Row]] = {kind: [] for kind in EntryKind}
        is_bulk = self._is_bulk
        for row in self._rows:
            if drop_bulk or drop_records:
                if is_bulk(row[2], row[3]):
                    if drop_bulk:
                        drop_bulk -= 1
                        dropped.append(row)
                        continue
                elif drop_records:
                    drop_records -= 1
                    dropped.append(row)
                    continue
            kept.append(row)
            by_kind[row[2]].append(row)
        self._rows = kept
        self._by_kind = by_kind
        if self._on_drop is not None and dropped:
            self._on_drop([_entry(row) for row in dropped])

    # ---- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        """Entries held now (fewer than ``last_seq`` once a bounded history dropped some)."""
        return len(self._rows)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    @property
    def dropped(self) -> int:
        """Entries dropped by the rings so far (bulk and, with ``max_records``, records)."""
        return self._dropped

    def _select(self, kind: EntryKind | Iterable[EntryKind] | None, since_seq: int) -> list[_Row]:
        if kind is None:
            source = self._rows
        elif isinstance(kind, EntryKind):
            source = self._by_kind[kind]
        else:
            wanted = set(kind)
            if len(wanted) == 1:
                source = self._by_kind[wanted.pop()]
            else:
                start = bisect.bisect_right(self._rows, since_seq, key=_seq)
                return [r for r in self._rows[start:] if r[2] in wanted]
        return source[bisect.bisect_right(source, since_seq, key=_seq) :]

    def entries(
        self,
        kind: EntryKind | Iterable[EntryKind] | None = None,
        since_seq: int = 0,
        limit: int | None = None,
    ) -> list[Entry]:
        """Entries with ``seq > since_seq`` (pass the last seq you saw), optionally of kinds,
        at most ``limit`` of them (the oldest first)."""
        rows = self._select(kind, since_seq)
        if limit is not None:
            rows = rows[: max(0, limit)]
        return [_entry(row) for row in rows]

    def canonical_lines(self, since_seq: int = 0) -> Iterator[str]:
        """The canonical line of each held entry (what the digest hashes), for trace files."""
        for row in self._select(None, since_seq):
            yield canonical_line(row)

    def requests(self, account: str | None = None) -> list[RequestRecord]:
        records: list[RequestRecord] = [r[3] for r in self._by_kind[EntryKind.REQUEST]]
        return [r for r in records if account in (None, r.account)]

    def faults(self) -> list[FaultRecord]:
        return [r[3] for r in self._by_kind[EntryKind.FAULT]]

    def executions(self, account: str | None = None, symbol: str | None = None) -> list[Execution]:
        """Execution reports in order, optionally for one account and/or symbol."""
        return self._executions(self._by_kind[EntryKind.EXECUTION], account, symbol)

    @staticmethod
    def _executions(rows: list[_Row], account: str | None, symbol: str | None) -> list[Execution]:
        reports: list[Execution] = [r[3] for r in rows]
        return [
            report
            for report in reports
            if (account is None or report.account == account)
            and (symbol is None or report.symbol == symbol)
        ]

    def fills(self, account: str, symbol: str | None = None) -> list[Fill]:
        """The account's fills, each trade once (de-duplicated by symbol, order id, trade id)."""
        seen: set[tuple[str, int, int]] = set()
        out: list[Fill] = []
        for report in self.executions(account, symbol):
            if report.execution_type is not ExecutionType.TRADE:
                continue
            key = (report.symbol, report.order_id, report.trade_id)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                Fill(
                    symbol=report.symbol,
                    order_id=report.order_id,
                    client_order_id=report.client_order_id,
                    trade_id=report.trade_id,
                    side=report.side,
                    price=report.last_price,
                    quantity=report.last_qty,
                    fee=report.commission,
                    fee_asset=report.commission_asset or "",
                    is_maker=report.is_maker,
                    time_ms=report.transaction_time_ms,
                )
            )
        return out

    def open_orders(
        self, account: str | None = None, symbol: str | None = None, *, at_seq: int | None = None
    ) -> list[Execution]:
        """Orders open after entry ``at_seq`` (default: now), from the execution reports.

        Each open order is given as its latest execution report, sorted by (account, symbol,
        order id).
        """
        rows = self._by_kind[EntryKind.EXECUTION]
        if at_seq is not None:
            rows = rows[: bisect.bisect_right(rows, at_seq, key=_seq)]
        latest: dict[tuple[str, str, int], Execution] = {}
        for report in self._executions(rows, account, symbol):
            key = (report.account, report.symbol, report.order_id)
            if report.status.is_open:
                latest[key] = report
            else:
                latest.pop(key, None)
        return sorted(latest.values(), key=lambda r: (r.account, r.symbol, r.order_id))

    # ---- digest ---------------------------------------------------------------------------

    def digest(self) -> str:
        """sha256 (hex) over the canonical lines of every entry ever appended."""
        self._digest.absorb(self._rows)
        return self._digest.hexdigest()
