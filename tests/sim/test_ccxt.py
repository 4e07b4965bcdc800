"""An independent client against the fake exchange: ccxt's sync ``binance`` over loopback.

What it is for: proving the dialect is Binance's as a third-party client understands it. It
starts ``mmbot exchange serve`` as a process (once per module, ``ccxt_kit.py``), points ccxt
at the printed REST base with spot-only options, and checks what ccxt makes of markets,
books, orders (open, closed, all), balances, trades, fees, cancel-replace and error codes.

What it must never do: let a request leave 127.0.0.1 or the Spot API (anything else is
refused by the HTTP session before a socket opens), wait without a bound, or leave the
server running.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import pytest
from ccxt_kit import (
    BTC,
    ETH,
    START_TIMEOUT_S,
    LeftLoopback,
    Server,
    make_client,
)


@pytest.fixture(scope="module")
def rest_base() -> Iterator[str]:
    server = Server()
    try:
        base = server.wait_rest_base(START_TIMEOUT_S)
        yield base
    finally:
        code = server.stop()
    assert code == 0, f"server did not exit 0 on SIGTERM (got {code}): {server.output}"


@pytest.fixture(scope="module")
def client(rest_base: str) -> Any:
    exchange = make_client(rest_base)
    exchange.load_markets()
    return exchange


def _cancel_everything(client: Any) -> None:
    for symbol in (BTC, ETH):
        if client.fetch_open_orders(symbol):
            client.cancel_all_orders(symbol)


@pytest.fixture
def clean(client: Any) -> Iterator[Any]:
    """The client, with no open orders before and after the test."""
    _cancel_everything(client)
    yield client
    _cancel_everything(client)


def _best(client: Any, symbol: str) -> tuple[Decimal, Decimal]:
    book = client.fetch_order_book(symbol, 5)
    return Decimal(str(book["bids"][0][0])), Decimal(str(book["asks"][0][0]))


def _price(value: Decimal) -> str:
    """A price on the 0.01 tick, as the string ccxt passes through."""
    return str(value.quantize(Decimal("0.01")))


def _held(client: Any, asset: str) -> tuple[Decimal, Decimal]:
    """An asset's (free, locked) exactly, from the raw account response."""
    info = client.fetch_balance()["info"]
    (row,) = [b for b in info["balances"] if b["asset"] == asset]
    return Decimal(row["free"]), Decimal(row["locked"])


def _usdt(client: Any) -> tuple[Decimal, Decimal]:
    return _held(client, "USDT")


# ---- tests ---------------------------------------------------------------------------------


def test_every_api_url_points_at_the_local_exchange(client: Any, rest_base: str) -> None:
    assert rest_base.startswith("http://127.0.0.1:")
    assert all(url.startswith(rest_base + "/") for url in client.urls["api"].values())
    with pytest.raises(LeftLoopback):
        client.session.get("https://api.binance.com/api/v3/ping")
    with pytest.raises(LeftLoopback):  # a local path outside the Spot API: refused too
        client.session.get(rest_base + "/sapi/v1/capital/config/getall")


def test_server_time_is_within_the_receive_window_of_ccxt(client: Any) -> None:
    assert abs(client.fetch_time() - client.milliseconds()) < 5000


def test_answers_carry_binances_weight_uuid_and_order_count_headers(clean: Any) -> None:
    clean.fetch_time()
    headers = {k.lower(): v for k, v in clean.last_response_headers.items()}
    assert len(headers["x-mbx-uuid"]) == 36
    assert headers["x-mbx-used-weight"] == headers["x-mbx-used-weight-1m"]
    assert int(headers["x-mbx-used-weight-1m"]) >= 1
    bid, _ = _best(clean, BTC)
    clean.create_order(BTC, "limit", "buy", "0.01", _price(bid * Decimal("0.97")))
    placed = {k.lower(): v for k, v in clean.last_response_headers.items()}
    assert int(placed["x-mbx-order-count-10s"]) >= 1 and int(placed["x-mbx-order-count-1d"]) >= 1


