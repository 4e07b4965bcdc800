"""Shared helpers for the dialect tests (no tests here): an engine, a dialect, signed requests."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from mmbot.model import Instrument
from mmbot.sim.dialect import (
    Credentials,
    Dialect,
    RateLimits,
    RequestInfo,
    RestRequest,
    RestResponse,
)
from mmbot.sim.engine import Fees, MatchingEngine
from mmbot.venue.binance.signing import sign, ws_signing_payload

API_KEY = "test-api-key"
SECRET = "test-secret-NhqPtmdSJYdKjVHjA7PZj4"
ACCOUNT = "alice"
OTHER_KEY = "other-api-key"
OTHER_SECRET = "other-secret-7H5fATj0j"
OTHER = "bob"
NOW = 1_767_225_600_000 + 30_000  # mid-minute, so a +25 s step stays in the window

INSTRUMENTS = [
    Instrument(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        min_price=Decimal("0.01"),
        max_price=Decimal("1000000"),
        min_qty=Decimal("0.00001"),
        max_qty=Decimal("9000"),
        min_notional=Decimal("5"),
    ),
    Instrument(
        symbol="ETHUSDT",
        base_asset="ETH",
        quote_asset="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.0001"),
        min_qty=Decimal("0.0001"),
        min_notional=Decimal("5"),
    ),
]

START_BALANCES = {"USDT": Decimal("100000"), "BTC": Decimal("10"), "ETH": Decimal("100")}


class Kit:
    """A dialect over a fresh engine with two funded accounts, recording every report."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.engine = MatchingEngine(INSTRUMENTS, Fees())
        self.engine.open_account(ACCOUNT, dict(START_BALANCES))
        self.engine.open_account(OTHER, dict(START_BALANCES))
        self.reports: list[RequestInfo] = []
        credentials = Credentials({API_KEY: (SECRET, ACCOUNT), OTHER_KEY: (OTHER_SECRET, OTHER)})
        self.dialect = Dialect(
            self.engine, credentials, limits or RateLimits(), on_request=self.reports.append
        )

    def rest(
        self,
        method: str,
        path: str,
        params: dict[str, object] | None = None,
        *,
        signed: bool = False,
        in_body: bool = False,
        key: str = API_KEY,
        secret: str = SECRET,
        now: int = NOW,
        timestamp: int | None = None,
        client: str = "127.0.0.1",
    ) -> RestResponse:
        """Send one request; ``signed`` adds timestamp and a signature over the raw text."""
        items = [(k, str(v)) for k, v in (params or {}).items()]
        if signed:
            items.append(("timestamp", str(now if timestamp is None else timestamp)))
        text = urlencode(items)
        if signed:
            text += ("&" if text else "") + "signature=" + sign(secret, text)
        query, body = (b"", text.encode()) if in_body else (text.encode(), b"")
        headers = {"x-mbx-apikey": key} if signed else {}
        return self.dialect.handle_rest(
            RestRequest(
                method=method,
                path="/api/v3" + path,
                raw_query=query,
                raw_body=body,
                headers=headers,
                client=client,
            ),
            now,
        )

    def place(self, account_key: str = API_KEY, **params: object) -> RestResponse:
        secret = SECRET if account_key == API_KEY else OTHER_SECRET
        base: dict[str, object] = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT"}
        if params.get("type", "LIMIT") == "LIMIT":
            base["timeInForce"] = "GTC"
        base.update(params)
        return self.rest("POST", "/order", base, signed=True, key=account_key, secret=secret)


def ws_signed(
    params: dict[str, object], *, key: str = API_KEY, secret: str = SECRET
) -> dict[str, object]:
    """WebSocket API params with apiKey, timestamp and a signature over the sorted params."""
    out: dict[str, object] = {**params, "apiKey": key, "timestamp": NOW}
    out["signature"] = sign(secret, ws_signing_payload(out))
    return out


def header(response: RestResponse, name: str) -> str | None:
    for key, value in response.headers:
        if key.lower() == name.lower():
            return value
    return None
