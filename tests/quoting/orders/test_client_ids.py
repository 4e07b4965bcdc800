"""Client order ids: unique per run, parsed back by prefix, within the venue's pattern."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mmbot.model import Side
from mmbot.quoting.orders import (
    MAX_CLIENT_ORDER_ID_LENGTH,
    ClientIdFactory,
    make_run_id,
    parse_client_order_id,
    parse_slot,
)


def test_client_ids_are_unique_and_parse_back() -> None:
    factory = ClientIdFactory("mm", "k3x9q2")
    ids = [factory.next_id() for _ in range(100)]
    assert len(set(ids)) == 100
    assert parse_client_order_id(ids[16], "mm") == ("k3x9q2", 17)
    assert parse_client_order_id(ids[16], "other") is None


def test_slot_is_encoded_when_asked() -> None:
    factory = ClientIdFactory("mm", "run", encode_slot=True)
    cid = factory.next_id((Side.SELL, 3))
    assert cid == "mm-run-1-s3"
    assert parse_slot(cid, "mm") == (Side.SELL, 3)
    assert parse_client_order_id(cid, "mm") == ("run", 1)


@pytest.mark.parametrize(
    "cid", ["mm-run", "mm-run-01", "mm-run-x", "mm-r-n-1", "mmx-run-1", "mm-run-1-q1"]
)
def test_foreign_ids_do_not_parse(cid: str) -> None:
    assert parse_client_order_id(cid, "mm") is None


def test_too_long_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        ClientIdFactory("p" * 20, "r" * 10)


def test_dash_in_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="no '-'"):
        ClientIdFactory("m-m", "run")


@given(
    prefix=st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True),
    run=st.from_regex(r"[A-Za-z0-9_]{1,8}", fullmatch=True),
    start=st.integers(1, 10**12 - 1),
)
def test_ids_match_the_venue_pattern_and_round_trip(prefix: str, run: str, start: int) -> None:
    factory = ClientIdFactory(prefix, run, encode_slot=True, start=start)
    cid = factory.next_id((Side.BUY, 99))
    assert len(cid) <= MAX_CLIENT_ORDER_ID_LENGTH
    assert all(c.isascii() and (c.isalnum() or c in "-_") for c in cid)
    assert parse_client_order_id(cid, prefix) == (run, start)


def test_run_id_comes_from_the_injected_rng() -> None:
    assert make_run_id(random.Random(1)) == make_run_id(random.Random(1))
    assert len(make_run_id(random.Random(1), 8)) == 8
