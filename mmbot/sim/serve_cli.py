"""Argument parsing for ``mmbot exchange serve`` (kept beside the exchange it configures).

What it is for: the flags, their checks and the generated credentials; every bad argument
is refused with a clear message and exit code 2 before anything is bound.

What it must never do: start trio or bind a socket (``sim/serve.py`` does); print a secret
the user gave.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mmbot.sim.faults import Fault

#: The history bound of ``mmbot exchange serve`` (``--history-max-bulk``): a long-running
#: server must not grow without limit. Between N and 2N bulk entries are held (~0.25 kB
#: each, measured: ~25 MB at most by default).
DEFAULT_HISTORY_MAX_BULK = 50_000
#: The bound on the other entries (requests, faults, your orders' reports and balances):
#: between N and 2N held (~0.6 kB each: ~25 MB at most by default).
DEFAULT_HISTORY_MAX_RECORDS = 20_000
#: Closed orders kept queryable per symbol, and for how long after they closed (seconds).
DEFAULT_CLOSED_ORDERS = 10_000
DEFAULT_CLOSED_ORDER_MAX_AGE_S = 24 * 3600.0
#: Your trades kept per symbol for myTrades: at least N, at most 2N.
DEFAULT_TRADES_KEPT = 10_000
#: Connections served at once (WebSocket connections plus REST requests in progress);
#: more are refused at once (503) instead of running the process out of file descriptors.
DEFAULT_MAX_CONNECTIONS = 512
#: Seconds a client gets to send a request's headers, or its body, or a WebSocket handshake.
DEFAULT_READ_TIMEOUT_S = 10.0
#: Where the API key and secret are read from when no flag gives them: the exchange's own
#: variables first, then the bot's (``configs/loopback.toml``), so both match out of the box.
KEY_VARIABLES = (
    ("MMBOT_SIM_API_KEY", "MMBOT_SIM_API_SECRET"),
    ("MMBOT_API_KEY", "MMBOT_API_SECRET"),
)


class Subcommands(Protocol):
    """What ``add_serve_parser`` needs of ``ArgumentParser.add_subparsers()``'s result."""

    def add_parser(
        self, name: str, *, help: str | None = ..., description: str | None = ...
    ) -> argparse.ArgumentParser: ...


#: Where ``mmbot exchange serve`` listens by default (``configs/loopback.toml`` points there).
DEFAULT_REST_PORT = 8300
DEFAULT_WS_PORT = 8301


