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
import contextlib
import json
import logging
import signal
import sys
from functools import partial
from typing import IO, Any

import attrs
import trio

from mmbot.chaos.scenario import fault_plan_from_tables
from mmbot.clock import EpochClock
from mmbot.errors import ListenError
from mmbot.serving import bind_tcp, bound_port, host_for_url, serve_asgi
from mmbot.sim.connections import ConnectionGate
from mmbot.sim.dialect import AdminControl
from mmbot.sim.exchange import Exchange, ExchangeConfig
from mmbot.sim.history import Entry, History, to_jsonable
from mmbot.sim.rest_app import BUSY, build_rest_app
from mmbot.sim.ws_app import WS_API_PATH, serve_ws_stream

_log = logging.getLogger(__name__)

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
    max_connections: int | None = None,
    read_timeout_s: float | None = None,
    task_status: trio.TaskStatus[ServeInfo] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``exchange`` on ``host`` (ports 0: free ports) until cancelled.

    ``max_connections`` caps the WebSocket connections plus REST requests served at once
    (the rest are refused with 503 at once); ``read_timeout_s`` is the time a client gets
    to send a REST request's headers, then its body (408 after it). A WebSocket handshake
    gets the exchange's ``streams.handshake_timeout_s``.

    A port that cannot be bound raises :class:`~mmbot.errors.ListenError` naming it, before
    anything is served.

    The admin API's fault and statistics routes (``/_sim/faults``, ``/_sim/stats``) are
    served here (loopback clients only, as all of ``/_sim/``): a plan set there is read by
    the chaos scenarios' own parser (:func:`~mmbot.chaos.scenario.fault_plan_from_tables`).
    """
    exchange.admin.control = AdminControl(exchange, exchange.history, fault_plan_from_tables)
    gate = None if max_connections is None else ConnectionGate(max_connections)
    # hypercorn's own ASGI types differ
    app: Any = build_rest_app(
        exchange.handle_rest,
        delay=exchange.rest_delay,
        gate=gate,
        read_timeout_s=read_timeout_s,
        shape=exchange.rest_delivery,
    )
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
        await nursery.start(partial(serve_asgi, app, rest_sock, keep_alive_timeout=read_timeout_s))
        await nursery.start(exchange.run)
        handler = partial(serve_ws_stream, exchange)
        if gate is not None:
            handler = partial(_serve_gated, gate, handler)
        nursery.start_soon(trio.serve_listeners, handler, listeners)
        task_status.started(info)


#: What a WebSocket client beyond the cap reads instead of a handshake (before we read it).
_WS_BUSY = (
    "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    f"retry-after: 1\r\nconnection: close\r\ncontent-length: {len(json.dumps(BUSY.body))}"
    f"\r\n\r\n{json.dumps(BUSY.body)}"
).encode()


async def _serve_gated(gate: ConnectionGate, serve: Any, stream: trio.SocketStream) -> None:
    """Serve one WebSocket connection, or refuse it at once with 503 beyond the cap."""
    if not gate.try_enter():
        with trio.move_on_after(1.0):
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_all(_WS_BUSY)
        await trio.aclose_forcefully(stream)
        return
    try:
        await serve(stream)
    finally:
        gate.leave()


async def shut_down(exchange: Exchange, scope: trio.CancelScope, grace_s: float) -> None:
    """Announce ``serverShutdown``, give connections ``grace_s`` to close, then cancel."""
    exchange.announce_shutdown()
    with trio.move_on_after(grace_s):
        await exchange.wait_connections_closed()
    scope.cancel()


# ---- mmbot exchange serve ------------------------------------------------------------------


async def _serve_until_signal(args: argparse.Namespace, config: ExchangeConfig) -> None:
    spill = HistorySpill.open(args.history_spill) if args.history_spill else None
    try:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            exchange = Exchange.create(
                config,
                clock=EpochClock.from_wall_clock(),
                on_history_drop=None if spill is None else spill.write,
            )
            async with trio.open_nursery() as nursery:
                info: ServeInfo = await nursery.start(
                    partial(
                        serve_exchange,
                        exchange,
                        host=args.host,
                        rest_port=args.rest_port,
                        ws_port=args.ws_port,
                        max_connections=args.max_connections,
                        read_timeout_s=args.read_timeout,
                    )
                )
                _print_banner(info, args, config)
                async for signum in signals:
                    print(f"{signal.Signals(signum).name}: shutting down", flush=True)
                    break
                await shut_down(exchange, nursery.cancel_scope, SHUTDOWN_GRACE_S)
            if spill is not None:
                spill.write_held(exchange.history)
    finally:
        if spill is not None:
            spill.close()


class HistorySpill:
    """The JSONL file the history's dropped entries go to (``--history-spill FILE``).

    One line per entry, as ``/_sim/history`` shows it (``{"seq", "time_ms", "kind", "type",
    "payload"}``), appended in the order the rings drop them (oldest first within each
    drop; two rings drop apart, so sort by ``seq`` for the exact order) and, at the stop,
    the entries still held. Written synchronously and flushed per drop. A write that fails
    (disk full) is logged once and counted; the exchange goes on.
    """

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.written = 0
        self.lost = 0

    @classmethod
    def open(cls, path: str) -> HistorySpill:
        return cls(open(path, "a", encoding="utf-8"))

    def write(self, entries: list[Entry]) -> None:
        try:
            dump = json.JSONEncoder(separators=(",", ":")).encode
            self._file.write("".join(dump(to_jsonable(e)) + "\n" for e in entries))
            self._file.flush()
        except OSError:
            if not self.lost:
                _log.exception("history spill: cannot write; dropped entries are lost")
            self.lost += len(entries)
        else:
            self.written += len(entries)

    def write_held(self, history: History) -> None:
        """Write the entries the history still holds (at the stop: then the file has all)."""
        self.write(history.entries())

    def close(self) -> None:
        self._file.close()


def _print_banner(info: ServeInfo, args: argparse.Namespace, config: ExchangeConfig) -> None:
    lines = [
        f"mmbot fake exchange (Binance Spot dialect), seed {config.seed}, "
        f"symbols {','.join(config.symbols)}",
        f"REST base:    {info.rest_url}   (endpoints under /api/v3)",
        f"Streams base: {info.stream_url}   (/ws/<stream>, /stream?streams=a/b)",
        f"WS API:       {info.ws_api_url}",
        f"Admin API:    {info.rest_url}/_sim/",
        _history_line(config.history_max_bulk),
        f"              and the newest {config.history_max_records}.."
        f"{2 * (config.history_max_records or 0)} other entries; "
        + (f"dropped ones go to {args.history_spill}" if args.history_spill else "no spill file"),
        f"Limits:       {args.max_connections} connections at once, {args.read_timeout:g} s to "
        f"send a request",
        f"Kept:         {config.closed_orders_kept} closed orders per symbol for "
        f"{config.closed_order_max_age_s or 0:g} s; {config.trades_kept}.."
        f"{2 * config.trades_kept} of your trades per symbol",
        f"Faults:       {config.faults.describe()}",
        f"API key:      {config.api_key}"
        + ("" if args.generated_secret else f"   (from {args.credentials_source})"),
    ]
    if args.generated_secret:
        lines.append(f"API secret:   {config.api_secret}   (generated: shown once, keep it)")
    lines.append("Ctrl-C or SIGTERM stops it.")
    print("\n".join(lines), flush=True)


def _history_line(bound: int | None) -> str:
    if bound is None:
        return "History:      everything (unbounded)"
    return f"History:      the newest {bound}..{2 * bound} messages, book deltas and public trades"


def raise_file_limit(wanted: int) -> int:
    """Raise this process's open-file limit towards ``wanted`` (within the hard limit, as
    any process may); the soft limit now. Without it the connection cap could sit above
    the limit (1024 on many systems) and the listeners would fail with EMFILE first."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


#: File descriptors beyond the connection cap: listeners, refused connections being
#: answered, the spill file, the interpreter's own.
FD_MARGIN = 256


def main(args: argparse.Namespace) -> int:
    """Run ``mmbot exchange serve`` with parsed and checked arguments; 0 on a clean stop."""
    config: ExchangeConfig = args.exchange_config
    code = 0
    wanted = args.max_connections + FD_MARGIN
    if raise_file_limit(wanted) < wanted:
        print(
            f"mmbot exchange serve: warning: the open-file limit is below {wanted}; "
            "lower --max-connections or raise `ulimit -n`",
            file=sys.stderr,
        )
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
