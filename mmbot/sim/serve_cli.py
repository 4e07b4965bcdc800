"""Argument parsing for ``mmbot exchange serve`` (kept beside the exchange it configures).

What it is for: the flags, their checks and the generated credentials; every bad argument
is refused with a clear message and exit code 2 before anything is bound.

What it must never do: start trio or bind a socket (``sim/serve.py`` does); print a secret
the user gave.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Protocol

#: The history bound of ``mmbot exchange serve`` (``--history-max-bulk``): a long-running
#: server must not grow without limit. Between N and 2N bulk entries are held (~0.25 kB
#: each, measured: ~25 MB at most by default).
DEFAULT_HISTORY_MAX_BULK = 50_000


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
    serve.add_argument("--api-key", default=None, help="API key (default: generated)")
    serve.add_argument("--api-secret", default=None, help="API secret (default: generated)")
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
    from mmbot.sim.exchange import ExchangeConfig
    from mmbot.sim.faults import FaultPlan
    from mmbot.sim.market import default_market

    symbols = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
    if not symbols:
        raise ValueError("--symbols needs at least one symbol, e.g. BTCUSDT,ETHUSDT")
    default_market(symbols)  # raises ValueError naming a bad or duplicate symbol
    if (args.api_key is None) != (args.api_secret is None):
        raise ValueError("give both --api-key and --api-secret, or neither (both generated)")
    generated = args.api_key is None
    api_key = args.api_key if not generated else "sim-" + secrets.token_hex(16)
    api_secret = args.api_secret if not generated else secrets.token_hex(32)
    _credential(api_key, "--api-key")
    _credential(api_secret, "--api-secret")
    seed = args.seed if args.seed is not None else fresh_seed()
    args.generated_secret = generated
    args.exchange_config = ExchangeConfig(
        symbols=symbols,
        seed=seed,
        api_key=api_key,
        api_secret=api_secret,
        history_max_bulk=args.history_max_bulk,
        faults=FaultPlan.order_latency(args.order_latency / 1000, args.order_latency_jitter / 1000),
    )
    return args


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        build_config(args)
    except ValueError as error:
        print(f"mmbot exchange serve: {error}", file=sys.stderr)
        return 2
    from mmbot.sim import serve

    return serve.main(args)
