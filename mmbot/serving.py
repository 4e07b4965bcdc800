"""Serving an ASGI app over HTTP with hypercorn's trio worker, on an address bound first.

What it is for: the one way mmbot serves HTTP (the fake exchange's REST API, the bot's
``/metrics``): :func:`bind_tcp` binds the address before anything is served, so a busy
port (or a host this machine does not have) fails at once with a
:class:`~mmbot.errors.ListenError` naming the address, which a command turns into a
message naming its flag; :func:`serve_asgi` hands that socket to hypercorn::

    sock = await bind_tcp(host, port)          # ListenError here, before any nursery
    await nursery.start(serve_asgi, app, sock)  # hypercorn owns the socket from now on

What it must never do: bind anything but the address it is given (callers default to
127.0.0.1); start prometheus_client's thread server or any thread; log a request line (it
may hold signed parameters).
"""

from __future__ import annotations

import logging
import socket
from functools import partial
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve as hypercorn_serve

from mmbot.errors import ListenError

_server_log = logging.getLogger("mmbot.serving")
_server_log.setLevel(logging.WARNING)


def host_for_url(host: str) -> str:
    """``host`` as it goes in a URL (IPv6 in brackets)."""
    return f"[{host}]" if ":" in host else host


async def bind_tcp(host: str, port: int) -> socket.socket:
    """A bound TCP socket for ``host:port`` (port 0: any free port), or a ListenError."""
    sock: socket.socket | None = None
    try:
        infos = await trio.socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, type_, proto, _, address = infos[0]
        sock = socket.socket(family, type_, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise ListenError(host, port, exc.strerror or str(exc)) from None
    return sock


async def answer_lifespan(receive: Any, send: Any) -> None:
    """Answer an ASGI ``lifespan`` scope: startup and shutdown complete (nothing to set up)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def serve_asgi(
    app: Any,
    sock: socket.socket,
    *,
    graceful_timeout: float = 1.0,
    keep_alive_timeout: float | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on the bound ``sock`` (from :func:`bind_tcp`) until cancelled.

    ``keep_alive_timeout`` (hypercorn's, 5 s by default) is also the time a new connection
    gets to send its first request's headers: hypercorn's idle timer runs from the accept
    until the headers are complete, so a client trickling headers is cut then.
    """
    config = HypercornConfig()
    if keep_alive_timeout is not None:
        config.keep_alive_timeout = keep_alive_timeout
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns the socket from here on
    config.accesslog = None
    config.errorlog = _server_log
    config.graceful_timeout = graceful_timeout
    async with trio.open_nursery() as nursery:
        await nursery.start(partial(hypercorn_serve, app, config, mode="asgi"))
        task_status.started()