def add_serve_parser(sub: Subcommands) -> None:
    serve = sub.add_parser(
        "serve",
        help="serve the fake exchange on loopback",
        description="Serve the fake Binance-dialect exchange: REST, market streams, WS API.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    serve.add_argument(
        "--rest-port",
        type=_port,
        default=DEFAULT_REST_PORT,
        help=f"REST port ({DEFAULT_REST_PORT}; 0: a free port)",
    )
    serve.add_argument(
        "--ws-port",
        type=_port,
        default=DEFAULT_WS_PORT,
        help=f"WebSocket port ({DEFAULT_WS_PORT}; 0: a free port)",
    )
    serve.add_argument("--seed", type=_seed, default=None, help="market seed (default: random)")
    serve.add_argument(
        "--symbols", default="BTCUSDT,ETHUSDT", help="comma-separated symbols (BTCUSDT,ETHUSDT)"
    )
    serve.add_argument(
        "--api-key",
        default=None,
        help="API key (default: $MMBOT_SIM_API_KEY, else $MMBOT_API_KEY, else generated)",
    )
    serve.add_argument(
        "--api-secret",
        default=None,
        help="API secret (default: $MMBOT_SIM_API_SECRET, else $MMBOT_API_SECRET, else "
        "generated); prefer the variable: a flag is visible to every user in the process list",
    )
    serve.add_argument(
        "--history-max-bulk",
        type=_history_bound,
        default=DEFAULT_HISTORY_MAX_BULK,
        metavar="N",
        help="bulk history entries kept (messages, book deltas, public trades): between N and "
        f"2N, oldest dropped first; requests and your orders are always kept "
        f"(default {DEFAULT_HISTORY_MAX_BULK})",
    )
    serve.add_argument(
        "--history-max-records",
        type=_history_bound,
        default=DEFAULT_HISTORY_MAX_RECORDS,
        metavar="N",
        help="other history entries kept (requests, faults, your orders' reports and "
        f"balances): between N and 2N, oldest dropped first (default "
        f"{DEFAULT_HISTORY_MAX_RECORDS})",
    )
    serve.add_argument(
        "--history-spill",
        default=None,
        metavar="FILE",
        help="append every history entry the bounds drop (and, at the stop, those still "
        "held) to FILE as JSON lines, so nothing is lost (default: none)",
    )
    serve.add_argument(
        "--closed-orders",
        type=_positive_int,
        default=DEFAULT_CLOSED_ORDERS,
        metavar="N",
        help=f"closed orders kept queryable per symbol (default {DEFAULT_CLOSED_ORDERS}); "
        "a query for an older one answers -2013",
    )
    serve.add_argument(
        "--closed-order-max-age",
        type=_seconds,
        default=DEFAULT_CLOSED_ORDER_MAX_AGE_S,
        metavar="SECONDS",
        help="forget a closed order this long after it closed "
        f"(default {DEFAULT_CLOSED_ORDER_MAX_AGE_S:g}: a day)",
    )
    serve.add_argument(
        "--trades-kept",
        type=_positive_int,
        default=DEFAULT_TRADES_KEPT,
        metavar="N",
        help="your trades kept per symbol for myTrades: the newest N..2N "
        f"(default {DEFAULT_TRADES_KEPT})",
    )
    serve.add_argument(
        "--max-connections",
        type=_positive_int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help="WebSocket connections plus REST requests served at once; more are refused "
        f"with 503 (default {DEFAULT_MAX_CONNECTIONS})",
    )
    serve.add_argument(
        "--read-timeout",
        type=_seconds,
        default=DEFAULT_READ_TIMEOUT_S,
        metavar="SECONDS",
        help="time a client gets to send a request's headers, its body, or a WebSocket "
        f"handshake (default {DEFAULT_READ_TIMEOUT_S:g})",
    )
    serve.add_argument(
        "--order-latency",
        type=_milliseconds,
        default=0.0,
        metavar="MS",
        help="hold every order request (order.place, order.cancel, order.cancelReplace, "
        "openOrders.cancelAll; REST and WebSocket API) this many milliseconds before "
        "working on it (default 0: none)",
    )
    serve.add_argument(
        "--order-latency-jitter",
        type=_milliseconds,
        default=0.0,
        metavar="MS",
        help="add a uniform random 0..MS milliseconds to each held order request "
        "(seeded by --seed; default 0)",
    )
    serve.add_argument(
        "--faults",
        metavar="FILE",
        help="a TOML file of [[faults]] tables, as a chaos scenario writes them "
        "(docs/chaos.md): the exchange strikes them on their timeline, counted from its "
        "start (a fault without duration: for good); the admin API changes them at run time",
    )
    serve.set_defaults(func=_cmd_serve)


#: The longest --order-latency / --order-latency-jitter accepted (a minute).
MAX_LATENCY_MS = 60_000.0


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of milliseconds: {text!r}") from None
    if not 0 <= value <= MAX_LATENCY_MS:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"milliseconds must be within 0..{MAX_LATENCY_MS:g}, got {text}"
        )
    return value


def _history_bound(text: str) -> int:
    try:
        bound = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if bound < 1:
        raise argparse.ArgumentTypeError("the history bound must be >= 1")
    return bound


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 365 * 86400:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"seconds must be within 0..{365 * 86400} (> 0)")
    return value


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be within 0..65535, got {port}")
    return port


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer seed: {text!r}") from None
    if seed < 0:
        raise argparse.ArgumentTypeError("seed must be >= 0")
    return seed


