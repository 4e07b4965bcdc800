"""The fast depth decoder (``decode_market_wire``) accepts and refuses exactly what
``decode_market_message`` does, and its quantity texts mean exactly the same Decimals."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import format_decimal
from mmbot.venue.binance import codec
from mmbot.venue.binance.codec import CodecError
from mmbot.venue.book import WireDiff
from mmbot.venue.events import DepthUpdate

D = Decimal
DEPTH: dict[str, Any] = {
    "e": "depthUpdate", "E": 1672515782136, "s": "BNBBTC", "U": 157, "u": 160,
    "b": [["0.0024", "10"]], "a": [["0.0026", "100"], ["0.0027", "0"]],
}  # fmt: skip

# Texts Decimal reads (or not): plain, odd spellings, non-finite, negative, garbage.
TEXTS = [
    "1", "0.5", "10.00000000", "0", "0.00000000", "00.10", "1.", ".5", "1e3", "1E-2",
    "0e5", " 2", "3 ", "1_000", "+4", "-0", "-0.0", "-1", "NaN", "sNaN", "Infinity", "-inf",
    "", ".", "1.2.3", "1|2", "abc", "١٢", "0x10", "1e999999",
]  # fmt: skip
numbers = st.one_of(
    st.sampled_from(TEXTS),
    st.decimals(min_value=0, max_value=D("1e9"), places=8).map(format_decimal),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.just(["1"]),
)
levels_st = st.one_of(
    st.lists(st.lists(numbers, min_size=2, max_size=2), max_size=12),
    st.lists(st.one_of(st.lists(numbers, max_size=3), numbers, st.just({"1": 1, "2": 2})),
             max_size=4),
    numbers,
)  # fmt: skip


def outcome(decode: Any, message: object) -> DepthUpdate | str:
    try:
        decoded = decode(message)
    except CodecError:
        return "CodecError"
    return decoded.to_update() if isinstance(decoded, WireDiff) else decoded


@given(bids=levels_st, asks=levels_st, as_text=st.booleans())
def test_wire_decoder_agrees_with_the_plain_decoder_on_any_levels(
    bids: object, asks: object, as_text: bool
) -> None:
    message: object = {**DEPTH, "b": bids, "a": asks}
    if as_text:
        message = json.dumps(message)
    plain = outcome(codec.decode_market_message, message)
    wire = outcome(codec.decode_market_wire, message)
    assert wire == plain  # the same Decimals, or both refused


@given(texts=st.lists(st.sampled_from(TEXTS), min_size=1, max_size=6))
def test_quantity_texts_read_back_exactly_and_are_empty_when_stripped_iff_zero(
    texts: list[str],
) -> None:
    levels = [[str(i + 1), text] for i, text in enumerate(texts)]
    try:
        expected = codec.decode_market_message({**DEPTH, "b": levels})
    except CodecError:
        with pytest.raises(CodecError):
            codec.decode_market_wire({**DEPTH, "b": levels})
        return
    wire = codec.decode_market_wire({**DEPTH, "b": levels})
    assert isinstance(wire, WireDiff) and isinstance(expected, DepthUpdate)
    for text, (_, qty) in zip(wire.bid_quantities, expected.bids, strict=True):
        assert D(text) == qty
        assert bool(text.strip("0.")) == bool(qty)
        if qty:
            assert str(D(text)) == str(qty)  # same digits and exponent, not just value


def test_plain_wire_texts_are_kept_as_sent() -> None:
    wire = codec.decode_market_wire(json.dumps({"stream": "bnbbtc@depth@100ms", "data": DEPTH}))
    assert wire == WireDiff(
        "BNBBTC", 157, 160, 1672515782136,
        [D("0.0024")], ("10",), [D("0.0026"), D("0.0027")], ("100", "0"),
    )  # fmt: skip


@pytest.mark.parametrize(
    "levels",
    [
        [[0.0024, "10"]],
        [["0.0024", 10]],
        [["NaN", "1"]],
        [["1", "Infinity"]],
        [["1", "-1"]],
        [["0", "1"]],
        [["abc", "1"]],
        [["1", "1", "1"]],
        [["1"]],
        [["1", "2"], ["1", "2", "3"]],
        [("1", "2")],
        ["12"],
        [{"1": 0, "2": 0}],
        [["1", "1|2"]],
        [[["1"], "1"]],
        "0.0024",
    ],
)
def test_bad_price_levels_are_codec_errors_on_the_wire_path(levels: object) -> None:
    with pytest.raises(CodecError):
        codec.decode_market_wire({**DEPTH, "b": levels})


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        (json.dumps(DEPTH), True),
        ("  " + json.dumps(DEPTH) + "\n", True),  # whitespace around: json.loads allows it
        ("\ufeff" + json.dumps(DEPTH), False),  # a BOM: json.loads refuses it
        (json.dumps(DEPTH) + " x", False),  # extra data
        (json.dumps(DEPTH)[:-1], False),  # truncated
        ("", False),
    ],
)
def test_message_text_is_read_exactly_as_json_loads_reads_it(text: str, ok: bool) -> None:
    if ok:
        assert codec.decode_market_wire(text) == codec.decode_market_wire(DEPTH)
    else:
        with pytest.raises(CodecError):
            codec.decode_market_wire(text)


def test_bytes_and_other_messages_decode_as_on_the_plain_path() -> None:
    ticker = {"u": 400900217, "s": "BNBUSDT", "b": "25.35190000", "B": "31.21000000",
              "a": "25.36520000", "A": "40.66000000"}  # fmt: skip
    assert codec.decode_market_wire(json.dumps(ticker).encode()) == (
        codec.decode_market_message(ticker)
    )
    assert isinstance(codec.decode_market_wire(json.dumps(DEPTH).encode()), WireDiff)
