"""Benchmark: httpx client layouts and the REST client's overhead (``mmbot bench venue_rest``).

What it is for: the figures behind docs/decisions/0004-httpx-client-layout.md. The fake
exchange runs in a child process (hypercorn on 127.0.0.1, rate limits lifted); 16 tasks
place a LIMIT_MAKER order far from the market and cancel it, over and over, with

- (a) one shared ``AsyncClient`` with httpx's default pool,
- (b) one client with a pool sized to the concurrency,
- (c) N clients used round-robin (N=4, 8, 16, each pool sized to its share),

and the per-request latency (median, p99) and throughput are printed per layout, first
against a canned-answer HTTP server in the same child (the client is then the bottleneck,
which is what the layout changes) and then against the fake exchange. Then one task places
orders sequentially through ``BinanceRest.place`` (breaker, retry, rate limiter, server-time
offset, codec) and through a bare signed ``httpx`` POST, interleaved, on loopback and on an
in-process ``httpx.MockTransport`` (no network: the kit's own CPU cost), and prints both and
the overhead. Prints the machine.

What it must never do: assert on time, bind anything but 127.0.0.1, or leave the child
process running (it is terminated in a ``finally``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import urlencode

import attrs
import httpx
import trio

from mmbot.bench import machine, median, percentile
from mmbot.clock import EpochClock, perf_counter_ns
from mmbot.model import OrderType, Side
from mmbot.resilience import BINANCE_SPOT_RULES, RateLimiter, RateLimiterConfig
from mmbot.venue.base import OrderRef, PlaceRequest
from mmbot.venue.binance.rest import BinanceRest
from mmbot.venue.binance.rest_http import ClientLayout, RestConfig
from mmbot.venue.binance.signing import sign

KEY, SECRET = "bench-key", "bench-secret"
SYMBOL, PRICE, QTY = "BTCUSDT", "30000", "0.001"
LIFTED = 10**12


@attrs.frozen
class Layout:
    name: str
    clients: int
    limits: httpx.Limits | None  # None: httpx's default pool


def layouts(tasks: int) -> list[Layout]:
    return [
        Layout("(a) 1 client, default pool", 1, None),
        Layout(f"(b) 1 client, pool {tasks}", 1, httpx.Limits(max_connections=tasks)),
        Layout(f"(c) 4 clients, pool {max(1, tasks // 4)} each", 4, _pool(max(1, tasks // 4))),
        Layout(f"(c) 8 clients, pool {max(1, tasks // 8)} each", 8, _pool(max(1, tasks // 8))),
        Layout(f"(c) {tasks} clients, pool 1 each", tasks, _pool(1)),
    ]


def _pool(n: int) -> httpx.Limits:
    return httpx.Limits(max_connections=n, max_keepalive_connections=n)


# ---- the child process: the fake exchange with its limits lifted ------------------------


def _serve_child() -> int:
    from mmbot.sim.dialect import RateLimits
    from mmbot.sim.exchange import Exchange, ExchangeConfig
    from mmbot.sim.serve import serve_exchange

    async def run() -> None:
        limits = RateLimits(LIFTED, LIFTED, LIFTED, LIFTED)
        config = ExchangeConfig(
            symbols=(SYMBOL,), api_key=KEY, api_secret=SECRET, rate_limits=limits
        )
        exchange = Exchange.create(config, clock=EpochClock.from_wall_clock())
        async with trio.open_nursery() as nursery:
            info = await nursery.start(serve_exchange, exchange)
            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            canned_port = listeners[0].socket.getsockname()[1]
            nursery.start_soon(trio.serve_listeners, _canned_connection, listeners)
            print(info.rest_url, f"http://127.0.0.1:{canned_port}", flush=True)
            # run until the parent closes our stdin
            await trio.wrap_file(sys.stdin).readline()
            nursery.cancel_scope.cancel()

    trio.run(run)
    return 0


# A canned HTTP/1.1 server: the same answer to every request, keep-alive. Against it the
# client side is the bottleneck, so layout differences are visible (httpx issue #3215).
_CANNED_BODY = json.dumps({**{"symbol": SYMBOL, "orderId": 1, "clientOrderId": "x"}}).encode()
_CANNED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-MBX-USED-WEIGHT-1M: 1\r\n"
    b"Content-Length: " + str(len(_CANNED_BODY)).encode() + b"\r\n\r\n" + _CANNED_BODY
)


async def _canned_connection(stream: trio.SocketStream) -> None:
    buffer = b""
    try:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = await stream.receive_some(65536)
                if not data:
                    return
                buffer += data
            _, buffer = buffer.split(b"\r\n\r\n", 1)  # our requests carry no body
            await stream.send_all(_CANNED)
    except trio.BrokenResourceError:
        return


# ---- requests ---------------------------------------------------------------------------


def _signed(params: dict[str, str], now_ms: Callable[[], int]) -> str:
    query = urlencode({**params, "recvWindow": "5000", "timestamp": str(now_ms())})
    return f"{query}&signature={sign(SECRET, query)}"


async def _bare_place(client: httpx.AsyncClient, coid: str, now_ms: Callable[[], int]) -> None:
    params = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT_MAKER", "quantity": QTY}
    params |= {"price": PRICE, "newClientOrderId": coid, "newOrderRespType": "FULL"}
    r = await client.post(f"/api/v3/order?{_signed(params, now_ms)}", headers={"X-MBX-APIKEY": KEY})
    if r.status_code != 200:
        raise RuntimeError(f"place failed: {r.status_code} {r.text}")


async def _bare_cancel(client: httpx.AsyncClient, coid: str, now_ms: Callable[[], int]) -> None:
    query = _signed({"symbol": SYMBOL, "origClientOrderId": coid}, now_ms)
    r = await client.delete(f"/api/v3/order?{query}", headers={"X-MBX-APIKEY": KEY})
    if r.status_code != 200:
        raise RuntimeError(f"cancel failed: {r.status_code} {r.text}")


async def _timed(samples: list[float], call: Awaitable[None]) -> None:
    start = perf_counter_ns()
    await call
    samples.append((perf_counter_ns() - start) / 1e6)


async def run_layout(
    url: str, layout: Layout, tasks: int, rounds: int
) -> tuple[list[float], float]:
    """Per-request latencies (ms) of ``tasks`` tasks doing ``rounds`` place+cancel each."""
    now_ms = EpochClock.from_wall_clock().now_ms
    kwargs = {} if layout.limits is None else {"limits": layout.limits}
    clients = [httpx.AsyncClient(base_url=url, **kwargs) for _ in range(layout.clients)]  # type: ignore[arg-type]
    samples: list[float] = []
    tag = f"{layout.clients}{'d' if layout.limits is None else 's'}"
    turn = 0

    def pick() -> httpx.AsyncClient:
        nonlocal turn
        turn += 1
        return clients[turn % len(clients)]

    async def worker(task: int, n: int, record: list[float]) -> None:
        for i in range(n):
            coid = f"b{tag}-{task}-{i}-{len(record)}"
            await _timed(record, _bare_place(pick(), coid, now_ms))
            await _timed(record, _bare_cancel(pick(), coid, now_ms))

    try:
        async with trio.open_nursery() as nursery:  # warm up: open the connections
            for t in range(tasks):
                nursery.start_soon(worker, t, 1, [])
        start = perf_counter_ns()
        async with trio.open_nursery() as nursery:
            for t in range(tasks):
                nursery.start_soon(worker, t, rounds, samples)
        elapsed = (perf_counter_ns() - start) / 1e9
    finally:
        for client in clients:
            await client.aclose()
    return samples, len(samples) / elapsed


def _canned_order(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/time"):
        return httpx.Response(200, json={"serverTime": 0})
    coid = request.url.params.get("newClientOrderId") or request.url.params["origClientOrderId"]
    status = "NEW" if request.method == "POST" else "CANCELED"
    return httpx.Response(200, json={**_ORDER, "clientOrderId": coid, "status": status})


_ORDER = {
    "symbol": SYMBOL, "orderId": 1, "orderListId": -1, "transactTime": 0, "price": PRICE,
    "origQty": QTY, "executedQty": "0", "cummulativeQuoteQty": "0", "timeInForce": "GTC",
    "type": "LIMIT_MAKER", "side": "BUY", "workingTime": 0, "fills": [],
}  # fmt: skip


async def run_overhead(url: str | None, n: int) -> tuple[list[float], list[float]]:
    """Sequential placement round trips (ms): bare httpx vs ``BinanceRest.place``, on
    loopback to ``url``, or in-process on a canned ``MockTransport`` when ``url`` is None."""
    clock = EpochClock.from_wall_clock()
    lifted = tuple(attrs.evolve(rule, limit=LIFTED) for rule in BINANCE_SPOT_RULES)
    transport = httpx.MockTransport(_canned_order) if url is None else None
    base = url if url is not None else "http://canned.local"
    rest = BinanceRest.create(
        RestConfig(base_url=base, layout=ClientLayout(clients=1, max_connections=1)),
        now_ms=clock.now_ms, api_key=KEY, api_secret=SECRET, transport=transport,
        limiter=RateLimiter(RateLimiterConfig(rules=lifted)),
    )  # fmt: skip
    bare = httpx.AsyncClient(base_url=base, limits=_pool(1), transport=transport)
    bare_ms: list[float] = []
    kit_ms: list[float] = []
    try:
        async with rest:
            for i in range(n + 5):
                coid = f"o-bare-{i}"
                start = perf_counter_ns()
                await _bare_place(bare, coid, clock.now_ms)
                if i >= 5:
                    bare_ms.append((perf_counter_ns() - start) / 1e6)
                await _bare_cancel(bare, coid, clock.now_ms)
                coid = f"o-kit-{i}"
                request = PlaceRequest(
                    SYMBOL, Side.BUY, OrderType.LIMIT_MAKER, Decimal(QTY), coid, Decimal(PRICE)
                )
                start = perf_counter_ns()
                result = await rest.place(request)
                if i >= 5:
                    kit_ms.append((perf_counter_ns() - start) / 1e6)
                if not result.is_ok:
                    raise RuntimeError(f"place failed: {result}")
                await rest.cancel(OrderRef(SYMBOL, client_order_id=coid))
    finally:
        await bare.aclose()
    return bare_ms, kit_ms


def _row(name: str, samples: list[float], extra: str = "") -> str:
    return (
        f"{name:<32} median {median(samples):7.3f} ms  p99 {percentile(samples, 0.99):7.3f} ms"
        f"  n={len(samples)}{extra}"
    )


async def _bench(url: str, canned: str, tasks: int, rounds: int, sequential: int) -> None:
    for target, what in ((canned, "canned-answer server"), (url, "fake exchange")):
        print(f"httpx client layouts: {tasks} tasks x {rounds} place+cancel, {what} {target}")
        for layout in layouts(tasks):
            samples, throughput = await run_layout(target, layout, tasks, rounds)
            print(_row(layout.name, samples, f"  {throughput:7.0f} req/s"), flush=True)
    runs: tuple[tuple[str | None, str], ...] = (
        (url, "loopback, fake exchange"),
        (None, "in-process MockTransport"),
    )
    for where, what in runs:
        bare_ms, kit_ms = await run_overhead(where, sequential)
        print(f"placement round trip, 1 task, {sequential} orders, {what}:")
        print(_row("bare httpx POST /order", bare_ms))
        print(_row("BinanceRest.place (kit)", kit_ms))
        print(
            f"{'overhead':<32} median {median(kit_ms) - median(bare_ms):+7.3f} ms"
            f"  p99 {percentile(kit_ms, 0.99) - percentile(bare_ms, 0.99):+7.3f} ms"
        )


@contextmanager
def exchange_child() -> Iterator[tuple[str, str] | None]:
    """The fake exchange (limits lifted) and a canned-answer server in a child process:
    yields (exchange REST URL, canned URL), or None (after saying why) if it did not start.
    The child is stopped on exit (stdin closed, then terminated if it lingers)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "mmbot.bench.venue_rest", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        urls = child.stdout.readline().split()
        if len(urls) != 2 or not all(u.startswith("http://127.0.0.1:") for u in urls):
            print(f"the fake exchange did not start (got {urls!r})", file=sys.stderr)
            yield None
        else:
            yield urls[0], urls[1]
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.terminate()
            child.wait(timeout=10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mmbot bench venue_rest", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny run (shape, not figures)")
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=100, help="place+cancel per task")
    parser.add_argument("--sequential", type=int, default=300, help="orders in the overhead run")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return _serve_child()
    if args.quick:
        args.rounds, args.sequential = 3, 10
    print(f"machine: {machine()}")
    with exchange_child() as urls:
        if urls is None:
            return 1
        trio.run(_bench, urls[0], urls[1], args.tasks, args.rounds, args.sequential)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
