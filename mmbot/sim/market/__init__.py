"""The fake exchange's seeded background market (sans-IO).

What it is for: the public face of ``sim/market/``: :class:`MarketSimulator`
(``simulator.py``: a moving reference, a background maker ladder and Poisson takers, some
informed, trading through the engine), what configures it (``config.py``:
:class:`MarketConfig`, :func:`default_market` with realistic built-in instruments), and the
statistics of the public tape (``stats.py``: :class:`MarketStats`: klines, tickers, the
average price and aggregate trades, in bounded memory).

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
from mmbot.sim.market.stats import AVG_PRICE_MINUTES as AVG_PRICE_MINUTES
from mmbot.sim.market.stats import KLINE_INTERVALS as KLINE_INTERVALS
from mmbot.sim.market.stats import AggTrade as AggTrade
from mmbot.sim.market.stats import Kline as Kline
from mmbot.sim.market.stats import MarketStats as MarketStats
from mmbot.sim.market.stats import StatsRetention as StatsRetention
from mmbot.sim.market.stats import Summary as Summary
from mmbot.sim.market.stats import WindowStats as WindowStats
from mmbot.sim.market.stats import kline_next as kline_next
from mmbot.sim.market.stats import kline_open as kline_open
from mmbot.sim.market.stats import parse_time_zone as parse_time_zone
from mmbot.sim.market.stats import parse_window_size as parse_window_size
from mmbot.sim.market.stats import price_change_percent as price_change_percent
from mmbot.sim.market.stats import weighted_average as weighted_average

__all__ = [
    "AVG_PRICE_MINUTES",
    "INFORMED_ACCOUNT",
    "KLINE_INTERVALS",
    "MAKER_ACCOUNT",
    "SIMULATOR_ACCOUNTS",
    "TAKER_ACCOUNT",
    "AggTrade",
    "Kline",
    "MarketConfig",
    "MarketSimulator",
    "MarketStatistics",
    "MarketStats",
    "StatsRetention",
    "Summary",
    "WindowStats",
    "default_market",
    "kline_next",
    "kline_open",
    "parse_time_zone",
    "parse_window_size",
    "price_change_percent",
    "split_symbol",
    "weighted_average",
]
