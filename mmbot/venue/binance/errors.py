"""Error codes and messages of the Binance Spot dialect (sans-IO).

What it is for: the one table of dialect error codes, shared by the fake exchange (which
answers with them) and the venue adapter (which maps them to mmbot's exceptions once).

What it must never do: depend on the transport; put secrets into a message.
"""

from __future__ import annotations

import enum

import attrs


class Code(enum.IntEnum):
    UNKNOWN = -1000
    DISCONNECTED = -1001
    UNAUTHORIZED = -1002
    TOO_MANY_REQUESTS = -1003
    UNEXPECTED_RESP = -1006
    TIMEOUT = -1007  # status unknown
    SERVER_BUSY = -1008
    INVALID_MESSAGE = -1013  # also "Filter failure: NAME"
    UNKNOWN_ORDER_COMPOSITION = -1014
    TOO_MANY_ORDERS = -1015
    SERVICE_SHUTTING_DOWN = -1016
    UNSUPPORTED_OPERATION = -1020
    INVALID_TIMESTAMP = -1021
    INVALID_SIGNATURE = -1022
    ILLEGAL_CHARS = -1100
    TOO_MANY_PARAMETERS = -1101
    MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
    UNKNOWN_PARAM = -1103
    UNREAD_PARAMETERS = -1104
    PARAM_EMPTY = -1105
    PARAM_NOT_REQUIRED = -1106
    BAD_PRECISION = -1111
    INVALID_TIF = -1115
    INVALID_ORDER_TYPE = -1116
    INVALID_SIDE = -1117
    EMPTY_NEW_CL_ORD_ID = -1118
    EMPTY_ORG_CL_ORD_ID = -1119
    BAD_INTERVAL = -1120
    BAD_SYMBOL = -1121
    INVALID_LISTEN_KEY = -1125
    INVALID_PARAMETER = -1130
    BAD_RECV_WINDOW = -1131
    NEW_ORDER_REJECTED = -2010
    CANCEL_REJECTED = -2011
    NO_SUCH_ORDER = -2013
    BAD_API_KEY_FMT = -2014
    REJECTED_MBX_KEY = -2015
    CANCEL_REPLACE_PARTIAL = -2021  # cancel failed or new order failed (ALLOW_FAILURE)
    CANCEL_REPLACE_FAILED = -2022  # both failed
    SUBSCRIPTION_ACTIVE = -2035  # a user-data subscription is already active


@attrs.frozen
class DialectError:
    """An error answer of the dialect: body ``{"code", "msg"}`` with an HTTP status."""

    code: int
    msg: str
    http_status: int = 400
    retry_after: int | None = None  # seconds, for 429/418

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}


# Messages the dialect uses verbatim (clients such as ccxt match on them).
MSG_DUPLICATE_ORDER = "Duplicate order sent."
MSG_WOULD_TAKE = "Order would immediately match and take."
MSG_INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
MSG_UNKNOWN_ORDER = "Unknown order sent."
MSG_NO_SUCH_ORDER = "Order does not exist."
MSG_MARKET_CLOSED = "Market is closed."
MSG_INVALID_SIGNATURE = "Signature for this request is not valid."
MSG_INVALID_API_KEY = "Invalid API-key, IP, or permissions for action."
MSG_INVALID_SYMBOL = "Invalid symbol."
MSG_TIMESTAMP_OUTSIDE = "Timestamp for this request is outside of the recvWindow."
MSG_TIMESTAMP_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_FOK_NOT_FILLED = "Order would not be fully filled (FOK)."
MSG_SUBSCRIPTION_ACTIVE = "User Data Stream subscription already active."


def filter_failure(name: str) -> DialectError:
    return DialectError(Code.INVALID_MESSAGE, f"Filter failure: {name}")


def missing_param(name: str) -> DialectError:
    return DialectError(
        Code.MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def illegal_param(name: str) -> DialectError:
    return DialectError(Code.INVALID_PARAMETER, f"Invalid data sent for a parameter: '{name}'.")


def new_order_rejected(msg: str) -> DialectError:
    return DialectError(Code.NEW_ORDER_REJECTED, msg)
