"""The user stream's subscription waits for room in the client's rate limiter: sent while a
429's ``Retry-After`` holds the limiter, it would get the IP banned (418). Found by the
chaos suite ``chaos/rate_limit_ban.toml``: a maintenance's ``serverShutdown`` made the user
stream resubscribe at once, during the venue's Retry-After."""

from __future__ import annotations

import random

import attrs
import trio
import trio.testing
from test_streams_support import API_KEY, API_SECRET, RestStub, TapConnector, exchange_config

from mmbot.sim.exchange import Exchange
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


async def test_the_subscription_is_not_sent_until_the_rate_limiter_has_room(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(exchange_config())
    inproc = InProcessExchange(exchange)
    tap = TapConnector(FunctionConnector(inproc.connect_ws))
    async with inproc.client() as client, trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        rest = HeldRest(client, exchange.clock)
        config = UserStreamConfig(("BTCUSDT",), api_key=API_KEY, api_secret=API_SECRET)
        user = UserStream(config, tap, rest, exchange.clock.now_ms, random.Random(3))
        nursery.start_soon(user.run)
        await trio.sleep(30)  # a Retry-After's worth: the limiter holds it all along
        held = _subscriptions(exchange)
        rest.room.set()
        with trio.fail_after(30):
            await user.wait_live()
        nursery.cancel_scope.cancel()
    assert held == 0
    assert _subscriptions(exchange) == 1
    assert f"admit {SUBSCRIBE}" in rest.calls
