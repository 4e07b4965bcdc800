"""Serving the fake exchange on loopback: hypercorn (REST) and trio-websocket (streams, WS API).

What it is for: :func:`serve_exchange` binds the REST app through hypercorn's trio worker
and the WebSocket handler (trio-websocket over ``trio.serve_listeners``), runs the exchange's
market loop, and reports the bound URLs (``await nursery.start(serve_exchange, ...)``).
:func:`main` is ``mmbot exchange serve``: it prints the URLs (and generated credentials,
once), and stops cleanly on Ctrl-C or SIGTERM after sending ``serverShutdown`` to stream
clients.

What it must never do: bind anything before the arguments are checked; log a secret (the
generated secret is printed once on the console because the user asked for generated
credentials, never logged); swallow ``trio.Cancelled``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from functools import partial
from typing import Any

import attrs
import trio

from mmbot.clock import EpochClock
from mmbot.errors import ListenError
from mmbot.serving import bind_tcp, bound_port, host_for_url, serve_asgi
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.rest_app import build_rest_app
from mmbot.sim.ws_app import WS_API_PATH, serve_ws_stream

#: How long connections get to drain ``serverShutdown`` and close before being cut.
SHUTDOWN_GRACE_S = 2.0


@attrs.frozen
class ServeInfo:
    """Where a served exchange listens."""

    host: str
    rest_port: int
    ws_port: int

    @property
    def rest_url(self) -> str:
        return f"http://{host_for_url(self.host)}:{self.rest_port}"

    @property
    def stream_url(self) -> str:
        return f"ws://{host_for_url(self.host)}:{self.ws_port}"

    @property
    def ws_api_url(self) -> str:
        return self.stream_url + WS_API_PATH


async def serve_exchange(
    exchange: Exchange,
    *,
    host: str = "127.0.0.1",
    rest_port: int = 0,
    ws_port: int = 0,
    task_status: trio.TaskStatus[ServeInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``exchange`` on ``host`` (ports 0: free ports) until cancelled.

    A port that cannot be bound raises :class:`~mmbot.errors.ListenError` naming it, before
    anything is served.
    """
    # hypercorn's own ASGI types differ
    app: Any = build_rest_app(exchange.handle_rest, delay=exchange.rest_delay)
    rest_sock = await bind_tcp(host, rest_port)
    # trio-websocket's handshake and framing over our own listeners (not
    # serve_websocket), so that one connection's failure never ends the server.
    try:
        listeners = await trio.open_tcp_listeners(ws_port, host=host)
    except OSError as exc:
        rest_sock.close()
        raise ListenError(host, ws_port, exc.strerror or str(exc)) from None
    ws_bound = int(listeners[0].socket.getsockname()[1])
    info = ServeInfo(host, bound_port(rest_sock), ws_bound)
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_asgi, app, rest_sock)
        await nursery.start(exchange.run)
        nursery.start_soon(trio.serve_listeners, partial(serve_ws_stream, exchange), listeners)
        task_status.started(info)


async def shut_down(exchange: Exchange, scope: trio.CancelScope, grace_s: float) -> None:
    """Announce ``serverShutdown``, give connections ``grace_s`` to close, then cancel."""
    exchange.announce_shutdown()
    with trio.move_on_after(grace_s):
        await exchange.wait_connections_closed()
    scope.cancel()


# ---- mmbot exchange serve ------------------------------------------------------------------


async def _serve_until_signal(args: argparse.Namespace, config: ExchangeConfig) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
        async with trio.open_nursery() as nursery:
            info: ServeInfo = await nursery.start(
                partial(
                    serve_exchange,
                    exchange,
                    host=args.host,
                    rest_port=args.rest_port,
                    ws_port=args.ws_port,
                )
            )
            _print_banner(info, args, config)
            async for signum in signals:
                print(f"{signal.Signals(signum).name}: shutting down", flush=True)
                break
            await shut_down(exchange, nursery.cancel_scope, SHUTDOWN_GRACE_S)


def _print_banner(info: ServeInfo, args: argparse.Namespace, config: ExchangeConfig) -> None:
    lines = [
        f"mmbot fake exchange (Binance Spot dialect), seed {config.seed}, "
        f"symbols {','.join(config.symbols)}",
        f"REST base:    {info.rest_url}   (endpoints under /api/v3)",
        f"Streams base: {info.stream_url}   (/ws/<stream>, /stream?streams=a/b)",
        f"WS API:       {info.ws_api_url}",
        f"Admin API:    {info.rest_url}/_sim/",
        _history_line(config.history_max_bulk),
        f"Faults:       {config.faults.describe()}",
        f"API key:      {config.api_key}",
    ]
    if args.generated_secret:
        lines.append(f"API secret:   {config.api_secret}   (generated: shown once, keep it)")
    lines.append("Ctrl-C or SIGTERM stops it.")
    print("\n".join(lines), flush=True)


def _history_line(bound: int | None) -> str:
    if bound is None:
        return "History:      everything (unbounded)"
    return (
        f"History:      every request and your orders; the newest {bound}..{2 * bound} "
        "messages, book deltas and public trades"
    )


def main(args: argparse.Namespace) -> int:
    """Run ``mmbot exchange serve`` with parsed and checked arguments; 0 on a clean stop."""
    config: ExchangeConfig = args.exchange_config
    code = 0
    try:
        try:
            trio.run(_serve_until_signal, args, config)
        except* ListenError as group:
            error = _leaf(group)
            port = error.port if isinstance(error, ListenError) else None
            flag = "--rest-port" if port == args.rest_port else "--ws-port"
            print(f"mmbot exchange serve: {flag}: {error}", file=sys.stderr)
            code = 2
    except KeyboardInterrupt:  # Ctrl-C before the signal receiver was installed
        return 0
    return code


def _leaf(error: BaseException) -> BaseException:
    """The first non-group exception inside (possibly nested) exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error