def test_load_markets_has_both_spot_symbols_with_their_filters(client: Any) -> None:
    markets = client.load_markets()
    assert set(markets) == {BTC, ETH}
    btc, eth = markets[BTC], markets[ETH]
    assert (btc["id"], btc["base"], btc["quote"]) == ("BTCUSDT", "BTC", "USDT")
    assert btc["spot"] and btc["active"] and btc["type"] == "spot"
    assert btc["precision"]["price"] == 0.01 and btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["amount"] == {"min": 0.00001, "max": 9000}
    assert btc["limits"]["price"] == {"min": 0.01, "max": 60_000_000}
    assert btc["limits"]["cost"]["min"] == 5
    assert eth["precision"]["price"] == 0.01 and eth["precision"]["amount"] == 0.0001
    assert eth["limits"]["amount"]["min"] == 0.0001
    assert eth["limits"]["price"]["max"] == 3_000_000


def test_order_book_is_sorted_and_not_crossed(client: Any) -> None:
    book = client.fetch_order_book(BTC, 10)
    bids, asks = book["bids"], book["asks"]
    assert book["symbol"] == BTC and 0 < len(bids) <= 10 and 0 < len(asks) <= 10
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert bids[0][0] < asks[0][0]
    assert all(q > 0 for _, q in bids + asks)
    assert isinstance(book["nonce"], int)


def test_limit_gtc_order_rests_shows_as_open_and_locks_quote(clean: Any) -> None:
    bid, _ = _best(clean, BTC)
    free_before, locked_before = _usdt(clean)
    price = _price(bid * Decimal("0.99"))
    order = clean.create_order(BTC, "limit", "buy", "0.01", price)
    assert order["status"] == "open" and order["info"]["type"] == "LIMIT"
    assert order["info"]["timeInForce"] == "GTC"
    assert order["amount"] == 0.01 and order["filled"] == 0
    (listed,) = clean.fetch_open_orders(BTC)
    assert listed["id"] == order["id"] and Decimal(listed["info"]["price"]) == Decimal(price)
    free_after, locked_after = _usdt(clean)
    cost = Decimal(price) * Decimal("0.01")
    assert locked_after - locked_before == cost
    assert free_before - free_after == cost
    balance = clean.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(float(locked_after))


def test_post_only_order_is_sent_as_limit_maker(clean: Any) -> None:
    bid, _ = _best(clean, BTC)
    order = clean.create_order(
        BTC, "limit", "buy", "0.01", _price(bid * Decimal("0.98")), {"postOnly": True}
    )
    assert order["info"]["type"] == "LIMIT_MAKER" and order["status"] == "open"
    assert order["postOnly"] is True


def test_post_only_order_that_would_cross_is_order_immediately_fillable(clean: Any) -> None:
    _, ask = _best(clean, BTC)
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        clean.create_order(
            BTC, "limit", "buy", "0.01", _price(ask * Decimal("1.01")), {"postOnly": True}
        )
    assert clean.fetch_open_orders(BTC) == []


def test_cancel_order_cancels_and_releases_the_lock(clean: Any) -> None:
    bid, _ = _best(clean, BTC)
    _, locked_before = _usdt(clean)
    order = clean.create_order(BTC, "limit", "buy", "0.01", _price(bid * Decimal("0.99")))
    canceled = clean.cancel_order(order["id"], BTC)
    assert canceled["id"] == order["id"] and canceled["status"] == "canceled"
    assert clean.fetch_open_orders(BTC) == []
    assert _usdt(clean)[1] == locked_before
    assert clean.fetch_order(order["id"], BTC)["status"] == "canceled"


def test_cancel_of_an_unknown_order_is_order_not_found(clean: Any) -> None:
    with pytest.raises(ccxt.OrderNotFound):
        clean.cancel_order("987654321", BTC)


def test_cancel_all_orders_cancels_only_that_symbol(clean: Any) -> None:
    eth_bid, _ = _best(clean, ETH)
    btc_bid, _ = _best(clean, BTC)
    ids = {
        clean.create_order(ETH, "limit", "buy", "0.1", _price(eth_bid * k))["id"]
        for k in (Decimal("0.99"), Decimal("0.98"))
    }
    kept = clean.create_order(BTC, "limit", "buy", "0.01", _price(btc_bid * Decimal("0.99")))
    canceled = clean.cancel_all_orders(ETH)
    assert {o["id"] for o in canceled} == ids
    assert all(o["status"] == "canceled" for o in canceled)
    assert clean.fetch_open_orders(ETH) == []
    assert [o["id"] for o in clean.fetch_open_orders(BTC)] == [kept["id"]]


