"""A user stage for the bot tests: raises while its symbol is in ``EXPLODING`` (no tests here)."""

from __future__ import annotations

from mmbot.quoting.pipeline import Decision, QuoteInputs

#: Symbols whose decisions raise; tests add and remove names.
EXPLODING: set[str] = set()


def explode(inputs: QuoteInputs, so_far: Decision) -> None:
    if inputs.symbol in EXPLODING:
        raise RuntimeError(f"test stage exploded on {inputs.symbol}")
    return None
