"""Client order ids: ``<prefix>-<run id>-<sequence>[-<slot>]``, unique per run (sans-IO).

What it is for: minting the ``newClientOrderId`` of every order the bot sends, and parsing
one back, so a restarted bot recognises its own orders (by prefix) and, when the slot is
encoded, which (side, level) slot an order was quoting.

What it must never do: read a clock or create randomness. The run id is passed in (make one
with :func:`make_run_id` and an injected ``random.Random``); ids never repeat within a run.

Binance accepts ``^[a-zA-Z0-9-_]{1,36}$``. ``-`` separates the fields, so the prefix and the
run id may use letters, digits and ``_`` only. The optional slot suffix is ``b<level>`` for a
bid or ``s<level>`` for an ask (``mm-k3x9q2-17-b0``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import attrs

from mmbot.model import Side
from mmbot.quoting.orders.values import Slot

if TYPE_CHECKING:
    import random

#: The venue's limit on a client order id's length.
MAX_CLIENT_ORDER_ID_LENGTH = 36

_FIELD = re.compile(r"^[A-Za-z0-9_]+$")
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
# Room kept for the sequence when a factory is built: ids stay valid for 10**12 orders.
_SEQUENCE_ROOM = 12
_SLOT_ROOM = 5  # "-b999"


def make_run_id(rng: random.Random, length: int = 6) -> str:
    """A short base-36 run id drawn from the injected ``rng`` (reproducible under a seed)."""
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


def _slot_text(slot: Slot) -> str:
    side, level = slot
    return ("b" if side is Side.BUY else "s") + str(level)


@attrs.define(eq=False)
class ClientIdFactory:
    """Mints ``<prefix>-<run_id>-<sequence>`` ids, sequence starting at ``start`` (1)."""

    prefix: str
    run_id: str
    encode_slot: bool = False
    _next: int = attrs.field(default=1, alias="start")

    def __attrs_post_init__(self) -> None:
        for name, value in (("prefix", self.prefix), ("run_id", self.run_id)):
            if not _FIELD.match(value):
                raise ValueError(f"{name} {value!r} must match [A-Za-z0-9_]+ (no '-')")
        room = len(self.prefix) + len(self.run_id) + 2 + _SEQUENCE_ROOM
        if self.encode_slot:
            room += _SLOT_ROOM
        if room > MAX_CLIENT_ORDER_ID_LENGTH:
            raise ValueError(
                f"prefix {self.prefix!r} and run id {self.run_id!r} are too long: client order"
                f" ids must stay within {MAX_CLIENT_ORDER_ID_LENGTH} characters"
            )

    def next_id(self, slot: Slot | None = None) -> str:
        """The next unique id; the slot is appended only when ``encode_slot`` is set."""
        seq = self._next
        self._next += 1
        cid = f"{self.prefix}-{self.run_id}-{seq}"
        if self.encode_slot and slot is not None:
            cid += "-" + _slot_text(slot)
        if len(cid) > MAX_CLIENT_ORDER_ID_LENGTH:  # pragma: no cover - needs 10**12 orders
            raise ValueError(f"client order id {cid!r} exceeds {MAX_CLIENT_ORDER_ID_LENGTH}")
        return cid

    @property
    def issued(self) -> int:
        """How many ids this factory has minted."""
        return self._next - 1


def _split(cid: str, prefix: str) -> list[str] | None:
    if len(cid) > MAX_CLIENT_ORDER_ID_LENGTH or not cid.startswith(prefix + "-"):
        return None
    parts = cid[len(prefix) + 1 :].split("-")
    if len(parts) not in (2, 3) or not _FIELD.match(parts[0]) or not parts[1].isdigit():
        return None
    if parts[1] != str(int(parts[1])):  # no leading zeros: one id, one spelling
        return None
    if len(parts) == 3 and _parse_slot_text(parts[2]) is None:
        return None
    return parts


def _parse_slot_text(text: str) -> Slot | None:
    if len(text) < 2 or text[0] not in "bs" or not text[1:].isdigit():
        return None
    return (Side.BUY if text[0] == "b" else Side.SELL, int(text[1:]))


def parse_client_order_id(cid: str, prefix: str) -> tuple[str, int] | None:
    """``(run_id, sequence)`` if ``cid`` was minted with ``prefix``, else None."""
    parts = _split(cid, prefix)
    if parts is None:
        return None
    return parts[0], int(parts[1])


def parse_slot(cid: str, prefix: str) -> Slot | None:
    """The (side, level) slot encoded in ``cid``, or None when it carries none."""
    parts = _split(cid, prefix)
    if parts is None or len(parts) != 3:
        return None
    return _parse_slot_text(parts[2])
