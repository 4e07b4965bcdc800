"""Helpers for the bot tests: an in-process bot, the exchange's truth (no tests here)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import trio

from mmbot.bot.bot import Bot, BotHandle
from mmbot.config import DEFAULT_CONFIG, BotConfig, config_from_dict
from mmbot.sim.exchange import Exchange

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT")


def config(**sections: Mapping[str, Any]) -> BotConfig:
    """The default paper config with some sections' keys changed."""
    data: dict[str, Any] = {k: dict(v) for k, v in DEFAULT_CONFIG.items()}
    for name, table in sections.items():
        data[name] = {**data.get(name, {}), **table}
    return config_from_dict(data)


def open_orders(exchange: Exchange, prefix: str = "mm-") -> list[str]:
    """Client ids of the account's open orders on the exchange with ``prefix``."""
    account = exchange.config.account
    return [
        o.client_order_id
        for o in exchange.engine.open_orders(account)
        if o.client_order_id.startswith(prefix)
    ]


@asynccontextmanager
async def running(bot: Bot) -> AsyncIterator[BotHandle]:
    """Run ``bot`` until the block ends, then stop it gracefully."""
    async with trio.open_nursery() as nursery:
        handle: BotHandle = await nursery.start(bot.run)
        yield handle
        await handle.stop()
