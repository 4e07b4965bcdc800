"""The WebSocket API session of the dialect: ``session.logon``, ``session.status``,
``session.logout``, ``userDataStream.subscribe`` after logon, and the subscriptions that
``userDataStream.unsubscribe`` ends (web-socket-api.md, "Session Authentication" and
"User Data Stream requests"). The result shapes are the docs' examples'."""

from __future__ import annotations

import pytest
from dialect_kit import ACCOUNT, API_KEY, NOW, OTHER_SECRET, Kit, ws_signed

from mmbot.sim.dialect import WsApiSession

#: The key set of the docs' ``session.logon`` / ``session.status`` / ``session.logout`` result.
SESSION_KEYS = {
    "apiKey",
    "authorizedSince",
    "connectedSince",
    "returnRateLimits",
    "serverTime",
    "userDataStream",
}


@pytest.fixture
def kit() -> Kit:
    return Kit()


def ask(
    kit: Kit, session: WsApiSession, method: str, params: dict[str, object] | None = None
) -> dict[str, object]:
    message: dict[str, object] = {"id": method, "method": method}
    if params is not None:
        message["params"] = params
    return kit.dialect.handle_ws_api(message, session, NOW)


def result(reply: dict[str, object]) -> dict[str, object]:
    assert reply["status"] == 200, reply
    value = reply["result"]
    assert isinstance(value, dict)
    return value


def error_code(reply: dict[str, object]) -> object:
    error = reply["error"]
    assert isinstance(error, dict)
    return error["code"]


def test_logon_answers_the_docs_shape_and_authenticates_the_connection(kit: Kit) -> None:
    session = WsApiSession(connected_ms=NOW - 5)
    logon = result(ask(kit, session, "session.logon", ws_signed({})))
    assert set(logon) == SESSION_KEYS
    assert logon["apiKey"] == API_KEY and logon["authorizedSince"] == NOW
    assert logon["connectedSince"] == NOW - 5 and logon["userDataStream"] is False
    assert session.logon_account == ACCOUNT
    status = result(ask(kit, session, "session.status"))
    assert set(status) == SESSION_KEYS and status["apiKey"] == API_KEY


def test_after_logon_a_signed_request_needs_only_its_timestamp(kit: Kit) -> None:
    session = WsApiSession()
    result(ask(kit, session, "session.logon", ws_signed({})))
    account = result(ask(kit, session, "account.status", {"timestamp": NOW}))
    assert "balances" in account
    missing = ask(kit, session, "account.status", {})
    assert missing["status"] == 400 and error_code(missing) == -1102  # timestamp is required
    stale = ask(kit, session, "account.status", {"timestamp": NOW - 60_000})
    assert error_code(stale) == -1021


def test_without_logon_a_signed_request_still_needs_its_key_and_signature(kit: Kit) -> None:
    reply = ask(kit, WsApiSession(), "account.status", {"timestamp": NOW})
    assert reply["status"] == 400 and error_code(reply) == -1102  # apiKey missing


def test_a_logon_with_a_bad_signature_is_refused_and_authenticates_nothing(kit: Kit) -> None:
    session = WsApiSession()
    reply = ask(kit, session, "session.logon", ws_signed({}, secret=OTHER_SECRET))
    assert error_code(reply) == -1022
    assert session.logon_account is None


def test_subscribe_after_logon_and_unsubscribe_ends_it_with_event_stream_terminated(
    kit: Kit,
) -> None:
    session = WsApiSession()
    refused = ask(kit, session, "userDataStream.subscribe")
    assert refused["status"] == 401 and error_code(refused) == -2015  # not logged on
    result(ask(kit, session, "session.logon", ws_signed({})))
    subscribed = result(ask(kit, session, "userDataStream.subscribe"))
    assert set(subscribed) == {"subscriptionId"}
    assert session.subscribed_account == ACCOUNT
    assert result(ask(kit, session, "session.status"))["userDataStream"] is True
    again = ask(kit, session, "userDataStream.subscribe")
    assert error_code(again) == -2035
    assert session.take_terminated() == []
    assert result(ask(kit, session, "userDataStream.unsubscribe")) == {}
    assert session.take_terminated() == [subscribed["subscriptionId"]]
    assert session.take_terminated() == []  # announced once
    assert session.subscribed_account is None


def test_unsubscribe_by_id_ends_only_that_subscription(kit: Kit) -> None:
    session = WsApiSession()
    sub = result(ask(kit, session, "userDataStream.subscribe.signature", ws_signed({})))
    other = int(str(sub["subscriptionId"])) + 7
    assert result(ask(kit, session, "userDataStream.unsubscribe", {"subscriptionId": other})) == {}
    assert session.take_terminated() == [] and session.subscribed_account == ACCOUNT
    ask(kit, session, "userDataStream.unsubscribe", {"subscriptionId": sub["subscriptionId"]})
    assert session.take_terminated() == [sub["subscriptionId"]]


def test_logout_ends_a_logon_subscription_but_not_a_signature_one(kit: Kit) -> None:
    session = WsApiSession()
    result(ask(kit, session, "session.logon", ws_signed({})))
    sub = result(ask(kit, session, "userDataStream.subscribe"))
    logout = result(ask(kit, session, "session.logout"))
    assert set(logout) == SESSION_KEYS and logout["apiKey"] is None
    assert session.take_terminated() == [sub["subscriptionId"]]
    signature = WsApiSession()
    result(ask(kit, signature, "session.logon", ws_signed({})))
    result(ask(kit, signature, "userDataStream.subscribe.signature", ws_signed({})))
    result(ask(kit, signature, "session.logout"))
    assert signature.take_terminated() == [] and signature.subscribed_account == ACCOUNT


def test_session_methods_are_charged_their_weight(kit: Kit) -> None:
    reply = ask(kit, WsApiSession(), "session.status")
    limits = reply["rateLimits"]
    assert isinstance(limits, list) and limits[0]["count"] == 2
