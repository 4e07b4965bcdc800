from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mmbot.venue.binance.signing import (
    sign,
    signing_payload,
    strip_signature,
    verify,
    ws_signing_payload,
)

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    "&recvWindow=5000&timestamp=1499827319559"
)
EXPECTED = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_official_test_vector() -> None:
    assert sign(SECRET, PAYLOAD) == EXPECTED


def test_payload_is_query_then_body_concatenated_with_signature_removed() -> None:
    # The official mixed query+body example: the two are joined with no separator.
    query = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
    expected = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    payload, signature = signing_payload(query, body + b"&signature=" + expected.encode())
    assert payload == query + body
    assert signature == expected
    assert verify(SECRET, payload, signature)


def test_verify_rejects_a_tampered_payload() -> None:
    assert not verify(SECRET, PAYLOAD.replace("0.1", "0.2").encode(), EXPECTED)
    assert not verify(SECRET, PAYLOAD.encode(), None)
    assert not verify(SECRET, PAYLOAD.encode(), "")


def test_strip_signature_keeps_raw_order_and_encoding() -> None:
    raw = b"b=2&signature=abc&a=%20x"
    assert strip_signature(raw) == (b"b=2&a=%20x", "abc")


def test_ws_payload_is_sorted_and_excludes_signature() -> None:
    params = {"timestamp": 5, "apiKey": "k", "signature": "zz", "flag": True}
    assert ws_signing_payload(params) == "apiKey=k&flag=true&timestamp=5"


@given(st.binary(max_size=200), st.text(min_size=1, max_size=40))
def test_sign_then_verify_roundtrips(payload: bytes, secret: str) -> None:
    assert verify(secret, payload, sign(secret, payload))


@given(st.text(min_size=1, max_size=70).filter(lambda s: not s.isascii()))
def test_verify_refuses_a_non_ascii_signature_instead_of_raising(signature: str) -> None:
    assert not verify(SECRET, PAYLOAD.encode(), signature)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.one_of(st.text(max_size=20), st.integers(), st.booleans()),
        max_size=8,
    )
)
def test_ws_signing_payload_is_urlencode_of_the_sorted_parameters(
    params: dict[str, object],
) -> None:
    from urllib.parse import urlencode

    from mmbot.venue.binance.signing import ws_signing_payload

    expected = urlencode(
        sorted(
            (k, ("true" if v else "false") if isinstance(v, bool) else str(v))
            for k, v in params.items()
            if k != "signature"
        )
    )
    assert ws_signing_payload(params) == expected
