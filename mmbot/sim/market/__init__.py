"""The fake exchange's seeded background market (sans-IO).

What it is for: the public face of ``sim/market/``: :class:`MarketSimulator`
(``simulator.py``: a moving reference, a background maker ladder and Poisson takers, some
informed, trading through the engine) and what configures it (``config.py``:
:class:`MarketConfig`, :func:`default_market` with realistic built-in instruments).

What it must never do: I/O, read a clock or create randomness (a ``random.Random`` is passed
in); export a name from anywhere but here.
"""

from mmbot.sim.market.config import MarketConfig as MarketConfig
from mmbot.sim.market.config import default_market as default_market
from mmbot.sim.market.config import split_symbol as split_symbol
from mmbot.sim.market.simulator import INFORMED_ACCOUNT as INFORMED_ACCOUNT
from mmbot.sim.market.simulator import MAKER_ACCOUNT as MAKER_ACCOUNT
from mmbot.sim.market.simulator import SIMULATOR_ACCOUNTS as SIMULATOR_ACCOUNTS
from mmbot.sim.market.simulator import TAKER_ACCOUNT as TAKER_ACCOUNT
from mmbot.sim.market.simulator import MarketSimulator as MarketSimulator
from mmbot.sim.market.simulator import MarketStatistics as MarketStatistics

__all__ = [
    "INFORMED_ACCOUNT",
    "MAKER_ACCOUNT",
    "SIMULATOR_ACCOUNTS",
    "TAKER_ACCOUNT",
    "MarketConfig",
    "MarketSimulator",
    "MarketStatistics",
    "default_market",
    "split_symbol",
]