def _credential(value: str, name: str) -> str:
    if not value or len(value) > 256 or not value.isascii() or not value.isprintable():
        raise ValueError(f"{name} must be 1..256 printable ASCII characters")
    if any(c.isspace() for c in value):
        raise ValueError(f"{name} must not contain spaces")
    return value


def build_config(args: argparse.Namespace) -> argparse.Namespace:
    """Check the arguments and attach ``exchange_config``; raises ValueError with a message."""
    from mmbot.clock import fresh_seed
    from mmbot.sim.exchange import ExchangeConfig, StreamSettings
    from mmbot.sim.faults import FaultPlan
    from mmbot.sim.market import default_market

    symbols = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
    if not symbols:
        raise ValueError("--symbols needs at least one symbol, e.g. BTCUSDT,ETHUSDT")
    default_market(symbols)  # raises ValueError naming a bad or duplicate symbol
    api_key, api_secret, source = _credentials(args, os.environ)
    generated = source == "generated"
    if generated:
        api_key, api_secret = "sim-" + secrets.token_hex(16), secrets.token_hex(32)
    assert api_key is not None and api_secret is not None
    key_name, secret_name = (
        source.split("/") if source.startswith("$") else ("--api-key", "--api-secret")
    )
    _credential(api_key, key_name)
    _credential(api_secret, secret_name)
    if args.history_spill is not None:
        try:
            with open(args.history_spill, "a", encoding="utf-8"):
                pass  # it can be written (created if new); serve appends to it
        except OSError as error:
            raise ValueError(
                f"--history-spill: cannot write {args.history_spill!r}: {error.strerror or error}"
            ) from None
    seed = args.seed if args.seed is not None else fresh_seed()
    args.generated_secret = generated
    args.credentials_source = source
    args.exchange_config = ExchangeConfig(
        symbols=symbols,
        seed=seed,
        api_key=api_key,
        api_secret=api_secret,
        history_max_bulk=args.history_max_bulk,
        history_max_records=args.history_max_records,
        closed_orders_kept=args.closed_orders,
        closed_order_max_age_s=args.closed_order_max_age,
        trades_kept=args.trades_kept,
        streams=StreamSettings(handshake_timeout_s=args.read_timeout),
        faults=FaultPlan(
            FaultPlan.order_latency(
                args.order_latency / 1000, args.order_latency_jitter / 1000
            ).faults
            + _fault_file(args.faults)
        ),
    )
    return args


def _fault_file(path: str | None) -> tuple[Fault, ...]:
    """The faults of a ``--faults`` file (ValueError naming the file, the table and the
    field)."""
    if path is None:
        return ()
    import tomllib
    from pathlib import Path

    from mmbot.chaos.scenario import fault_plan_from_tables

    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as error:
        raise ValueError(f"--faults: cannot read {path!r}: {error.strerror or error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"--faults: {path}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - {"faults"})
    if unknown:
        raise ValueError(f"--faults: {path}: only [[faults]] tables, got {unknown}")
    return fault_plan_from_tables(data.get("faults", []), source=f"{path}: faults").faults


def _credentials(
    args: argparse.Namespace, environ: Mapping[str, str]
) -> tuple[str | None, str | None, str]:
    """(key, secret, where from): the flags, else the first pair of variables set, else
    ``"generated"``. Each source must give both or neither (ValueError)."""
    if args.api_key is not None or args.api_secret is not None:
        if args.api_key is None or args.api_secret is None:
            raise ValueError("give both --api-key and --api-secret, or neither (both generated)")
        return args.api_key, args.api_secret, "--api-key/--api-secret"
    for key_name, secret_name in KEY_VARIABLES:
        key, secret = environ.get(key_name), environ.get(secret_name)
        if key is None and secret is None:
            continue
        if not key or not secret:
            raise ValueError(f"set both {key_name} and {secret_name}, or neither")
        return key, secret, f"${key_name}/${secret_name}"
    return None, None, "generated"


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        build_config(args)
    except ValueError as error:
        print(f"mmbot exchange serve: {error}", file=sys.stderr)
        return 2
    from mmbot.sim import serve

    return serve.main(args)
