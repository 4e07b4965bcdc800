"""The accounts' balances inside the matching engine, in atoms, with change tracking (sans-IO).

What it is for: every account's free and locked balance of every asset as an integer number
of *atoms* (``units.atom_decimals``), so that trades and fees move money exactly and assets
are conserved to the last atom; and, at the end of each engine action, which balances
really changed (for ``outboundAccountPosition``).

Named ``Balances``, not ``Ledger``: ``mmbot.quoting.Ledger`` is the bot's own record of its
fills and positions; this is the exchange's truth about what each account holds.

What it must never do: I/O, read a clock, draw randomness, round money or touch a float.
"""

from __future__ import annotations

from collections.abc import Container
from decimal import Decimal

from mmbot.sim.engine.contract import AccountPosition, AssetBalance
from mmbot.sim.engine.units import to_scaled_int


class BalanceSlot:
    """One account's balance of one asset, in atoms."""

    __slots__ = ("account", "asset", "epoch", "free", "free_before", "locked", "locked_before")

    def __init__(self, account: str, asset: str) -> None:
        self.account = account
        self.asset = asset
        self.free = 0  # Invariant: >= 0
        self.locked = 0  # Invariant: >= 0
        self.epoch = -1  # the action that last touched it
        self.free_before = 0  # free and locked before that action's first change
        self.locked_before = 0


class Balances:
    """Free and locked balances in atoms, per account and asset, with change tracking.

    Every mutation goes through :meth:`slot`, which remembers the balance before the current
    action's first change to it; :meth:`take_changes` ends the action and says which
    balances really changed (for ``outboundAccountPosition``), in the order first touched.
    """

    __slots__ = ("_epoch", "_touched", "accounts", "atom_dp")

    def __init__(self, atom_dp: int) -> None:
        self.atom_dp = atom_dp
        self.accounts: dict[str, dict[str, BalanceSlot]] = {}
        self._epoch = 0
        self._touched: list[BalanceSlot] = []

    def free(self, account: str, asset: str) -> int:
        held = self.accounts.get(account)
        slot = None if held is None else held.get(asset)
        return 0 if slot is None else slot.free

    def unreported_slot(self, account: str, asset: str) -> BalanceSlot:
        """The mutable balance of an account whose changes are never reported (the engine's
        fee account): no change tracking, so it costs an action nothing."""
        balances = self.accounts.get(account)
        if balances is None:
            balances = self.accounts[account] = {}
        slot = balances.get(asset)
        if slot is None:
            slot = balances[asset] = BalanceSlot(account, asset)
        return slot

    def slot(self, account: str, asset: str) -> BalanceSlot:
        """The mutable balance of ``asset`` in ``account``, remembered before first change."""
        balances = self.accounts.get(account)
        if balances is None:
            balances = self.accounts[account] = {}
        slot = balances.get(asset)
        if slot is None:
            slot = balances[asset] = BalanceSlot(account, asset)
        if slot.epoch != self._epoch:
            slot.epoch = self._epoch
            slot.free_before = slot.free
            slot.locked_before = slot.locked
            self._touched.append(slot)
        return slot

    def take_changes(self, now_ms: int, skip: Container[str]) -> list[AccountPosition]:
        """End the action: one ``AccountPosition`` per account (but those in ``skip``) whose
        balances changed, listing only the changed assets as they are now, in first-touched
        order."""
        touched = self._touched
        if not touched:
            return []
        self._epoch += 1
        dp = -self.atom_dp
        if len(touched) == 1:  # the common case: a resting place or a cancel
            slot = touched.pop()
            free, locked = slot.free, slot.locked
            if slot.account in skip or (free == slot.free_before and locked == slot.locked_before):
                return []
            balance = AssetBalance(slot.asset, Decimal(free).scaleb(dp), Decimal(locked).scaleb(dp))
            return [AccountPosition(slot.account, now_ms, (balance,))]
        changed: dict[str, list[AssetBalance]] = {}
        for slot in touched:
            free, locked = slot.free, slot.locked
            if slot.account not in skip and (
                free != slot.free_before or locked != slot.locked_before
            ):
                found = changed.get(slot.account)
                if found is None:
                    found = changed[slot.account] = []
                found.append(
                    AssetBalance(slot.asset, Decimal(free).scaleb(dp), Decimal(locked).scaleb(dp))
                )
        touched.clear()
        return [
            AccountPosition(account, now_ms, tuple(balances))
            for account, balances in changed.items()
        ]

    def to_decimal(self, atoms: int) -> Decimal:
        """Atoms -> Decimal with the engine's ``dp`` decimals."""
        return Decimal(atoms).scaleb(-self.atom_dp)

    def to_atoms(self, value: Decimal) -> int | None:
        return to_scaled_int(value, self.atom_dp)
