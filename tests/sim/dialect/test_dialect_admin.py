"""The /_sim/ admin API: loopback only, account state, credits, books, history."""

from __future__ import annotations

from decimal import Decimal

from dialect_kit import ACCOUNT, NOW, Kit

from mmbot.sim.dialect import AdminApi, RestRequest, RestResponse
from mmbot.sim.history import History


def admin_call(
    api: AdminApi, method: str, path: str, query: bytes = b"", client: str = "127.0.0.1"
) -> RestResponse:
    return api.handle(RestRequest(method, "/_sim/" + path, query, b"", {}, client), NOW)


def make() -> tuple[Kit, AdminApi, History]:
    kit = Kit()
    history = History()
    return kit, AdminApi(kit.engine, history), history


def test_non_loopback_clients_are_refused_with_403() -> None:
    _, api, _ = make()
    assert admin_call(api, "GET", f"accounts/{ACCOUNT}", client="10.1.2.3").status == 403
    assert admin_call(api, "GET", f"accounts/{ACCOUNT}", client="::1").status == 200


def test_account_shows_balances_and_open_orders() -> None:
    kit, api, _ = make()
    kit.place(price="100", quantity="0.1", newClientOrderId="adm")
    body = admin_call(api, "GET", f"accounts/{ACCOUNT}").body
    assert isinstance(body, dict)
    assert [o["clientOrderId"] for o in body["openOrders"]] == ["adm"]
    usdt = next(b for b in body["balances"] if b["asset"] == "USDT")
    assert usdt["locked"] == "10.00000000"


def test_credit_adds_to_the_free_balance() -> None:
    kit, api, _ = make()
    response = admin_call(api, "POST", f"accounts/{ACCOUNT}/credit", b"asset=USDT&amount=50")
    assert response.status == 200
    free = {b.asset: b.free for b in kit.engine.balances(ACCOUNT)}
    assert free["USDT"] == Decimal("100050")


def test_credit_refuses_garbage_amounts_and_overdrafts() -> None:
    _, api, _ = make()
    for query in (
        b"asset=USDT&amount=abc",
        b"asset=USDT&amount=NaN",
        b"asset=&amount=1",
        b"asset=USDT&amount=-1000000",
    ):
        assert admin_call(api, "POST", f"accounts/{ACCOUNT}/credit", query).status == 400


def test_book_shows_levels_and_unknown_symbol_is_404() -> None:
    kit, api, _ = make()
    kit.place(price="100", quantity="0.1")
    body = admin_call(api, "GET", "book/BTCUSDT").body
    assert isinstance(body, dict) and body["bids"] == [["100.00000000", "0.10000000"]]
    assert admin_call(api, "GET", "book/NOPE").status == 404


def test_history_pages_by_sequence_and_kind() -> None:
    _, api, history = make()
    history.append_request(NOW, transport="rest", method="GET", path="/x", account=None, status=200)
    history.append_request(NOW, transport="rest", method="GET", path="/y", account=None, status=200)
    body = admin_call(api, "GET", "history", b"since=1&kind=request").body
    assert isinstance(body, dict) and [e["seq"] for e in body["entries"]] == [2]
    assert admin_call(api, "GET", "history", b"kind=nonsense").status == 400


def test_wrong_method_and_unknown_resource_are_4xx() -> None:
    _, api, _ = make()
    assert admin_call(api, "POST", "book/BTCUSDT").status == 405
    assert admin_call(api, "GET", "nothing/here").status == 404
