"""connect_venue: URLs vs in-process, credentials from the environment only, on-demand books."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from test_scenarios_support import (
    API_KEY,
    API_SECRET,
    maker_bid,
)

from mmbot.clock import EpochClock
from mmbot.errors import ConfigError, VenueUnavailable
from mmbot.model import Outcome
from mmbot.sim.exchange import Exchange
from mmbot.sim.serve import ServeInfo, serve_exchange
from mmbot.testing import open_rig, rig_exchange_config
from mmbot.venue.connect import VenueSpec, VenueUrls, connect_venue, credentials_from_env


def test_testnet_and_live_urls_are_the_dialects_hosts() -> None:
    testnet, live = VenueUrls.testnet(), VenueUrls.live()
    assert testnet.rest == "https://testnet.binance.vision"
    assert testnet.streams == "wss://stream.testnet.binance.vision"
    assert testnet.ws_api_split() == ("wss://ws-api.testnet.binance.vision", "/ws-api/v3")
    assert live.rest == "https://api.binance.com"
    assert live.ws_api_split() == ("wss://ws-api.binance.com:443", "/ws-api/v3")
    assert VenueUrls.loopback(8080, 9090).ws_api == "ws://127.0.0.1:9090/ws-api/v3"


def test_credentials_come_from_the_named_environment_variables() -> None:
    spec = VenueSpec.testnet(("BTCUSDT",), api_key_env="K", api_secret_env="S")
    assert credentials_from_env(spec, {"K": "key", "S": "secret"}) == ("key", "secret")


def test_a_missing_key_names_the_variable_and_never_a_value() -> None:
    spec = VenueSpec.testnet(("BTCUSDT",))
    with pytest.raises(ConfigError) as caught:
        credentials_from_env(spec, {"MMBOT_API_KEY": "visible-key-value"})
    assert caught.value.problems == (
        "MMBOT_API_SECRET: environment variable not set (the venue's API key/secret)",
    )
    assert "visible-key-value" not in str(caught.value)


def test_credentials_are_optional_for_a_public_only_venue() -> None:
    spec = VenueSpec.live(("BTCUSDT",), require_credentials=False)
    assert credentials_from_env(spec, {}) is None


async def test_in_process_without_an_exchange_and_urls_with_one_are_refused() -> None:
    exchange = Exchange.simulated(rig_exchange_config())
    with pytest.raises(ConfigError, match="no in-process exchange"):
        async with connect_venue(VenueSpec.in_process(("BTCUSDT",))):
            pass  # pragma: no cover
    with pytest.raises(ConfigError, match="pick one"):
        async with connect_venue(VenueSpec.loopback(1, 2, ("BTCUSDT",)), exchange=exchange):
            pass  # pragma: no cover


async def test_a_symbol_not_configured_gets_its_own_book_on_demand(
    autojump_clock: trio.testing.MockClock,
) -> None:
    exchange = Exchange.simulated(rig_exchange_config())
    async with trio.open_nursery() as nursery:
        await nursery.start(exchange.run)
        async with connect_venue(VenueSpec.in_process(("BTCUSDT",)), exchange=exchange) as venue:
            with trio.fail_after(10):
                await venue.wait_ready(("BTCUSDT", "ETHUSDT"))
            eth = await venue.market_streams("ETHUSDT")
            btc = await venue.market_streams("BTCUSDT")
            assert eth is not btc and eth.is_valid("ETHUSDT")
        nursery.cancel_scope.cancel()


async def test_closing_the_venue_ends_its_book_streams(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with open_rig() as rig, rig.venue.book_stream("BTCUSDT") as books:
        await books.receive()
        await rig.venue.aclose()
        with pytest.raises(trio.EndOfChannel):
            with trio.fail_after(5):
                while True:
                    await books.receive()


async def test_no_secret_shows_in_the_reprs(autojump_clock: trio.testing.MockClock) -> None:
    async with open_rig() as rig:
        venue = rig.venue
        assert venue.user is not None
        shown = " ".join(
            repr(x) for x in (venue, venue.rest, venue.user, venue.user.config, venue.config)
        )
    assert API_SECRET not in shown and API_KEY not in shown


async def test_without_credentials_the_venue_is_public_only() -> None:
    exchange = Exchange.create(rig_exchange_config(), clock=EpochClock.from_wall_clock())
    with trio.fail_after(15):
        async with trio.open_nursery() as nursery:
            info: ServeInfo = await nursery.start(serve_exchange, exchange)
            spec = VenueSpec.loopback(
                info.rest_port, info.ws_port, ("BTCUSDT",), require_credentials=False
            )
            async with connect_venue(spec, environ={}) as venue:
                await venue.wait_ready()
                placed = await venue.place(maker_bid("public-1"))
                depth_ok = (await venue.instruments()).is_ok
                with pytest.raises(VenueUnavailable):
                    async with venue.user_stream():
                        pass  # pragma: no cover
            nursery.cancel_scope.cancel()
    assert depth_ok
    assert (placed.outcome, placed.code) == (Outcome.FAILED, None)
    assert "needs an API key" in placed.reason