def test_order_beyond_the_balance_is_insufficient_funds(clean: Any) -> None:
    _, ask = _best(clean, BTC)
    held, _ = _held(clean, "BTC")
    with pytest.raises(ccxt.InsufficientFunds):
        clean.create_order(
            BTC, "limit", "sell", str(held.to_integral_value() + 10), _price(ask * Decimal("1.01"))
        )
    assert clean.fetch_open_orders(BTC) == []


def test_crossing_order_trades_and_shows_in_my_trades(clean: Any) -> None:
    _, ask = _best(clean, BTC)
    limit = Decimal(_price(ask * Decimal("1.005")))
    btc_before = sum(_held(clean, "BTC"))
    order = clean.create_order(BTC, "limit", "buy", "0.001", str(limit))
    assert order["status"] == "closed" and order["filled"] == 0.001
    assert order["timestamp"] == order["info"]["transactTime"]  # not workingTime -1
    trades = [t for t in clean.fetch_my_trades(BTC) if t["order"] == order["id"]]
    assert trades and all(t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in trades)
    assert sum(Decimal(t["info"]["qty"]) for t in trades) == Decimal("0.001")
    assert all(Decimal(t["info"]["price"]) <= limit for t in trades)
    fees = sum(Decimal(t["info"]["commission"]) for t in trades if t["fee"]["currency"] == "BTC")
    btc_after = sum(_held(clean, "BTC"))
    assert btc_after - btc_before == Decimal("0.001") - fees


def test_edit_order_replaces_it_through_cancel_replace(clean: Any) -> None:
    bid, _ = _best(clean, BTC)
    old = clean.create_order(BTC, "limit", "buy", "0.01", _price(bid * Decimal("0.99")))
    new_price = _price(bid * Decimal("0.985"))
    new = clean.edit_order(old["id"], BTC, "limit", "buy", "0.02", new_price)
    assert clean.last_request_url.endswith("/api/v3/order/cancelReplace")
    assert new["id"] != old["id"] and new["status"] == "open" and new["amount"] == 0.02
    (listed,) = clean.fetch_open_orders(BTC)
    assert listed["id"] == new["id"] and Decimal(listed["info"]["price"]) == Decimal(new_price)
    assert clean.fetch_order(old["id"], BTC)["status"] == "canceled"


def test_wrong_secret_is_authentication_error(rest_base: str, client: Any) -> None:
    impostor = make_client(rest_base, secret="not-the-secret")
    impostor.load_markets()  # public: the wrong secret does not matter yet
    with pytest.raises(ccxt.AuthenticationError):
        impostor.fetch_balance()


def test_fetch_orders_and_closed_orders_come_from_all_orders(clean: Any) -> None:
    bid, _ = _best(clean, BTC)
    open_one = clean.create_order(BTC, "limit", "buy", "0.01", _price(bid * Decimal("0.97")))
    gone = clean.create_order(BTC, "limit", "buy", "0.01", _price(bid * Decimal("0.96")))
    clean.cancel_order(gone["id"], BTC)
    orders = {o["id"]: o["status"] for o in clean.fetch_orders(BTC)}
    assert clean.last_request_url.split("?")[0].endswith("/api/v3/allOrders")
    assert orders[open_one["id"]] == "open" and orders[gone["id"]] == "canceled"
    _, ask = _best(clean, BTC)
    filled = clean.create_order(BTC, "limit", "buy", "0.001", _price(ask * Decimal("1.005")))
    assert filled["status"] == "closed"
    closed = {o["id"] for o in clean.fetch_closed_orders(BTC)}  # ccxt: filled ones only
    assert filled["id"] in closed
    assert open_one["id"] not in closed and gone["id"] not in closed


def test_fetch_trading_fees_reads_the_one_wallet_endpoint_served(client: Any) -> None:
    fees = client.fetch_trading_fees()
    assert client.last_request_url.split("?")[0].endswith("/sapi/v1/asset/tradeFee")
    assert set(fees) == {BTC, ETH}
    assert fees[BTC]["maker"] == 0.001 and fees[BTC]["taker"] == 0.001


def test_fee_rates_through_ccxts_account_commission_call(client: Any) -> None:
    # the Spot API's own commission endpoint, through ccxt's implicit API
    raw = client.private_get_account_commission({"symbol": "BTCUSDT"})
    assert raw["symbol"] == "BTCUSDT"
    assert Decimal(raw["standardCommission"]["maker"]) == Decimal("0.001")
    assert Decimal(raw["standardCommission"]["taker"]) == Decimal("0.001")
