"""The user stream's subscription waits for room in the client's rate limiter: sent while a
429's ``Retry-After`` holds the limiter, it would get the IP banned (418). Found by the
chaos suite ``chaos/rate_limit_ban.toml``: a maintenance's ``serverShutdown`` made the user
stream resubscribe at once, during the venue's Retry-After."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import trio
import trio.testing
from test_rest_support import maker_bid, rest_on_exchange
from test_streams_support import API_KEY, API_SECRET, RestStub, TapConnector, exchange_config

from mmbot.sim.exchange import Exchange
from mmbot.sim.faults import Error, FaultPlan, Target
from mmbot.sim.history import EntryKind
from mmbot.sim.inprocess import InProcessExchange
from mmbot.venue.binance.user import SUBSCRIBE, UserStream, UserStreamConfig
from mmbot.venue.binance.ws import FunctionConnector


@attrs.define(eq=False)
class HeldRest(RestStub):
    """A REST client whose rate limiter has no room until ``room`` is set."""

    room: trio.Event = attrs.field(factory=trio.Event)

    async def admit_stream_request(self, operation: str) -> None:
        await super().admit_stream_request(operation)
        await self.room.wait()


def _subscriptions(exchange: Exchange) -> int:
    requests = exchange.history.entries(EntryKind.REQUEST)
    return sum(1 for e in requests if e.payload.path == SUBSCRIBE)


@asynccontextmanager
async def _user_stream(
    exchange: Exchange, make_rest: Callable[[Any, Any], RestStub]
) -> AsyncIterator[tuple[RestStub, UserStream]]:
    """A user stream on ``exchange`` (running) through the REST client ``make_rest`` builds."""
    inproc = InProcessExchange(exchange)
    tap = TapConnector(FunctionConnector(inproc.connect_ws))
    async with inproc.client() as client, trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        rest = make_rest(client, exchange.clock)
        config = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET)
        user = UserStream(config, tap, rest, exchange.clock.now_ms, random.Random(3))
        nursery.start_soon(user.run)
        yield rest, user
        nursery.cancel_scope.cancel()


async def test_the_subscription_is_not_sent_until_the_rate_limiter_has_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(exchange_config())
    async with _user_stream(exchange, HeldRest) as (rest, user):
        await trio.sleep(30)  # a Retry-After's worth: the limiter holds it all along
        held = _subscriptions(exchange)
        assert isinstance(rest, HeldRest)
        rest.room.set()
        with trio.fail_after(30):
            await user.wait_live()
    assert held == 0
    assert _subscriptions(exchange) == 1
    assert f"admit {SUBSCRIBE}" in rest.calls


async def test_a_429_to_the_subscription_holds_the_whole_client_for_its_retry_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Found by the fuzzer: the subscription's 429 held only the user stream, and the bot sent
    # a depth snapshot 0.1 s later (no_request_during_retry_after). The venue's limits are
    # per IP: the REST client's limiter must hold every request.
    refusal = Error(429, -1003, Target.named(SUBSCRIBE), duration=2.0, retry_after=5.0)
    exchange = Exchange.simulated(exchange_config(faults=FaultPlan((refusal,))))
    async with _user_stream(exchange, RestStub) as (rest, user):
        with trio.fail_after(60):
            await user.wait_live()
    assert "throttled 429 5.0" in rest.calls


async def test_the_rest_client_holds_every_request_after_a_streams_429(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rest_on_exchange() as (rest, exchange):
        sent = len(exchange.history.requests())
        rest.stream_throttled(429, 5.0)
        held = await rest.server_time()  # waits its max_rate_wait, then gives up unsent
        unsent = len(exchange.history.requests()) == sent
        await trio.sleep(5.0)
        after = await rest.server_time()
        rest.stream_throttled(418, None)  # no Retry-After: the dialect's default (120 s)
        blocked = rest.limiter.statistics().blocked_until
        left = None if blocked is None else blocked - trio.current_time()
    assert held.is_failed and "not sent" in held.reason and unsent
    assert after.is_ok
    assert left is not None and left >= 119.0


async def test_a_placement_does_not_queue_behind_a_retry_after(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # Found by a chaos swarm: a placement decided on the book of its moment waited out a
    # 429's Retry-After in the limiter and left when it ended, after its book had gapped.
    async with rest_on_exchange() as (rest, exchange):
        rest.stream_throttled(429, 3.0)
        assert rest.throttled()
        sent = len(exchange.history.requests())
        started = trio.current_time()
        refused = await rest.place(maker_bid("held-1"))
        waited = trio.current_time() - started
        unsent = len(exchange.history.requests()) == sent
        await trio.sleep(3.0)
        assert not rest.throttled()
        placed = await rest.place(maker_bid("held-2"))
    assert refused.is_failed and "not sent" in refused.reason and unsent and waited == 0
    assert refused.retry_after is not None and 0 < refused.retry_after <= 3.0
    assert placed.is_ok
